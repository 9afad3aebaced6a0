"""The regular-expression subset of binding patterns: character sets and a parser.

Parses text into a small syntax tree that `patterns` compiles into an automaton: literals,
`.`, classes `[a-z]` `[^...]`, `\\d \\w \\s` and their negations, escaped punctuation,
groups, `|`, `* + ?` and `{m}`, `{m,}`, `{m,n}` with n <= 100. Everything else (anchors,
backreferences, lookaround, flags) is a PatternError naming the position.
"""

from __future__ import annotations

MAX_REPEAT = 100
MAX_CODE = 0x10FFFF

Ranges = tuple[tuple[int, int], ...]  # sorted, disjoint, inclusive code point intervals
ANY: Ranges = ((0, MAX_CODE),)


class PatternError(ValueError):
    """A pattern that is not in the supported subset."""


def normalise(ranges: list[tuple[int, int]]) -> Ranges:
    """Sorted, merged intervals."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def negate(ranges: Ranges) -> Ranges:
    """Every code point not in `ranges`."""
    out, lo = [], 0
    for a, b in ranges:
        if a > lo:
            out.append((lo, a - 1))
        lo = b + 1
    if lo <= MAX_CODE:
        out.append((lo, MAX_CODE))
    return tuple(out)


def intersect(a: Ranges, b: Ranges) -> Ranges:
    """The code points in both."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def contains(ranges: Ranges, code: int) -> bool:
    """Whether `code` is in `ranges`."""
    return any(lo <= code <= hi for lo, hi in ranges)


_DIGIT: Ranges = ((48, 57),)
_WORD: Ranges = normalise([(48, 57), (65, 90), (95, 95), (97, 122)])
_SPACE: Ranges = normalise([(9, 13), (32, 32)])
_CLASSES = {
    "d": _DIGIT,
    "w": _WORD,
    "s": _SPACE,
    "D": negate(_DIGIT),
    "W": negate(_WORD),
    "S": negate(_SPACE),
}
_CONTROL = {"n": "\n", "t": "\t", "r": "\r"}
_SPECIAL = set("\\.[]()|*+?{}^$-/")
NOT_SLASH: Ranges = negate(((47, 47),))


# ---- regex syntax tree: ("chars", ranges) | ("cat", [..]) | ("alt", [..]) | ("rep", n, m, x)
Node = tuple


class Parser:
    """Recursive descent over the subset; `parse` returns the syntax tree."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def error(self, message: str) -> PatternError:
        return PatternError(f"{message} at position {self.pos + 1}")

    def peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def take(self) -> str:
        ch = self.text[self.pos]
        self.pos += 1
        return ch

    def parse(self) -> Node:
        node = self.alt()
        if self.pos < len(self.text):
            raise self.error(f"unexpected `{self.text[self.pos]}`")
        return node

    def alt(self) -> Node:
        branches = [self.cat()]
        while self.peek() == "|":
            self.take()
            branches.append(self.cat())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def cat(self) -> Node:
        items: list[Node] = []
        while self.peek() not in (None, "|", ")"):
            items.append(self.repeat())
        return ("cat", items)

    def repeat(self) -> Node:
        atom = self.atom()
        ch = self.peek()
        if ch == "*":
            self.take()
            atom = ("rep", 0, None, atom)
        elif ch == "+":
            self.take()
            atom = ("rep", 1, None, atom)
        elif ch == "?":
            self.take()
            atom = ("rep", 0, 1, atom)
        elif ch == "{":
            atom = self.braces(atom)
        if self.peek() in ("*", "+", "?", "{"):
            raise self.error("a quantifier cannot follow another quantifier")
        return atom

    def braces(self, atom: Node) -> Node:
        self.take()
        lo = self.number()
        hi: int | None = lo
        if self.peek() == ",":
            self.take()
            hi = None if self.peek() == "}" else self.number()
        if self.peek() != "}":
            raise self.error("expected `}` to close a repetition")
        self.take()
        if hi is not None and hi < lo:
            raise self.error(f"repetition {{{lo},{hi}}} has its bounds reversed")
        return ("rep", lo, hi, atom)

    def number(self) -> int:
        start = self.pos
        while (ch := self.peek()) is not None and ch.isascii() and ch.isdigit():
            self.take()
        digits = self.text[start : self.pos]
        if not digits or len(digits) > 3 or int(digits) > MAX_REPEAT:
            raise self.error(f"a repetition count must be a number from 0 to {MAX_REPEAT}")
        return int(digits)

    def atom(self) -> Node:
        ch = self.take()
        if ch == "(":
            if self.peek() == "?":
                raise self.error("groups with `(?` (lookaround, flags, names) are not supported")
            inner = self.alt()
            if self.peek() != ")":
                raise self.error("expected `)`")
            self.take()
            return inner
        if ch == "[":
            return ("chars", self.char_class())
        if ch == ".":
            return ("chars", ANY)
        if ch == "\\":
            return ("chars", self.escape(in_class=False))
        if ch in "*+?{":
            raise self.error(f"`{ch}` has nothing to repeat")
        if ch in ")]}^$":
            raise self.error(f"`{ch}` must be escaped as `\\{ch}`")
        return ("chars", ((ord(ch), ord(ch)),))

    def escape(self, in_class: bool) -> Ranges:
        if self.peek() is None:
            raise self.error("a pattern cannot end with `\\`")
        ch = self.take()
        if ch in _CLASSES:
            return _CLASSES[ch]
        if ch in _CONTROL:
            code = ord(_CONTROL[ch])
            return ((code, code),)
        if ch in _SPECIAL:
            return ((ord(ch), ord(ch)),)
        raise self.error(f"unsupported escape `\\{ch}`")

    def char_class(self) -> Ranges:
        negated = self.peek() == "^"
        if negated:
            self.take()
        parts: list[tuple[int, int]] = []
        first = True
        while True:
            ch = self.peek()
            if ch is None:
                raise self.error("expected `]` to close a character class")
            if ch == "]" and not first:
                self.take()
                break
            first = False
            parts.extend(self.class_item())
        ranges = normalise(parts)
        return negate(ranges) if negated else ranges

    def class_item(self) -> Ranges:
        ch = self.take()
        if ch == "\\":
            low = self.escape(in_class=True)
            if len(low) != 1 or low[0][0] != low[0][1]:
                return low
        elif ch == "[":
            raise self.error("`[` inside a character class must be escaped")
        else:
            low = ((ord(ch), ord(ch)),)
        if self.peek() == "-" and self.pos + 1 < len(self.text) and self.text[self.pos + 1] != "]":
            self.take()
            hi_ch = self.take()
            if hi_ch == "\\":
                hi = self.escape(in_class=True)
                if len(hi) != 1 or hi[0][0] != hi[0][1]:
                    raise self.error("a class range cannot end in a class escape")
                hi_code = hi[0][0]
            else:
                hi_code = ord(hi_ch)
            if hi_code < low[0][0]:
                raise self.error("a class range has its bounds reversed")
            return ((low[0][0], hi_code),)
        return low
