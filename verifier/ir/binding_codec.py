"""Bindings <-> canonical JSON, read strictly: every field typed, bounded and cross-checked.

A binding read from an artifact is data for the binder, never code: names must be
identifiers, pattern texts must compile in the safe subset, values must lie in their
parameter's domain, and every rule must bind a parameter of the named action (or event)
exactly once, with that parameter's type.
"""

from __future__ import annotations

import re
from typing import Any

from verifier.ir import binding as b
from verifier.ir import model as ir
from verifier.ir.patterns import KINDS, PatternError, compile_pattern

MAX_ITEMS = 10_000  # bindings, fields, rules, arms or patterns in one list
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_TOOL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,127}")


class BindingFormatError(ValueError):
    """A JSON document that does not describe valid bindings for the model."""


# ---- writing


def _type_json(t: ir.IndexType) -> dict[str, Any]:
    if isinstance(t, ir.BoolType):
        return {"node": "BoolType"}
    if isinstance(t, ir.IntType):
        return {"node": "IntType", "lo": t.lo, "hi": t.hi}
    return {"node": "EnumType", "name": t.name, "members": list(t.members)}


def _rule_json(r: b.Rule) -> dict[str, Any]:
    src = r.source
    return {
        "param": r.param,
        "type": _type_json(r.type),
        "kind": r.kind,
        "source": None
        if src is None
        else {"field": src.field, "transform": src.transform, "root": src.root},
        "arms": [
            {
                "patterns": [{"kind": p.kind, "text": p.text} for p in a.patterns],
                "numbers": list(a.numbers),
                "value": a.value,
            }
            for a in r.arms
        ],
        "bounds": list(r.bounds),
        "values": list(r.values),
        "otherwise": r.otherwise,
        "constant": r.constant,
        "line": r.line,
    }


def _field_json(f: b.Field) -> dict[str, Any]:
    return {
        "name": f.name,
        "type": f.type,
        "max_length": f.max_length,
        "default": f.default,
        "line": f.line,
    }


def bindings_to_json(bindings: tuple[b.ToolBinding, ...]) -> list[dict[str, Any]]:
    """The JSON form of a model's bindings."""
    return [
        {
            "tool": t.tool,
            "action": t.action,
            "inputs": [_field_json(f) for f in t.inputs],
            "outputs": [_field_json(f) for f in t.outputs],
            "rules": [_rule_json(r) for r in t.rules],
            "observations": [
                {
                    "outcome": o.outcome,
                    "event": o.event,
                    "rules": [_rule_json(r) for r in o.rules],
                    "line": o.line,
                }
                for o in t.observations
            ],
            "line": t.line,
        }
        for t in bindings
    ]


# ---- reading


def _fail(where: str, what: str) -> BindingFormatError:
    return BindingFormatError(f"binding {where}: {what}")


def _obj(data: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(where, "must be an object")
    if set(data) != keys:
        raise _fail(where, f"must have exactly the fields {sorted(keys)}")
    return data


def _list(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list) or len(data) > MAX_ITEMS:
        raise _fail(where, f"must be a list of at most {MAX_ITEMS} items")
    return data


def _int(data: Any, where: str, lo: int = -b.MAX_INTEGER, hi: int = b.MAX_INTEGER) -> int:
    if type(data) is not int or not lo <= data <= hi:
        raise _fail(where, f"must be an integer from {lo} to {hi}")
    return data


def _name(data: Any, where: str, pattern: re.Pattern[str] = _NAME) -> str:
    if not isinstance(data, str) or not pattern.fullmatch(data):
        raise _fail(where, "must be a name")
    return data


def _choice(data: Any, choices: tuple[str, ...], where: str) -> str:
    if data not in choices or not isinstance(data, str):
        raise _fail(where, f"must be one of {', '.join(choices)}")
    return data


def _field(data: Any, where: str) -> b.Field:
    d = _obj(data, {"name", "type", "max_length", "default", "line"}, where)
    ftype = _choice(d["type"], b.FIELD_TYPES, f"{where}.type")
    max_length = _int(d["max_length"], f"{where}.max_length", 0, b.MAX_LENGTH)
    default = d["default"]
    ok = (
        default is None
        or (ftype == "string" and isinstance(default, str) and len(default) <= max_length)
        or (ftype in ("integer", "number") and type(default) is int)
        or (ftype == "boolean" and isinstance(default, bool))
    )
    if not ok or (type(default) is int and abs(default) > b.MAX_INTEGER):
        raise _fail(where, "has a default that is not of its type")
    return b.Field(_name(d["name"], where), ftype, max_length, default, _int(d["line"], where, 0))


def _index_type(data: Any, where: str) -> ir.IndexType:
    if not isinstance(data, dict):
        raise _fail(where, "must be a type")
    node = data.get("node")
    if node == "BoolType" and set(data) == {"node"}:
        return ir.BOOL
    if node == "IntType":
        d = _obj(data, {"node", "lo", "hi"}, where)
        lo, hi = _int(d["lo"], where), _int(d["hi"], where)
        if lo > hi:
            raise _fail(where, "is an empty range")
        return ir.IntType(lo, hi)
    if node == "EnumType":
        d = _obj(data, {"node", "name", "members"}, where)
        members = tuple(_name(m, where) for m in _list(d["members"], where))
        return ir.EnumType(_name(d["name"], where), members)
    raise _fail(where, "must be a bool, range or enum type")


def _in_domain(t: ir.IndexType, v: Any, where: str) -> int:
    value = _int(v, where)
    if value not in t.values():
        raise _fail(where, f"value {value} is outside {t}")
    return value


def _source(data: Any, where: str) -> b.Source | None:
    if data is None:
        return None
    d = _obj(data, {"field", "transform", "root"}, where)
    transform = _choice(d["transform"], b.TRANSFORMS, f"{where}.transform")
    root = d["root"]
    if root is not None and (transform != "path" or not isinstance(root, str)):
        raise _fail(where, "only a path source may name a root")
    return b.Source(
        _name(d["field"], where), transform, None if root is None else _name(root, where)
    )


def _arm(data: Any, t: ir.IndexType, where: str) -> b.Arm:
    d = _obj(data, {"patterns", "numbers", "value"}, where)
    patterns = []
    for p in _list(d["patterns"], where):
        pd = _obj(p, {"kind", "text"}, where)
        kind = _choice(pd["kind"], KINDS, f"{where}.kind")
        try:
            compile_pattern(kind, pd["text"])
        except PatternError as err:
            raise _fail(where, f"pattern is not valid: {err}") from None
        patterns.append(b.Pattern(kind, pd["text"]))
    numbers = tuple(_int(n, where) for n in _list(d["numbers"], where))
    if not patterns and not numbers:
        raise _fail(where, "an arm needs a pattern")
    return b.Arm(tuple(patterns), numbers, _in_domain(t, d["value"], where))


_RULE_KEYS = {"param", "type", "kind", "source", "arms", "bounds", "values", "otherwise"}


def _rule(data: Any, where: str) -> b.Rule:
    d = _obj(data, _RULE_KEYS | {"constant", "line"}, where)
    t = _index_type(d["type"], f"{where}.type")
    kind = _choice(d["kind"], b.RULE_KINDS, f"{where}.kind")
    source = _source(d["source"], f"{where}.source")
    arms = tuple(_arm(a, t, f"{where}.arms") for a in _list(d["arms"], where))
    bounds = tuple(_int(x, where) for x in _list(d["bounds"], where))
    values = tuple(_in_domain(t, x, where) for x in _list(d["values"], where))
    otherwise = None if d["otherwise"] is None else _in_domain(t, d["otherwise"], where)
    constant = None if d["constant"] is None else _in_domain(t, d["constant"], where)
    shape = {
        "const": constant is not None and source is None and not arms and not bounds,
        "direct": source is not None and not arms and not bounds and otherwise is None,
        "match": source is not None and bool(arms) and not bounds,
        "bucket": source is not None
        and not arms
        and bool(bounds)
        and len(bounds) == len(values)
        and list(bounds) == sorted(set(bounds)),
    }
    if (
        not shape[kind]
        or (kind != "const" and constant is not None)
        or (kind != "bucket" and values)
    ):
        raise _fail(where, f"is not a well-formed `{kind}` rule")
    return b.Rule(
        _name(d["param"], where), t, kind, source, arms, bounds, values, otherwise, constant,
        _int(d["line"], where, 0),
    )  # fmt: skip


def _check_rules(
    rules: tuple[b.Rule, ...], fields: tuple[b.Field, ...], target: ir.Transition, where: str
) -> None:
    """Each parameter bound exactly once, with its type; every source a declared field."""
    params = {p.name: p.type for p in target.params}
    names = [r.param for r in rules]
    if sorted(names) != sorted(params) or len(set(names)) != len(names):
        raise _fail(where, f"must bind each parameter of `{target.name}` exactly once")
    declared = {f.name: f.type for f in fields}
    for r in rules:
        if r.type != params[r.param]:
            raise _fail(where, f"rule for `{r.param}` has the wrong type")
        if r.source is not None:
            if r.source.field not in declared:
                raise _fail(where, f"rule for `{r.param}` reads an undeclared field")
            if not fits(r, declared[r.source.field]):
                raise _fail(where, f"rule for `{r.param}` does not fit its field's type")


def fits(rule: b.Rule, field_type: str) -> bool:
    """Whether a rule can read a field of this JSON type (the front end reports why not)."""
    src = rule.source
    if src is None:
        return True
    text = field_type == "string"
    if src.transform != "value" and not text:
        return False
    if rule.kind == "bucket":
        return field_type in ("integer", "number")
    if rule.kind == "match":
        has_patterns = any(a.patterns for a in rule.arms)
        has_numbers = any(a.numbers for a in rule.arms)
        if text:
            return not has_numbers
        if field_type == "boolean":
            return not has_patterns and all(n in (0, 1) for a in rule.arms for n in a.numbers)
        return field_type == "integer" and not has_patterns
    # direct: bool <- boolean, range <- integer, enum <- string (member name)
    t = rule.type
    if isinstance(t, ir.BoolType):
        return field_type == "boolean"
    if isinstance(t, ir.IntType):
        return field_type == "integer"
    return text


def _unique(names: list[str], where: str) -> None:
    if len(set(names)) != len(names):
        raise _fail(where, "declares a name twice")


def _tool(data: Any, model: ir.Model, where: str) -> b.ToolBinding:
    keys = {"tool", "action", "inputs", "outputs", "rules", "observations", "line"}
    d = _obj(data, keys, where)
    tool = _name(d["tool"], f"{where}.tool", _TOOL)
    where = f"`{tool}`"
    inputs = tuple(_field(f, f"{where} input") for f in _list(d["inputs"], where))
    outputs = tuple(_field(f, f"{where} output") for f in _list(d["outputs"], where))
    _unique([f.name for f in inputs], where)
    _unique([f.name for f in outputs], where)
    action = _transition(model, d["action"], "action", where)
    rules = tuple(_rule(r, f"{where} rule") for r in _list(d["rules"], where))
    _check_rules(rules, inputs, action, where)
    observations = []
    for o in _list(d["observations"], where):
        od = _obj(o, {"outcome", "event", "rules", "line"}, where)
        outcome = _choice(od["outcome"], b.OUTCOMES, f"{where} outcome")
        event = _transition(model, od["event"], "event", where)
        orules = tuple(_rule(r, f"{where} observation") for r in _list(od["rules"], where))
        _check_rules(orules, outputs, event, where)
        observations.append(b.Observation(outcome, event.name, orules, _int(od["line"], where, 0)))
    _unique([o.outcome for o in observations], where)
    return b.ToolBinding(
        tool, action.name, inputs, outputs, rules, tuple(observations), _int(d["line"], where, 0)
    )


def _transition(model: ir.Model, name: Any, kind: str, where: str) -> ir.Transition:
    name = _name(name, where)
    for t in model.transitions:
        if t.name == name and t.kind == kind:
            return t
    raise _fail(where, f"names no {kind} `{name}` of the model")


def bindings_from_json(data: Any, model: ir.Model) -> tuple[b.ToolBinding, ...]:
    """Bindings from `bindings_to_json` output, validated against `model`."""
    tools = tuple(_tool(t, model, f"#{k}") for k, t in enumerate(_list(data, "list")))
    _unique([t.tool for t in tools], "list")
    return tools
