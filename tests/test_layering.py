"""The package's layering: who may import whom, no cycles, and a small runtime trusted base.

Imports are read from the source with `ast` (module level, inside functions and under
TYPE_CHECKING alike), so a lazy import cannot hide a forbidden dependency. The rules are
those of docs/architecture.md.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "verifier"

# stage -> the stages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "diagnostics": set(),
    "ir": {"diagnostics"},
    "lang": {"ir", "diagnostics"},
    "check": {"ir", "diagnostics"},
    "report": {"check", "ir", "diagnostics"},
    "guard": {"ir", "diagnostics"},
    "monitor": {"guard"},  # the guard's API under its first name
    "gateway": {"guard", "ir", "diagnostics"},  # the MCP gateway in front of the tools
    "testing": {"diagnostics", "ir", "lang", "check", "report", "guard"},
    "lsp": {"diagnostics", "ir", "lang", "check", "report"},
    "cli": {"diagnostics", "ir", "lang", "check", "report", "guard", "testing", "lsp", "gateway"},
    "__main__": {"cli"},
    "pytest_plugin": {"diagnostics", "ir", "lang", "check", "report", "testing"},  # pytest only
}
# third-party libraries a stage must never load
FORBIDDEN_LIBS: dict[str, set[str]] = {
    "guard": {"lark", "z3", "networkx", "numpy", "click"},
    "gateway": {"lark", "z3", "networkx", "numpy", "click"},
    "ir": {"lark", "z3", "networkx", "numpy", "click"},
    "diagnostics": {"lark", "z3", "networkx", "numpy", "click"},
    "lang": {"z3", "networkx", "numpy", "click"},
    "check": {"lark", "click"},
    "report": {"lark", "z3", "click"},
    "testing": {"z3", "click"},
    "lsp": {"lark", "z3", "click"},
}
Z3_HOME = "verifier.check.smt"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_sources() -> dict[str, str]:
    return {module_name(p): p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, source: str) -> set[str]:
    """Every module `name` imports (absolute names), wherever the import statement is."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name}: the package uses absolute imports only"
            out.add(str(node.module))
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "verifier" or len(parts) < 2:
        return None
    return parts[1]


def violations(sources: dict[str, str]) -> list[str]:
    """Every import that breaks a rule, as `importer -> imported: why`."""
    found: list[str] = []
    for name, source in sources.items():
        stage = stage_of(name)
        for target in sorted(imports_of(name, source)):
            top = target.split(".")[0]
            if stage in FORBIDDEN_LIBS and top in FORBIDDEN_LIBS[stage]:
                found.append(f"{name} -> {target}: `{stage}` must not load {top}")
            if top == "z3" and not name.startswith(Z3_HOME):
                found.append(f"{name} -> {target}: only {Z3_HOME} may import z3")
            other = stage_of(target)
            if stage is None or other is None or other == stage or target not in sources:
                continue
            if other not in ALLOWED.get(stage, set()):
                found.append(f"{name} -> {target}: `{stage}` may not import `{other}`")
    return found


def import_cycles(sources: dict[str, str]) -> list[list[str]]:
    graph = nx.DiGraph()
    for name, source in sources.items():
        graph.add_node(name)
        for target in imports_of(name, source):
            if target in sources and target != name and not name.startswith(target + "."):
                graph.add_edge(name, target)
    return [sorted(c) for c in nx.simple_cycles(graph)]


def test_the_tree_follows_the_layering() -> None:
    assert violations(package_sources()) == []


def test_there_is_no_import_cycle() -> None:
    assert import_cycles(package_sources()) == []


def test_a_forbidden_import_is_caught() -> None:
    sources = package_sources()
    sources["verifier.guard.evil"] = "from verifier.lang.parser import parse_spec\nimport z3\n"
    sources["verifier.lang.evil"] = "def f():\n    from verifier.guard import monitor\n"
    assert violations(sources) == [
        "verifier.guard.evil -> verifier.lang.parser: `guard` may not import `lang`",
        "verifier.guard.evil -> z3: `guard` must not load z3",
        "verifier.guard.evil -> z3: only verifier.check.smt may import z3",
        "verifier.lang.evil -> verifier.guard: `lang` may not import `guard`",
        "verifier.lang.evil -> verifier.guard.monitor: `lang` may not import `guard`",
    ]


def test_a_cycle_is_caught() -> None:
    sources = package_sources()
    sources["verifier.ir.values"] += "\nfrom verifier.ir import evaluate\n"
    sources["verifier.ir.evaluate"] += "\nfrom verifier.ir import values\n"
    assert ["verifier.ir.evaluate", "verifier.ir.values"] in import_cycles(sources)


def test_importing_the_guard_loads_no_parser_solver_numpy_or_graph_library() -> None:
    code = (
        "import sys, verifier.guard, verifier.monitor, verifier.guard.store.sqlite, "
        "verifier.guard.store.redis, verifier.guard.store.memory, verifier.guard.replay; "
        "print('\\n'.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    loaded = {name.split(".")[0] for name in out}
    assert not loaded & FORBIDDEN_LIBS["guard"]
    verifier_stages = {stage_of(m) for m in out if m.startswith("verifier.")}
    assert verifier_stages <= {"guard", "ir", "diagnostics", "monitor", "grammar"}
