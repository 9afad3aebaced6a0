"""The runtime binder: a tool call's JSON arguments to one action instance, or a refusal.

Total and fail-closed: `bind_call` never raises; every input gives exactly one argument tuple
of the bound action or a `Refused` naming the tool, the field and the rule (with its spec
line). An unbound tool, a non-object, an undeclared field, a missing field without a default,
a value of the wrong JSON type, an over-long string, a pattern no arm matches without `else`,
an e-mail address that is not one, a path that climbs out of its start or its root: each is a
refusal. Patterns run as automata (verifier/ir/patterns.py): no backtracking, and strings are
bounded by their field's maximum length, so one call costs O(length x pattern states).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from verifier import ir
from verifier.ir import binding as b
from verifier.ir.patterns import Automaton, compile_pattern
from verifier.ir.values import scalar_to_json

MAX_PATH_SEGMENTS = 256
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


class Bound(NamedTuple):
    """A call mapped onto `name(args)` (an action, or an event for an observed outcome)."""

    name: str
    args: dict[str, Any]


class Refused(NamedTuple):
    """Why a call (or a result) maps onto nothing."""

    reason: str
    line: int | None = None


class _Refusal(Exception):
    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.refused = Refused(reason, line)


# ---- transforms


def email_domain(value: str) -> str | None:
    """The lowercased domain of one plain e-mail address, or None if it is not one."""
    if value.count("@") != 1 or len(value) > 320:
        return None
    local, domain = value.split("@")
    domain = domain.lower().removesuffix(".")
    if not _LOCAL.fullmatch(local) or len(local) > 64 or not 0 < len(domain) <= 253:
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        return None
    return domain


def normalise_path(value: str) -> str | None:
    """`.`, `..` and repeated separators removed lexically; None if it climbs above its start."""
    if "\x00" in value or value == "":
        return None
    absolute = value.startswith("/")
    parts: list[str] = []
    segments = value.split("/")
    if len(segments) > MAX_PATH_SEGMENTS:
        return None
    for seg in segments:
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            elif not absolute:
                return None
            continue
        parts.append(seg)
    if absolute:
        return "/" + "/".join(parts)
    return "/".join(parts) or "."


def resolve_under(value: str, root: str) -> str | None:
    """`value` resolved against the directory `root` with symlinks followed, as `/rel/path`.

    None if it leaves the root (by `..` or through a symlink). A relative path is relative to
    the root; an absolute one must lie inside it.
    """
    if "\x00" in value or value == "" or len(value.split("/")) > MAX_PATH_SEGMENTS:
        return None
    base = os.path.realpath(root)
    joined = value if value.startswith("/") else os.path.join(base, value)
    resolved = os.path.realpath(joined)
    if resolved != base and not resolved.startswith(base.rstrip("/") + "/"):
        return None
    rel = os.path.relpath(resolved, base)
    return "/" if rel == "." else "/" + rel


# ---- the binder


class ToolBinder:
    """Evaluates one tool's binding."""

    def __init__(self, binding: b.ToolBinding, roots: Mapping[str, str]) -> None:
        self.binding = binding
        self.roots = dict(roots)
        self._automata: dict[tuple[str, str], Automaton] = {}
        for rule in binding.rules + tuple(r for o in binding.observations for r in o.rules):
            for arm in rule.arms:
                for p in arm.patterns:
                    self._automata[(p.kind, p.text)] = compile_pattern(p.kind, p.text)
        self._inputs = {f.name: f for f in binding.inputs}
        self._outputs = {f.name: f for f in binding.outputs}

    def refuse(self, message: str, line: int | None = None) -> _Refusal:
        where = f" (line {line})" if line else ""
        return _Refusal(f"tool `{self.binding.tool}`: {message}{where}", line)

    def call(self, arguments: Any) -> Bound:
        """The action instance for `arguments`; raises _Refusal."""
        values = self.fields(arguments, self._inputs, strict=True)
        args = {r.param: self.rule(r, values) for r in self.binding.rules}
        return Bound(self.binding.action, args)

    def observe(self, outcome: str, result: Any) -> Bound | None:
        """The event an outcome is observed as (None if the binding declares none)."""
        for obs in self.binding.observations:
            if obs.outcome == outcome:
                values = self.fields(result, self._outputs, strict=False)
                return Bound(obs.event, {r.param: self.rule(r, values) for r in obs.rules})
        return None

    def fields(self, data: Any, fields: dict[str, b.Field], strict: bool) -> dict[str, Any]:
        what = "arguments" if strict else "result"
        if data is None and not strict:
            data = {}
        if not isinstance(data, dict):
            raise self.refuse(f"the {what} must be a JSON object", self.binding.line)
        if strict:
            extra = [k for k in data if k not in fields]
            if extra:
                shown = str(extra[0])[:64]
                raise self.refuse(
                    f"unexpected argument `{shown}` (declared: {', '.join(fields) or 'none'})",
                    self.binding.line,
                )
        return {name: self.field(f, data, what) for name, f in fields.items()}

    def field(self, f: b.Field, data: dict[str, Any], what: str) -> Any:
        noun = "argument" if what == "arguments" else "result field"
        if f.name not in data:
            if f.default is None:
                raise self.refuse(f"missing {noun} `{f.name}`", f.line)
            return f.default
        value = data[f.name]
        if not _has_type(value, f.type):
            raise self.refuse(f"{noun} `{f.name}` must be a{_article(f.type)} {f.type}", f.line)
        if f.type == "string" and len(value) > f.max_length:
            raise self.refuse(f"{noun} `{f.name}` is longer than {f.max_length} characters", f.line)
        return value

    def rule(self, r: b.Rule, values: dict[str, Any]) -> Any:
        if r.kind == "const":
            return scalar_to_json(r.type, r.constant if r.constant is not None else 0)
        assert r.source is not None
        x = self.source(r, values[r.source.field])
        if r.kind == "direct":
            return scalar_to_json(r.type, self.direct(r, x))
        if r.kind == "bucket":
            return scalar_to_json(r.type, self.bucket(r, x))
        return scalar_to_json(r.type, self.match(r, x))

    def source(self, r: b.Rule, value: Any) -> Any:
        src = r.source
        assert src is not None
        if src.transform == "domain":
            domain = email_domain(value)
            if domain is None:
                raise self.refuse(
                    f"`{src.field}` is not a plain e-mail address (rule for `{r.param}`)", r.line
                )
            return domain
        if src.transform == "path":
            if src.root is None:
                path = normalise_path(value)
                if path is None:
                    raise self.refuse(
                        f"`{src.field}` climbs above its start (rule for `{r.param}`)", r.line
                    )
                return path
            root = self.roots.get(src.root)
            if root is None:
                raise self.refuse(f"root `{src.root}` is not configured", r.line)
            path = resolve_under(value, root)
            if path is None:
                raise self.refuse(
                    f"`{src.field}` leaves the root `{src.root}` (rule for `{r.param}`)", r.line
                )
            return path
        return value

    def direct(self, r: b.Rule, x: Any) -> int:
        t = r.type
        field = r.source.field if r.source else r.param
        if isinstance(t, ir.BoolType) and isinstance(x, bool):
            return int(x)
        if isinstance(t, ir.IntType) and type(x) is int and t.lo <= x <= t.hi:
            return x
        if isinstance(t, ir.EnumType) and isinstance(x, str) and x in t.members:
            return t.members.index(x)
        raise self.refuse(f"`{field}` = {_shown(x)} is not a value of `{r.param}` ({t})", r.line)

    def bucket(self, r: b.Rule, x: Any) -> int:
        for bound, value in zip(r.bounds, r.values, strict=True):
            if x < bound:
                return value
        if r.otherwise is None:
            field = r.source.field if r.source else r.param
            raise self.refuse(
                f"`{field}` = {_shown(x)} is not below {r.bounds[-1]} (rule for `{r.param}`)",
                r.line,
            )
        return r.otherwise

    def match(self, r: b.Rule, x: Any) -> int:
        for arm in r.arms:
            if isinstance(x, str):
                if any(self._automata[(p.kind, p.text)].matches(x) for p in arm.patterns):
                    return arm.value
            elif any(x == n and type(x) is type(n) for n in _numbers(arm)):
                return arm.value
        if r.otherwise is None:
            field = r.source.field if r.source else r.param
            raise self.refuse(f"`{field}` = {_shown(x)} matches no rule for `{r.param}`", r.line)
        return r.otherwise


def _numbers(arm: b.Arm) -> list[int | bool]:
    return [*arm.numbers, *(bool(n) for n in arm.numbers if n in (0, 1))]


def _has_type(value: Any, ftype: str) -> bool:
    if ftype == "string":
        return isinstance(value, str)
    if ftype == "boolean":
        return isinstance(value, bool)
    if ftype == "integer":
        return type(value) is int and abs(value) <= b.MAX_INTEGER
    return (type(value) is int and abs(value) <= b.MAX_INTEGER) or (
        type(value) is float and math.isfinite(value)
    )


def _article(word: str) -> str:
    return "n" if word[0] in "aeiou" else ""


def _shown(x: Any) -> str:
    text = repr(x) if isinstance(x, str) else str(x)
    return f"`{text[:80]}...`" if len(text) > 80 else f"`{text}`"


class Binder:
    """Every tool binding of a model, by tool name. Never raises."""

    def __init__(self, model: ir.Model, roots: Mapping[str, str] | None = None) -> None:
        self.model = model
        self._tools = {t.tool: ToolBinder(t, roots or {}) for t in model.bindings}

    def tools(self) -> list[str]:
        return list(self._tools)

    def binding(self, tool: str) -> b.ToolBinding | None:
        found = self._tools.get(tool)
        return found.binding if found else None

    def bind_call(self, tool: Any, arguments: Any) -> Bound | Refused:
        """The action instance a call maps onto, or why it maps onto none."""
        try:
            binder = self._tools.get(tool) if isinstance(tool, str) else None
            if binder is None:
                return Refused(f"tool `{str(tool)[:128]}` is not bound by the policy")
            return binder.call(arguments)
        except _Refusal as err:
            return err.refused
        except Exception as err:  # fail closed on anything unforeseen
            return Refused(f"the call could not be bound ({type(err).__name__})")

    def bind_result(self, tool: str, outcome: str, result: Any) -> Bound | Refused | None:
        """The event a tool's outcome is observed as; None if none is declared."""
        try:
            binder = self._tools.get(tool)
            if binder is None:
                return Refused(f"tool `{tool[:128]}` is not bound by the policy")
            return binder.observe(outcome, result)
        except _Refusal as err:
            return err.refused
        except Exception as err:
            return Refused(f"the result could not be bound ({type(err).__name__})")
