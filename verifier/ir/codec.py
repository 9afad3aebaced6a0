"""IR <-> canonical JSON: the transition program inside an artifact.

Every IR node becomes an object tagged with `"node"` (its class name); tuples become lists and
spans become `[line, column, end_line, end_column]`. Reading accepts only IR class names, so a
document can describe a model but never name arbitrary Python objects.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from verifier.diagnostics import Span
from verifier.ir import model as ir
from verifier.ir.binding_codec import BindingFormatError, bindings_from_json, bindings_to_json

FORMAT = 1

_NODES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        ir.BoolType,
        ir.IntType,
        ir.EnumType,
        ir.SetType,
        ir.ArrayType,
        ir.Lit,
        ir.Var,
        ir.ArrayRead,
        ir.Local,
        ir.Unary,
        ir.Binary,
        ir.Ite,
        ir.Call,
        ir.Quant,
        ir.Param,
        ir.Guard,
        ir.Update,
        ir.Transition,
        ir.Property,
        ir.StateVar,
        ir.Slot,
        ir.Model,
    )
}

# Fields that are not part of the serialized program (the artifact carries the source itself),
# or that have their own strict codec (bindings: verifier/ir/binding_codec.py).
_SKIPPED = {"source", "bindings"}


class IRFormatError(ValueError):
    """A JSON document that does not describe a model."""


def to_json(value: Any) -> Any:
    """The JSON form of an IR node (or of a tuple, int, str, None inside one)."""
    if isinstance(value, Span):
        return [value.line, value.column, value.end_line, value.end_column]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"node": type(value).__name__}
        for f in dataclasses.fields(value):
            if f.name not in _SKIPPED:
                out[f.name] = to_json(getattr(value, f.name))
        return out
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, str | int):
        return value
    raise IRFormatError(f"cannot serialize a value of kind {type(value).__name__}")


def from_json(data: Any) -> Any:
    """Rebuild IR nodes from `to_json` output; raise IRFormatError on anything else."""
    if isinstance(data, dict):
        return _node(data)
    if isinstance(data, list):
        return tuple(from_json(v) for v in data)
    if data is None or isinstance(data, str | int):
        return data
    raise IRFormatError(f"unexpected JSON value {data!r}")


def _node(data: dict[str, Any]) -> Any:
    cls = _NODES.get(data.get("node", ""))
    if cls is None:
        raise IRFormatError(f"unknown node `{data.get('node')}`")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in _SKIPPED:
            continue
        if f.name not in data:
            if f.default is not dataclasses.MISSING:
                continue
            raise IRFormatError(f"node `{cls.__name__}` lacks field `{f.name}`")
        raw = data[f.name]
        kwargs[f.name] = _span(raw) if f.name == "span" else from_json(raw)
    extra = set(data) - {f.name for f in dataclasses.fields(cls)} - {"node"}
    if extra:
        raise IRFormatError(f"node `{cls.__name__}` has unknown field `{sorted(extra)[0]}`")
    try:
        return cls(**kwargs)
    except TypeError as err:  # pragma: no cover - dataclass constructors take keywords only
        raise IRFormatError(str(err)) from None


def _span(raw: Any) -> Span:
    if not (isinstance(raw, list) and len(raw) == 4 and all(type(x) is int for x in raw)):
        raise IRFormatError(f"bad span {raw!r}")
    return Span(*raw)


def model_to_json(model: ir.Model) -> dict[str, Any]:
    """The model as a JSON object (without its source text)."""
    out: dict[str, Any] = to_json(model)
    out["format"] = FORMAT
    if model.bindings:  # absent for a spec without `tool`, so older artifacts keep their hash
        out["bindings"] = bindings_to_json(model.bindings)
    return out


def model_from_json(data: Any, source: str = "") -> ir.Model:
    """The model described by `model_to_json` output; IRFormatError if it is not one."""
    if not isinstance(data, dict) or data.get("node") != "Model":
        raise IRFormatError("the document is not a model")
    if data.get("format") != FORMAT:
        raise IRFormatError(f"unsupported model format {data.get('format')!r}")
    body = {k: v for k, v in data.items() if k not in ("format", "bindings")}
    model = _node(body)
    if "bindings" in data:
        try:
            bindings = bindings_from_json(data["bindings"], model)
        except BindingFormatError as err:
            raise IRFormatError(str(err)) from None
        if not bindings:
            raise IRFormatError("an empty `bindings` list must be omitted")
        model = dataclasses.replace(model, bindings=bindings)
    return dataclasses.replace(model, source=source)


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, UTF-8, integers only."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
