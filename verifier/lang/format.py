"""`verifier fmt`: the canonical layout of a `.cap` file, every comment kept.

Declarations, variables and statements are printed from the AST; comments come from the
token stream and are placed by position: a comment on its own line stays before the item that
follows it, a comment after code stays at the end of that item's line. An item with a comment
inside it (between two of its tokens) is kept as written, only re-indented. The result is
checked before it is returned: same AST, same comments, or FormatError.
"""

from __future__ import annotations

from verifier.diagnostics import Span, SpecError, too_deep
from verifier.lang import syntax as s
from verifier.lang.format_decls import write_spec
from verifier.lang.format_expr import WIDTH
from verifier.lang.format_writer import FAR, Comment, Writer, comments_of
from verifier.lang.parser import lex_tokens, parse_spec


class FormatError(Exception):
    """The formatter would have changed the meaning or dropped a comment (a bug)."""


def _finish(out: list[tuple[str, str | None]]) -> str:
    """Join lines; trailing comments of consecutive lines share one column."""
    lines: list[str] = []
    k = 0
    while k < len(out):
        run = k
        while run < len(out) and out[run][1] is not None and out[run][0].strip():
            run += 1
        if run == k:
            code, comment = out[k]
            lines.append(f"{code}  {comment}" if comment and code.strip() else comment or code)
            k += 1
            continue
        column = max(len(out[i][0]) for i in range(k, run)) + 2
        column = column if column <= WIDTH else 0
        for i in range(k, run):
            code, comment = out[i]
            gap = max(column - len(code), 2)
            lines.append(f"{code}{' ' * gap}{comment}")
        k = run
    return "\n".join(ln.rstrip() for ln in lines).strip("\n") + "\n"


def format_text(text: str, path: str = "<input>") -> str:
    """The canonical layout of `.cap` text; raise SpecError if it does not parse."""
    spec = parse_spec(text, path)
    try:
        return _format(spec, text, path)
    except RecursionError:
        raise SpecError([too_deep(_largest_decl(spec), path)]) from None


def _largest_decl(spec: s.Spec) -> Span:
    """The declaration with the most source text: the one that nests too deeply to print."""
    spans = [d.span for d in spec.decls] or [Span(1, 1, 1, 1)]
    return max(spans, key=lambda sp: (sp.end_line - sp.line, sp.end_column - sp.column))


def _format(spec: s.Spec, text: str, path: str) -> str:
    tokens = lex_tokens(text)
    comments = comments_of(tokens)
    code = [t for t in tokens if t.kind not in ("WS", "COMMENT")]
    writer = Writer(text.split("\n"), comments, code)
    write_spec(writer, spec)
    writer.leading(FAR, 0)
    result = _finish(writer.out) if writer.out else ""
    _check_same(spec, comments, result, path)
    return result


def _check_same(spec: s.Spec, comments: list[Comment], result: str, path: str) -> None:
    try:
        again = parse_spec(result, path)
    except SpecError as err:
        raise FormatError(f"the formatted text does not parse: {err}") from None
    if (again.header, again.decls) != (spec.header, spec.decls):
        raise FormatError("the formatted text means something else")
    before = sorted(c.text for c in comments)
    after = sorted(c.text for c in comments_of(lex_tokens(result)))
    if before != after:
        raise FormatError("the formatted text lost or changed a comment")
