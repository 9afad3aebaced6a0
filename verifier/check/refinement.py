"""What `verifier diff` compares: observable traces of two models under a renaming.

A trace is a sequence of steps from an initial state; what is observed of it is, at every
point, the values of the variables both models declare (after renaming OLD's names), and each
step's kind, transition name and arguments. A step NEW takes without approval must be one OLD
also takes without approval; a step NEW escalates may be one OLD escalates or allows. NEW
*restricts* OLD when every observable trace of NEW is one of OLD.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verifier import ir
from verifier.check.results import Trace
from verifier.ir import semantics as sem
from verifier.ir.compiled import compile_model
from verifier.ir.evaluate import EvalError
from verifier.ir.values import args_to_json, var_to_json

State = tuple[int, ...]
Label = tuple[str, str, str]  # kind, transition name (NEW's namespace), canonical arguments


class DiffError(Exception):
    """The two specs cannot be compared as asked (a bad renaming, an invalid option)."""


@dataclass(frozen=True)
class Renaming:
    """OLD's names of state variables and transitions mapped to NEW's (identity by default)."""

    pairs: tuple[tuple[str, str], ...] = ()

    def new_name(self, old: str) -> str:
        return dict(self.pairs).get(old, old)

    def inverse(self) -> Renaming:
        return Renaming(tuple((b, a) for a, b in self.pairs))

    def validate(self, old: ir.Model, new: ir.Model) -> None:
        """Every renamed name must exist on its side, and no two names may map to one."""
        names_old = {v.name for v in old.vars} | {t.name for t in old.transitions}
        names_new = {v.name for v in new.vars} | {t.name for t in new.transitions}
        for a, b in self.pairs:
            if a not in names_old:
                raise DiffError(f"`--rename {a}={b}`: OLD has no variable or transition `{a}`")
            if b not in names_new:
                raise DiffError(f"`--rename {a}={b}`: NEW has no variable or transition `{b}`")
        targets = [self.new_name(n) for n in names_old]
        if len(targets) != len(set(targets)):
            raise DiffError("the renaming maps two names of OLD to one name of NEW")


class Side:
    """One model as the comparison sees it: instances, labels, observable projection."""

    def __init__(
        self,
        model: ir.Model,
        names: Renaming,
        observed: Sequence[str],
        raw: frozenset[str] = frozenset(),
    ) -> None:
        self.model = model
        self.compiled = compile_model(model)
        self.instances = self.compiled.instances
        self.fires = self.compiled.fires
        self.labels: list[Label] = [_label(inst, names) for inst in self.instances]
        self.by_label: dict[Label, list[int]] = {}
        for k, lab in enumerate(self.labels):
            self.by_label.setdefault(lab, []).append(k)
        by_new_name = {names.new_name(v.name): v for v in model.vars}
        self.observed = [by_new_name[n] for n in observed]
        # variables of the same shape on both sides compare as slot values, others as JSON
        self._raw = [
            (v.slot, v.slot + ir.slot_width(v.type))
            for n, v in zip(observed, self.observed, strict=True)
            if n in raw
        ]
        self._json = [v for n, v in zip(observed, self.observed, strict=True) if n not in raw]
        self._proj: dict[State, tuple[Any, ...]] = {}

    def project(self, state: State) -> tuple[Any, ...]:
        """The observed variables' values, comparable across the two models."""
        hit = self._proj.get(state)
        if hit is None:
            hit = tuple(state[a:b] for a, b in self._raw) + tuple(
                json.dumps(var_to_json(self.model, v, state)) for v in self._json
            )
            if len(self._proj) < 1_000_000:
                self._proj[state] = hit
        return hit

    def shown(self, state: State) -> list[tuple[str, Any]]:
        """The observed variables with their values, for messages."""
        return [(v.name, var_to_json(self.model, v, state)) for v in self.observed]

    def step(self, k: int, state: State) -> tuple[State, bool] | None:
        """The successor and whether it needs approval; None when the guard refuses the step
        (disabled, or a fault in a guard, an update or the approval condition)."""
        try:
            nxt = self.fires[k](state)
            if nxt is None:
                return None
            return nxt, sem.needs_approval(self.instances[k], state)
        except EvalError:
            return None

    def initial(self) -> list[State]:
        return sem.initial_states(self.model)


def _label(inst: sem.Instance, names: Renaming) -> Label:
    t = inst.transition
    args = json.dumps(args_to_json(t.params, inst.args), sort_keys=True)
    return (t.kind, names.new_name(t.name), args)


def observed_names(old: ir.Model, new: ir.Model, names: Renaming) -> list[str]:
    """NEW's names of the variables both models declare, in NEW's order."""
    mine = {names.new_name(v.name) for v in old.vars}
    return [v.name for v in new.vars if v.name in mine]


def same_shape(x: ir.Type, y: ir.Type) -> bool:
    """Equal types, except that enums are compared by members (not by name)."""
    match x, y:
        case ir.EnumType(), ir.EnumType():
            return x.members == y.members
        case ir.SetType(), ir.SetType():
            return x.elem.members == y.elem.members
        case ir.ArrayType(), ir.ArrayType():
            return same_shape(x.index, y.index) and same_shape(x.elem, y.elem)
    return x == y


def raw_names(old: ir.Model, new: ir.Model, names: Renaming) -> frozenset[str]:
    """The observed variables whose slot values mean the same on both sides."""
    news = {v.name: v for v in new.vars}
    out = set()
    for v in old.vars:
        w = news.get(names.new_name(v.name))
        if w is not None and same_shape(v.type, w.type):
            out.add(w.name)
    return frozenset(out)


def matches(
    b: Side, label: Label, states: Sequence[State], target: tuple[Any, ...], approval: bool
) -> set[State]:
    """The successors in `b` of `states` by a step with `label` observed as `target`."""
    out: set[State] = set()
    for s in states:
        for j in b.by_label.get(label, ()):
            took = b.step(j, s)
            if took is None or (took[1] and not approval):
                continue
            if b.project(took[0]) == target:
                out.add(took[0])
    return out


def explain(
    b: Side, label: Label, state: State, want: list[tuple[str, Any]], approval: bool
) -> str:
    """Why `b` (from `state`) takes no step with `label` that is observed as `target`."""
    kind, name, args = label
    shown = _call(name, args)
    candidates = b.by_label.get(label, [])
    if not candidates:
        if not any(lab[1] == name for lab in b.labels):
            return f"has no {kind} `{name}`"
        return f"has no {kind} {shown}"
    j = candidates[0]
    inst = b.instances[j]
    try:
        guard = sem.failed_guard(inst, state)
        if guard is not None:
            return f"refuses {shown}: `{name}` requires `{guard.text}` (line {guard.span.line})"
        nxt = sem.apply(inst, state)
        asks = sem.needs_approval(inst, state)
    except EvalError as err:
        return f"faults on {shown}: {err.message}"
    if asks and not approval:
        return f"escalates {shown} to a human (`needs approval`) where the other does not"
    differ = [
        f"`{name}` = {json.dumps(got)} instead of {json.dumps(w)}"
        for (name, got), (_, w) in zip(b.shown(nxt), want, strict=True)
        if got != w
    ]
    return f"takes {shown} elsewhere: " + ", ".join(differ)


def _call(name: str, args: str) -> str:
    values = json.loads(args)
    inner = ", ".join(f"{k}={json.dumps(v)}" for k, v in values.items())
    return f"`{name}({inner})`"


@dataclass(frozen=True)
class Inclusion:
    """Whether every observable trace of A is one of B, and if not the shortest that is not.

    `holds` is None when the question was not decided (a bound or a timeout). `trace` is a
    trace of A whose last step B cannot take, `reason` says why B cannot.
    """

    holds: bool | None
    engine: str
    trace: Trace | None = None
    reason: str | None = None
    note: str | None = None
    explored: int | None = None


@dataclass(frozen=True)
class Space:
    """A model's reachable space: states (None if not counted) and the declared bits."""

    states: int | None
    declared_bits: float
    note: str | None = None

    @property
    def bits(self) -> float | None:
        return round(math.log2(self.states), 2) if self.states else None


@dataclass
class DiffResult:
    """The comparison of OLD and NEW in both directions, and the change in reachable space."""

    old: ir.Model
    new: ir.Model
    restricts: Inclusion  # every trace of NEW is one of OLD
    converse: Inclusion  # every trace of OLD is one of NEW
    old_space: Space
    new_space: Space
    observed: list[str]
    hidden_old: list[str]
    hidden_new: list[str]
    engine: str
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """equivalent, restricting, widening or inconclusive."""
        if self.restricts.holds is False:
            return "widening"
        if self.restricts.holds is None:
            return "inconclusive"
        if self.converse.holds is True:
            return "equivalent"
        return "restricting"

    def to_json(self) -> dict[str, Any]:
        return json_of(self)


def json_of(r: DiffResult) -> dict[str, Any]:
    """The JSON report of a comparison."""
    return {
        "version": 1,
        "old": r.old.path,
        "new": r.new.path,
        "verdict": r.verdict,
        "engine": r.engine,
        "observed": r.observed,
        "hidden": {"old": r.hidden_old, "new": r.hidden_new},
        "new_in_old": _inclusion_json(r.new, r.restricts),
        "old_in_new": _inclusion_json(r.old, r.converse),
        "space": {"old": _space_json(r.old_space), "new": _space_json(r.new_space)},
        "notes": list(r.notes),
    }


def _inclusion_json(model: ir.Model, inc: Inclusion) -> dict[str, Any]:
    out: dict[str, Any] = {"holds": inc.holds, "engine": inc.engine}
    if inc.trace is not None:
        out["trace"] = inc.trace.to_json(model)
        out["length"] = len(inc.trace)
        out["reason"] = inc.reason
    if inc.note:
        out["note"] = inc.note
    return out


def _space_json(s: Space) -> dict[str, Any]:
    return {"states": s.states, "bits": s.bits, "declared_bits": round(s.declared_bits, 2)}


def renaming_from(pairs: Mapping[str, str]) -> Renaming:
    return Renaming(tuple(sorted(pairs.items())))
