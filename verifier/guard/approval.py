"""The operator's side of escalation and quarantine: approvals and releases.

An escalated proposal gets an approval id (never an authority: the agent may see it). Only the
operator side approves or rejects it: `guard.approvals` in the process that holds the guard,
or `verifier approve` / `verifier reject` against the same artifact, store and audit log. An
approval does not move the session; it lets the agent's next identical proposal (same session,
action, arguments and state version) commit once, through the full decision path.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

from verifier.guard.boundary import bad_approval_id, bad_id, require_id
from verifier.guard.decision import ALLOW, DENY, ESCALATE, QUARANTINE, Decision, Outcome
from verifier.guard.ledger import Ledger
from verifier.guard.options import GuardError
from verifier.guard.program import Entry, Refusal, State
from verifier.guard.store import (
    APPROVED,
    PENDING,
    ApprovalRecord,
    IntegrityError,
    Record,
    StoreError,
)

Integrity = Callable[[Record], "Outcome | None"]
Admissible = Callable[[Record, str, "Entry | Refusal"], Outcome]


def rejected_by(approver: str) -> str:
    """The reason of a successful reject (its verdict is deny: the proposal is refused)."""
    return f"rejected by {approver}"


def new_approval_id() -> str:
    """A fresh approval id: `ap-` and 96 random bits in hex."""
    return f"ap-{secrets.token_hex(12)}"


def escalation(
    ledger: Ledger, sid: str, rec: Record, entry: Entry, out: Outcome, advanced: Record
) -> Outcome:
    """An escalated proposal's outcome: allow if an operator approved exactly this proposal at
    this version (spending that approval on commit), else escalate naming the pending approval
    (the same one while the agent repeats the same proposal)."""
    now = ledger.clock()
    key = (entry.name, entry.args_hash, rec.version, ledger.program_id)
    same = []
    for a in ledger.store.approvals(sid):
        if a.expires < now or a.version < rec.version:  # can never be used: forget it
            ledger.store.replace_approval(a, None)
        elif (a.action, a.args_hash, a.version, a.program) == key:
            same.append(a)
    granted = next((a for a in same if a.status == APPROVED), None)
    if granted is not None:
        reason = f"approved by {granted.approver} ({granted.id})"
        return Outcome(ALLOW, reason, None, advanced, None, granted)
    pending = next((a.id for a in same if a.status == PENDING), None)
    return out._replace(approval=pending or new_approval_id())


class Approvals:
    """List, approve and reject escalated proposals: the operator's channel, never the agent's."""

    def __init__(
        self, ledger: Ledger, lock: threading.Lock, integrity: Integrity, admissible: Admissible
    ) -> None:
        self._ledger = ledger
        self._lock = lock
        self._integrity = integrity
        self._admissible = admissible

    def list(self, session: str | None = None) -> list[ApprovalRecord]:
        """The approvals waiting (`pending`) or granted and not yet spent (`approved`)."""
        if session is not None:
            require_id("session id", session)
        try:
            found = self._ledger.store.approvals(session)
        except (IntegrityError, StoreError) as err:
            raise GuardError(f"the approvals cannot be listed: {err}") from None
        return sorted(found, key=lambda a: (a.created, a.id))

    def approve(self, approval_id: str, approver: str) -> Decision:
        """Approve a pending proposal after deciding it again on the session's current record."""
        return self._run(approval_id, approver, "approve")

    def reject(self, approval_id: str, approver: str) -> Decision:
        """Refuse a pending proposal, or revoke an approval the agent has not spent yet."""
        return self._run(approval_id, approver, "reject")

    def _run(self, approval_id: str, approver: str, kind: str) -> Decision:
        problem = bad_approval_id(approval_id) or bad_id("approver", approver)
        with self._lock:
            if problem is not None:
                return self._ledger.failed("", kind, None, None, DENY, problem)
            return self._ledger.run_locked(
                "", kind, lambda: self._decide(approval_id, approver, kind)
            )

    def _decide(self, aid: str, approver: str, kind: str) -> Decision:
        ledger = self._ledger
        extra = {"approver": approver}
        found = ledger.store.get_approval(aid)
        if found is None:  # recorded under the lock already held (no nested locking)
            reason = f"unknown approval `{aid}`: never issued, already decided or expired"
            out = Outcome(DENY, reason, None, None, aid)
            nobody = Record(-1, (), 0)
            return ledger.emit("", kind, None, None, Refusal(reason), nobody, out, extra)
        a: ApprovalRecord = found
        entry = ledger.program.by_name(a.action, a.args)
        rec = ledger.store.get(a.session)
        if rec is None:
            return self._deny(kind, a, entry, Record(-1, (), 0), f"no session `{a.session}`", extra)
        problem = self._approval_problem(a, entry, kind)
        if problem is not None:
            return self._deny(kind, a, entry, rec, problem, extra)
        if kind == "reject":
            return self._swap(a, None, entry, rec, Outcome(DENY, rejected_by(approver)), extra)
        return self._approve(a, entry, rec, approver, extra)

    def _approval_problem(self, a: ApprovalRecord, entry: Entry | Refusal, kind: str) -> str | None:
        if a.status != PENDING and kind == "approve":
            return f"approval `{a.id}` was already approved by {a.approver}"
        if self._ledger.clock() > a.expires:
            return f"approval `{a.id}` has expired"
        if a.program != self._ledger.program_id:
            return f"approval `{a.id}` was issued under another policy"
        if not isinstance(entry, Entry) or entry.kind != "action":
            return f"approval `{a.id}` names no action of the policy"
        if entry.args_hash != a.args_hash:
            return f"approval `{a.id}` does not match its arguments"
        return None

    def _approve(
        self,
        a: ApprovalRecord,
        entry: Entry | Refusal,
        rec: Record,
        approver: str,
        extra: dict[str, Any],
    ) -> Decision:
        ledger = self._ledger
        out = self._integrity(rec)  # integrity, quarantine, policy: as for a proposal
        if out is None and rec.version != a.version:
            stale = f"stale approval: the session moved from version {a.version} to {rec.version}"
            out = Outcome(DENY, stale)
        if out is None:
            out = self._admissible(rec, "action", entry)  # the guard, decided again
        if out.verdict == QUARANTINE:
            decision = ledger.commit(a.session, "approve", a.action, a.args, entry, rec, out, extra)
            return decision or self._deny("approve", a, entry, rec, str(out.reason), extra)
        if out.verdict != ESCALATE:
            reason = out.reason or f"`{a.action}` no longer needs approval; propose it again"
            return self._deny("approve", a, entry, rec, reason, extra)
        now = ledger.clock()
        granted = a._replace(status=APPROVED, approver=approver, expires=now + ledger.token_ttl)
        why = f"approved by {approver}: the next identical `{a.action}` proposal commits once"
        return self._swap(a, granted, entry, rec, Outcome(ALLOW, why), extra)

    def _swap(
        self,
        a: ApprovalRecord,
        new: ApprovalRecord | None,
        entry: Entry | Refusal,
        rec: Record,
        out: Outcome,
        extra: dict[str, Any],
    ) -> Decision:
        """Record the operator's decision, then change the approval only if nobody else did."""
        ledger = self._ledger
        kind = "approve" if new is not None else "reject"
        out = out._replace(approval=a.id)
        decision = ledger.emit(a.session, kind, a.action, a.args, entry, rec, out, extra)
        if ledger.store.replace_approval(a, new):
            return decision
        # another operator decided first: a second record says this one did not take effect
        lost = {**extra, "aborts": decision.decision_id}
        return self._deny(kind, a, entry, rec, f"approval `{a.id}` changed concurrently", lost)

    def _deny(
        self,
        kind: str,
        a: ApprovalRecord,
        entry: Entry | Refusal,
        rec: Record,
        reason: str,
        extra: dict[str, Any],
    ) -> Decision:
        out = Outcome(QUARANTINE if rec.quarantine else DENY, reason, None, None, a.id)
        return self._ledger.emit(a.session, kind, a.action, a.args, entry, rec, out, extra)


def revoke_all(ledger: Ledger, sid: str) -> list[str]:
    """Delete every approval of a session (pending or approved); the ids revoked."""
    revoked = []
    for a in ledger.store.approvals(sid):
        if ledger.store.replace_approval(a, None):
            revoked.append(a.id)
    return sorted(revoked)


def release(ledger: Ledger, sid: str, admin: str, reset: bool) -> Decision:
    """Lift a quarantine, revoking the session's approvals; `reset` also restarts its state."""
    problem = bad_id("session id", sid) or bad_id("admin", admin)
    if problem is None and type(reset) is not bool:
        problem = f"`reset` must be true or false, not {reset!r}"
    if problem is not None:
        return ledger.failed("", "release", None, None, DENY, problem)

    def run() -> Decision:
        rec = ledger.store.get(sid)
        base = rec if rec is not None else Record(0, (), 0)
        out = _release_outcome(ledger, sid, rec, admin, reset)
        extra: dict[str, Any] = {"approver": admin}
        if out.record is None:
            return ledger.emit(sid, "release", None, None, Refusal(""), base, out, extra)
        extra["revoked"] = revoke_all(ledger, sid)  # before the session thaws
        decision = ledger.commit(sid, "release", None, None, Refusal(""), base, out, extra)
        if decision is None:
            lost = Outcome(DENY, "the session changed concurrently; release again")
            return ledger.emit(sid, "release", None, None, Refusal(""), base, lost, extra)
        return decision

    return ledger.run_locked(sid, "release", run)


def _release_outcome(
    ledger: Ledger, sid: str, rec: Record | None, admin: str, reset: bool
) -> Outcome:
    if rec is None:
        return Outcome(DENY, f"no session `{sid}`")
    foreign = rec.program != ledger.program_id
    if rec.quarantine is None and not reset and not foreign:
        return Outcome(DENY, "the session is not quarantined")
    state: State = rec.state
    if reset:
        state = ledger.initial[0]
    elif foreign:
        return Outcome(DENY, "the session was created under another policy; release with reset")
    elif ledger.state_problem(rec.state) is not None:
        return Outcome(DENY, "the stored state does not verify; release with reset")
    version = rec.version + 1 if state != rec.state else rec.version
    new = Record(version, state, rec.rev + 1, None, 0, 0, ledger.program_id)
    return Outcome(ALLOW, f"released by {admin}", None, new)
