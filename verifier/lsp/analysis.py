"""What the language server knows about one document: diagnostics, AST, symbols, model.

Everything here is plain Python over spans (1-based, as in diagnostics); server.py converts
to and from LSP positions. No pygls here, so each feature is testable without a client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from verifier import ir
from verifier.diagnostics import Diagnostic, Span, SpecError
from verifier.lang import syntax as s
from verifier.lang.frontend import load_text
from verifier.lang.parser import KEYWORDS, Tok, lex_prefix, parse_spec
from verifier.lsp.symbols import Key, Symbol, SymbolTable, Use, build

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Verdict:
    """The last verdict of one property, from a check the user ran in the editor."""

    verdict: str
    engine: str
    detail: str | None = None


@dataclass
class Analysis:
    """One version of one document, analysed."""

    path: str
    text: str
    diagnostics: list[Diagnostic]
    spec: s.Spec | None
    table: SymbolTable | None
    model: ir.Model | None
    verdicts: dict[str, Verdict] = field(default_factory=dict)


def analyse(text: str, path: str) -> Analysis:
    """Parse, lower and index `text`; never raises on bad input."""
    loaded = load_text(text, path)
    try:
        spec: s.Spec | None = parse_spec(text, path)
    except (SpecError, RecursionError):
        spec = None
    try:
        table = build(spec) if spec is not None else None
    except RecursionError:  # nested beyond what can be indexed; the diagnostics say so
        table = None
    return Analysis(path, text, loaded.diagnostics, spec, table, loaded.model)


class RenameRefused(Exception):
    """A rename that would break the spec or is ambiguous; the message says why."""


def symbol_at(a: Analysis, line: int, column: int) -> tuple[Use, Symbol] | None:
    """The occurrence under the cursor and its declaration."""
    if a.table is None:
        return None
    use = a.table.at(line, column)
    if use is None or use.key not in a.table.symbols:
        return None
    return use, a.table.symbols[use.key]


def definition(a: Analysis, line: int, column: int) -> Span | None:
    """Where the name under the cursor is declared."""
    found = symbol_at(a, line, column)
    return found[1].span if found else None


def references(a: Analysis, line: int, column: int, include_declaration: bool) -> list[Span]:
    """Every occurrence of the name under the cursor."""
    found = symbol_at(a, line, column)
    if found is None or a.table is None:
        return []
    sym = found[1]
    spans = [u.span for u in a.table.uses_of(sym.key)]
    if not include_declaration:
        spans = [sp for sp in spans if sp != sym.span]
    return sorted(set(spans))


def rename_edits(a: Analysis, line: int, column: int, new: str) -> list[tuple[Span, str]]:
    """The edits that rename the name under the cursor to `new`; raise RenameRefused."""
    found = symbol_at(a, line, column)
    if found is None or a.table is None:
        raise RenameRefused("there is no declared name here to rename")
    sym = found[1]
    if not NAME.match(new) or new in KEYWORDS:
        raise RenameRefused(f"`{new}` is not a name: use letters, digits and `_`, not a keyword")
    kind, owner, old = sym.key
    if kind == "member":
        _check_member_rename(a.table, owner, old)
    clash = _clash(a.table, sym, new)
    if clash is not None:
        raise RenameRefused(f"`{new}` is already declared ({clash})")
    return [(u.span, new) for u in a.table.uses_of(sym.key)]


def _check_member_rename(table: SymbolTable, owner: str, old: str) -> None:
    enums = table.members.get(old, [])
    if len(enums) < 2:
        return
    bare = [u for u in table.uses_of(("member", "", old))]
    if bare:
        others = ", ".join(f"`{e}`" for e in enums)
        raise RenameRefused(
            f"`{old}` is a member of {others}: qualify its uses as `{owner}.{old}` first"
        )


def _clash(table: SymbolTable, sym: Symbol, new: str) -> str | None:
    kind, owner, _ = sym.key
    for other in table.symbols.values():
        okind, oowner, oname = other.key
        if oname != new or other is sym:
            continue
        if sym.scope is None and other.scope is None:
            if kind == "member" and okind == "member" and oowner != owner:
                continue  # members of different enums may share a name
            return f"line {other.span.line}"
        if oowner == owner and okind == kind:
            return f"line {other.span.line}"
    return None


def comments_near(text: str, decl: Span) -> str | None:
    """The comment lines just above a declaration, or the comment at the end of its line."""
    tokens = lex_prefix(text)
    comments = [t for t in tokens if t.kind == "COMMENT"]
    above: list[str] = []
    line = decl.line - 1
    by_line = {t.span.line: t for t in comments}
    own = _own_line_comments(tokens)
    while line in own:
        above.insert(0, _strip(by_line[line].text))
        line -= 1
    if above:
        return "\n".join(above)
    after = [t for t in comments if t.span.line == decl.end_line and t.span.line not in own]
    return _strip(after[0].text) if after else None


def _own_line_comments(tokens: list[Tok]) -> set[int]:
    code_lines = {t.span.line for t in tokens if t.kind not in ("WS", "COMMENT")}
    return {t.span.line for t in tokens if t.kind == "COMMENT" and t.span.line not in code_lines}


def _strip(comment: str) -> str:
    return comment.lstrip("#/").strip()


def key_kind(key: Key) -> str:
    return key[0]
