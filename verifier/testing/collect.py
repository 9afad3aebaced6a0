"""What `verifier test` runs: the scenarios of specs and scenario files, and recorded traces."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from verifier import ir
from verifier.diagnostics import WHOLE_FILE, Diagnostic
from verifier.guard.traces import TraceError, read_trace
from verifier.lang.frontend import load_file, load_suite, specs_under
from verifier.testing.run import Plan, plan_of_scenario, plan_of_session


@dataclass
class Unit:
    """One file's plans and the model they run against, or why they cannot run."""

    path: str
    model: ir.Model | None
    plans: list[Plan] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    kind: str = "scenarios"  # or the trace format


def collect(
    paths: Iterable[str], spec: str | None = None, consts: Mapping[str, int] | None = None
) -> list[Unit]:
    """Expand folders into their `.cap` files; read every file as scenarios or a trace."""
    units: list[Unit] = []
    for path in paths:
        if os.path.isdir(path):
            found = specs_under(path, scenario_files=True)
            if not found:
                units.append(_problem(path, "empty", f"no `.cap` files under `{path}`"))
            units.extend(_scenarios(p, consts) for p in found)
        elif not os.path.exists(path):
            units.append(_problem(path, "io", f"`{path}` does not exist"))
        elif path.endswith(".cap"):
            units.append(_scenarios(path, consts))
        else:
            units.append(_trace(path, spec, consts))
    return units


def _problem(path: str, code: str, message: str, hint: str | None = None) -> Unit:
    return Unit(
        path, None, diagnostics=[Diagnostic(code, "error", message, WHOLE_FILE, hint, path)]
    )


def _scenarios(path: str, consts: Mapping[str, int] | None) -> Unit:
    suite = load_suite(path, consts)
    plans = [plan_of_scenario(sc) for sc in suite.scenarios]
    return Unit(path, suite.model, plans, suite.diagnostics, suite.sources)


def _trace(path: str, spec: str | None, consts: Mapping[str, int] | None) -> Unit:
    try:
        trace = read_trace(path)
    except TraceError as err:
        return _problem(path, "io", str(err))
    spec_path = spec or trace.spec
    if spec_path is None:
        return _problem(
            path, "io", f"the trace `{path}` does not name its spec",
            "pass the spec with `--spec SPEC.cap`",
        )  # fmt: skip
    loaded = load_file(spec_path, consts, scenarios=False)  # only the model is needed
    plans = [plan_of_session(s, path) for s in trace.sessions]
    sources = {spec_path: loaded.source}
    return Unit(path, loaded.model, plans, loaded.diagnostics, sources, trace.format)
