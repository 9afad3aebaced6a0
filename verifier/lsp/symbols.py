"""Declarations and uses of names in a parsed spec, resolved by scope, with their spans.

A symbol is identified by a key: `(kind, owner, name)`. Kinds: `const`, `enum`, `type`, `def`,
`var`, `action`, `event`, `invariant`, `reachable`, `member` (owner: the enum), `param` and
`bound` (owner: where the name is bound, so two transitions' `a` differ). An unqualified enum
member that several enums declare resolves to the key `("member", "", name)`: ambiguous.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from verifier.diagnostics import Span
from verifier.lang import syntax as s
from verifier.lang.format_expr import doc_text, expr_text, params_text, type_text

Key = tuple[str, str, str]


@dataclass(frozen=True)
class Symbol:
    """A declared name: where it is declared and what the declaration says."""

    key: Key
    span: Span  # the name itself
    decl_span: Span  # the whole declaration
    detail: str  # e.g. `phase: Phase = idle`, `action send(external: bool)`
    doc: str | None = None
    scope: Span | None = None  # for parameters and bound variables: where they are visible


@dataclass(frozen=True)
class Use:
    """One occurrence of a name (declarations included) and the symbol it stands for."""

    span: Span
    key: Key
    qualified: bool = False  # `Enum.member`


@dataclass
class SymbolTable:
    """Every symbol of a spec and every occurrence of each."""

    symbols: dict[Key, Symbol] = field(default_factory=dict)
    uses: list[Use] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)  # member -> enums

    def at(self, line: int, column: int) -> Use | None:
        """The occurrence under a 1-based position (the end column counts, for a cursor)."""
        for use in self.uses:
            sp = use.span
            if sp.line == line and sp.column <= column <= sp.end_column:
                return use
        return None

    def uses_of(self, key: Key) -> list[Use]:
        return [u for u in self.uses if u.key == key]

    def globals(self) -> list[Symbol]:
        return [sym for sym in self.symbols.values() if sym.scope is None]

    def locals_at(self, line: int, column: int) -> list[Symbol]:
        return [
            sym
            for sym in self.symbols.values()
            if sym.scope is not None and _inside(sym.scope, line, column)
        ]


def _inside(sp: Span, line: int, column: int) -> bool:
    return (sp.line, sp.column) <= (line, column) <= (sp.end_line, sp.end_column)


def _name_span(whole: Span, name: str) -> Span:
    """The span of the last `name` characters of a span on one line (`Enum.member`)."""
    return Span(whole.end_line, whole.end_column - len(name), whole.end_line, whole.end_column)


def _type_detail(t: s.TypeExpr) -> str:
    return type_text(t)


def build(spec: s.Spec) -> SymbolTable:
    """Declare every top-level name, then resolve every use."""
    table = SymbolTable()
    _Declarer(table).run(spec)
    _Resolver(table).run(spec)
    return table


class _Declarer:
    def __init__(self, table: SymbolTable) -> None:
        self.t = table

    def add(self, sym: Symbol) -> None:
        self.t.symbols.setdefault(sym.key, sym)
        self.t.uses.append(Use(sym.span, sym.key))

    def run(self, spec: s.Spec) -> None:
        for d in spec.decls:
            self.decl(d)

    def decl(self, d: s.Decl) -> None:
        if isinstance(d, s.ConstDecl):
            text = f"const {d.name.name} = {expr_text(d.value)}"
            self.add(Symbol(("const", "", d.name.name), d.name.span, d.span, text))
        elif isinstance(d, s.EnumDecl):
            names = ", ".join(m.name for m in d.members)
            text = f"enum {d.name.name} {{ {names} }}"
            self.add(Symbol(("enum", "", d.name.name), d.name.span, d.span, text))
            self.members(d.name.name, d.members, d.span)
        elif isinstance(d, s.TypeDecl):
            text = f"type {d.name.name} = {_type_detail(d.type)}"
            self.add(Symbol(("type", "", d.name.name), d.name.span, d.span, text))
            self.inline_enums(d.type, d.name.name)
        elif isinstance(d, s.DefDecl):
            text = f"def {d.name.name}{params_text(d.params)} = {expr_text(d.body)}"
            self.add(Symbol(("def", "", d.name.name), d.name.span, d.span, text))
        elif isinstance(d, s.StateBlock):
            for v in d.vars:
                self.var(v)
        elif isinstance(d, s.TransitionDecl):
            text = f"{d.kind} {d.name.name}{params_text(d.params)}{doc_text(d.doc)}"
            sym = Symbol((d.kind, "", d.name.name), d.name.span, d.span, text, d.doc)
            self.add(sym)
        elif isinstance(d, s.PropertyDecl):
            text = f"{d.kind} {d.name.name}: {expr_text(d.cond)}"
            self.add(Symbol((d.kind, "", d.name.name), d.name.span, d.span, text, d.doc))

    def var(self, v: s.VarDecl) -> None:
        text = f"{v.name.name}: {_type_detail(v.type)}"
        if isinstance(v.init, s.AnyValue):
            text += " = any"
        elif v.init is not None:
            text += f" = {expr_text(v.init)}"
        self.add(Symbol(("var", "", v.name.name), v.name.span, v.span, text))
        self.inline_enums(v.type, v.name.name)

    def inline_enums(self, t: s.TypeExpr, owner: str) -> None:
        if isinstance(t, s.EnumT):
            self.members(f"enum of {owner}", t.members, t.span)
        elif isinstance(t, s.SetT):
            self.inline_enums(t.elem, owner)
        elif isinstance(t, s.ArrayT):
            self.inline_enums(t.index, owner)
            self.inline_enums(t.elem, owner)

    def members(self, enum: str, members: tuple[s.Ident, ...], decl: Span) -> None:
        for m in members:
            text = f"{m.name}, a member of `{enum}`"
            self.add(Symbol(("member", enum, m.name), m.span, decl, text))
            self.t.members.setdefault(m.name, []).append(enum)


class _Resolver:
    """Walks expressions with a stack of local scopes and records each use."""

    def __init__(self, table: SymbolTable) -> None:
        self.t = table
        self.scopes: list[dict[str, Key]] = []

    def run(self, spec: s.Spec) -> None:
        for d in spec.decls:
            for node, scope in self.decl_parts(d):
                self.walk(node, scope)

    def decl_parts(self, d: s.Decl) -> Iterator[tuple[object, dict[str, Key]]]:
        if isinstance(d, s.ConstDecl):
            yield d.value, {}
        elif isinstance(d, s.TypeDecl):
            yield d.type, {}
        elif isinstance(d, (s.DefDecl, s.TransitionDecl)):
            owner = f"{'def' if isinstance(d, s.DefDecl) else d.kind} {d.name.name}"
            scope = self.bind_params(d.params, owner, d.span)
            yield from ((p.type, {}) for p in d.params)
            yield (d.body if isinstance(d, s.DefDecl) else list(d.body)), scope
        elif isinstance(d, s.StateBlock):
            for v in d.vars:
                yield v.type, {}
                if v.init is not None and not isinstance(v.init, s.AnyValue):
                    yield v.init, {}
        elif isinstance(d, (s.InitDecl, s.FinalDecl, s.PropertyDecl)):
            yield d.cond, {}

    def bind_params(self, params: tuple[s.Param, ...], owner: str, where: Span) -> dict[str, Key]:
        scope: dict[str, Key] = {}
        for p in params:
            key: Key = ("param", owner, p.name.name)
            text = f"{p.name.name}: {_type_detail(p.type)}, a parameter of `{owner}`"
            self.t.symbols.setdefault(key, Symbol(key, p.name.span, p.span, text, None, where))
            self.t.uses.append(Use(p.name.span, key))
            scope[p.name.name] = key
        return scope

    def walk(self, node: object, scope: dict[str, Key]) -> None:
        self.scopes.append(scope)
        try:
            self.visit(node)
        finally:
            self.scopes.pop()

    def lookup(self, name: str) -> Key | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        for kind in ("var", "const", "def"):
            if (kind, "", name) in self.t.symbols:
                return (kind, "", name)
        owners = self.t.members.get(name, [])
        if len(owners) == 1:
            return ("member", owners[0], name)
        return ("member", "", name) if owners else None

    def visit(self, node: object) -> None:
        if isinstance(node, list | tuple):
            for item in node:
                self.visit(item)
        elif isinstance(node, s.Name):
            key = self.lookup(node.name)
            if key is not None:
                self.t.uses.append(Use(node.span, key))
        elif isinstance(node, s.Member):
            self.member(node)
        elif isinstance(node, s.Call):
            if ("def", "", node.func.name) in self.t.symbols:
                self.t.uses.append(Use(node.func.span, ("def", "", node.func.name)))
            self.visit(node.args)
        elif isinstance(node, s.Quant | s.ArrayComp):
            self.quant(node)
        elif isinstance(node, s.NamedT):
            self.named_type(node)
        elif isinstance(node, s.Assign):
            var = node.target.var
            if ("var", "", var.name) in self.t.symbols:
                self.t.uses.append(Use(var.span, ("var", "", var.name)))
            self.visit(node.target.indices)
            self.visit(node.value)
        else:
            self.visit_children(node)

    def visit_children(self, node: object) -> None:
        fields = getattr(node, "__dataclass_fields__", {})
        for name in fields:
            if name != "span":
                self.visit(getattr(node, name))

    def member(self, node: s.Member) -> None:
        sp = node.span
        enum_span = Span(sp.line, sp.column, sp.line, sp.column + len(node.enum))
        if ("enum", "", node.enum) in self.t.symbols:
            self.t.uses.append(Use(enum_span, ("enum", "", node.enum)))
        key: Key = ("member", node.enum, node.member)
        if key in self.t.symbols:
            self.t.uses.append(Use(_name_span(node.span, node.member), key, qualified=True))

    def quant(self, node: s.Quant | s.ArrayComp) -> None:
        self.visit(node.domain)
        kind = node.kind if isinstance(node, s.Quant) else "for"
        owner = f"{kind} at {node.span.line}:{node.span.column}"
        key: Key = ("bound", owner, node.var.name)
        text = f"{node.var.name} in {_type_detail(node.domain)}, bound by `{kind}`"
        sym = Symbol(key, node.var.span, node.span, text, None, node.span)
        self.t.symbols.setdefault(key, sym)
        self.t.uses.append(Use(node.var.span, key))
        self.walk(node.body, {node.var.name: key})

    def named_type(self, node: s.NamedT) -> None:
        for kind in ("type", "enum", "var"):  # `all x in seen:` ranges over a set variable
            if (kind, "", node.name) in self.t.symbols:
                self.t.uses.append(Use(node.span, (kind, "", node.name)))
                return
