"""A session handle, approvals of escalated proposals, and the administrator's release."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from verifier.monitor.decision import ALLOW, DENY, QUARANTINE, Decision, Outcome, describe_error
from verifier.monitor.program import Entry, Refusal, State, args_hash
from verifier.store import Record, TokenRecord
from verifier.values import state_to_json

if TYPE_CHECKING:
    from verifier.monitor.guard import Guard


class Session:
    """One agent session: every proposal and observation goes through `guard.decide`."""

    def __init__(self, guard: Guard, session_id: str, initial: State | None) -> None:
        self.guard = guard
        self.id = session_id
        self._initial = initial

    def propose(self, action: str, args: dict[str, Any] | None = None) -> Decision:
        """Ask to perform an action; allow advances the session state."""
        return self.guard.decide(
            self.id, "action", action, {} if args is None else args, self._initial
        )

    def observe(self, event: str, args: dict[str, Any] | None = None) -> Decision:
        """Report an environment event; an impossible one quarantines the session."""
        return self.guard.decide(
            self.id, "event", event, {} if args is None else args, self._initial
        )

    def approve(self, token: str, approver: str) -> Decision:
        """Commit an escalated proposal, if the session is still where it was escalated."""
        return _guarded(
            self.guard, self.id, "approve", lambda: _approve(self, token, approver, True)
        )

    def reject(self, token: str, approver: str) -> Decision:
        """Refuse an escalated proposal and spend its token."""
        return _guarded(
            self.guard, self.id, "reject", lambda: _approve(self, token, approver, False)
        )

    def state(self) -> dict[str, Any]:
        """The session's version, state (as JSON values) and quarantine reason."""
        rec = self.guard._read(self.id, self._initial)
        model = self.guard.program.model
        return {
            "session": self.id,
            "version": rec.version,
            "state": state_to_json(model, rec.state),
            "quarantine": rec.quarantine,
        }


def _guarded(guard: Guard, sid: str, kind: str, run: Any) -> Decision:
    try:
        if guard.audit is None:
            result: Decision = run()
            return result
        with guard.audit.locked():
            result = run()
            return result
    except Exception as err:  # fail closed
        return guard._failed(sid, kind, None, None, DENY, f"internal error: {describe_error(err)}")


def _approve(session: Session, token: str, approver: str, approve: bool) -> Decision:
    guard, sid = session.guard, session.id
    kind = "approve" if approve else "reject"
    extra = {"approver": approver}
    rec = guard._read(sid, session._initial)
    data = guard.store.take_token(token) if isinstance(token, str) else None
    problem = _token_problem(guard, sid, rec, data)
    name = data.action if data is not None else None
    args = data.args if data is not None else None
    entry: Entry | Refusal = (
        guard.program.by_name(data.action, data.args) if data else Refusal("no token")
    )
    if problem is None and isinstance(entry, Entry) and data and entry.args_hash != data.args_hash:
        problem = "the approval token does not match its arguments"
    if problem is not None or not isinstance(entry, Entry):
        out = Outcome(QUARANTINE if rec.quarantine else DENY, problem or "unknown action")
        return guard._emit(sid, kind, name, args, entry, rec, out, extra)
    if not approve:
        return guard._emit(
            sid, kind, name, args, entry, rec, Outcome(DENY, f"rejected by {approver}"), extra
        )
    return _commit_approved(guard, sid, name, args, entry, rec, extra)


def _commit_approved(
    guard: Guard, sid: str, name: Any, args: Any, entry: Entry, rec: Record, extra: dict[str, Any]
) -> Decision:
    nxt = entry.fire(rec.state)
    if nxt is None:
        why = guard.program.why_not(entry, rec.state)
        return guard._emit(
            sid, "approve", name, args, entry, rec, Outcome(DENY, why.reason, why.line), extra
        )
    out = Outcome(
        ALLOW,
        None,
        None,
        rec._replace(version=rec.version + 1, state=nxt, rev=rec.rev + 1, quarantine=None),
    )
    decision = guard._commit(sid, "approve", name, args, entry, rec, out, extra)
    if decision is None:
        reason = f"the session advanced concurrently from version {rec.version}"
        return guard._emit(sid, "approve", name, args, entry, rec, Outcome(DENY, reason), extra)
    return decision


def _token_problem(guard: Guard, sid: str, rec: Record, data: TokenRecord | None) -> str | None:
    if data is None:
        return "unknown or already used approval token"
    if data.session != sid:
        return "the approval token belongs to another session"
    if guard.clock() > data.expires:
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


def release(guard: Guard, sid: str, admin: str, reset: bool) -> Decision:
    """Lift a quarantine; with `reset`, also return the session to its initial state."""

    def run() -> Decision:
        rec = guard.store.get(sid)
        base = rec if rec is not None else Record(0, (), 0)
        out = _release_outcome(guard, sid, rec, admin, reset)
        extra = {"approver": admin}
        if out.record is None:
            return guard._emit(sid, "release", None, None, Refusal(""), base, out, extra)
        decision = guard._commit(sid, "release", None, None, Refusal(""), base, out, extra)
        if decision is None:
            lost = Outcome(DENY, "the session changed concurrently; release again")
            return guard._emit(sid, "release", None, None, Refusal(""), base, lost, extra)
        return decision

    return _guarded(guard, sid, "release", run)


def _release_outcome(
    guard: Guard, sid: str, rec: Record | None, admin: str, reset: bool
) -> Outcome:
    if rec is None:
        return Outcome(DENY, f"no session `{sid}`")
    foreign = rec.program != guard.program_id
    if rec.quarantine is None and not reset and not foreign:
        return Outcome(DENY, "the session is not quarantined")
    state = rec.state
    if reset:
        state = guard._initial[0]
    elif foreign:
        return Outcome(DENY, "the session was created under another policy; release with reset")
    elif guard._state_problem(rec.state) is not None:
        return Outcome(DENY, "the stored state does not verify; release with reset")
    version = rec.version + 1 if state != rec.state else rec.version
    new = Record(version, state, rec.rev + 1, None, 0, 0, guard.program_id)
    return Outcome(ALLOW, f"released by {admin}", None, new)
