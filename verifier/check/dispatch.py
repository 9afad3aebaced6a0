"""The one dispatcher from a model and options to a CheckResult."""

from __future__ import annotations

from dataclasses import dataclass

from verifier import ir
from verifier.check.explicit import Progress, check_explicit, refuse_initial_explosion
from verifier.check.results import CheckResult

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
    if opts.engine == "explicit" or (opts.engine == "auto" and _explicit_fits(model, opts)):
        return search_explicit(
            model, deadlock=opts.deadlock, max_states=opts.max_states, progress=progress
        )
    if opts.engine == "auto" and opts.certificate is None:
        probe = search_explicit(model, deadlock=opts.deadlock, max_states=EXPLICIT_PROBE)
        if probe.complete:
            probe.notes.append(_probe_note(model))
            return probe
    from verifier.check.smt import check_symbolic  # z3 loads only when a symbolic engine runs

    result = check_symbolic(
        model,
        "portfolio" if opts.engine == "auto" else opts.engine,
        depth=opts.depth,
        timeout=opts.timeout,
        deadlock=opts.deadlock,
        simple_path=opts.simple_path,
        certificate=opts.certificate,
    )
    if opts.engine == "auto":
        result.notes.insert(0, _symbolic_note(model, opts))
    return result


def search_explicit(
    model: ir.Model,
    *,
    deadlock: bool = True,
    max_states: int | None = None,
    progress: Progress | None = None,
) -> CheckResult:
    """Explicit search: the packed engine if it pays and the state fits in 64 bits, else the
    general one. Both give the same result; the `engine` field says which ran."""
    refused = refuse_initial_explosion(model)
    if refused is not None:
        return refused
    if model.declared_space() > PACKED_FROM:
        from verifier.check.packed import check_packed  # NumPy loads only for big searches

        packed = check_packed(model, deadlock=deadlock, max_states=max_states, progress=progress)
        if packed is not None:
            return packed
    return check_explicit(model, deadlock=deadlock, max_states=max_states, progress=progress)


# Up to this declared space the general engine takes seconds at most and NumPy never loads.
PACKED_FROM = 2**22

# `auto` searches explicitly up to this declared state space (2^22 ~ 4.2 million valuations of
# the variables: seconds for the explicit engine). Beyond it, a probe explores at most
# EXPLICIT_PROBE states (about a second); only if the reachable space is larger does the
# symbolic portfolio run. A certificate request always goes symbolic, since only symbolic
# proofs have certificates.
EXPLICIT_LIMIT = 2**22
EXPLICIT_PROBE = 100_000


def _probe_note(model: ir.Model) -> str:
    bits = model.declared_bits()
    return f"declared space 2^{bits:.1f}, but the reachable space was small enough to search"


def _explicit_fits(model: ir.Model, opts: CheckOptions) -> bool:
    return opts.certificate is None and model.declared_space() <= EXPLICIT_LIMIT


def _symbolic_note(model: ir.Model, opts: CheckOptions) -> str:
    if model.declared_space() <= EXPLICIT_LIMIT:
        return "symbolic portfolio used, since a certificate was asked for"
    bits = model.declared_bits()
    return f"declared space 2^{bits:.1f} is beyond explicit search; symbolic portfolio used"
