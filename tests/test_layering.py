"""The runtime trusted base stays small: the guard pulls in no parser, solver or graph library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("lark", "z3", "networkx", "click")
FRONT_END = ("verifier.parser", "verifier.lower", "verifier.frontend", "verifier.explicit")


def test_importing_the_guard_loads_no_parser_solver_or_graph_library():
    code = (
        "import sys, verifier.monitor, verifier.store.sqlite, verifier.store.redis, "
        "verifier.store.memory; print('\\n'.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    loaded = {name.split(".")[0] for name in out}
    assert not loaded & set(FORBIDDEN)
    assert not [m for m in out if m.startswith(FRONT_END) or m.startswith("verifier.smt")]


def test_only_the_smt_package_imports_z3():
    offenders = []
    for path in sorted((ROOT / "verifier").rglob("*.py")):
        if "smt" in path.relative_to(ROOT / "verifier").parts[:1]:
            continue
        text = path.read_text(encoding="utf-8")
        if any(line.strip().startswith(("import z3", "from z3")) for line in text.splitlines()):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
