"""IR <-> canonical JSON: the transition program inside an artifact.

Every IR node becomes an object tagged with `"node"` (its class name); tuples become lists and
spans become `[line, column, end_line, end_column]`. Reading accepts only IR class names, only
strings, integers (never a bool or a float), null, lists and nodes as values, and then checks
the whole model with `verifier.ir.validate.check_model` before returning it: a document can
describe a model, never name arbitrary Python objects, and nothing in it reaches generated code
without having been checked to be an int of the right range or a name that resolves.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from verifier.diagnostics import Span
from verifier.ir import model as ir
from verifier.ir.validate import check_model
from verifier.ir.wellformed import IRFormatError

__all__ = ["FORMAT", "IRFormatError", "canonical", "from_json", "model_from_json", "to_json"]

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

# Fields that are not part of the serialized program (the artifact carries the source itself).
_SKIPPED = {"source"}
# Per node class: (field name, required) for every serialized field, and all their names.
_FIELDS = {
    name: tuple(
        (f.name, f.default is dataclasses.MISSING)
        for f in dataclasses.fields(cls)
        if f.name not in _SKIPPED
    )
    for name, cls in _NODES.items()
}
_ALLOWED = {name: {f for f, _ in fields} | {"node"} for name, fields in _FIELDS.items()}
# The only booleans of the IR (everything else that is 0/1 is an int): written only when true,
# so a program without them serializes exactly as before they existed.
_FLAGS = {("IntType", "saturating")}


def to_json(value: Any) -> Any:
    """The JSON form of an IR node (or of a tuple, int, str, None inside one)."""
    if isinstance(value, Span):
        return [value.line, value.column, value.end_line, value.end_column]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        tag = type(value).__name__
        out: dict[str, Any] = {"node": tag}
        for f in dataclasses.fields(value):
            if (tag, f.name) in _FLAGS:
                if getattr(value, f.name) is True:
                    out[f.name] = True
            elif f.name not in _SKIPPED:
                out[f.name] = to_json(getattr(value, f.name))
        return out
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if value is None or type(value) in (str, int):
        return value
    raise IRFormatError(f"cannot serialize a value of kind {type(value).__name__}")


def from_json(data: Any) -> Any:
    """Rebuild IR nodes from `to_json` output; raise IRFormatError on anything else."""
    if isinstance(data, dict):
        return _node(data)
    if isinstance(data, list):
        return tuple(from_json(v) for v in data)
    if data is None or type(data) in (str, int):
        return data
    raise IRFormatError(f"a value of kind {type(data).__name__} where an IR value belongs")


def _node(data: dict[str, Any]) -> Any:
    tag = data.get("node")
    cls = _NODES.get(tag) if isinstance(tag, str) else None
    if cls is None or not isinstance(tag, str):
        shown = tag[:40] if type(tag) is str and tag.isprintable() else "?"
        raise IRFormatError(f"unknown node `{shown}`")
    kwargs: dict[str, Any] = {}
    for name, required in _FIELDS[tag]:
        if name not in data:
            if not required:
                continue
            raise IRFormatError(f"node `{tag}` lacks field `{name}`")
        raw = data[name]
        if (tag, name) in _FLAGS:
            if raw is not True:  # absent means false; present, it must be the JSON `true`
                raise IRFormatError(f"node `{tag}` has a `{name}` that is not `true`")
            kwargs[name] = True
        else:
            kwargs[name] = _span(raw) if name == "span" else from_json(raw)
    extra = data.keys() - _ALLOWED[tag]
    if extra:
        raise IRFormatError(f"node `{cls.__name__}` has unknown field `{sorted(extra)[0][:40]}`")
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
    return out


def model_from_json(data: Any, source: str = "") -> ir.Model:
    """The well-formed model described by `model_to_json` output; IRFormatError otherwise."""
    if not isinstance(data, dict) or data.get("node") != "Model":
        raise IRFormatError("the document is not a model")
    version = data.get("format")
    if type(version) is not int or version != FORMAT:
        shown = version if type(version) is int and abs(version) < 10**9 else "?"
        raise IRFormatError(f"unsupported model format {shown}")
    body = {k: v for k, v in data.items() if k != "format"}
    try:
        model = check_model(_node(body))
    except RecursionError:
        raise IRFormatError("the program nests too deeply") from None
    return dataclasses.replace(model, source=source)


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, UTF-8, integers only."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
