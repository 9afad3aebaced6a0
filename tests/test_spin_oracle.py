"""SPIN as an independent oracle: on the benchmark models, a real SPIN run (exact-match recipe,
shared/REFERENCE_MODELS.md section 19) stores exactly as many states as we reach, and its
transition count equals our `generated` count. `python3 tasks.py test` installs spin and gcc
(tests/services.py skips, or fails under CI=true, where it cannot)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.services import require
from verifier.check.explicit import check_explicit
from verifier.lang.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    ("mutex", {"N": 4}),
    ("philosophers", {"N": 4}),
    ("two_phase", {"RM": 3}),
    ("fleet", {"N": 3, "B": 4}),
]


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("spin_run", ROOT / "benchmarks/spin/run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["spin_run"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("model", "consts"), CASES, ids=[c[0] for c in CASES])
def test_spin_counts_the_same_states(model: str, consts: dict[str, int]) -> None:
    require("spin", "gcc")
    ours = check_explicit(load_model(str(ROOT / f"benchmarks/spin/{model}.cap"), consts))
    assert ours.states is not None and ours.states > 50
    spin = _runner().run_spin(model, consts, ours.states, "bfs")
    assert spin.states == ours.states
    assert spin.transitions == ours.generated
