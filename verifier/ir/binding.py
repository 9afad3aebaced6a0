"""Argument bindings: how a tool call's JSON arguments become an action's bounded arguments.

A `ToolBinding` is part of the model, so it is proved, hashed and signed with the spec. It
declares the tool's argument fields (a JSON-Schema subset), one `Rule` per parameter of the
action, and the events a tool's result is observed as. The runtime binder
(`verifier/guard/binding.py`) evaluates it; the front end checks it (`lang/lower_bind.py`).
Rule values are runtime ints of the parameter's type (bool 0/1, enum member index, integer).
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.ir import model as ir
from verifier.ir.values import scalar_text

__all__ = [
    "FIELD_TYPES",
    "RULE_KINDS",
    "TRANSFORMS",
    "Arm",
    "Field",
    "Observation",
    "Pattern",
    "Rule",
    "Source",
    "ToolBinding",
    "describe",
    "input_schema",
]

FIELD_TYPES = ("string", "integer", "number", "boolean")
RULE_KINDS = ("const", "direct", "match", "bucket")
TRANSFORMS = ("value", "domain", "path")
OUTCOMES = ("success", "error")
DEFAULT_MAX_LENGTH = 4096  # characters of a string field without `max`
MAX_LENGTH = 1_000_000
MAX_INTEGER = 2**53  # integer fields and literals stay within what JSON numbers carry exactly


@dataclass(frozen=True)
class Field:
    """One argument (or result) field: a JSON type, a length bound, an optional default."""

    name: str
    type: str  # one of FIELD_TYPES
    max_length: int  # strings: at most this many characters
    default: str | int | bool | None  # None: required
    line: int = 0


@dataclass(frozen=True)
class Source:
    """Where a rule reads: a field, optionally as an e-mail domain or a normalised path."""

    field: str
    transform: str  # one of TRANSFORMS
    root: str | None = None  # `path` only: a root the deployment maps to a directory


@dataclass(frozen=True)
class Pattern:
    kind: str  # exact | prefix | glob | regex (see ir/patterns.py)
    text: str


@dataclass(frozen=True)
class Arm:
    """`patterns -> value`: string patterns, or exact numbers/booleans for other fields."""

    patterns: tuple[Pattern, ...]
    numbers: tuple[int, ...]
    value: int


@dataclass(frozen=True)
class Rule:
    """How one parameter gets its value.

    const: `constant`; direct: the field's value itself (bool, in-range integer, enum member
    name); match: the arm whose pattern matches, else `otherwise` (None: deny); bucket: the
    first i with value < bounds[i] gives values[i], else `otherwise` (None: deny).
    """

    param: str
    type: ir.IndexType
    kind: str  # one of RULE_KINDS
    source: Source | None
    arms: tuple[Arm, ...] = ()
    bounds: tuple[int, ...] = ()
    values: tuple[int, ...] = ()
    otherwise: int | None = None
    constant: int | None = None
    line: int = 0


@dataclass(frozen=True)
class Observation:
    """`on success|error observe event(rules)`: a tool outcome reported as an event."""

    outcome: str  # one of OUTCOMES
    event: str
    rules: tuple[Rule, ...]
    line: int = 0


@dataclass(frozen=True)
class ToolBinding:
    tool: str
    action: str
    inputs: tuple[Field, ...]
    outputs: tuple[Field, ...]
    rules: tuple[Rule, ...]
    observations: tuple[Observation, ...]
    line: int = 0


def input_schema(binding: ToolBinding) -> dict[str, object]:
    """The JSON Schema the binder enforces on a call's arguments."""
    props: dict[str, object] = {}
    for f in binding.inputs:
        prop: dict[str, object] = {"type": f.type}
        if f.type == "string":
            prop["maxLength"] = f.max_length
        if f.type == "integer":
            prop["minimum"], prop["maximum"] = -MAX_INTEGER, MAX_INTEGER
        if f.default is not None:
            prop["default"] = f.default
        props[f.name] = prop
    required = [f.name for f in binding.inputs if f.default is None]
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def _value_text(t: ir.IndexType, v: int) -> str:
    return scalar_text(t, v)


def _source_text(src: Source | None) -> str:
    if src is None:
        return ""
    if src.transform == "domain":
        return f"domain({src.field})"
    if src.transform == "path":
        return f'path({src.field}, root "{src.root}")' if src.root else f"path({src.field})"
    return src.field


def _arm_text(rule: Rule, arm: Arm) -> str:
    pats = [f'"{p.text}"' if p.kind == "exact" else f'{p.kind} "{p.text}"' for p in arm.patterns]
    pats += [str(n) for n in arm.numbers]
    return f"{', '.join(pats)} -> {_value_text(rule.type, arm.value)}"


def describe_rule(rule: Rule) -> str:
    """One line: how the parameter is computed."""
    src = _source_text(rule.source)
    if rule.kind == "const":
        return f"{rule.param} = {_value_text(rule.type, rule.constant or 0)}"
    if rule.kind == "direct":
        return f"{rule.param} = {src} (must be a value of {rule.type})"
    if rule.kind == "match":
        arms = [_arm_text(rule, a) for a in rule.arms]
    else:
        arms = [
            f"below {b} -> {_value_text(rule.type, v)}"
            for b, v in zip(rule.bounds, rule.values, strict=True)
        ]
    arms.append(
        "else -> deny"
        if rule.otherwise is None
        else f"else -> {_value_text(rule.type, rule.otherwise)}"
    )
    return f"{rule.param} = {rule.kind} {src} {{ {'; '.join(arms)} }}"


def describe(binding: ToolBinding) -> list[str]:
    """How a tool maps onto its action, as lines for `verifier check -v`."""
    fields = ", ".join(
        f"{f.name}: {f.type}" + (f" = {f.default!r}" if f.default is not None else "")
        for f in binding.inputs
    )
    lines = [f"tool `{binding.tool}` -> action `{binding.action}` (arguments: {fields or 'none'})"]
    lines += [f"  {describe_rule(r)}" for r in binding.rules]
    for obs in binding.observations:
        args = ", ".join(describe_rule(r) for r in obs.rules)
        lines.append(f"  on {obs.outcome}: observe `{obs.event}`" + (f"({args})" if args else ""))
    return lines
