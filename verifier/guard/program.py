"""The enforced transition program: one precompiled step per (transition, arguments) instance.

Built once at load time from the artifact's IR. A decision looks its instance up in a dict
(arguments are validated once per distinct argument object shape, then cached) and runs one
generated closure, so the per-decision cost does not grow with the session's history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, NamedTuple

from verifier import ir
from verifier.ir import semantics as sem
from verifier.ir.compiled import compile_model
from verifier.ir.values import ValueError_, args_from_json, args_to_json

State = tuple[int, ...]
CACHE_LIMIT = 100_000  # distinct cached argument shapes; beyond it arguments are re-validated


class Entry(NamedTuple):
    """One transition instance as the guard runs it."""

    position: int
    instance: sem.Instance
    fire: Callable[[State], State | None]
    kind: str
    name: str
    args: dict[str, Any]
    args_hash: str
    approval: ir.Expr | None


class Refusal(NamedTuple):
    """Why a request names no instance: the reason and the spec line, if any."""

    reason: str
    line: int | None = None


def args_hash(args: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of validated arguments."""
    text = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class Program:
    """Instances by name and arguments, with state validation for stored states."""

    def __init__(self, model: ir.Model) -> None:
        self.model = model
        compiled = compile_model(model)
        self.entries: list[Entry] = []
        self._index: dict[tuple[str, tuple[int, ...]], Entry] = {}
        for k, (inst, fire) in enumerate(zip(compiled.instances, compiled.fires, strict=True)):
            t = inst.transition
            shown = args_to_json(t.params, inst.args)
            entry = Entry(k, inst, fire, t.kind, t.name, shown, args_hash(shown), t.approval)
            self.entries.append(entry)
            self._index[(t.name, inst.args)] = entry
        self._transitions = {t.name: t for t in model.transitions}
        self._cache: dict[Any, Entry] = {}
        self._reasons: dict[tuple[int, State], Refusal] = {}
        self._ranges = [(s.type.values().start, s.type.values().stop) for s in model.slots]

    def lookup(self, kind: str, name: Any, args: Any) -> Entry | Refusal:
        """The instance `name(args)` of the given kind, or why there is none."""
        key: Any
        try:
            if args:
                key = (name, tuple(args.items()), tuple(map(type, args.values())))
            else:  # no arguments: the name alone (a tuple key never equals a string one)
                key = name if type(args) is dict else None
            hit = self._cache.get(key)
        except (AttributeError, TypeError):
            key, hit = None, None
        if hit is not None:
            return hit if hit.kind == kind else self._wrong_kind(kind, name)
        found = self._validate(kind, name, args)
        if key is not None and isinstance(found, Entry) and len(self._cache) < CACHE_LIMIT:
            self._cache[key] = found
        return found

    def _wrong_kind(self, kind: str, name: str) -> Refusal:
        other = "an event" if kind == "action" else "an action"
        return Refusal(
            f"`{name}` is {other}, not {'an action' if kind == 'action' else 'an event'}"
        )

    def _validate(self, kind: str, name: Any, args: Any) -> Entry | Refusal:
        t = self._transitions.get(name) if isinstance(name, str) else None
        if t is None:
            return Refusal(f"unknown {kind} `{name}`")
        if args is not None and not isinstance(args, dict):
            return Refusal("arguments must be an object of name: value", t.span.line)
        try:
            values = args_from_json(t.params, args)
        except ValueError_ as err:
            return Refusal(f"{err} (`{name}` at line {t.span.line})", t.span.line)
        entry = self._index[(t.name, values)]
        return entry if entry.kind == kind else self._wrong_kind(kind, name)

    def by_name(self, name: str, args: dict[str, Any]) -> Entry | Refusal:
        """An instance by name regardless of kind (for replay and approvals)."""
        t = self._transitions.get(name)
        return self.lookup(t.kind if t else "action", name, args)

    def why_not(self, entry: Entry, state: State) -> Refusal:
        """The first false guard of a disabled instance, with its spec line (memoized)."""
        key = (entry.position, state)
        hit = self._reasons.get(key)
        if hit is None:
            hit = self._why_not(entry, state)
            if len(self._reasons) < CACHE_LIMIT:
                self._reasons[key] = hit
        return hit

    def _why_not(self, entry: Entry, state: State) -> Refusal:
        guard = sem.failed_guard(entry.instance, state)
        if guard is None:  # pragma: no cover - only called when the step returned None
            return Refusal(f"`{entry.name}` is not enabled")
        line = guard.span.line
        return Refusal(f"`{entry.name}` requires `{guard.text}` (line {line})", line)

    def needs_approval(self, entry: Entry, state: State) -> bool:
        return entry.approval is not None and sem.needs_approval(entry.instance, state)

    def valid_state(self, state: Any) -> bool:
        """Whether a stored state has one in-range int per slot."""
        if not isinstance(state, tuple) or len(state) != len(self._ranges):
            return False
        # generated code may yield bools for bool slots; bool is an int subclass
        ranges = zip(state, self._ranges, strict=True)
        return all(isinstance(v, int) and lo <= v < hi for v, (lo, hi) in ranges)

    def initial_states(self) -> list[State]:
        return sem.initial_states(self.model)
