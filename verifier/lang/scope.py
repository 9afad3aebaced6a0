"""What lowering's parts share: the binding scope, the poison marker, and the context.

`lower` drives a spec through declarations; `lower_expr` and `lower_stmt` lower expressions
and transitions. They meet only here, so none of them imports another's internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from verifier import ir
from verifier.diagnostics import DiagnosticSink, Span
from verifier.lang import syntax as s

MAX_ENUMERATION = 1_000_000  # cap on initial states / parameter tuples enumerated at lowering
BUILTINS = ("min", "max", "abs", "size", "ord")


class Poison(Exception):
    """An expression already reported as wrong; its parents stay quiet."""


@dataclass
class Def:
    """A `def` macro with its lowered parameter types."""

    decl: s.DefDecl
    params: tuple[tuple[str, ir.Type], ...]


@dataclass
class Scope:
    """Names bound inside an expression: parameters, quantifier variables, def arguments."""

    names: dict[str, ir.Expr] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()  # declared wrongly (already reported): uses stay quiet

    def bind(self, name: str, value: ir.Expr) -> Scope:
        return Scope({**self.names, name: value}, self.hidden - {name})


class Context(Protocol):
    """The declarations lowered so far, and the services expression lowering calls back."""

    sink: DiagnosticSink
    consts: dict[str, int]
    types: dict[str, ir.Type]
    members: dict[str, list[ir.EnumType]]
    defs: dict[str, Def]
    vars: dict[str, ir.StateVar]
    expanding: list[str]
    expanded: set[str]
    broken: set[str]

    def bool_expr(self, e: s.Expr, scope: Scope) -> list[ir.Expr]: ...
    def expr(self, e: s.Expr, scope: Scope, expected: ir.Type | None = None) -> ir.Expr: ...
    def compatible(self, e: ir.Expr, t: ir.Type, span: Span, what: str = "the value") -> bool: ...
    def indices(
        self, var: ir.StateVar, exprs: tuple[s.Expr, ...], scope: Scope, span: Span
    ) -> tuple[ir.Expr, ...] | None: ...
    def kind_of(self, name: str, scope: Scope) -> str | None: ...
    def params(self, params: tuple[s.Param, ...]) -> list[ir.Param]: ...
    def suggest(self, name: str, candidates: Mapping[str, object] | list[str]) -> str | None: ...
    def text(self, span: Span) -> str: ...
    def lower_type(
        self, t: s.TypeExpr, name: str = "enum", scope: Scope | None = None
    ) -> ir.Type | None: ...
    def fresh_quant_name(self, name: str) -> str: ...


def layout(t: ir.Type, depth: int) -> tuple[tuple[ir.IndexType, ...], tuple[int, ...]]:
    """The index types and strides of the first `depth` dimensions of an array type."""
    dims: list[ir.IndexType] = []
    strides: list[int] = []
    for _ in range(depth):
        assert isinstance(t, ir.ArrayType)
        dims.append(t.index)
        strides.append(ir.slot_width(t.elem))
        t = t.elem
    return tuple(dims), tuple(strides)
