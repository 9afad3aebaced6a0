"""The one dispatcher from a model and options to a CheckResult."""

from __future__ import annotations

from dataclasses import dataclass

from verifier import ir
from verifier.explicit import Progress, check_explicit
from verifier.results import CheckResult

ENGINES = ("auto", "explicit", "bmc", "kind", "pdr")


@dataclass(frozen=True)
class CheckOptions:
    """What `verifier check` asks of an engine."""

    engine: str = "auto"
    deadlock: bool = True
    max_states: int | None = None
    depth: int | None = None
    timeout: float | None = None
    certificate: str | None = None
    simple_path: bool = True


class EngineUnavailable(Exception):
    """The requested engine cannot run on this model; the message says why."""


def run_check(
    model: ir.Model, options: CheckOptions | None = None, progress: Progress | None = None
) -> CheckResult:
    """Check every property of `model` with the engine the options select."""
    opts = options or CheckOptions()
    if opts.engine in ("auto", "explicit"):
        return check_explicit(
            model, deadlock=opts.deadlock, max_states=opts.max_states, progress=progress
        )
    raise EngineUnavailable(f"the `{opts.engine}` engine is not available yet")
