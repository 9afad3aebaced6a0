"""Traces in the Informal Trace Format (ITF) read by Apalache, Quint and their tools."""

from __future__ import annotations

from typing import Any

from verifier import ir
from verifier.check.results import Trace
from verifier.ir.values import args_to_json, scalar_to_json

ITF_DOC = "https://apalache-mc.org/docs/adr/015adr-trace.html"


def _scalar(t: ir.ScalarType, v: int) -> Any:
    if isinstance(t, ir.SetType):
        return {"#set": scalar_to_json(t, v)}
    if isinstance(t, ir.IntType) and abs(v) >= 2**53:
        return {"#bigint": str(v)}
    return scalar_to_json(t, v)


def _value(t: ir.Type, state: tuple[int, ...], slot: int) -> Any:
    if not isinstance(t, ir.ArrayType):
        return _scalar(t, state[slot])
    width = ir.slot_width(t.elem)
    pairs = [
        [_scalar(t.index, key), _value(t.elem, state, slot + k * width)]
        for k, key in enumerate(t.index.values())
    ]
    return {"#map": pairs}


def trace_to_itf(model: ir.Model, trace: Trace, description: str) -> dict[str, Any]:
    """One ITF document; each state's `#meta` names the transition that led to it."""
    states = []
    for i, step in enumerate(trace.steps):
        meta: dict[str, Any] = {"index": i}
        if step.transition is not None:
            meta["action"] = step.transition.name
            meta["args"] = args_to_json(step.transition.params, step.args)
        if trace.failure is not None and i == len(trace.steps) - 1:
            meta["failure"] = trace.failure
        row = {"#meta": meta}
        row.update({v.name: _value(v.type, step.state, v.slot) for v in model.vars})
        states.append(row)
    return {
        "#meta": {
            "format": "ITF",
            "format-description": ITF_DOC,
            "source": model.path,
            "description": description,
        },
        "vars": [v.name for v in model.vars],
        "states": states,
    }
