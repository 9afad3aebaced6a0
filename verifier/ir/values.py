"""Conversion between runtime ints and the values users read and write (JSON-friendly)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from verifier.ir import model as ir

JsonValue = Any


class ValueError_(ValueError):
    """A user-supplied value that does not belong to its type."""


def scalar_to_json(t: ir.ScalarType, v: int) -> JsonValue:
    match t:
        case ir.BoolType():
            return bool(v)
        case ir.EnumType():
            return t.members[v] if 0 <= v < len(t.members) else v
        case ir.SetType():
            return [m for i, m in enumerate(t.elem.members) if (v >> i) & 1]
    return v


def scalar_text(t: ir.ScalarType, v: int) -> str:
    match t:
        case ir.BoolType():
            return "true" if v else "false"
        case ir.EnumType():
            return t.members[v] if 0 <= v < len(t.members) else str(v)
        case ir.SetType():
            return "{" + ", ".join(scalar_to_json(t, v)) + "}"
    return str(v)


def var_to_json(model: ir.Model, var: ir.StateVar, state: Sequence[int]) -> JsonValue:
    return _value_to_json(var.type, state, var.slot)


def _value_to_json(t: ir.Type, state: Sequence[int], slot: int) -> JsonValue:
    if not isinstance(t, ir.ArrayType):
        return scalar_to_json(t, state[slot])
    width = ir.slot_width(t.elem)
    items = [_value_to_json(t.elem, state, slot + k * width) for k in range(t.length)]
    if isinstance(t.index, ir.EnumType):
        return dict(zip(t.index.members, items, strict=True))
    if isinstance(t.index, ir.BoolType):
        return {"false": items[0], "true": items[1]}
    return items


def state_to_json(model: ir.Model, state: Sequence[int]) -> dict[str, JsonValue]:
    """A state as {variable: value}; arrays indexed by a range become lists."""
    return {v.name: var_to_json(model, v, state) for v in model.vars}


def args_to_json(params: Sequence[ir.Param], args: Sequence[int]) -> dict[str, JsonValue]:
    return {p.name: scalar_to_json(p.type, a) for p, a in zip(params, args, strict=True)}


def index_text(t: ir.IndexType, v: int) -> str:
    return scalar_text(t, v)


def slot_text(model: ir.Model, slot: int) -> str:
    """`pc[1]` for a slot, with enum-indexed paths shown by member name."""
    s = model.slots[slot]
    var = model.var(s.var)
    t: ir.Type = var.type
    parts = []
    for p in s.path:
        assert isinstance(t, ir.ArrayType)
        parts.append(f"[{index_text(t.index, p)}]")
        t = t.elem
    return s.var + "".join(parts)


def scalar_from_json(t: ir.ScalarType, value: JsonValue, what: str) -> int:
    """Parse a user value for a scalar type; raise ValueError_ naming `what` if it does not fit."""
    match t:
        case ir.BoolType():
            if isinstance(value, bool):
                return int(value)
            raise ValueError_(f"{what} must be true or false, not {value!r}")
        case ir.IntType():
            if isinstance(value, int) and not isinstance(value, bool):
                if t.lo <= value <= t.hi:
                    return value
                raise ValueError_(f"{what} = {value} is outside {t}")
            raise ValueError_(f"{what} must be an integer in {t}, not {value!r}")
        case ir.EnumType():
            if isinstance(value, str) and value in t.members:
                return t.members.index(value)
            raise ValueError_(f"{what} must be one of {', '.join(t.members)}; got {value!r}")
        case ir.SetType():
            if isinstance(value, list | tuple) and all(
                isinstance(x, str) and x in t.elem.members for x in value
            ):
                mask = 0
                for x in value:
                    mask |= 1 << t.elem.members.index(x)
                return mask
            raise ValueError_(f"{what} must be a list of {t.elem.name} members; got {value!r}")
    raise ValueError_(f"{what} has an unsupported type")  # pragma: no cover


def args_from_json(
    params: Sequence[ir.Param], args: Mapping[str, JsonValue] | None
) -> tuple[int, ...]:
    """Validate named arguments against parameter domains; raise ValueError_ on any mismatch."""
    args = dict(args or {})
    if not isinstance(args, dict):
        raise ValueError_("arguments must be an object of name: value")
    names = {p.name for p in params}
    extra = sorted(set(args) - names)
    if extra:
        raise ValueError_(f"unknown argument `{extra[0]}`")
    out = []
    for p in params:
        if p.name not in args:
            raise ValueError_(f"missing argument `{p.name}`")
        out.append(scalar_from_json(p.type, args[p.name], f"argument `{p.name}`"))
    return tuple(out)
