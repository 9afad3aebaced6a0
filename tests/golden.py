"""Golden-file comparison. Set VERIFIER_UPDATE_GOLDEN=1 to rewrite the expected files."""

from __future__ import annotations

import os
from pathlib import Path

UPDATE = os.environ.get("VERIFIER_UPDATE_GOLDEN") == "1"


def assert_golden(path: Path, actual: str) -> None:
    """Compare `actual` with the file at `path` (or write it when updating)."""
    if UPDATE or not path.exists():
        if not UPDATE:
            raise AssertionError(
                f"golden file {path} is missing; run with VERIFIER_UPDATE_GOLDEN=1 to create it"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path} (VERIFIER_UPDATE_GOLDEN=1 updates)"
