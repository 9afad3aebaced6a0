"""The writer behind `verifier fmt`: output lines, comments placed by position, blank lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from verifier.diagnostics import Span
from verifier.lang.parser import Tok

Pos = tuple[int, int]
FAR: Pos = (1 << 30, 0)


@dataclass
class Comment:
    text: str
    start: Pos
    own_line: bool
    anchor: Pos | None  # the end of the code token before it, semicolons skipped
    used: bool = False


def start_of(sp: Span) -> Pos:
    return (sp.line, sp.column)


def end_of(sp: Span) -> Pos:
    return (sp.end_line, sp.end_column)


def comments_of(tokens: list[Tok]) -> list[Comment]:
    out: list[Comment] = []
    anchor: Tok | None = None
    for tok in tokens:
        if tok.kind == "COMMENT":
            own = anchor is None or anchor.span.end_line < tok.span.line
            where = end_of(anchor.span) if anchor is not None else None
            out.append(Comment(tok.text.rstrip(), start_of(tok.span), own, where))
        elif tok.kind not in ("WS", "SEMICOLON"):
            anchor = tok
    return out


@dataclass
class Writer:
    source_lines: list[str]
    comments: list[Comment]
    code: list[Tok]  # code tokens only
    out: list[tuple[str, str | None]] = field(default_factory=list)
    last_line: int | None = None
    force_blank: bool = False
    block_start: bool = True

    # ---- comments and blank lines

    def blank_before(self, line: int) -> None:
        had = self.last_line is not None and any(
            not self.source_lines[k - 1].strip() for k in range(self.last_line + 1, line)
        )
        if (had or self.force_blank) and not self.block_start and self.out:
            self.out.append(("", None))
        self.force_blank = False
        self.block_start = False

    def leading(self, before: Pos, indent: int) -> None:
        for c in self.comments:
            if not c.used and c.start < before:
                c.used = True
                self.blank_before(c.start[0])
                self.out.append((" " * indent + c.text, None))
                self.last_line = c.start[0]

    def has_interior(self, start: Pos, end: Pos) -> bool:
        return any(not c.used and start < c.start < end for c in self.comments)

    def trailing(self, end: Pos) -> str | None:
        for c in self.comments:
            if not c.used and not c.own_line and c.anchor == end:
                c.used = True
                return c.text
        return None

    # ---- items

    def leaf(self, span: Span, lines: list[str], indent: int) -> None:
        """One item printed as `lines`, or as written if a comment sits inside it."""
        self.leading(start_of(span), indent)
        self.blank_before(span.line)
        if self.has_interior(start_of(span), end_of(span)):
            lines = self.verbatim(span, indent, indent + 2)
        self.out.extend((ln, None) for ln in lines[:-1])
        self.out.append((lines[-1], self.trailing(end_of(span))))
        self.last_line = span.end_line

    def verbatim(self, span: Span, indent: int, rest: int) -> list[str]:
        for c in self.comments:
            if start_of(span) < c.start < end_of(span):
                c.used = True
        first, *more = self.source_text(span).split("\n")
        keep = [ln.rstrip() for ln in more]
        cut = min((len(ln) - len(ln.lstrip()) for ln in keep if ln.strip()), default=0)
        return [" " * indent + first.rstrip()] + [
            " " * rest + ln[cut:] if ln.strip() else "" for ln in keep
        ]

    def source_text(self, span: Span) -> str:
        lines = self.source_lines[span.line - 1 : span.end_line]
        lines[-1] = lines[-1][: span.end_column - 1]
        lines[0] = lines[0][span.column - 1 :]
        return "\n".join(lines)

    def block(
        self, span: Span, head: list[str], indent: int, body: Callable[[], None], braces: Span
    ) -> None:
        """`head {` body `}`; `braces` runs from the `{` to the `}`."""
        if self.open_block(span, head, indent, braces, allow_empty=True):
            body()
            self.leading((braces.end_line, braces.end_column - 1), indent + 2)
            self.close_block(braces, indent, "}")

    def open_block(
        self, span: Span, head: list[str], indent: int, braces: Span, allow_empty: bool
    ) -> bool:
        """Write `head {`; False if the whole item was written already (as written, or `{}`)."""
        self.leading(start_of(span), indent)
        self.blank_before(span.line)
        open_end = (braces.line, braces.column + 1)
        if self.has_interior(start_of(span), open_end):
            self.leaf_verbatim(span, indent)
            return False
        close = (braces.end_line, braces.end_column - 1)
        self.out.extend((ln, None) for ln in head[:-1])
        empty = not self.has_interior(open_end, close) and self.is_empty_body(braces)
        if allow_empty and empty:
            self.out.append((head[-1] + " {}", self.trailing(end_of(span))))
            self.last_line = span.end_line
            return False
        self.out.append((head[-1] + " {", self.trailing(open_end)))
        self.last_line, self.block_start = braces.line, True
        return True

    def close_block(self, braces: Span, indent: int, text: str) -> None:
        """Write the `}` that closes `braces`, with the comment after it."""
        self.out.append((" " * indent + text, self.trailing(end_of(braces))))
        self.last_line, self.block_start = braces.end_line, False

    def continue_block(self, done: Span, new: Span, head: list[str], indent: int) -> None:
        """`} else {`: close `done` and open `new`; comments between them go inside `new`."""
        open_end = (new.line, new.column + 1)
        between = [c for c in self.comments if not c.used and end_of(done) <= c.start < open_end]
        for c in between:
            c.used = True
        self.out.extend((ln, None) for ln in head[:-1])
        self.out.append((head[-1] + " {", self.trailing(open_end)))
        self.out.extend((" " * (indent + 2) + c.text, None) for c in between)
        self.last_line, self.block_start = new.line, True

    def is_empty_body(self, braces: Span) -> bool:
        inside = [t for t in self.code if start_of(braces) < start_of(t.span) < end_of(braces)]
        return not inside

    def leaf_verbatim(self, span: Span, indent: int) -> None:
        lines = self.verbatim(span, indent, indent)
        self.out.extend((ln, None) for ln in lines[:-1])
        self.out.append((lines[-1], self.trailing(end_of(span))))
        self.last_line = span.end_line

    # ---- braces, found in the token stream

    def braces_ending(self, end: Pos) -> Span:
        """The `{ ... }` block whose `}` ends at `end`."""
        k = next(i for i, t in enumerate(self.code) if end_of(t.span) == end)
        depth = 0
        for i in range(k, -1, -1):
            kind = self.code[i].kind
            depth += kind == "RBRACE"
            depth -= kind == "LBRACE"
            if depth == 0:
                return self.code[i].span.to(self.code[k].span)
        raise ValueError("unbalanced braces")  # pragma: no cover - the text parsed

    def braces_after(self, pos: Pos) -> Span:
        """The `{ ... }` block that opens at the first token at or after `pos`."""
        k = next(i for i, t in enumerate(self.code) if start_of(t.span) >= pos)
        depth = 0
        for i in range(k, len(self.code)):
            kind = self.code[i].kind
            depth += kind == "LBRACE"
            depth -= kind == "RBRACE"
            if depth == 0:
                return self.code[k].span.to(self.code[i].span)
        raise ValueError("unbalanced braces")  # pragma: no cover - the text parsed

    def next_token(self, pos: Pos) -> Tok | None:
        return next((t for t in self.code if start_of(t.span) >= pos), None)
