"""The editor's check: run the engines on a document's model and keep each verdict."""

from __future__ import annotations

from verifier import ir
from verifier.check.dispatch import CheckOptions, EngineUnavailable, run_check
from verifier.lsp.analysis import Verdict


def check_verdicts(model: ir.Model, max_states: int) -> dict[str, Verdict]:
    """Each named property's verdict, engine and detail (inconclusive past `max_states`)."""
    try:
        result = run_check(model, CheckOptions(max_states=max_states))
    except EngineUnavailable:
        return {}
    return {
        p.name: Verdict(p.verdict, p.engine or result.engine, p.detail or p.message)
        for p in result.properties
        if p.kind in ("invariant", "reachable")
    }
