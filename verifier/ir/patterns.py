"""String patterns of argument bindings as finite automata: parse, match, intersect.

Exact values, prefixes, globs and a regular-expression subset all compile to one Thompson NFA
form. Matching simulates the NFA (a lazily built, size-capped DFA cache on top), so its cost
is O(length of the input x states of the pattern) whatever the pattern: there is no
backtracking, hence no catastrophic backtracking. Intersection (are there strings two patterns
both match?) is a breadth-first search of the product automaton; it returns a shortest
witness, which is how the front end reports ambiguous bindings.

The regex subset: literals, `.` (any character), classes `[a-z_]` and `[^...]`, the escapes
`\\d \\w \\s \\D \\W \\S` and escaped punctuation, groups `( )`, alternation `|`, and the
quantifiers `* + ?` and `{m}`, `{m,}`, `{m,n}` (n <= 100). A regex always matches the whole
string. No backreferences, lookaround, anchors or flags: every construct is regular.
Globs: `**` any text, `*` any text without `/`, `?` one character other than `/`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "MAX_PATTERN", "Automaton", "PatternError", "compile_pattern"]

KINDS = ("exact", "prefix", "glob", "regex")
MAX_PATTERN = 1000  # characters of pattern text
MAX_STATES = 4000  # NFA states of one pattern
MAX_REPEAT = 100
MAX_CODE = 0x10FFFF
_CACHE_LIMIT = 4096

Ranges = tuple[tuple[int, int], ...]  # sorted, disjoint, inclusive code point intervals
ANY: Ranges = ((0, MAX_CODE),)


class PatternError(ValueError):
    """A pattern that is not in the supported subset."""


def _normalise(ranges: list[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _negate(ranges: Ranges) -> Ranges:
    out, lo = [], 0
    for a, b in ranges:
        if a > lo:
            out.append((lo, a - 1))
        lo = b + 1
    if lo <= MAX_CODE:
        out.append((lo, MAX_CODE))
    return tuple(out)


def _intersect(a: Ranges, b: Ranges) -> Ranges:
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


def _contains(ranges: Ranges, code: int) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


_DIGIT: Ranges = ((48, 57),)
_WORD: Ranges = _normalise([(48, 57), (65, 90), (95, 95), (97, 122)])
_SPACE: Ranges = _normalise([(9, 13), (32, 32)])
_CLASSES = {
    "d": _DIGIT,
    "w": _WORD,
    "s": _SPACE,
    "D": _negate(_DIGIT),
    "W": _negate(_WORD),
    "S": _negate(_SPACE),
}
_CONTROL = {"n": "\n", "t": "\t", "r": "\r"}
_SPECIAL = set("\\.[]()|*+?{}^$-/")
_NOT_SLASH: Ranges = _negate(((47, 47),))


# ---- regex syntax tree: ("chars", ranges) | ("cat", [..]) | ("alt", [..]) | ("rep", n, m, x)
Node = tuple


class _Parser:
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
        ranges = _normalise(parts)
        return _negate(ranges) if negated else ranges

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


def _literal(text: str) -> Node:
    return ("cat", [("chars", ((ord(c), ord(c)),)) for c in text])


def _glob(text: str) -> Node:
    items: list[Node] = []
    i = 0
    while i < len(text):
        if text.startswith("**", i):
            items.append(("rep", 0, None, ("chars", ANY)))
            i += 2
        elif text[i] == "*":
            items.append(("rep", 0, None, ("chars", _NOT_SLASH)))
            i += 1
        elif text[i] == "?":
            items.append(("chars", _NOT_SLASH))
            i += 1
        else:
            items.append(("chars", ((ord(text[i]), ord(text[i])),)))
            i += 1
    return ("cat", items)


def _tree(kind: str, text: str) -> Node:
    if kind == "exact":
        return _literal(text)
    if kind == "prefix":
        return ("cat", [_literal(text), ("rep", 0, None, ("chars", ANY))])
    if kind == "glob":
        return _glob(text)
    if kind == "regex":
        return _Parser(text).parse()
    raise PatternError(f"unknown pattern kind `{kind}`")


# ---- Thompson construction


class _Builder:
    def __init__(self) -> None:
        self.sets: list[Ranges | None] = []  # None: an epsilon state
        self.edges: list[list[int]] = []

    def new(self, ranges: Ranges | None = None) -> int:
        if len(self.sets) >= MAX_STATES:
            raise PatternError(f"the pattern is too large (over {MAX_STATES} automaton states)")
        self.sets.append(ranges)
        self.edges.append([])
        return len(self.sets) - 1

    def build(self, node: Node) -> tuple[int, int]:
        tag = node[0]
        if tag == "chars":
            s, e = self.new(node[1]), self.new()
            self.edges[s].append(e)
            return s, e
        if tag == "cat":
            start = end = self.new()
            for item in node[1]:
                s, e = self.build(item)
                self.edges[end].append(s)
                end = e
            return start, end
        if tag == "alt":
            start, end = self.new(), self.new()
            for item in node[1]:
                s, e = self.build(item)
                self.edges[start].append(s)
                self.edges[e].append(end)
            return start, end
        return self.repeat(node[1], node[2], node[3])

    def repeat(self, lo: int, hi: int | None, item: Node) -> tuple[int, int]:
        start = end = self.new()
        for _ in range(lo):
            s, e = self.build(item)
            self.edges[end].append(s)
            end = e
        if hi is None:
            s, e = self.build(item)
            loop = self.new()
            self.edges[end].append(loop)
            self.edges[loop].append(s)
            self.edges[e].append(loop)
            after = self.new()
            self.edges[loop].append(after)
            return start, after
        for _ in range(hi - lo):
            s, e = self.build(item)
            after = self.new()
            self.edges[end].extend([s, after])
            self.edges[e].append(after)
            end = after
        return start, end


@dataclass(frozen=True, eq=False)
class Automaton:
    """A compiled pattern: an NFA whose char states each have one successor."""

    kind: str
    text: str
    sets: tuple[Ranges | None, ...]
    edges: tuple[tuple[int, ...], ...]
    start: int
    accept: int
    _closures: list[frozenset[int]] = field(default_factory=list, repr=False)
    _cache: dict[tuple[frozenset[int], str], frozenset[int]] = field(
        default_factory=dict, repr=False
    )

    def __post_init__(self) -> None:
        self._closures.extend(self._closure(s) for s in range(len(self.sets)))

    def _closure(self, state: int) -> frozenset[int]:
        seen, stack = {state}, [state]
        while stack:
            s = stack.pop()
            if self.sets[s] is None:
                for t in self.edges[s]:
                    if t not in seen:
                        seen.add(t)
                        stack.append(t)
        return frozenset(seen)

    def _step(self, current: frozenset[int], ch: str) -> frozenset[int]:
        hit = self._cache.get((current, ch))
        if hit is not None:
            return hit
        code = ord(ch)
        out: set[int] = set()
        for s in current:
            ranges = self.sets[s]
            if ranges is not None and _contains(ranges, code):
                out |= self._closures[self.edges[s][0]]
        result = frozenset(out)
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[(current, ch)] = result
        return result

    def matches(self, text: str) -> bool:
        """Whether the pattern matches all of `text`."""
        current = self._closures[self.start]
        for ch in text:
            current = self._step(current, ch)
            if not current:
                return False
        return self.accept in current

    def intersection(self, other: Automaton) -> str | None:
        """A shortest string both patterns match, or None if there is none."""
        start = (self.start, other.start)
        parent: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
        queue = deque([start])
        while queue:
            pair = queue.popleft()
            if pair == (self.accept, other.accept):
                return _witness(parent, pair)
            for nxt, ch in self._pair_moves(other, pair):
                if nxt not in parent:
                    parent[nxt] = (pair, ch)
                    queue.append(nxt)
        return None

    def _pair_moves(self, other: Automaton, pair: tuple[int, int]) -> list[tuple[Any, str]]:
        p, q = pair
        moves: list[tuple[Any, str]] = []
        if self.sets[p] is None:
            moves.extend(((t, q), "") for t in self.edges[p])
        if other.sets[q] is None:
            moves.extend(((p, t), "") for t in other.edges[q])
        sp, sq = self.sets[p], other.sets[q]
        if sp is not None and sq is not None:
            common = _intersect(sp, sq)
            if common:
                moves.append(((self.edges[p][0], other.edges[q][0]), _sample(common)))
        return moves


def _sample(ranges: Ranges) -> str:
    """A readable character of a non-empty range set."""
    for lo, hi in ranges:
        for code in (ord("a"), ord("0"), ord("_")):
            if lo <= code <= hi:
                return chr(code)
    for lo, hi in ranges:
        for code in range(lo, min(hi, lo + 200) + 1):
            if chr(code).isprintable() and not 0xD800 <= code <= 0xDFFF:
                return chr(code)
    return chr(ranges[0][0])


def _witness(parent: dict[Any, Any], pair: Any) -> str:
    chars: list[str] = []
    while parent[pair] is not None:
        pair, ch = parent[pair]
        chars.append(ch)
    return "".join(reversed(chars))


def compile_pattern(kind: str, text: str) -> Automaton:
    """Compile one pattern; PatternError names what is not supported and where."""
    if not isinstance(text, str) or len(text) > MAX_PATTERN:
        raise PatternError(f"a pattern has at most {MAX_PATTERN} characters")
    builder = _Builder()
    try:
        start, accept = builder.build(_tree(kind, text))
    except RecursionError:
        raise PatternError("the pattern nests too deeply") from None
    return Automaton(
        kind,
        text,
        tuple(builder.sets),
        tuple(tuple(e) for e in builder.edges),
        start,
        accept,
    )
