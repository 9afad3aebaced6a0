"""The wheel: the grammar and schemas ship inside it; with the `check` extra it checks a model;
without extras (the slim runtime install) it runs a signed guard with none of the checker's
heavy dependencies, and the checker's commands name the extra they need."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.guard_support import write_artifact
from verifier.guard import artifact as art

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("lark", "z3", "networkx", "numpy")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (built,) = dist.glob("verifier-*.whl")
    yield built


def install(wheel: Path, env_dir: Path, dep_dirs: list[str]) -> Path:
    """A fresh venv with only the wheel from the index; `dep_dirs` appended to its path."""
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    # Dependencies come after the fresh venv's own site-packages, so `verifier` itself can
    # only come from the wheel.
    (site_dir,) = (env_dir / "lib").glob("python3.*/site-packages")
    (site_dir / "deps.pth").write_text("\n".join(dep_dirs) + "\n")
    return env_dir / "bin"


def runtime_closure(wheel: Path) -> set[str]:
    """The distributions the wheel needs without extras, resolved in this environment."""
    meta = zipfile.ZipFile(wheel).read("verifier-0.1.0.dist-info/METADATA").decode()
    todo = [
        line.split(":", 1)[1] for line in meta.splitlines() if line.startswith("Requires-Dist:")
    ]
    seen: set[str] = set()
    while todo:
        req = Requirement(todo.pop())
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue  # an extra's requirement, or not for this platform
        name = metadata.distribution(req.name).metadata["Name"].lower()
        if name not in seen:
            seen.add(name)
            todo.extend(metadata.requires(name) or [])
    return seen


def link_distributions(names: set[str], folder: Path) -> None:
    """Symlink the installed files of distributions `names` (and nothing else) into `folder`."""
    folder.mkdir()
    for name in names:
        dist = metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            target = Path(str(dist.locate_file(top)))
            if target.exists() and not (folder / top).exists():
                (folder / top).symlink_to(target)


def test_wheel_installs_and_checks_a_model(wheel: Path, tmp_path: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "verifier/grammar/cap.lark" in names  # from the top-level grammar/ folder
    assert "verifier/schemas/report.schema.json" in names
    env_dir = tmp_path / "venv"
    py = install(wheel, env_dir, site.getsitepackages()) / "python"  # with every dependency
    model = ROOT / "models/reference/diehard.cap"
    probe = subprocess.run(
        [str(py), "-c", "import verifier; print(verifier.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(env_dir) in probe.stdout
    run = subprocess.run(
        [str(env_dir / "bin" / "verifier"), "check", "--format", "json", str(model)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert run.returncode == 0, run.stderr
    assert '"states": 16' in run.stdout


GUARD_SCRIPT = """
import json, sys
from verifier.guard import Guard
guard = Guard.load(sys.argv[1], store="sqlite:///" + sys.argv[2], audit=sys.argv[3],
                   public_key=sys.argv[4])
s = guard.session("ticket-1")
s.observe("customer_requests", {"requested": 2})
verdicts = [s.propose(a).verdict for a in ("refund", "verify_order", "refund", "refund")]
heavy = sorted(m for m in ("lark", "z3", "networkx", "numpy", "click") if m in sys.modules)
print(json.dumps({"verdicts": verdicts, "loaded": heavy}))
"""


@pytest.fixture(scope="module")
def slim(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a venv with the wheel and only its runtime dependencies."""
    where = tmp_path_factory.mktemp("slim")
    link_distributions(runtime_closure(wheel), where / "deps")
    return install(wheel, where / "venv", [str(where / "deps")])


def test_the_runtime_needs_no_checker_dependency(wheel: Path) -> None:
    closure = runtime_closure(wheel)
    assert {"click", "cryptography"} <= closure
    assert not closure & {"lark", "z3-solver", "networkx", "numpy"}


def test_slim_install_runs_a_signed_guard_without_the_checker(slim: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": ""}

    def in_slim(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, env=env)

    for module in HEAVY:  # the checker's dependencies are not importable at all
        probe = in_slim(str(slim / "python"), "-c", f"import {module}")
        assert probe.returncode == 1 and "ModuleNotFoundError" in probe.stderr, module
    keygen = in_slim(str(slim / "verifier"), "keygen", "ops")  # the runtime's own commands work
    assert keygen.returncode == 0, keygen.stderr
    artifact = write_artifact(  # compiled with the full install (this environment)
        ROOT / "models/refund_agent.cap",
        tmp_path / "refund.json",
        art.load_private_key(str(tmp_path / "ops.key")),
    )
    guard = in_slim(
        str(slim / "python"), "-c", GUARD_SCRIPT, str(artifact), "s.db", "audit.jsonl", "ops.pub"
    )
    assert guard.returncode == 0, guard.stderr
    assert json.loads(guard.stdout) == {
        "verdicts": ["deny", "allow", "allow", "deny"],
        "loaded": [],
    }
    audit = in_slim(str(slim / "verifier"), "audit", "verify", "audit.jsonl")
    assert audit.returncode == 0 and audit.stdout.startswith("ok: "), audit.stderr
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        '{"event": "customer_requests", "args": {"requested": 2}}\n'
        '{"action": "verify_order"}\n{"action": "refund"}\n'
    )
    replay = in_slim(str(slim / "verifier"), "replay", str(artifact), str(trace), "--public-key",
                     "ops.pub")  # fmt: skip
    assert (replay.returncode, replay.stdout) == (0, "ok: 3 steps admissible\n"), replay.stderr


@pytest.mark.parametrize("command", ["check", "compile", "graph", "certify", "fmt", "report"])
def test_slim_install_names_the_extra_a_command_needs(slim: Path, command: str) -> None:
    spec = str(ROOT / "models/refund_agent.cap")
    run = subprocess.run(
        [str(slim / "verifier"), command, spec, *([spec] if command == "certify" else [])],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == (
        f"error: `verifier {command}` needs the checker, which is not installed"
        " (missing: lark, z3-solver, networkx, numpy)\nhint: pip install 'verifier[check]'\n"
    )
    helped = subprocess.run([str(slim / "verifier"), "--help"], capture_output=True, text=True)
    assert helped.returncode == 0
    assert "(needs pip install 'verifier[check]')" in helped.stdout
    assert "keygen" in helped.stdout
