"""The grammar and schemas ship inside the wheel: build it, install it alone, check a model."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_and_checks_a_model(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("verifier-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "verifier/grammar/cap.lark" in names  # from the top-level grammar/ folder
    assert "verifier/schemas/report.schema.json" in names
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    # The dependencies come from this environment's site-packages, appended after the fresh
    # venv's own, so `verifier` itself can only come from the wheel.
    (site_dir,) = (env_dir / "lib").glob("python3.*/site-packages")
    (site_dir / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
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


def test_pyproject_lists_every_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "verifier").rglob("__init__.py")
    }
    assert listed == on_disk | {"verifier.grammar"}
    assert config["tool"]["setuptools"]["package-dir"] == {"verifier.grammar": "grammar"}
