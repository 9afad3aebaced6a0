"""AST to IR: name resolution, type checking, constant evaluation, slot layout.

Every problem becomes a diagnostic; lowering goes on after an error so that one run reports
all of them. `lower_spec` raises `SpecError` if any error was found.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from verifier import ir
from verifier.diagnostics import (
    WHOLE_FILE,
    Diagnostic,
    DiagnosticSink,
    Span,
    SpecError,
    source_lines,
    too_deep,
)
from verifier.ir.evaluate import EvalError, eval_expr
from verifier.lang import syntax as s
from verifier.lang.lower_bind import BindingLowerer
from verifier.lang.lower_expr import lower_expr
from verifier.lang.lower_stmt import lower_transition
from verifier.lang.scenario import Scenario, lower_scenarios
from verifier.lang.scope import BUILTINS, Def, Poison, Scope
from verifier.lang.types import describe, mismatch_help, same_kind


class Lowerer:
    """Lowers one spec. Use `lower_spec`."""

    def __init__(self, spec: s.Spec, overrides: Mapping[str, int]) -> None:
        self.spec = spec
        self.sink = DiagnosticSink(spec.path)
        self.overrides = dict(overrides)
        self.consts: dict[str, int] = {}
        self.types: dict[str, ir.Type] = {}
        self.members: dict[str, list[ir.EnumType]] = {}
        self.defs: dict[str, Def] = {}
        self.vars: dict[str, ir.StateVar] = {}
        self.slots: list[ir.Slot] = []
        self.declared: dict[str, Span] = {}
        self.expanding: list[str] = []
        self.expanded: set[str] = set()
        self.broken: set[str] = set()  # declared, but wrongly: uses stay quiet
        self.final_seen: Span | None = None
        self.quant_counter = itertools.count()
        self.source_lines = source_lines(spec.source)

    # ---- entry
    def run(self) -> ir.Model:
        decls = self.spec.decls
        for d in decls:
            self._within_depth(d.span, self._declare_early, d)
        for name in self.overrides:
            if name not in self.consts:
                self.sink.error(
                    "bad-const-override",
                    f"`--const {name}` names no constant of this spec",
                    WHOLE_FILE,
                    self.suggest(name, self.consts) or "declare it with `const`",
                )
        init: list[ir.Expr] = []
        transitions: list[ir.Transition] = []
        properties: list[ir.Property] = []
        finals: list[ir.Expr] = []

        def lower_decl(d: s.Decl) -> None:
            match d:
                case s.InitDecl():
                    init.extend(self.bool_expr(d.cond, Scope()))
                case s.TransitionDecl():
                    transitions.append(lower_transition(self, d))
                case s.PropertyDecl():
                    properties.extend(self._property(d))
                case s.FinalDecl():
                    self._final(d, finals)
                case s.ScenariosFor():
                    self.sink.error(
                        "bad-scenario",
                        f"this file holds scenarios of `{d.spec}`, not a spec",
                        d.span,
                        "run it with `verifier test`; `verifier check` the spec itself",
                    )

        for d in decls:
            self._within_depth(d.span, lower_decl, d)
        self._check_unused_defs()
        tools = [d for d in decls if isinstance(d, s.ToolDecl)]
        bindings = BindingLowerer(self.sink, transitions).run(tools)
        final = finals[0] if finals else None
        if self.sink.failed:
            raise SpecError(self.sink.items)
        header = self.spec.header
        return ir.Model(
            name=header.name.name if header else _stem(self.spec.path),
            doc=header.doc if header else None,
            consts=tuple(self.consts.items()),
            vars=tuple(self.vars.values()),
            slots=tuple(self.slots),
            init=tuple(init),
            transitions=tuple(transitions),
            properties=tuple(properties),
            final=final,
            bindings=bindings,
            source=self.spec.source,
            path=self.spec.path,
        )

    def _within_depth(self, span: Span, fn: Callable[[Any], object], arg: object) -> None:
        """Run one declaration's lowering; nesting beyond the stack is a located error."""
        try:
            fn(arg)
        except RecursionError:
            self.sink.items.append(too_deep(span, self.spec.path))

    def _final(self, d: s.FinalDecl, finals: list[ir.Expr]) -> None:
        if self.final_seen is not None:
            self.sink.error(
                "duplicate",
                "`final when` is declared twice",
                d.span,
                f"the first is on line {self.final_seen.line}; combine them with `or`",
            )
            return
        self.final_seen = d.span
        finals.extend(self.bool_expr(d.cond, Scope()))

    def _check_unused_defs(self) -> None:
        """Report errors in definitions that no expression uses (used ones are checked inline)."""
        for name, d in list(self.defs.items()):
            if name not in self.expanded:
                self._within_depth(d.decl.span, self._check_def, d)

    def _check_def(self, d: Def) -> None:
        scope = Scope({p: ir.Local(p, t, d.decl.span) for p, t in d.params})
        self.expanding.append(d.decl.name.name)
        try:
            self.expr(d.decl.body, scope)
        except Poison:
            pass
        finally:
            self.expanding.pop()

    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.sink.items if d.severity != "error"]

    # ---- declarations that introduce names (in order)
    def _declare(self, ident: s.Ident, kind: str) -> bool:
        if ident.name in self.declared:
            first = self.declared[ident.name]
            self.sink.error(
                "duplicate",
                f"`{ident.name}` is declared twice",
                ident.span,
                f"the first declaration is on line {first.line}",
            )
            return False
        if ident.name in BUILTINS:
            self.sink.error(
                "duplicate",
                f"`{ident.name}` is a built-in function and cannot be a {kind}",
                ident.span,
                "rename it; `min`, `max`, `abs` and `size` are built-in functions",
            )
            return False
        self.declared[ident.name] = ident.span
        return True

    def _declare_early(self, d: s.Decl) -> None:
        match d:
            case s.ConstDecl():
                self._const(d)
            case s.EnumDecl():
                if self._declare(d.name, "enum"):
                    self.types[d.name.name] = self._enum(d.name.name, d.members)
            case s.TypeDecl():
                if self._declare(d.name, "type"):
                    t = self.lower_type(d.type)
                    if t is not None:
                        self.types[d.name.name] = t
                    else:
                        self.broken.add(d.name.name)
            case s.DefDecl():
                if self._declare(d.name, "definition"):
                    params = self.params(d.params)
                    self.defs[d.name.name] = Def(d, tuple((p.name, p.type) for p in params))
            case s.StateBlock():
                for v in d.vars:
                    self._state_var(v)
            case s.TransitionDecl():
                self._declare(d.name, d.kind)
            case s.PropertyDecl():
                self._declare(d.name, d.kind)

    def _const(self, d: s.ConstDecl) -> None:
        if not self._declare(d.name, "constant"):
            return
        if d.name.name in self.overrides:
            self.consts[d.name.name] = self.overrides[d.name.name]
            return
        value = self._constant_int(d.value, "a constant's value")
        if value is not None:
            self.consts[d.name.name] = value
        else:
            self.broken.add(d.name.name)

    def _enum(self, name: str, members: tuple[s.Ident, ...]) -> ir.EnumType:
        seen: dict[str, Span] = {}
        for m in members:
            if m.name in seen:
                self.sink.error(
                    "duplicate",
                    f"enum member `{m.name}` is listed twice",
                    m.span,
                    f"remove the second `{m.name}`",
                )
            seen[m.name] = m.span
        enum = ir.EnumType(name, tuple(seen))
        for member in enum.members:
            self.members.setdefault(member, []).append(enum)
        return enum

    def _state_var(self, v: s.VarDecl) -> None:
        if not self._declare(v.name, "state variable"):
            return
        t = self.lower_type(v.type, name=v.name.name)
        if t is None:
            self.broken.add(v.name.name)
            return
        if isinstance(t, ir.ArrayType) and t.width > 4096:
            self.broken.add(v.name.name)
            self.sink.error(
                "too-large",
                f"array `{v.name.name}` has {t.width} slots",
                v.span,
                "arrays are limited to 4096 elements",
            )
            return
        first = len(self.slots)
        self.slots.extend(_slots_of(v.name.name, t, ()))
        init = self._initial(v, t)
        self.vars[v.name.name] = ir.StateVar(v.name.name, t, first, init, v.span)

    def _initial(self, v: s.VarDecl, t: ir.Type) -> tuple[int, ...] | None:
        if v.init is None:
            self.sink.error(
                "missing-initial",
                f"state variable `{v.name.name}` has no initial value",
                v.name.span,
                "write `= <value>`, or `= any` to start from every value of its type",
            )
            return (0,) * ir.slot_width(t)
        if isinstance(v.init, s.AnyValue):
            return None
        return self._initial_value(v.init, t)

    def _initial_value(self, e: s.Expr, t: ir.Type) -> tuple[int, ...]:
        if isinstance(t, ir.ArrayType):
            if isinstance(e, s.ListLit):
                if len(e.elems) != t.length:
                    self.sink.error(
                        "type-mismatch",
                        f"the list has {len(e.elems)} element{'s' if len(e.elems) != 1 else ''} "
                        f"but the array has {t.length}",
                        e.span,
                        f"give one value per element ({t.length}), or one value for all of them",
                    )
                    return (0,) * t.width
                return tuple(x for el in e.elems for x in self._initial_value(el, t.elem))
            return self._initial_value(e, t.elem) * t.length
        try:
            lowered = self.expr(e, Scope(), expected=t)
        except Poison:
            return (0,)
        if not self.compatible(lowered, t, e.span):
            return (0,)
        value = self._fold(lowered, "an initial value")
        if value is None:
            return (0,)
        if isinstance(t, ir.IntType) and not t.lo <= value <= t.hi:
            self.sink.error(
                "out-of-range",
                f"the initial value {value} is outside the range `{t}`",
                e.span,
                "widen the range or start from a value inside it",
            )
        return (value,)

    # ---- types
    def lower_type(
        self, t: s.TypeExpr, name: str = "enum", scope: Scope | None = None
    ) -> ir.Type | None:
        match t:
            case s.BoolT():
                return ir.BOOL
            case s.RangeT():
                lo = self._constant_int(t.lo, "a range bound", scope)
                hi = self._constant_int(t.hi, "a range bound", scope)
                if lo is None or hi is None:
                    return None
                if lo > hi:
                    self.sink.error(
                        "bad-range", f"the range `{lo}..{hi}` is empty", t.span, self._range_help()
                    )
                    return None
                return ir.IntType(lo, hi, t.saturating)
            case s.EnumT():
                return self._enum(name, t.members)
            case s.SetT():
                elem = self.lower_type(t.elem, scope=scope)
                if elem is None:
                    return None
                if not isinstance(elem, ir.EnumType):
                    self.sink.error(
                        "type-mismatch",
                        f"a set's elements must be an enum, not `{elem}`",
                        t.elem.span,
                        "declare `enum Name { ... }` and use `set of Name`",
                    )
                    return None
                return ir.SetType(elem)
            case s.ArrayT():
                index = self.lower_type(t.index, scope=scope)
                elem = self.lower_type(t.elem, name=name, scope=scope)
                if index is None or elem is None:
                    return None
                if not isinstance(index, ir.BoolType | ir.IntType | ir.EnumType):
                    self.sink.error(
                        "type-mismatch",
                        f"an array index must be a range, an enum or `bool`, not `{index}`",
                        t.index.span,
                        "index by a range such as `1..N` or by an enum",
                    )
                    return None
                return ir.ArrayType(index, elem)
            case s.NamedT():
                if t.name in self.types:
                    return self.types[t.name]
                if t.name in self.broken:
                    return None
                self.sink.error(
                    "unknown-name",
                    f"unknown type `{t.name}`",
                    t.span,
                    self.suggest(t.name, self.types) or "declare it with `enum` or `type`",
                )
                return None
        return None  # pragma: no cover

    def params(self, params: tuple[s.Param, ...]) -> list[ir.Param]:
        out: list[ir.Param] = []
        seen: set[str] = set()
        for p in params:
            if p.name.name in seen:
                self.sink.error(
                    "duplicate",
                    f"parameter `{p.name.name}` is declared twice",
                    p.name.span,
                    "give each parameter its own name",
                )
                continue
            seen.add(p.name.name)
            t = self.lower_type(p.type)
            if t is None:
                continue
            if not isinstance(t, ir.BoolType | ir.IntType | ir.EnumType | ir.SetType):
                self.sink.error(
                    "type-mismatch",
                    f"a parameter must be a bool, a range, an enum or a set, not `{t}`",
                    p.type.span,
                    "pass one element at a time, or keep arrays in state variables",
                )
                continue
            out.append(ir.Param(p.name.name, t, p.span))
        return out

    # ---- transitions
    def indices(
        self, var: ir.StateVar, exprs: tuple[s.Expr, ...], scope: Scope, span: Span
    ) -> tuple[ir.Expr, ...] | None:
        t = var.type
        out: list[ir.Expr] = []
        for e in exprs:
            if not isinstance(t, ir.ArrayType):
                dims = _dims(var.type)
                self.sink.error(
                    "type-mismatch",
                    f"`{var.name}` has no more dimensions to index"
                    if dims
                    else f"`{var.name}` is not an array",
                    e.span,
                    f"`{var.name}` takes {dims} index{'es' if dims != 1 else ''}"
                    if dims
                    else "remove the `[...]`",
                )
                return None
            try:
                idx = self.expr(e, scope, expected=t.index)
            except Poison:
                return None
            if not self.compatible(idx, t.index, e.span, what="an index"):
                return None
            value = _try_fold(idx)
            if value is not None and not 0 <= ir.index_offset(t.index, value) < t.index.size():
                self.sink.error(
                    "out-of-range",
                    f"index {value} is outside `{var.name}`'s index range `{t.index}`",
                    e.span,
                    f"valid indices run from {t.index.lo} to {t.index.hi}"
                    if isinstance(t.index, ir.IntType)
                    else None,
                )
                return None
            out.append(idx)
            t = t.elem
        return tuple(out)

    def _property(self, d: s.PropertyDecl) -> list[ir.Property]:
        got = self.bool_expr(d.cond, Scope())
        return [
            ir.Property(d.name.name, d.kind, c, self.text(d.cond.span), d.doc, d.name.span)
            for c in got
        ]

    # ---- expressions
    def bool_expr(self, e: s.Expr, scope: Scope) -> list[ir.Expr]:
        """Lower a condition; [] if it was wrong (already reported)."""
        try:
            lowered = self.expr(e, scope, expected=ir.BOOL)
        except Poison:
            return []
        if not isinstance(lowered.type, ir.BoolType):
            self._mismatch("a condition", ir.BOOL, lowered, e.span)
            return []
        return [lowered]

    def expr(self, e: s.Expr, scope: Scope, expected: ir.Type | None = None) -> ir.Expr:
        return lower_expr(self, e, scope, expected)

    def compatible(self, e: ir.Expr, t: ir.Type, span: Span, what: str = "the value") -> bool:
        if same_kind(e.type, t):
            return True
        self._mismatch(what, t, e, span)
        return False

    def _mismatch(self, what: str, want: ir.Type, got: ir.Expr, span: Span) -> None:
        self.sink.error(
            "type-mismatch",
            f"{what} must be {describe(want)}, but it is {describe(got.type)}",
            span,
            mismatch_help(want, got.type),
        )

    def _constant_int(self, e: s.Expr, what: str, scope: Scope | None = None) -> int | None:
        try:
            lowered = self.expr(e, scope or Scope())
        except Poison:
            return None
        if not isinstance(lowered.type, ir.IntType):
            self._mismatch(what, ir.IntType(0, 0), lowered, e.span)
            return None
        return self._fold(lowered, what)

    def _fold(self, e: ir.Expr, what: str) -> int | None:
        if ir.reads_state(e) or _has_free_locals(e):
            self.sink.error(
                "not-constant",
                f"{what} must be a constant expression",
                e.span,
                "use numbers, constants and enum members only",
            )
            return None
        try:
            return eval_expr(e, (), {})
        except EvalError as err:
            self.sink.error(
                "out-of-range",
                err.message,
                err.span,
                "constant expressions are evaluated when the spec is loaded",
            )
            return None

    def text(self, span: Span) -> str:
        lines = self.source_lines
        if not 1 <= span.line <= len(lines):
            return ""
        if span.line == span.end_line:
            return lines[span.line - 1][span.column - 1 : span.end_column - 1]
        parts = [lines[span.line - 1][span.column - 1 :]]
        parts += [ln.strip() for ln in lines[span.line : span.end_line - 1]]
        parts.append(lines[span.end_line - 1][: span.end_column - 1].strip())
        return " ".join(p.strip() for p in parts if p.strip())

    def kind_of(self, name: str, scope: Scope) -> str | None:
        """What a declared name that is not a state variable is, for messages."""
        if name in scope.names:
            return "a parameter"
        if name in self.consts:
            return "a constant"
        if name in self.defs:
            return "a definition"
        if name in self.types:
            return "a type"
        if name in self.members:
            return "an enum member"
        return None

    def _range_help(self) -> str:
        if self.overrides:
            given = ", ".join(f"`--const {k}={v}`" for k, v in self.overrides.items())
            return f"a range `lo..hi` needs lo <= hi; check {given}"
        return "a range `lo..hi` needs lo <= hi"

    def suggest(self, name: str, candidates: Mapping[str, object] | list[str]) -> str | None:
        close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
        return f"did you mean `{close[0]}`?" if close else None

    def fresh_quant_name(self, name: str) -> str:
        return f"{name}#{next(self.quant_counter)}"


# ---- helpers


def _stem(path: str) -> str:
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return base[:-4] if base.endswith(".cap") else base


def _slots_of(name: str, t: ir.Type, path: tuple[int, ...]) -> Iterator[ir.Slot]:
    if isinstance(t, ir.ArrayType):
        for v in t.index.values():
            yield from _slots_of(name, t.elem, (*path, v))
    else:
        yield ir.Slot(name, path, t)


def _dims(t: ir.Type) -> int:
    n = 0
    while isinstance(t, ir.ArrayType):
        n, t = n + 1, t.elem
    return n


children = ir.children


def _free_locals(e: ir.Expr) -> set[str]:
    if isinstance(e, ir.Local):
        return {e.name}
    out: set[str] = set()
    for c in children(e):
        out |= _free_locals(c)
    if isinstance(e, ir.Quant):
        out.discard(e.var)
    return out


def _has_free_locals(e: ir.Expr) -> bool:
    return bool(_free_locals(e))


def _try_fold(e: ir.Expr) -> int | None:
    if ir.reads_state(e) or _has_free_locals(e):
        return None
    try:
        return eval_expr(e, (), {})
    except EvalError:
        return None


def lower_spec(spec: s.Spec, overrides: Mapping[str, int] | None = None) -> ir.Model:
    """Resolve and type-check a spec; raise SpecError listing every error found."""
    model, _ = lower_spec_with_warnings(spec, overrides)
    return model


def lower_spec_with_warnings(
    spec: s.Spec, overrides: Mapping[str, int] | None = None
) -> tuple[ir.Model, list[Diagnostic]]:
    lowerer = Lowerer(spec, overrides or {})
    model = lowerer.run()
    return model, lowerer.warnings()


def lower_spec_with_scenarios(
    spec: s.Spec, overrides: Mapping[str, int] | None = None, tests: s.Spec | None = None
) -> tuple[ir.Model, list[Diagnostic], list[Scenario]]:
    """Lower a spec and the scenarios in it (or in `tests`, a separate scenario file)."""
    lowerer = Lowerer(spec, overrides or {})
    model = lowerer.run()
    warnings = lowerer.warnings()
    holder = tests if tests is not None else spec
    # the scenario file's names resolve in the spec, its diagnostics point into the file
    lowerer.sink = DiagnosticSink(holder.path)
    lowerer.source_lines = source_lines(holder.source)
    scenarios = lower_scenarios(lowerer, model, holder.decls)
    if lowerer.sink.failed:
        raise SpecError(lowerer.sink.items)
    return model, warnings + lowerer.warnings(), scenarios
