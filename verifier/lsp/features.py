"""Hover text, completion candidates, document outline and fix-its, over an Analysis."""

from __future__ import annotations

import re
from dataclasses import dataclass

from verifier import ir
from verifier.diagnostics import Diagnostic, Span
from verifier.lang import syntax as s
from verifier.lang.parser import KEYWORDS, Tok, lex_prefix
from verifier.lsp.analysis import Analysis, comments_near, symbol_at
from verifier.lsp.symbols import Symbol

# ---- hover


def domain_text(t: ir.Type) -> str:
    """The values a variable of type `t` can hold, in words."""
    if isinstance(t, ir.BoolType):
        return "`false` or `true`"
    if isinstance(t, ir.IntType):
        return f"the integers {t.lo} to {t.hi} ({t.size()} values)"
    if isinstance(t, ir.EnumType):
        return "one of " + ", ".join(f"`{m}`" for m in t.members)
    if isinstance(t, ir.SetType):
        return f"any subset of `{t.elem}` ({t.size()} values)"
    return f"for each `{t.index}`, {domain_text(t.elem)} ({t.size()} values in all)"


def _model_type(model: ir.Model | None, sym: Symbol) -> ir.Type | None:
    if model is None:
        return None
    kind, owner, name = sym.key
    if kind == "var":
        return next((v.type for v in model.vars if v.name == name), None)
    if kind == "param" and " " in owner:
        t_name = owner.split(" ", 1)[1]
        for tr in model.transitions:
            if tr.name == t_name:
                return next((p.type for p in tr.params if p.name == name), None)
    return None


def hover(
    a: Analysis, line: int, column: int, model: ir.Model | None = None
) -> tuple[str, Span] | None:
    """Markdown for the name under the cursor, and the span it describes.

    `model` (the last one that lowered) gives types while the current text has errors.
    """
    found = symbol_at(a, line, column)
    if found is None:
        return None
    use, sym = found
    parts = [f"```cap\n{sym.detail}\n```"]
    t = _model_type(a.model or model, sym)
    if t is not None:
        parts.append(f"type `{t}`: {domain_text(t)}")
    parts.append(f"declared at line {sym.span.line}")
    doc = sym.doc or (comments_near(a.text, sym.decl_span) if sym.scope is None else None)
    if doc:
        parts.append(doc)
    kind, _, name = sym.key
    verdict = a.verdicts.get(name) if kind in ("invariant", "reachable") else None
    if verdict is not None:
        how = f" ({verdict.detail})" if verdict.detail else ""
        parts.append(f"last check: **{verdict.verdict}** by the {verdict.engine} engine{how}")
    elif kind in ("invariant", "reachable"):
        parts.append("not checked yet in this session (run the `verifier.check` command)")
    return "\n\n".join(parts), use.span


# ---- completion


@dataclass(frozen=True)
class Candidate:
    """One completion item."""

    label: str
    kind: str  # keyword | variable | constant | function | enum | member | type | param
    detail: str = ""
    preferred: bool = False  # listed first: a member of the enum the context expects


_KIND = {
    "var": "variable",
    "const": "constant",
    "def": "function",
    "enum": "enum",
    "type": "type",
    "member": "member",
    "param": "variable",
    "bound": "variable",
}


def _tokens_before(text: str, offset: int) -> list[Tok]:
    """The code tokens of `text[:offset]`, as far as they lex."""
    return [t for t in lex_prefix(text[:offset]) if t.kind not in ("WS", "COMMENT")]


def offset_of(text: str, line: int, column: int) -> int:
    """The character offset of a 1-based position."""
    lines = text.split("\n")
    return sum(len(ln) + 1 for ln in lines[: line - 1]) + column - 1


def completions(a: Analysis, good: Analysis | None, line: int, column: int) -> list[Candidate]:
    """What may be typed at the cursor: keywords, names in scope, expected enum members."""
    index = good if good is not None and good.table is not None else a
    toks = _tokens_before(a.text, offset_of(a.text, line, column))
    if toks and toks[-1].kind == "NAME" and toks[-1].span.end_column == column:
        toks = toks[:-1]  # the word being typed
    if len(toks) >= 2 and toks[-1].kind == "DOT":
        return _members_of(index, toks[-2].text, preferred=True)
    expected = _expected_enum(index, toks)
    items = [Candidate(k, "keyword") for k in sorted(KEYWORDS)]
    if index.table is not None:
        seen: set[str] = set()
        for sym in index.table.globals() + index.table.locals_at(line, column):
            kind, owner, name = sym.key
            if kind not in _KIND or name in seen:
                continue
            seen.add(name)
            items.append(Candidate(name, _KIND[kind], sym.detail, owner == expected))
    return sorted(items, key=lambda c: (not c.preferred, c.kind == "keyword", c.label))


def _members_of(a: Analysis, enum: str, preferred: bool) -> list[Candidate]:
    if a.table is None:
        return []
    return [
        Candidate(sym.key[2], "member", sym.detail, preferred)
        for sym in a.table.symbols.values()
        if sym.key[0] == "member" and sym.key[1] == enum
    ]


def _expected_enum(a: Analysis, toks: list[Tok]) -> str | None:
    """After `x ==`, `x !=` or `x :=` with `x` of an enum type, that enum's name."""
    if len(toks) < 2 or toks[-1].text not in ("==", "!=", ":=", "in"):
        return None
    k = len(toks) - 2
    depth = 0
    while k >= 0 and (toks[k].kind == "RSQB" or depth > 0):
        depth += (toks[k].kind == "RSQB") - (toks[k].kind == "LSQB")
        k -= 1
    if k < 0 or toks[k].kind != "NAME" or a.table is None:
        return None
    use_key = next(
        (key for key in (("var", "", toks[k].text),) if key in a.table.symbols),
        None,
    )
    if use_key is None or a.model is None:
        return None
    t = next((v.type for v in a.model.vars if v.name == use_key[2]), None)
    while isinstance(t, ir.ArrayType):
        t = t.elem
    if isinstance(t, ir.SetType):
        t = t.elem
    return t.name if isinstance(t, ir.EnumType) else None


# ---- outline


@dataclass(frozen=True)
class Outline:
    """One entry of the document outline."""

    name: str
    kind: str  # constant | enum | member | type | function | namespace | variable | ...
    detail: str
    span: Span
    name_span: Span
    children: tuple[Outline, ...] = ()


def outline(a: Analysis) -> list[Outline]:
    """The declarations of the document, state variables and enum members nested."""
    if a.spec is None or a.table is None:
        return []
    out: list[Outline] = []
    syms = a.table.symbols
    for d in a.spec.decls:
        if isinstance(d, s.StateBlock):
            kids = tuple(_entry(syms[("var", "", v.name.name)], "variable") for v in d.vars)
            out.append(Outline("state", "namespace", "", d.span, d.span, kids))
        elif isinstance(d, s.EnumDecl):
            sym = syms[("enum", "", d.name.name)]
            kids = tuple(_entry(syms[("member", d.name.name, m.name)], "member") for m in d.members)
            out.append(Outline(d.name.name, "enum", sym.detail, d.span, d.name.span, kids))
        elif isinstance(d, s.InitDecl | s.FinalDecl):
            word = "init" if isinstance(d, s.InitDecl) else "final"
            out.append(Outline(word, "boolean", "", d.span, d.span))
        else:
            key = _decl_key(d)
            if key in syms:
                out.append(_entry(syms[key], _OUTLINE_KIND[key[0]]))
    return out


_OUTLINE_KIND = {
    "const": "constant",
    "type": "type",
    "def": "function",
    "action": "method",
    "event": "event",
    "invariant": "property",
    "reachable": "property",
}


def _decl_key(d: s.Decl) -> tuple[str, str, str]:
    if isinstance(d, s.TransitionDecl | s.PropertyDecl):
        return (d.kind, "", d.name.name)
    word = {s.ConstDecl: "const", s.TypeDecl: "type", s.DefDecl: "def"}.get(type(d), "")
    name = getattr(d, "name", None)
    return (word, "", name.name if name is not None else "")


def _entry(sym: Symbol, kind: str) -> Outline:
    return Outline(sym.key[2], kind, sym.detail, sym.decl_span, sym.span)


# ---- fix-its


@dataclass(frozen=True)
class Fix:
    """A code action: replace `span` with `text`."""

    title: str
    span: Span
    text: str


_DID_YOU_MEAN = re.compile(r"did you mean `([A-Za-z_][A-Za-z0-9_]*)`\?")
_OPERATORS = {"&": "and", "|": "or", "!": "not"}


def fixes(d: Diagnostic, text: str) -> list[Fix]:
    """The edits a diagnostic's help suggests, if it suggests one."""
    help_text = d.help or ""
    match = _DID_YOU_MEAN.search(help_text)
    if match:
        name = match.group(1)
        return [Fix(f"replace with `{name}`", d.span, name)]
    if "use `:=` to assign" in help_text:
        return [Fix("use `:=` to assign", d.span, ":=")]
    if "use `==` to compare" in help_text:
        return [Fix("use `==` to compare", d.span, "==")]
    if help_text.startswith("write `and`"):
        return _operator_fix(d.span, text)
    return []


def _operator_fix(span: Span, text: str) -> list[Fix]:
    lines = text.split("\n")
    if not 1 <= span.line <= len(lines):
        return []
    row = lines[span.line - 1]
    start = span.column - 1
    char = row[start] if start < len(row) else ""
    if char not in _OPERATORS:
        return []
    end = start + 1
    while end < len(row) and row[end] == char and char != "!":
        end += 1
    word = _OPERATORS[char]
    before = "" if start == 0 or row[start - 1] == " " else " "
    after = "" if end >= len(row) or row[end] == " " else " "
    replaced = Span(span.line, start + 1, span.line, end + 1)
    return [Fix(f"write `{word}`", replaced, f"{before}{word}{after}")]
