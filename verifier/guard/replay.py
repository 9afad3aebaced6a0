"""Offline validation of recorded traces, through the live guard's decision path.

Traces are read by `traces` (JSON Lines of steps, the guard's audit log, the JSON report of
`verifier check`, ITF). Each session of a trace runs in a fresh in-memory session of the
guard; a step passes when the guard gives the verdict the trace expects: the recorded one for
an audit log, otherwise admissible (allowed, or escalated and then allowed on approval).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.guard.artifact import ArtifactError
from verifier.guard.decision import ALLOW, ESCALATE, Decision
from verifier.guard.monitor import Guard, GuardError
from verifier.guard.session import Session
from verifier.guard.traces import ADMISSIBLE, REFUSED, TraceError, TraceStep, read_trace

APPROVER = "replay"


class ReplayError(Exception):
    """The artifact or the trace file cannot be used."""


@dataclass(frozen=True)
class ReplayOutcome:
    """How many steps were admissible, and the first one that was not."""

    steps: int
    bad_step: int | None = None
    bad_line: int | None = None
    name: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Played:
    """What the guard answered to one step (and to the approval that followed, if any)."""

    decision: Decision
    approval: Decision | None = None

    @property
    def final(self) -> Decision:
        return self.approval if self.approval is not None else self.decision


class Player:
    """Runs steps against sessions of one guard, remembering each session's pending approval.

    An approval goes through the operator's side (`guard.approvals`), as in production: approving
    moves nothing, and the agent's identical retry then commits once, so `escalate then approve`
    is approve followed by the same proposal again.
    """

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self._kinds = {t.name: t.kind for t in guard.program.model.transitions}
        self._pending: dict[str, tuple[str | None, Any, Any]] = {}

    def kind_of(self, name: Any) -> str:
        """The declared kind of a transition name (an unknown name is proposed as an action)."""
        return self._kinds.get(name, "action") if isinstance(name, str) else "action"

    def play(
        self, session: Session, kind: str | None, name: Any, args: Any, then: str | None
    ) -> Played:
        """Run one request; `then` (approve or reject) follows an escalation."""
        kind = kind or self.kind_of(name)
        if kind in ("approve", "reject"):
            return Played(self._follow_up(session, kind, retry=False))
        if kind == "release":
            self._pending.pop(session.id, None)
            return Played(self.guard.release(session.id, APPROVER))
        act = session.propose if kind == "action" else session.observe
        decision = act(name, args)
        self._pending[session.id] = (decision.approval_id, name, args)
        if decision.verdict == ESCALATE and then is not None:
            return Played(decision, self._follow_up(session, then, retry=True))
        return Played(decision)

    def _follow_up(self, session: Session, kind: str, retry: bool) -> Decision:
        """Approve (then, with `retry`, propose the same again) or reject the last escalation."""
        approval, name, args = self._pending.pop(session.id, (None, None, None))
        if kind == "reject":
            return self.guard.approvals.reject(approval or "", APPROVER)
        decided = self.guard.approvals.approve(approval or "", APPROVER)
        if not retry or decided.verdict != ALLOW:
            return decided
        return session.propose(name, args)  # the approved retry commits, once


def then_for(step: TraceStep) -> str | None:
    """The follow-up a recorded step implies: approve where it must be admissible."""
    return "approve" if step.expect == ADMISSIBLE else None


def matches(expect: str, played: Played) -> bool:
    """Whether the guard's answer is what the trace expects."""
    if expect == ADMISSIBLE:
        return played.final.verdict == ALLOW
    if expect == REFUSED:
        return played.decision.verdict != ALLOW
    return played.decision.verdict == expect


def replay_file(
    artifact_path: str, trace_path: str, public_key: str | None = None
) -> ReplayOutcome:
    """Replay every session of `trace_path` against the artifact; stop at the first bad step."""
    try:
        guard = Guard.load(artifact_path, public_key=public_key)
        trace = read_trace(trace_path)
    except (GuardError, ArtifactError, TraceError) as err:
        raise ReplayError(str(err)) from None
    player = Player(guard)
    steps = 0
    for number, recorded in enumerate(trace.sessions):
        try:
            session = guard.session(f"replay-{number}", recorded.initial)
        except GuardError as err:
            where = f"{trace_path}:{max(recorded.initial_line, 1)}"
            raise ReplayError(f"{where}: malformed step: {err}") from None
        for step in recorded.steps:
            steps += 1
            played = player.play(session, step.kind, step.name, step.args, then_for(step))
            if not matches(step.expect, played):
                d = played.final
                return ReplayOutcome(steps - 1, steps, step.line, str(step.name), _said(d))
    return ReplayOutcome(steps)


def _said(d: Decision) -> str:
    return f"{d.verdict}: {d.reason}" if d.reason else d.verdict
