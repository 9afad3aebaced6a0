"""The human side of escalation and quarantine: approve or reject a proposal, release a session."""

from __future__ import annotations

from typing import Any

from verifier.guard.decision import ALLOW, DENY, QUARANTINE, Decision, Outcome
from verifier.guard.ledger import Ledger
from verifier.guard.program import Entry, Refusal, State, args_hash
from verifier.guard.store import Record, TokenRecord


def approve(
    ledger: Ledger, sid: str, initial: State | None, token: str, approver: str, accept: bool
) -> Decision:
    """Commit (`accept`) or refuse an escalated proposal named by its one-shot token."""
    kind = "approve" if accept else "reject"
    return ledger.run_locked(
        sid, kind, lambda: _decide_approval(ledger, sid, initial, token, approver, accept)
    )


def _decide_approval(
    ledger: Ledger, sid: str, initial: State | None, token: str, approver: str, accept: bool
) -> Decision:
    kind = "approve" if accept else "reject"
    extra = {"approver": approver}
    rec = ledger.read(sid, initial)
    data = ledger.store.take_token(token) if isinstance(token, str) else None
    problem = _token_problem(ledger, sid, rec, data)
    name = data.action if data is not None else None
    args = data.args if data is not None else None
    entry: Entry | Refusal = (
        ledger.program.by_name(data.action, data.args) if data else Refusal("no token")
    )
    if problem is None and isinstance(entry, Entry) and data and entry.args_hash != data.args_hash:
        problem = "the approval token does not match its arguments"
    if problem is not None or not isinstance(entry, Entry):
        out = Outcome(QUARANTINE if rec.quarantine else DENY, problem or "unknown action")
        return ledger.emit(sid, kind, name, args, entry, rec, out, extra)
    if not accept:
        out = Outcome(DENY, f"rejected by {approver}")
        return ledger.emit(sid, kind, name, args, entry, rec, out, extra)
    return _commit_approved(ledger, sid, name, args, entry, rec, extra)


def _commit_approved(
    ledger: Ledger, sid: str, name: Any, args: Any, entry: Entry, rec: Record, extra: dict[str, Any]
) -> Decision:
    nxt = entry.fire(rec.state)
    if nxt is None:
        why = ledger.program.why_not(entry, rec.state)
        out = Outcome(DENY, why.reason, why.line)
        return ledger.emit(sid, "approve", name, args, entry, rec, out, extra)
    new = rec._replace(version=rec.version + 1, state=nxt, rev=rec.rev + 1, quarantine=None)
    decision = ledger.commit(
        sid, "approve", name, args, entry, rec, Outcome(ALLOW, None, None, new), extra
    )
    if decision is None:
        reason = f"the session advanced concurrently from version {rec.version}"
        return ledger.emit(sid, "approve", name, args, entry, rec, Outcome(DENY, reason), extra)
    return decision


def _token_problem(ledger: Ledger, sid: str, rec: Record, data: TokenRecord | None) -> str | None:
    if data is None:
        return "unknown or already used approval token"
    if data.session != sid:
        return "the approval token belongs to another session"
    if ledger.clock() > data.expires:
        return "the approval token has expired"
    if rec.quarantine is not None:
        return f"the session is quarantined: {rec.quarantine}"
    if rec.version != data.version:
        return (
            f"stale approval token: the session moved from version {data.version} to {rec.version}"
        )
    if args_hash(data.args) != data.args_hash:
        return "the approval token does not match its arguments"
    return None


def release(ledger: Ledger, sid: str, admin: str, reset: bool) -> Decision:
    """Lift a quarantine; with `reset`, also return the session to its initial state."""

    def run() -> Decision:
        rec = ledger.store.get(sid)
        base = rec if rec is not None else Record(0, (), 0)
        out = _release_outcome(ledger, sid, rec, admin, reset)
        extra = {"approver": admin}
        if out.record is None:
            return ledger.emit(sid, "release", None, None, Refusal(""), base, out, extra)
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
    state = rec.state
    if reset:
        state = ledger.initial[0]
    elif foreign:
        return Outcome(DENY, "the session was created under another policy; release with reset")
    elif ledger.state_problem(rec.state) is not None:
        return Outcome(DENY, "the stored state does not verify; release with reset")
    version = rec.version + 1 if state != rec.state else rec.version
    new = Record(version, state, rec.rev + 1, None, 0, 0, ledger.program_id)
    return Outcome(ALLOW, f"released by {admin}", None, new)
