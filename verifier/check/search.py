"""Explicit search with the engine that pays: packed (NumPy) for big spaces, else general."""

from __future__ import annotations

from verifier import ir
from verifier.check.explicit import Progress, ShouldStop, check_explicit, refuse_initial_explosion
from verifier.check.results import CheckResult

# Up to this declared space the general engine takes seconds at most and NumPy never loads.
PACKED_FROM = 2**22


def packs(model: ir.Model) -> bool:
    """Whether explicit search on `model` would use the packed engine (by its state layout)."""
    if model.declared_space() <= PACKED_FROM:
        return False
    from verifier.check.packed.layout import layout_of

    return layout_of(model) is not None


def search_explicit(
    model: ir.Model,
    *,
    deadlock: bool = True,
    max_states: int | None = None,
    progress: Progress | None = None,
    stop: ShouldStop | None = None,
    workers: int = 1,
) -> CheckResult:
    """Explicit search: the packed engine if it pays and the model packs, else the general one.
    Both give the same result (for any number of `workers` of the packed engine); the
    `engine` field says which ran."""
    refused = refuse_initial_explosion(model)
    if refused is not None:
        return refused
    if model.declared_space() > PACKED_FROM:
        from verifier.check.packed import check_packed  # NumPy loads only for big searches

        packed = check_packed(
            model,
            deadlock=deadlock,
            max_states=max_states,
            progress=progress,
            stop=stop,
            workers=workers,
        )
        if packed is not None:
            return packed
    return check_explicit(
        model, deadlock=deadlock, max_states=max_states, progress=progress, stop=stop
    )
