"""`tool` declarations to IR bindings, with every static check of a binding.

A binding is rejected (located, with a hint) when it names an unknown action, event, field or
parameter, leaves a parameter unbound or binds it twice, maps onto a value outside the
parameter's domain, reads a field with a rule that cannot apply to its JSON type, uses a
pattern outside the safe subset, or has two patterns that some string matches both with
different results (the shortest such string is shown).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from verifier import ir
from verifier.diagnostics import DiagnosticSink, Span
from verifier.ir import binding as b
from verifier.ir.binding_codec import fits
from verifier.ir.patterns import Automaton, PatternError, compile_pattern
from verifier.lang import syntax as s

_ROOT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_TOOL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,127}")
_STRING_KINDS = ("prefix", "glob", "regex")


class _Skip(Exception):
    """A rule already reported as wrong."""


def _suggest(name: str, candidates: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"did you mean `{close[0]}`?" if close else None


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
            hint = _suggest(ident.name, names) or f"declare it with `{kind} {ident.name} ...`"
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
                _suggest(ftype, b.FIELD_TYPES) or "use string, integer, number or boolean",
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
                    _suggest(name, list(params))
                    or f"its parameters: {', '.join(params) or 'none'}",
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
                except _Skip:
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


class RuleLowerer:
    """Lowers one rule for a parameter of type `ptype`, reading `fields`."""

    def __init__(
        self, sink: DiagnosticSink, ptype: ir.IndexType, fields: tuple[b.Field, ...], block: str
    ) -> None:
        self.sink = sink
        self.ptype = ptype
        self.fields = {f.name: f for f in fields}
        self.block = block

    def fail(self, code: str, message: str, span: Span, hint: str | None = None) -> _Skip:
        self.sink.error(code, message, span, hint)
        return _Skip()

    def rule(self, r: s.BindRule) -> b.Rule:
        line = r.span.line
        name = r.param.name
        if r.form == "const":
            assert r.constant is not None
            return b.Rule(
                name, self.ptype, "const", None, constant=self.value(r.constant), line=line
            )
        assert r.source is not None
        src = r.source
        if (
            r.form == "plain"
            and src.transform is None
            and src.field.name not in self.fields
            and isinstance(self.ptype, ir.EnumType)
            and src.field.name in self.ptype.members
        ):
            member = s.BindLit(src.field.name, "name", src.span)
            return b.Rule(name, self.ptype, "const", None, constant=self.value(member), line=line)
        source = self.source(src)
        ftype = self.fields[source.field].type
        if r.form == "member":
            rule = self.member(r, source, ftype)
        elif r.form == "table":
            rule = self.table(r, source, ftype)
        else:
            rule = b.Rule(name, self.ptype, "direct", source, line=line)
        if not fits(rule, ftype):
            raise self.fail(
                "type-mismatch",
                f"`{name}` cannot be computed this way from {ftype} field `{source.field}`",
                r.span,
                _fit_hint(rule, ftype),
            )
        return rule

    def source(self, src: s.BindSource) -> b.Source:
        field = src.field.name
        if field not in self.fields:
            raise self.fail(
                "unknown-name",
                f"unknown {self.block} field `{field}`",
                src.field.span,
                _suggest(field, list(self.fields)) or f"declare it in `{self.block} {{ ... }}`",
            )
        if src.transform is None:
            return b.Source(field, "value")
        transform = src.transform.name
        if transform not in ("domain", "path"):
            raise self.fail(
                "unknown-name",
                f"unknown transform `{transform}`",
                src.transform.span,
                "use `domain(field)` for an e-mail address or `path(field)` for a file path",
            )
        if src.option is None:
            return b.Source(field, transform)
        if transform != "path" or src.option.name != "root" or src.root is None:
            raise self.fail(
                "syntax",
                f"`{src.option.name}` is not an option of `{transform}`",
                src.option.span,
                'write `path(field, root "name")`',
            )
        if not _ROOT_NAME.fullmatch(src.root):
            raise self.fail(
                "bad-pattern",
                f"root `{src.root}` is not a name",
                src.span,
                "a root is a name the gateway's configuration maps to a directory",
            )
        return b.Source(field, transform, src.root)

    def value(self, lit: s.BindLit) -> int:
        t = self.ptype
        if isinstance(t, ir.BoolType) and lit.kind == "bool":
            return int(bool(lit.value))
        if isinstance(t, ir.IntType) and lit.kind == "int":
            assert isinstance(lit.value, int)
            if t.lo <= lit.value <= t.hi:
                return lit.value
            raise self.fail(
                "out-of-range",
                f"`{lit.value}` is outside the parameter's domain {t}",
                lit.span,
                f"map onto a value from {t.lo} to {t.hi}",
            )
        if isinstance(t, ir.EnumType) and lit.kind == "name":
            if lit.value in t.members:
                return t.members.index(str(lit.value))
            raise self.fail(
                "out-of-range",
                f"`{lit.value}` is not a member of `{t.name}`",
                lit.span,
                _suggest(str(lit.value), t.members) or f"members: {', '.join(t.members)}",
            )
        raise self.fail(
            "type-mismatch",
            f"`{_lit_text(lit)}` is not a value of {t}",
            lit.span,
            f"the parameter has type {t}",
        )

    def member(self, r: s.BindRule, source: b.Source, ftype: str) -> b.Rule:
        if not isinstance(self.ptype, ir.BoolType):
            raise self.fail(
                "type-mismatch",
                f"`{r.param.name}` has type {self.ptype}; `in [...]` gives a bool",
                r.span,
                "use a table `field { ... -> value }` to map onto other types",
            )
        pats = tuple(s.BindPattern(None, item, item.span) for item in r.items)
        arm = self.arm(s.BindArm(pats, s.BindLit(True, "bool", r.span), r.span), ftype)
        if not arm.patterns and not arm.numbers:
            raise self.fail("type-mismatch", "the list is empty", r.span, "name at least one value")
        self.check_overlaps([(arm, [p.span for p in pats])], r)
        return b.Rule(
            r.param.name, self.ptype, "match", source, (arm,), otherwise=0, line=r.span.line
        )

    def table(self, r: s.BindRule, source: b.Source, ftype: str) -> b.Rule:
        arms = [a for a in r.arms if a.patterns]
        elses = [a for a in r.arms if not a.patterns]
        if len(elses) > 1:
            raise self.fail("duplicate", "`else` is written twice", elses[1].span)
        otherwise = self.value(elses[0].value) if elses else None
        below = [
            p for a in arms for p in a.patterns if p.kind is not None and p.kind.name == "below"
        ]
        if below:
            return self.bucket(r, source, arms, otherwise)
        if not arms:
            raise self.fail(
                "type-mismatch", "the table has no patterns", r.span, "add `pattern -> value` lines"
            )
        lowered = [(self.arm(a, ftype), [p.span for p in a.patterns]) for a in arms]
        self.check_overlaps(lowered, r)
        return b.Rule(
            r.param.name, self.ptype, "match", source, tuple(a for a, _ in lowered),
            otherwise=otherwise, line=r.span.line,
        )  # fmt: skip

    def bucket(
        self, r: s.BindRule, source: b.Source, arms: list[s.BindArm], otherwise: int | None
    ) -> b.Rule:
        bounds: list[int] = []
        values: list[int] = []
        for a in arms:
            p = a.patterns[0]
            if (
                len(a.patterns) != 1
                or p.kind is None
                or p.kind.name != "below"
                or p.value.kind != "int"
            ):
                raise self.fail(
                    "syntax",
                    "a bucket line is `below NUMBER -> value`",
                    a.span,
                    "do not mix `below` with other patterns in one table",
                )
            assert isinstance(p.value.value, int)
            if bounds and p.value.value <= bounds[-1]:
                raise self.fail(
                    "bad-range",
                    f"threshold {p.value.value} is not above the previous one ({bounds[-1]})",
                    p.span,
                    "list `below` thresholds in increasing order",
                )
            bounds.append(p.value.value)
            values.append(self.value(a.value))
        return b.Rule(
            r.param.name, self.ptype, "bucket", source, bounds=tuple(bounds),
            values=tuple(values), otherwise=otherwise, line=r.span.line,
        )  # fmt: skip

    def arm(self, a: s.BindArm, ftype: str) -> b.Arm:
        patterns: list[b.Pattern] = []
        numbers: list[int] = []
        for p in a.patterns:
            if p.kind is None and p.value.kind == "string":
                patterns.append(self.pattern("exact", p))
            elif p.kind is None and p.value.kind in ("int", "bool"):
                numbers.append(int(p.value.value))
            elif p.kind is not None and p.kind.name in _STRING_KINDS and p.value.kind == "string":
                patterns.append(self.pattern(p.kind.name, p))
            else:
                word = p.kind.name if p.kind else _lit_text(p.value)
                raise self.fail(
                    "unknown-name",
                    f"`{word}` is not a pattern",
                    p.span,
                    'write "text", prefix "...", glob "...", regex "...", a number, '
                    "true, false, or `below N` in a bucket",
                )
        return b.Arm(tuple(patterns), tuple(numbers), self.value(a.value))

    def pattern(self, kind: str, p: s.BindPattern) -> b.Pattern:
        text = str(p.value.value)
        try:
            compile_pattern(kind, text)
        except PatternError as err:
            raise self.fail(
                "bad-pattern",
                f"{kind} `{text}` is not supported: {err}",
                p.span,
                "see docs/language.md for the safe pattern subset",
            ) from None
        return b.Pattern(kind, text)

    def check_overlaps(self, arms: list[tuple[b.Arm, list[Span]]], r: s.BindRule) -> None:
        """Two patterns of arms with different values that some input matches both."""
        flat: list[tuple[Automaton | int, str, int, Span]] = []
        for arm, spans in arms:
            items: list[Automaton | int] = [compile_pattern(p.kind, p.text) for p in arm.patterns]
            items += list(arm.numbers)
            texts = [_pattern_text(p) for p in arm.patterns] + [str(n) for n in arm.numbers]
            flat.extend(zip(items, texts, [arm.value] * len(items), spans, strict=True))
        for i, (x, xt, xv, _) in enumerate(flat):
            for y, yt, yv, yspan in flat[i + 1 :]:
                if xv == yv:
                    continue
                witness = _overlap(x, y)
                if witness is not None:
                    raise self.fail(
                        "ambiguous-binding",
                        f"`{xt}` and `{yt}` both match {witness}, which would map to "
                        f"`{ir_value(self.ptype, xv)}` and to `{ir_value(self.ptype, yv)}`",
                        yspan,
                        "make the patterns disjoint, or map them to the same value",
                    )


def _overlap(x: Automaton | int, y: Automaton | int) -> str | None:
    if isinstance(x, Automaton) and isinstance(y, Automaton):
        w = x.intersection(y)
        return None if w is None else _quote(w)
    if isinstance(x, int) and isinstance(y, int) and x == y:
        return str(x)
    return None


def _quote(text: str) -> str:
    return '""' if not text else '"' + text.encode("unicode_escape").decode("ascii") + '"'


def ir_value(t: ir.IndexType, v: int) -> str:
    return b.describe_rule(b.Rule("_", t, "const", None, constant=v)).split(" = ", 1)[1]


def _pattern_text(p: b.Pattern) -> str:
    return f'"{p.text}"' if p.kind == "exact" else f'{p.kind} "{p.text}"'


def _lit_text(lit: s.BindLit) -> str:
    if lit.kind == "string":
        return f'"{lit.value}"'
    if lit.kind == "bool":
        return "true" if lit.value else "false"
    return str(lit.value)


def _fit_hint(rule: b.Rule, ftype: str) -> str:
    if rule.source is not None and rule.source.transform != "value":
        return f"`{rule.source.transform}(...)` reads a string field"
    if rule.kind == "bucket":
        return "`below` thresholds apply to integer and number fields"
    if rule.kind == "match":
        return "match strings with string patterns, numbers and booleans with literals"
    return (
        "a bool parameter takes a boolean field, a range an integer field, an enum a string "
        "field holding a member's name; otherwise map the field with a table"
    )
