"""One binding rule to IR: values in the parameter's domain, patterns, overlaps, field types.

Used by `lower_bind` for each `PARAM = RULE` of a `tool` declaration. An ambiguous table (two
patterns some input matches both, with different values) is found by intersecting the
patterns' automata, which also yields the shortest such input for the message.
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
_STRING_KINDS = ("prefix", "glob", "regex")


class Skip(Exception):
    """A rule already reported as wrong."""


def suggest(name: str, candidates: Sequence[str]) -> str | None:
    """`did you mean ...?` for the closest candidate, if any."""
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"did you mean `{close[0]}`?" if close else None


class RuleLowerer:
    """Lowers one rule for a parameter of type `ptype`, reading `fields`."""

    def __init__(
        self, sink: DiagnosticSink, ptype: ir.IndexType, fields: tuple[b.Field, ...], block: str
    ) -> None:
        self.sink = sink
        self.ptype = ptype
        self.fields = {f.name: f for f in fields}
        self.block = block

    def fail(self, code: str, message: str, span: Span, hint: str | None = None) -> Skip:
        self.sink.error(code, message, span, hint)
        return Skip()

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
                suggest(field, list(self.fields)) or f"declare it in `{self.block} {{ ... }}`",
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
                suggest(str(lit.value), t.members) or f"members: {', '.join(t.members)}",
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
    """A parameter value as the spec writes it."""
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
