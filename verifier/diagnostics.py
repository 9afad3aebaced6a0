"""One diagnostic record, a registry of codes, and one renderer (compiler style or JSON)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True, order=True)
class Span:
    """A source range, 1-based lines and columns; end column is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def point(line: int, column: int) -> Span:
        return Span(line, column, line, column + 1)

    def to(self, other: Span) -> Span:
        """The span covering both."""
        return Span(self.line, self.column, other.end_line, other.end_column)


NOWHERE = Span(1, 1, 1, 1)
TAB = 4  # tab stops when a source line is shown
WHOLE_FILE = Span(0, 0, 0, 0)  # a diagnostic about the file as a whole (or the command line)

# The stable codes. Adding one here is part of the contract (docs/diagnostics.md lists them).
CODES: dict[str, str] = {
    "syntax": "the text does not parse",
    "unknown-name": "a name that is not declared",
    "duplicate": "a name declared twice",
    "type-mismatch": "an expression of the wrong type",
    "out-of-range": "a constant value outside its declared range",
    "bad-range": "an empty or non-constant range",
    "not-constant": "an expression that must be constant is not",
    "assigned-twice": "a variable assigned twice in one transition",
    "missing-initial": "a state variable without an initial value",
    "constant-guard": "a guard that is always true or always false",
    "bound-guard": "a guard that only keeps a value inside its range",
    "bad-const-override": "a --const override that does not apply",
    "too-large": "a domain too large to enumerate",
    "empty-init": "a spec with no initial state",
    "dead-transition": "an action or event that never fires",
    "approval-on-event": "`needs approval` on an event, which cannot be escalated",
    "unbound-parameter": "a tool binding that leaves a parameter unbound",
    "ambiguous-binding": "a tool binding whose patterns overlap with different results",
    "bad-pattern": "a binding pattern outside the safe subset",
    "io": "a file that cannot be read",
    "empty": "a path with no specs",
    "engine": "an engine that cannot run on this spec",
    "bad-scenario": "a scenario that cannot run as written",
}


@dataclass(frozen=True)
class Diagnostic:
    """A message about a spec, located by a span."""

    code: str
    severity: Severity
    message: str
    span: Span = NOWHERE
    help: str | None = None
    path: str = "<input>"

    def sort_key(self) -> tuple[str, Span, str]:
        return (self.path, self.span, self.code)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
        }
        if self.help:
            out["help"] = self.help
        return out


class SpecError(Exception):
    """Raised by a stage that cannot go on; carries every diagnostic collected so far."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__("; ".join(d.message for d in self.diagnostics))


def too_deep(span: Span, path: str) -> Diagnostic:
    """The diagnostic for a declaration nested beyond what can be processed."""
    return Diagnostic(
        "syntax",
        "error",
        "this declaration nests too deeply to process",
        span,
        "split long chains and deep nesting into `def` definitions or separate statements",
        path,
    )


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


@dataclass
class DiagnosticSink:
    """Collects diagnostics for one file."""

    path: str
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.items.append(Diagnostic(code, "error", message, span, help, self.path))

    def warning(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.items.append(Diagnostic(code, "warning", message, span, help, self.path))

    @property
    def failed(self) -> bool:
        return has_errors(self.items)


def source_lines(source: str) -> list[str]:
    """The lines of a source as the parser numbers them: split at `\\n` only."""
    return [ln.removesuffix("\r") for ln in source.split("\n")]


def _char_width(ch: str, col: int) -> int:
    if ch == "\t":
        return TAB - col % TAB
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _width(text: str) -> int:
    """Display columns of `text`: tabs to the next multiple of 4, wide characters take two."""
    col = 0
    for ch in text:
        col += _char_width(ch, col)
    return col


def _expand(text: str) -> str:
    """`text` with its tabs replaced by spaces up to the next tab stop."""
    out: list[str] = []
    col = 0
    for ch in text:
        w = _char_width(ch, col)
        out.append(" " * w if ch == "\t" else ch if ch.isprintable() else "\ufffd")
        col += w
    return "".join(out)


def render(diag: Diagnostic, source: str | None) -> str:
    """Compiler-style text: location, code, message, the source line with a caret, help."""
    sp = diag.span
    where = f"{diag.path}:{sp.line}:{sp.column}" if sp.line > 0 else diag.path
    head = f"{where}: {diag.severity}[{diag.code}]: {diag.message}"
    lines = [head]
    text_lines = source_lines(source) if source is not None else []
    if 1 <= sp.line <= len(text_lines):
        raw = text_lines[sp.line - 1]
        start = min(max(sp.column, 1), len(raw) + 1) - 1
        end = sp.end_column - 1 if sp.end_line == sp.line else len(raw)
        end = min(max(end, start), len(raw))
        gutter = " " * len(str(sp.line))
        pad = _width(raw[:start])
        width = max(1, _width(raw[:end]) - pad)
        lines.append(f"{gutter} |")
        lines.append(f"{sp.line} | {_expand(raw)}".rstrip())
        lines.append(f"{gutter} | {' ' * pad}{'^' * width}")
        if diag.help:
            lines.append(f"{gutter} = help: {diag.help}")
    elif diag.help:
        lines.append(f"  = help: {diag.help}")
    return "\n".join(lines)
