"""Text to AST. lark trees and lark errors never leave this module."""

from __future__ import annotations

import ast as pyast
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import lark
from lark import Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from verifier.diagnostics import Diagnostic, Span, SpecError, too_deep
from verifier.lang import syntax as s

KEYWORDS = frozenset(
    {
        "capability",
        "const",
        "enum",
        "type",
        "def",
        "state",
        "init",
        "action",
        "event",
        "final",
        "invariant",
        "reachable",
        "when",
        "needs",
        "approval",
        "if",
        "then",
        "else",
        "and",
        "or",
        "not",
        "implies",
        "in",
        "all",
        "some",
        "count",
        "true",
        "false",
        "bool",
        "set",
        "of",
        "array",
        "any",
        "mod",
        "scenario",
        "scenarios",
        "for",
        "saturating",
        "tool",
    }
)


@cache
def _lark() -> lark.Lark:
    grammar = resources.files("verifier.grammar").joinpath("cap.lark").read_text("utf-8")
    return lark.Lark(
        grammar,
        parser="lalr",
        lexer="basic",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=False,
    )


@dataclass(frozen=True)
class Tok:
    """One lexical token, comments and whitespace included, with its span."""

    kind: str  # the grammar's terminal name: NAME, COMMENT, WS, LBRACE, ...
    text: str
    span: Span


def lex_tokens(text: str) -> list[Tok]:
    """Every token of text that parses, comments and whitespace included, in order."""
    return [Tok(t.type, str(t), _span_of(t)) for t in _lark().lex(text, dont_ignore=True)]


def lex_prefix(text: str) -> list[Tok]:
    """The tokens of `text` up to the first character that cannot start one (never raises)."""
    out: list[Tok] = []
    try:
        for tok in _lark().lex(text, dont_ignore=True):
            out.append(Tok(tok.type, str(tok), _span_of(tok)))
    except UnexpectedInput:
        pass
    return out


def _span_of(item: Any) -> Span:
    if isinstance(item, Token):
        return Span(item.line or 1, item.column or 1, item.end_line or 1, item.end_column or 1)
    meta = item
    if getattr(meta, "empty", False):
        return Span(1, 1, 1, 1)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _ident(tok: Token) -> s.Ident:
    return s.Ident(str(tok), _span_of(tok))


def _items(xs: list[Any]) -> tuple[Any, ...]:
    return tuple(x for x in xs if x is not None)


def _lit(x: Any) -> s.BindLit:
    """A binding literal; `true`/`false` arrive as expression literals."""
    if isinstance(x, s.BoolLit):
        return s.BindLit(x.value, "bool", x.span)
    return x


@v_args(meta=True)
class _ToolsToAst(Transformer[Token, Any]):
    """Transformer methods for `tool` declarations (mixed into _ToAst)."""

    def tool_decl(self, meta: Any, ch: list[Any]) -> s.ToolDecl:
        tok = ch[0]
        tool = s.Ident(_string(tok) if tok.type == "STRING" else str(tok), _span_of(tok))
        doc = _string(ch[2]) if ch[2] is not None else None
        return s.ToolDecl(tool, _ident(ch[1]), doc, tuple(ch[3:]), _span_of(meta))

    def field_block(self, meta: Any, ch: list[Any]) -> s.FieldBlock:
        return s.FieldBlock(_ident(ch[0]), tuple(ch[1:]), _span_of(meta))

    def field_decl(self, meta: Any, ch: list[Any]) -> s.FieldDecl:
        size = int(ch[2]) if ch[2] is not None else None
        default = _lit(ch[3]) if ch[3] is not None else None
        return s.FieldDecl(_ident(ch[0]), _ident(ch[1]), size, default, _span_of(meta))

    def bind_rule(self, meta: Any, ch: list[Any]) -> s.BindRule:
        form, source, arms, items, constant = ch[1]
        return s.BindRule(_ident(ch[0]), form, source, arms, items, constant, _span_of(meta))

    def on_clause(self, meta: Any, ch: list[Any]) -> s.OnClause:
        words = (_ident(ch[0]), _ident(ch[1]), _ident(ch[2]))
        return s.OnClause(words, _ident(ch[3]), _items(ch[4:]), _span_of(meta))

    def table_rule(self, meta: Any, ch: list[Any]) -> tuple[Any, ...]:
        return ("table", ch[0], tuple(ch[1:]), (), None)

    def member_rule(self, meta: Any, ch: list[Any]) -> tuple[Any, ...]:
        return ("member", ch[0], (), tuple(_lit(x) for x in _items(ch[1:])), None)

    def plain_rule(self, meta: Any, ch: list[Any]) -> tuple[Any, ...]:
        return ("plain", ch[0], (), (), None)

    def const_rule(self, meta: Any, ch: list[Any]) -> tuple[Any, ...]:
        return ("const", None, (), (), _lit(ch[0]))

    def source(self, meta: Any, ch: list[Any]) -> s.BindSource:
        if ch[1] is None:
            return s.BindSource(_ident(ch[0]), None, None, None, _span_of(meta))
        option = _ident(ch[2]) if ch[2] is not None else None
        root = _string(ch[3]) if ch[3] is not None else None
        return s.BindSource(_ident(ch[1]), _ident(ch[0]), option, root, _span_of(meta))

    def arm(self, meta: Any, ch: list[Any]) -> s.BindArm:
        pats = tuple(
            p if isinstance(p, s.BindPattern) else s.BindPattern(None, _lit(p), p.span)
            for p in ch[:-1]
        )
        return s.BindArm(pats, _lit(ch[-1]), _span_of(meta))

    def else_arm(self, meta: Any, ch: list[Any]) -> s.BindArm:
        return s.BindArm((), _lit(ch[0]), _span_of(meta))

    def kinded_pattern(self, meta: Any, ch: list[Any]) -> s.BindPattern:
        lit = s.BindLit(_string(ch[1]), "string", _span_of(ch[1]))
        return s.BindPattern(_ident(ch[0]), lit, _span_of(meta))

    def kinded_number(self, meta: Any, ch: list[Any]) -> s.BindPattern:
        return s.BindPattern(_ident(ch[0]), ch[1], _span_of(meta))

    def name_literal(self, meta: Any, ch: list[Any]) -> s.BindLit:
        return s.BindLit(str(ch[0]), "name", _span_of(meta))

    def string_literal(self, meta: Any, ch: list[Any]) -> s.BindLit:
        return s.BindLit(_string(ch[0]), "string", _span_of(meta))

    def signed_int(self, meta: Any, ch: list[Any]) -> s.BindLit:
        value = int(ch[-1])
        return s.BindLit(-value if len(ch) == 2 else value, "int", _span_of(meta))


@v_args(meta=True)
class _ToAst(_ToolsToAst):
    # ---- top level
    def start(self, meta: Any, ch: list[Any]) -> Any:
        header = ch[0] if ch and isinstance(ch[0], s.Header) else None
        decls = tuple(c for c in ch if not isinstance(c, s.Header))
        return header, decls

    def header(self, meta: Any, ch: list[Any]) -> s.Header:
        doc = _string(ch[1]) if ch[1] is not None else None
        return s.Header(_ident(ch[0]), doc, _span_of(meta))

    def const_decl(self, meta: Any, ch: list[Any]) -> s.ConstDecl:
        return s.ConstDecl(_ident(ch[0]), ch[1], _span_of(meta))

    def enum_decl(self, meta: Any, ch: list[Any]) -> s.EnumDecl:
        return s.EnumDecl(_ident(ch[0]), ch[1], _span_of(meta))

    def type_decl(self, meta: Any, ch: list[Any]) -> s.TypeDecl:
        return s.TypeDecl(_ident(ch[0]), ch[1], _span_of(meta))

    def def_decl(self, meta: Any, ch: list[Any]) -> s.DefDecl:
        params = ch[1] if ch[1] is not None else ()
        return s.DefDecl(_ident(ch[0]), params, ch[2], _span_of(meta))

    def state_block(self, meta: Any, ch: list[Any]) -> s.StateBlock:
        return s.StateBlock(tuple(ch), _span_of(meta))

    def var_decl(self, meta: Any, ch: list[Any]) -> s.VarDecl:
        return s.VarDecl(_ident(ch[0]), ch[1], ch[2], _span_of(meta))

    def any_value(self, meta: Any, ch: list[Any]) -> s.AnyValue:
        return s.AnyValue(_span_of(meta))

    def init_decl(self, meta: Any, ch: list[Any]) -> s.InitDecl:
        return s.InitDecl(ch[0], _span_of(meta))

    def _transition(self, kind: str, meta: Any, ch: list[Any]) -> s.TransitionDecl:
        params = ch[1] if ch[1] is not None else ()
        doc = _string(ch[2]) if ch[2] is not None else None
        return s.TransitionDecl(kind, _ident(ch[0]), params, doc, tuple(ch[3:]), _span_of(meta))

    def action_decl(self, meta: Any, ch: list[Any]) -> s.TransitionDecl:
        return self._transition("action", meta, ch)

    def event_decl(self, meta: Any, ch: list[Any]) -> s.TransitionDecl:
        return self._transition("event", meta, ch)

    def final_decl(self, meta: Any, ch: list[Any]) -> s.FinalDecl:
        return s.FinalDecl(ch[0], _span_of(meta))

    def _property(self, kind: str, meta: Any, ch: list[Any]) -> s.PropertyDecl:
        doc = _string(ch[1]) if ch[1] is not None else None
        return s.PropertyDecl(kind, _ident(ch[0]), doc, ch[2], _span_of(meta))

    def invariant_decl(self, meta: Any, ch: list[Any]) -> s.PropertyDecl:
        return self._property("invariant", meta, ch)

    def reachable_decl(self, meta: Any, ch: list[Any]) -> s.PropertyDecl:
        return self._property("reachable", meta, ch)

    # ---- scenarios
    def scenario_decl(self, meta: Any, ch: list[Any]) -> s.ScenarioDecl:
        doc = _string(ch[1]) if ch[1] is not None else None
        return s.ScenarioDecl(_ident(ch[0]), doc, tuple(ch[2:]), _span_of(meta))

    def scenarios_for(self, meta: Any, ch: list[Any]) -> s.ScenariosFor:
        return s.ScenariosFor(_string(ch[0]), _span_of(meta))

    def scenario_step(self, meta: Any, ch: list[Any]) -> s.ScenarioStep:
        args = ch[1] if ch[1] is not None else ()
        clause = _string(ch[3]) if ch[3] is not None else None
        then = _ident(ch[4]) if ch[4] is not None else None
        return s.ScenarioStep(_ident(ch[0]), args, _ident(ch[2]), clause, then, _span_of(meta))

    def step_args(self, meta: Any, ch: list[Any]) -> tuple[s.StepArg, ...]:
        return _items(ch)

    def step_arg(self, meta: Any, ch: list[Any]) -> s.StepArg:
        return s.StepArg(_ident(ch[0]), ch[1], _span_of(meta))

    def scenario_state(self, meta: Any, ch: list[Any]) -> s.ScenarioState:
        return s.ScenarioState("state", ch[0], _span_of(meta))

    def scenario_init(self, meta: Any, ch: list[Any]) -> s.ScenarioState:
        return s.ScenarioState("init", ch[0], _span_of(meta))

    def params(self, meta: Any, ch: list[Any]) -> tuple[s.Param, ...]:
        return _items(ch)

    def param(self, meta: Any, ch: list[Any]) -> s.Param:
        return s.Param(_ident(ch[0]), ch[1], _span_of(meta))

    def name_list(self, meta: Any, ch: list[Any]) -> tuple[s.Ident, ...]:
        return tuple(_ident(t) for t in ch)

    # ---- types
    def bool_type(self, meta: Any, ch: list[Any]) -> s.BoolT:
        return s.BoolT(_span_of(meta))

    def range_type(self, meta: Any, ch: list[Any]) -> s.RangeT:
        return s.RangeT(ch[0], ch[1], _span_of(meta))

    def saturating_type(self, meta: Any, ch: list[Any]) -> s.RangeT:
        return s.RangeT(ch[0], ch[1], _span_of(meta), saturating=True)

    def enum_type(self, meta: Any, ch: list[Any]) -> s.EnumT:
        return s.EnumT(ch[0], _span_of(meta))

    def set_type(self, meta: Any, ch: list[Any]) -> s.SetT:
        return s.SetT(ch[0], _span_of(meta))

    def array_type(self, meta: Any, ch: list[Any]) -> s.ArrayT:
        return s.ArrayT(ch[0], ch[1], _span_of(meta))

    def named_type(self, meta: Any, ch: list[Any]) -> s.NamedT:
        return s.NamedT(str(ch[0]), _span_of(meta))

    # ---- statements
    def guard_stmt(self, meta: Any, ch: list[Any]) -> s.Guard:
        return s.Guard(ch[0], _span_of(meta))

    def approval_stmt(self, meta: Any, ch: list[Any]) -> s.Approval:
        return s.Approval(ch[0], _span_of(meta))

    def assign_stmt(self, meta: Any, ch: list[Any]) -> s.Assign:
        return s.Assign(ch[0], ch[1], _span_of(meta))

    def lvalue(self, meta: Any, ch: list[Any]) -> s.LValue:
        return s.LValue(_ident(ch[0]), tuple(ch[1:]), _span_of(meta))

    def if_stmt(self, meta: Any, ch: list[Any]) -> s.If:
        orelse = ch[2] if ch[2] is not None else ()
        return s.If(ch[0], ch[1], orelse, _span_of(meta))

    def else_if(self, meta: Any, ch: list[Any]) -> tuple[s.Stmt, ...]:
        return (ch[0],)

    def block(self, meta: Any, ch: list[Any]) -> tuple[s.Stmt, ...]:
        return tuple(ch)

    # ---- expressions
    def ite_expr(self, meta: Any, ch: list[Any]) -> s.Ite:
        return s.Ite(ch[0], ch[1], ch[2], _span_of(meta))

    def _quant(self, kind: str, meta: Any, ch: list[Any]) -> s.Quant:
        return s.Quant(kind, _ident(ch[0]), ch[1], ch[2], _span_of(meta))

    def all_expr(self, meta: Any, ch: list[Any]) -> s.Quant:
        return self._quant("all", meta, ch)

    def some_expr(self, meta: Any, ch: list[Any]) -> s.Quant:
        return self._quant("some", meta, ch)

    def count_expr(self, meta: Any, ch: list[Any]) -> s.Quant:
        return self._quant("count", meta, ch)

    def _bin(self, op: str, meta: Any, left: Any, right: Any) -> s.Binary:
        return s.Binary(op, left, right, _span_of(meta))

    def implies_expr(self, meta: Any, ch: list[Any]) -> s.Binary:
        return self._bin("implies", meta, ch[0], ch[1])

    def or_expr(self, meta: Any, ch: list[Any]) -> s.Binary:
        return self._bin("or", meta, ch[0], ch[1])

    def and_expr(self, meta: Any, ch: list[Any]) -> s.Binary:
        return self._bin("and", meta, ch[0], ch[1])

    def not_expr(self, meta: Any, ch: list[Any]) -> s.Unary:
        return s.Unary("not", ch[0], _span_of(meta))

    def compare_expr(self, meta: Any, ch: list[Any]) -> s.Binary:
        return self._bin(str(ch[1]), meta, ch[0], ch[2])

    def in_expr(self, meta: Any, ch: list[Any]) -> s.Binary:
        return self._bin("in", meta, ch[0], ch[1])

    def not_in_expr(self, meta: Any, ch: list[Any]) -> s.Binary:
        return self._bin("notin", meta, ch[0], ch[1])

    def binary(self, meta: Any, ch: list[Any]) -> s.Binary:
        return self._bin(str(ch[1]), meta, ch[0], ch[2])

    def mod_expr(self, meta: Any, ch: list[Any]) -> s.Binary:
        return self._bin("mod", meta, ch[0], ch[1])

    def neg_expr(self, meta: Any, ch: list[Any]) -> s.Unary:
        return s.Unary("-", ch[0], _span_of(meta))

    def index_expr(self, meta: Any, ch: list[Any]) -> s.Index:
        return s.Index(ch[0], ch[1], _span_of(meta))

    def call_expr(self, meta: Any, ch: list[Any]) -> s.Call:
        return s.Call(_ident(ch[0]), _items(ch[1:]), _span_of(meta))

    def member_expr(self, meta: Any, ch: list[Any]) -> s.Member:
        return s.Member(str(ch[0]), str(ch[1]), _span_of(meta))

    def int_lit(self, meta: Any, ch: list[Any]) -> s.IntLit:
        return s.IntLit(int(ch[0]), _span_of(meta))

    def true_lit(self, meta: Any, ch: list[Any]) -> s.BoolLit:
        return s.BoolLit(True, _span_of(meta))

    def false_lit(self, meta: Any, ch: list[Any]) -> s.BoolLit:
        return s.BoolLit(False, _span_of(meta))

    def name_expr(self, meta: Any, ch: list[Any]) -> s.Name:
        return s.Name(str(ch[0]), _span_of(meta))

    def set_lit(self, meta: Any, ch: list[Any]) -> s.SetLit:
        return s.SetLit(_items(ch), _span_of(meta))

    def list_lit(self, meta: Any, ch: list[Any]) -> s.ListLit:
        return s.ListLit(_items(ch), _span_of(meta))

    def array_comp(self, meta: Any, ch: list[Any]) -> s.ArrayComp:
        return s.ArrayComp(_ident(ch[0]), ch[1], ch[2], _span_of(meta))


def _string(tok: Token) -> str:
    try:
        value = pyast.literal_eval(str(tok))
    except (ValueError, SyntaxError):
        return str(tok)[1:-1]
    return str(value)


def parse_spec(text: str, path: str = "<input>") -> s.Spec:
    """Parse `.cap` text into an AST; raise SpecError with a located diagnostic on bad input."""
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as err:
        raise SpecError([_syntax_diagnostic(err, text, path)]) from None
    try:
        header, decls = _ToAst().transform(tree)
    except (RecursionError, VisitError) as err:
        if isinstance(err, VisitError) and not isinstance(err.orig_exc, RecursionError):
            raise
        raise SpecError([too_deep(_deepest_decl(tree), path)]) from None
    return s.Spec(header, decls, path, text)


def _depth(tree: lark.Tree[Token]) -> int:
    """The height of a tree, computed without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in node.children if isinstance(c, lark.Tree))
    return deepest


def _deepest_decl(tree: lark.Tree[Token]) -> Span:
    """The first line of the most deeply nested top-level declaration."""
    decls = [c for c in tree.children if isinstance(c, lark.Tree)]
    if not decls:
        return Span(1, 1, 1, 1)
    meta = max(decls, key=_depth).meta
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


# ---- friendly syntax errors

_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "STRING": "a quoted string",
    "COMPOP": "a comparison",
    "ADDOP": "`+`",
    "MULOP": "`*` or `/`",
    "$END": "the end of the file",
}

_EXPR_START = {
    "NAME",
    "INT",
    "TRUE",
    "FALSE",
    "LPAR",
    "LBRACE",
    "LSQB",
    "MINUS",
    "NOT",
    "IF",
    "ALL",
    "SOME",
    "COUNT",
}


def _describe_terminal(name: str) -> str:
    if name in _WORDS:
        return _WORDS[name]
    for term in _lark().terminals:
        if term.name == name and term.pattern.type == "str":
            return f"`{term.pattern.value}`"
    return name.lower()


def _describe_expected(expected: set[str]) -> str:
    if not expected:
        return "something else"
    if len(expected & _EXPR_START) >= 4:
        rest = sorted(_describe_terminal(e) for e in expected - _EXPR_START)
        words = ["an expression", *rest]
    else:
        words = sorted({_describe_terminal(e) for e in expected})
    if len(words) > 6:
        words = [*words[:6], "..."]
    return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]


def _token_text(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    return f"`{tok}`"


def _syntax_diagnostic(err: UnexpectedInput, text: str, path: str) -> Diagnostic:
    line = getattr(err, "line", 1) or 1
    column = getattr(err, "column", 1) or 1
    if line < 1:
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    help_text: str | None = None
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        char = text[pos] if pos < len(text) else "?"
        shown = char if char.isprintable() else f"U+{ord(char):04X}"
        message = f"unexpected character `{shown}`"
        if char == "=":
            help_text = "use `:=` to assign and `==` to compare"
        elif char in "&|!":
            help_text = "write `and`, `or` and `not`"
        elif not char.isprintable():
            help_text = "remove this control character; is the file text?"
        elif not char.isascii():
            help_text = "names use ASCII letters, digits and `_`; other text belongs in comments"
        elif char == "'":
            help_text = 'strings are written in double quotes: `"..."`'
        span = Span.point(line, column)
    elif isinstance(err, UnexpectedToken):
        tok = err.token
        expected = set(err.expected) - {"$END"} if tok.type != "$END" else set(err.expected)
        message = f"unexpected {_token_text(tok)}; expected {_describe_expected(expected)}"
        if str(tok) in KEYWORDS and "NAME" in err.expected and tok.type not in _EXPR_START:
            help_text = f"`{tok}` is a keyword and cannot be used as a name"
        elif str(tok) == "=" and _expects(expected, ":="):
            help_text = "use `:=` to assign"
        elif str(tok) == "=":
            help_text = "use `==` to compare"
        end = (tok.end_column or column + 1) if tok.type != "$END" else column + 1
        span = Span(line, column, tok.end_line or line, end)
    elif isinstance(err, UnexpectedEOF):
        message = f"unexpected end of file; expected {_describe_expected(set(err.expected))}"
        span = Span.point(line, column)
    else:  # pragma: no cover - lark has no other UnexpectedInput subclasses
        message = "the text does not parse"
        span = Span.point(line, column)
    help_text = help_text or "see docs/language.md for the syntax of declarations and statements"
    return Diagnostic("syntax", "error", message, span, help_text, path)


def _expects(expected: set[str], literal: str) -> bool:
    """Whether one of the expected terminals is the literal text `literal`."""
    return any(
        t.name in expected and t.pattern.type == "str" and t.pattern.value == literal
        for t in _lark().terminals
    )
