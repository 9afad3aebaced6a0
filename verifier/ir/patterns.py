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

from verifier.ir.regex import (
    ANY,
    NOT_SLASH,
    Node,
    Parser,
    PatternError,
    Ranges,
    contains,
    intersect,
)

__all__ = ["KINDS", "MAX_PATTERN", "Automaton", "PatternError", "compile_pattern"]

KINDS = ("exact", "prefix", "glob", "regex")
MAX_PATTERN = 1000  # characters of pattern text
MAX_STATES = 4000  # NFA states of one pattern
_CACHE_LIMIT = 4096


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
            items.append(("rep", 0, None, ("chars", NOT_SLASH)))
            i += 1
        elif text[i] == "?":
            items.append(("chars", NOT_SLASH))
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
        return Parser(text).parse()
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
            if ranges is not None and contains(ranges, code):
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
            common = intersect(sp, sq)
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
