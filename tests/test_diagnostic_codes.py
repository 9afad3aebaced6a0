"""Every diagnostic code in the source is registered and documented."""

from __future__ import annotations

import re
from pathlib import Path

from verifier.diagnostics import CODES

ROOT = Path(__file__).resolve().parent.parent


def used_codes() -> set[str]:
    pattern = re.compile(
        r'(?:\.error|\.warning|Diagnostic|_problem)\(\s*(?:[^,()"]+,\s*)?"([a-z-]+)"'
    )
    found: set[str] = set()
    for path in (ROOT / "verifier").rglob("*.py"):
        found |= set(pattern.findall(path.read_text()))
    return found - {"error", "warning", "note"}


def test_every_used_code_is_registered() -> None:
    used = used_codes()
    assert {"syntax", "unknown-name", "assigned-twice", "dead-transition"} <= used
    assert used <= set(CODES), sorted(used - set(CODES))


def test_every_registered_code_is_documented() -> None:
    doc = (ROOT / "docs/diagnostics.md").read_text()
    documented = set(re.findall(r"^### `([a-z-]+)`", doc, flags=re.M))
    assert documented == set(CODES)


def test_every_command_is_documented() -> None:
    from verifier.cli import main

    doc = (ROOT / "docs/cli.md").read_text()
    documented = set(re.findall(r"^## `verifier ([a-z-]+)", doc, flags=re.M))
    assert set(main.commands) <= documented, sorted(set(main.commands) - documented)


def test_every_option_of_every_command_is_documented() -> None:
    from verifier.cli import main

    doc = (ROOT / "docs/cli.md").read_text()
    missing = []
    for name, command in main.commands.items():
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help" and f"`{opt}" not in doc:
                    missing.append(f"{name} {opt}")
    assert not missing, missing
