"""Scenario tests: run a spec's scenarios and recorded traces through the live guard's code.

Owns: collecting scenarios and traces (`collect`), a guard built in memory from a lowered
model (`host`), running steps and comparing verdicts (`run`), coverage of actions, events,
guards and approvals (`coverage`) and the unit-test style report (`render`). May import
`lang`, `ir`, `check`, `guard`, `report` and `diagnostics`; only `cli` imports it.
`run_paths` is the entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from verifier.testing.collect import collect
from verifier.testing.host import in_memory_guard
from verifier.testing.render import UnitResult
from verifier.testing.run import Runner


def run_paths(
    paths: Iterable[str], spec: str | None = None, consts: Mapping[str, int] | None = None
) -> list[UnitResult]:
    """Collect and run every scenario and recorded trace under `paths`."""
    results: list[UnitResult] = []
    for unit in collect(paths, spec, consts):
        if unit.model is None:
            results.append(UnitResult(unit, (), None))
            continue
        runner = Runner(in_memory_guard(unit.model))
        outcomes = tuple(runner.run(p) for p in unit.plans)
        results.append(UnitResult(unit, outcomes, runner.coverage))
    return results
