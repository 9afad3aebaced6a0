"""`tool` declarations to IR bindings, with every static check of a binding.

A binding is rejected (located, with a hint) when it names an unknown action, event, field or
parameter, leaves a parameter unbound or binds it twice, maps onto a value outside the
parameter's domain, reads a field with a rule that cannot apply to its JSON type, uses a
pattern outside the safe subset, or has two patterns that some string matches both with
different results (the shortest such string is shown).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from verifier import ir
from verifier.diagnostics import DiagnosticSink, Span
from verifier.ir import binding as b
from verifier.lang import syntax as s
from verifier.lang.lower_rule import RuleLowerer, Skip, suggest

_TOOL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,127}")


class BindingLowerer:
    """Lowers the `tool` declarations of one spec against its lowered transitions."""

    def __init__(self, sink: DiagnosticSink, transitions: Sequence[ir.Transition]) -> None:
        self.sink = sink
        self.transitions = {t.name: t for t in transitions}

    def run(self, decls: Sequence[s.ToolDecl]) -> tuple[b.ToolBinding, ...]:
        seen: dict[str, Span] = {}
        out = []
        for d in decls:
            if d.tool.name in seen:
                self.sink.error(
                    "duplicate",
                    f"tool `{d.tool.name}` is bound twice",
                    d.tool.span,
                    f"the first binding is on line {seen[d.tool.name].line}",
                )
                continue
            seen[d.tool.name] = d.tool.span
            tool = self.tool(d)
            if tool is not None:
                out.append(tool)
        return tuple(out)

    # ---- declarations

    def tool(self, d: s.ToolDecl) -> b.ToolBinding | None:
        if not _TOOL_NAME.fullmatch(d.tool.name):
            self.sink.error(
                "syntax",
                f"`{d.tool.name}` is not a tool name",
                d.tool.span,
                "tool names are 1 to 128 letters, digits, `_`, `-`, `.` or `/`",
            )
        action = self.transition(d.action, "action")
        blocks = self.blocks([i for i in d.items if isinstance(i, s.FieldBlock)])
        inputs, outputs = blocks.get("input", ()), blocks.get("output", ())
        rules = [i for i in d.items if isinstance(i, s.BindRule)]
        ons = [i for i in d.items if isinstance(i, s.OnClause)]
        if action is None:
            return None
        lowered = self.rules(rules, action, inputs, d.span, "input")
        observations = self.observations(ons, outputs)
        if lowered is None or observations is None:
            return None
        return b.ToolBinding(
            d.tool.name, action.name, inputs, outputs, lowered, observations, d.span.line
        )

    def transition(self, ident: s.Ident, kind: str) -> ir.Transition | None:
        t = self.transitions.get(ident.name)
        if t is not None and t.kind == kind:
            return t
        if t is not None:
            message = f"`{ident.name}` is an {t.kind}, not an {kind}"
            hint = (
                "a tool call is an action the agent proposes; bind it to an `action`"
                if kind == "action"
                else "a tool's outcome is observed as an `event`"
            )
        else:
            message = f"unknown {kind} `{ident.name}`"
            names = [n for n, x in self.transitions.items() if x.kind == kind]
            hint = suggest(ident.name, names) or f"declare it with `{kind} {ident.name} ...`"
        self.sink.error("unknown-name", message, ident.span, hint)
        return None

    def blocks(self, blocks: list[s.FieldBlock]) -> dict[str, tuple[b.Field, ...]]:
        out: dict[str, tuple[b.Field, ...]] = {}
        for block in blocks:
            kind = block.kind.name
            if kind not in ("input", "output"):
                self.sink.error(
                    "unknown-name",
                    f"`{kind}` is not a field block",
                    block.kind.span,
                    "declare the call's arguments in `input { ... }` and the result's "
                    "fields in `output { ... }`",
                )
            elif kind in out:
                self.sink.error("duplicate", f"`{kind}` is declared twice", block.kind.span)
            else:
                out[kind] = self.fields(block.fields)
        return out

    def fields(self, decls: tuple[s.FieldDecl, ...]) -> tuple[b.Field, ...]:
        out: dict[str, b.Field] = {}
        for f in decls:
            if f.name.name in out:
                self.sink.error("duplicate", f"field `{f.name.name}` is declared twice", f.span)
                continue
            field = self.field(f)
            if field is not None:
                out[f.name.name] = field
        return tuple(out.values())

    def field(self, f: s.FieldDecl) -> b.Field | None:
        ftype = f.type.name
        if ftype not in b.FIELD_TYPES:
            self.sink.error(
                "unknown-name",
                f"unknown field type `{ftype}`",
                f.type.span,
                suggest(ftype, b.FIELD_TYPES) or "use string, integer, number or boolean",
            )
            return None
        if f.max_length is not None and (ftype != "string" or f.max_length > b.MAX_LENGTH):
            self.sink.error(
                "type-mismatch",
                f"`{ftype}({f.max_length})` is not a field type",
                f.type.span,
                f"only strings take a maximum length, from 0 to {b.MAX_LENGTH}",
            )
            return None
        size = b.DEFAULT_MAX_LENGTH if f.max_length is None else f.max_length
        default = None if f.default is None else self.default(f, ftype, size)
        return b.Field(f.name.name, ftype, size, default, f.span.line)

    def default(self, f: s.FieldDecl, ftype: str, size: int) -> str | int | bool | None:
        lit = f.default
        assert lit is not None
        want = {"string": "string", "integer": "int", "number": "int", "boolean": "bool"}[ftype]
        if lit.kind != want or (isinstance(lit.value, str) and len(lit.value) > size):
            self.sink.error(
                "type-mismatch",
                f"the default of `{f.name.name}` is not a {ftype}",
                lit.span,
                f"write a {ftype} value"
                + (f" of at most {size} characters" if want == "string" else ""),
            )
            return None
        return lit.value

    # ---- rules

    def rules(
        self,
        decls: list[s.BindRule],
        target: ir.Transition,
        fields: tuple[b.Field, ...],
        where: Span,
        block: str,
    ) -> tuple[b.Rule, ...] | None:
        params = {p.name: p.type for p in target.params}
        out: dict[str, b.Rule] = {}
        ok = True
        for r in decls:
            name = r.param.name
            if name not in params:
                self.sink.error(
                    "unknown-name",
                    f"`{target.name}` has no parameter `{name}`",
                    r.param.span,
                    suggest(name, list(params)) or f"its parameters: {', '.join(params) or 'none'}",
                )
                ok = False
            elif name in out:
                self.sink.error("duplicate", f"parameter `{name}` is bound twice", r.span)
                ok = False
            elif isinstance(ptype := params[name], ir.SetType):
                self.sink.error(
                    "type-mismatch",
                    f"parameter `{name}` is a set; a binding computes bool, range and enum values",
                    r.span,
                    "split the set into one bool parameter per member",
                )
                ok = False
            else:
                try:
                    out[name] = RuleLowerer(self.sink, ptype, fields, block).rule(r)
                except Skip:
                    ok = False
        missing = [p for p in params if p not in out and p not in {r.param.name for r in decls}]
        if missing:
            self.sink.error(
                "unbound-parameter",
                f"parameter `{missing[0]}` of `{target.name}` is not bound",
                where,
                f"add a rule `{missing[0]} = ...` computing it from the {block} fields",
            )
            ok = False
        return tuple(out[p.name] for p in target.params) if ok else None

    def observations(
        self, ons: list[s.OnClause], outputs: tuple[b.Field, ...]
    ) -> tuple[b.Observation, ...] | None:
        out: dict[str, b.Observation] = {}
        ok = True
        for on in ons:
            first, outcome, verb = (w.name for w in on.words)
            if first != "on" or verb != "observe" or outcome not in b.OUTCOMES:
                self.sink.error(
                    "syntax",
                    f"unexpected `{first} {outcome} {verb}`",
                    on.span,
                    "write `on success observe EVENT(...)` or `on error observe EVENT(...)`",
                )
                ok = False
                continue
            if outcome in out:
                self.sink.error("duplicate", f"`on {outcome}` is declared twice", on.span)
                ok = False
                continue
            event = self.transition(on.event, "event")
            rules = (
                None
                if event is None
                else self.rules(list(on.rules), event, outputs, on.span, "output")
            )
            if event is None or rules is None:
                ok = False
                continue
            out[outcome] = b.Observation(outcome, event.name, rules, on.span.line)
        return tuple(out.values()) if ok else None
