"""Run scenarios and recorded sessions step by step, and say where the first one went wrong."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from verifier import ir
from verifier.guard.decision import ALLOW, Decision
from verifier.guard.monitor import Guard
from verifier.guard.replay import Played, Player, matches, then_for
from verifier.guard.session import Session
from verifier.guard.traces import ADMISSIBLE, REFUSED, RecordedSession, TraceStep
from verifier.ir.evaluate import EvalError, eval_expr
from verifier.ir.values import state_to_json
from verifier.lang.scenario import Scenario, StateCheck, Step
from verifier.testing.coverage import Coverage

_CLAUSE = re.compile(r"requires `(.+)` \(line \d+\)$")


@dataclass(frozen=True)
class PlanStep:
    """One request to run and what must come of it."""

    kind: str | None
    name: Any
    args: Any
    expect: str  # a verdict, ADMISSIBLE or REFUSED
    line: int
    shown: str
    clause: str | None = None
    then: str | None = None
    state: dict[str, Any] | None = None  # the recorded state after the step


@dataclass(frozen=True)
class PlanCheck:
    """`state: expr` between steps."""

    cond: ir.Expr
    text: str
    line: int


@dataclass(frozen=True)
class Plan:
    """A scenario or a recorded session, ready to run."""

    name: str
    path: str
    line: int
    initial: ir.Expr | dict[str, Any] | None
    items: tuple[PlanStep | PlanCheck, ...]


@dataclass(frozen=True)
class Failure:
    """The first step (or state check) that did not go as expected."""

    step: int  # steps run before it, plus one for a step
    line: int
    what: str
    expected: str
    actual: str
    context: str | None = None
    check: bool = False  # a `state:` check after `step` steps, not a step

    @property
    def where(self) -> str:
        """`step 3`, `after step 3`, or `start`."""
        if self.check:
            return f"after step {self.step}" if self.step else "at the start"
        return f"step {self.step}" if self.step else "start"


@dataclass(frozen=True)
class Outcome:
    """How one plan ran."""

    plan: Plan
    steps: int
    failure: Failure | None = None

    @property
    def passed(self) -> bool:
        return self.failure is None


def plan_of_scenario(sc: Scenario) -> Plan:
    """A lowered scenario as a plan."""
    items: list[PlanStep | PlanCheck] = []
    for item in sc.items:
        if isinstance(item, StateCheck):
            items.append(PlanCheck(item.cond, item.text, item.span.line))
        else:
            items.append(_plan_step(item))
    return Plan(sc.name, sc.path, sc.span.line, sc.init, tuple(items))


def _plan_step(st: Step) -> PlanStep:
    return PlanStep(
        st.kind, st.name, st.arguments, st.verdict, st.span.line, st.call_text(), st.clause, st.then
    )


def plan_of_session(rec: RecordedSession, path: str) -> Plan:
    """A recorded session as a plan: every step must get its recorded or an admissible verdict."""
    items = tuple(_recorded_step(s) for s in rec.steps)
    return Plan(rec.name, path, rec.initial_line, rec.initial, items)


def _recorded_step(s: TraceStep) -> PlanStep:
    shown = _shown(s.name, s.args)
    return PlanStep(s.kind, s.name, s.args, s.expect, s.line, shown, None, then_for(s), s.state)


def _shown(name: Any, args: Any) -> str:
    if not args:
        return str(name)
    if not isinstance(args, dict):
        return f"{name}({json.dumps(args)})"
    inner = ", ".join(f"{k}: {json.dumps(v)}" for k, v in args.items())
    return f"{name}({inner})"


class Runner:
    """Runs plans on one in-memory guard, each in a fresh session, and keeps coverage."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.player = Player(guard)
        self.coverage = Coverage(guard.program.model)
        self._count = 0

    def run(self, plan: Plan) -> Outcome:
        """Run one plan to its end or its first failure."""
        self._count += 1
        sid = f"scenario-{self._count}"
        start = self._initial(plan)
        if isinstance(start, Failure):
            return Outcome(plan, 0, start)
        session = self.guard.session(sid, state_to_json(self.guard.program.model, start))
        steps = 0
        for item in plan.items:
            if isinstance(item, PlanCheck):
                failure = self._check(session, start, item, steps)
            else:
                steps += 1
                failure = self._step(session, start, item, steps)
            if failure is not None:
                return Outcome(plan, steps, failure)
        return Outcome(plan, steps)

    def _initial(self, plan: Plan) -> tuple[int, ...] | Failure:
        model = self.guard.program.model
        states = self.guard.program.initial_states()
        if isinstance(plan.initial, dict):
            found = [s for s in states if state_to_json(model, s) == plan.initial]
            wanted = "the recorded initial state"
        elif plan.initial is not None:
            cond = plan.initial
            found = [s for s in states if _holds(cond, s)]
            wanted = "`init:`"
        else:
            found, wanted = states, "the spec's initial state"
        if len(found) == 1:
            return found[0]
        problem = f"{len(found)} initial states match" if found else "no initial state matches"
        return Failure(0, plan.line, "initial state", f"one initial state ({wanted})", problem)

    def _pre_state(self, session: Session, start: tuple[int, ...]) -> tuple[int, ...]:
        rec = self.guard.store.get(session.id)
        return rec.state if rec is not None else start

    def _step(
        self, session: Session, start: tuple[int, ...], item: PlanStep, number: int
    ) -> Failure | None:
        before = self._pre_state(session, start)
        played = self.player.play(session, item.kind, item.name, item.args, item.then)
        self.coverage.record(item.kind, item.name, item.args, before, played)
        if not _as_expected(item, played):
            return Failure(
                number, item.line, item.shown, expected_text(item), actual_text(played),
                "state after the step: " + self._values(session, None),
            )  # fmt: skip
        if item.state is not None:
            actual = session.state()["state"]
            if actual != item.state:
                return Failure(
                    number, item.line, item.shown, f"state {_state_text(item.state)}",
                    f"state {_state_text(actual)}",
                )  # fmt: skip
        return None

    def _check(
        self, session: Session, start: tuple[int, ...], item: PlanCheck, steps: int
    ) -> Failure | None:
        if _holds(item.cond, self._pre_state(session, start)):
            return None
        values = self._values(session, item.cond)
        return Failure(
            steps, item.line, f"state: {item.text}", f"`{item.text}`", values, check=True
        )

    def _values(self, session: Session, cond: ir.Expr | None) -> str:
        """The state (or only the variables `cond` reads) as `name = value` pairs."""
        state = session.state()
        values: dict[str, Any] = state["state"]
        names = _read_vars(cond) if cond is not None else set(values)
        shown = {k: v for k, v in values.items() if k in names}
        return _state_text(shown)


def _holds(cond: ir.Expr, state: tuple[int, ...]) -> bool:
    try:
        return bool(eval_expr(cond, state, {}))
    except EvalError:
        return False


def _read_vars(e: ir.Expr) -> set[str]:
    out = {e.name} if isinstance(e, ir.Var | ir.ArrayRead) else set()
    for c in ir.children(e):
        out |= _read_vars(c)
    return out


def _state_text(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items()) or "(no variables)"


def _as_expected(item: PlanStep, played: Played) -> bool:
    if not matches(item.expect, played):
        return False
    if item.clause is not None and _failed_clause(played.decision) != item.clause:
        return False
    if item.then == "approve" and item.expect == "escalate":
        return played.approval is not None and played.approval.verdict == ALLOW
    if item.then == "reject" and item.expect == "escalate":
        return played.approval is not None and played.approval.verdict != ALLOW
    return True


def _failed_clause(d: Decision) -> str | None:
    found = _CLAUSE.search(d.reason or "")
    return " ".join(found.group(1).split()) if found else None


def expected_text(item: PlanStep) -> str:
    """What a step expects, in words."""
    if item.expect == ADMISSIBLE:
        return "allow (or escalate, then allow on approval)"
    if item.expect == REFUSED:
        return "deny or quarantine (the attempted step of a domain violation)"
    text = item.expect
    if item.clause is not None:
        text += f": `{item.name}` requires `{item.clause}`"
    if item.then == "approve":
        text += ", then allow on approval"
    elif item.then == "reject":
        text += ", then refused on rejection"
    return text


def actual_text(played: Played) -> str:
    """What the guard answered, in words."""
    text = _said(played.decision)
    if played.approval is not None:
        text += f", then {_said(played.approval)}"
    return text


def _said(d: Decision) -> str:
    return f"{d.verdict}: {d.reason}" if d.reason else d.verdict
