"""Recovery at load: close what a crash left open and check the store against this log.

Each log speaks only for what its own guard wrote (a fleet shares one store and keeps one log
per host), so recovery reasons per session about the last change this log confirmed:

- a decision record without an `outcome` (the guard stopped between the two) is closed: the
  change counts as committed only if the store holds exactly the record it announced; the
  caller never heard `allow` otherwise, and the change is not made now;
- a store that moved past this log's last change (another host wrote later) is left alone;
- a store that lacks changes this log confirmed (lost writes, a restored backup, a replayed
  row) gets them back only from a keyed log, and only when re-deriving each change from the
  stored state through the artifact gives exactly the logged record: admissible, not needing
  an approval the log does not show, and never a release (an administrator releases again);
  otherwise, and always for an unkeyed log, the session is quarantined;
- a session this log wrote whose record is gone is re-created quarantined.
"""

from __future__ import annotations

from typing import Any

from verifier.guard.audit import AuditLog, read_records
from verifier.guard.ledger import Ledger
from verifier.guard.program import Entry
from verifier.guard.store import IntegrityError, Record
from verifier.guard.store.base import record_digest

NOT_TAKEN = "not committed: the guard stopped before the store write"
REDONE = "the store lacked a committed change; re-applied from the keyed log"
LACKS = "integrity failure: the audit log holds a change the store lacks"
FAILED_LANDED = "a write the guard reported as failed reached the store"


class _Log:
    """This log's changes per session, and the escalations it shows."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        outcomes = {r.get("of"): r.get("commit") for r in records if r.get("kind") == "outcome"}
        self.confirmed: dict[str, list[dict[str, Any]]] = {}
        self.refused: dict[str, list[dict[str, Any]]] = {}  # writes the caller was told failed
        self.pending: list[dict[str, Any]] = []
        self.escalated: set[tuple[Any, ...]] = set()
        self.approved: set[str] = set()  # approval ids an operator's record granted
        aborted = {r.get("aborts") for r in records if r.get("aborts") is not None}
        for r in records:
            if r.get("verdict") == "escalate":
                self.escalated.add(_approval_key(r))
            elif (
                r.get("kind") == "approve"
                and r.get("verdict") == "allow"
                and isinstance(r.get("approval"), str)
                and r.get("decision_id") not in aborted
            ):
                self.approved.add(r["approval"])
            if r.get("writes") is not True:
                continue
            done = outcomes.get(r.get("decision_id"))
            if done is None:
                self.pending.append(r)
            elif done is True:
                self.confirmed.setdefault(str(r.get("session")), []).append(r)
            else:
                self.refused.setdefault(str(r.get("session")), []).append(r)


def _approved(seen: _Log, r: dict[str, Any]) -> bool:
    """An escalated action commits only as the proposal that spends a granted approval."""
    return (
        r.get("kind") == "action"
        and r.get("approval") in seen.approved
        and _approval_key(r) in seen.escalated
    )


def _approval_key(r: dict[str, Any]) -> tuple[Any, ...]:
    digest = r.get("args_hmac", r.get("args_sha256"))
    return (r.get("session"), r.get("version_before"), r.get("name"), digest)


def recover(ledger: Ledger, log: AuditLog) -> int:
    """Bring the store and the log into agreement; returns how many sessions were repaired."""
    seen = _Log(list(read_records(log.path)))
    for r in seen.pending:
        _close(ledger, seen, r)
    if not ledger.store.persistent:
        return 0  # memory:// starts empty by design: there is nothing to compare
    repaired = 0
    for sid in sorted(set(seen.confirmed) | set(seen.refused)):
        try:
            rec = ledger.store.get(sid)
        except IntegrityError:
            continue  # quarantined on first use
        changes = seen.confirmed.get(sid, [])
        landed = [r for r in seen.refused.get(sid, []) if _holds(ledger, sid, rec, r)]
        if landed and rec is not None:
            did = landed[-1].get("decision_id")
            why = f"{FAILED_LANDED} (decision `{did}`)"
            repaired += _quarantine(ledger, sid, rec, f"integrity failure: {why}")
        elif changes:
            repaired += _reconcile(ledger, log, seen, sid, rec, changes)
        current = ledger.store.get(sid)
        if current is not None:
            ledger.known[sid] = current.rev
        elif changes:
            ledger.known[sid] = changes[-1]["rev_after"]
    return repaired


def _close(ledger: Ledger, seen: _Log, r: dict[str, Any]) -> None:
    sid = str(r.get("session"))
    try:
        rec = ledger.store.get(sid)
    except IntegrityError:
        rec = None
    taken = _holds(ledger, sid, rec, r)
    ledger.outcome(sid, str(r.get("decision_id")), taken, None if taken else NOT_TAKEN)
    if taken:
        seen.confirmed.setdefault(sid, []).append(r)


def _holds(ledger: Ledger, sid: str, rec: Record | None, r: dict[str, Any]) -> bool:
    """Whether the store holds exactly the record a decision announced."""
    return (
        rec is not None
        and rec.rev == r.get("rev_after")
        and _digest(ledger, sid, rec) == r.get("record")
    )


def _digest(ledger: Ledger, sid: str, rec: Record) -> str:
    return record_digest(sid, rec, ledger.store.key)


def _reconcile(
    ledger: Ledger,
    log: AuditLog,
    seen: _Log,
    sid: str,
    rec: Record | None,
    changes: list[dict[str, Any]],
) -> int:
    last = changes[-1]
    if rec is None:
        reason = f"integrity failure: the stored record of session `{sid}` was deleted"
        state = ledger.initial[0]
        new = Record(
            last["version_after"], state, last["rev_after"] + 1, reason, 0, 0, ledger.program_id
        )
        ledger.store.create(sid, new)
        _note(ledger, sid, reason)
        return 1
    if rec.rev > last["rev_after"]:
        return 0  # written later, by another guard on the same store
    if rec.rev == last["rev_after"]:
        if _digest(ledger, sid, rec) == last.get("record"):
            return 0
        return _quarantine(
            ledger,
            sid,
            rec,
            "integrity failure: the store holds another record than this guard committed",
        )
    missing = [r for r in changes if r["rev_after"] > rec.rev]
    if ledger.secret is None:
        return _quarantine(ledger, sid, rec, f"{LACKS} (an unkeyed log is not re-applied)")
    for r in missing:
        redone = _rederive(ledger, seen, sid, rec, r)
        if redone is None or not ledger.store.cas(sid, rec.rev, redone):
            return _quarantine(
                ledger, sid, rec, f"{LACKS} (it does not re-derive from the stored state)"
            )
        log.append(
            {"time": ledger.clock(), "session": sid, "kind": "redo", "of": r.get("decision_id"),
             "commit": True, "reason": REDONE, "rev_after": redone.rev,
             "artifact": ledger.artifact_hash}
        )  # fmt: skip
        rec = redone
    return 1


def _rederive(
    ledger: Ledger, seen: _Log, sid: str, rec: Record, r: dict[str, Any]
) -> Record | None:
    """The logged record, recomputed from the stored one through the artifact; None if it is not."""
    if (
        r.get("rev_after") != rec.rev + 1
        or r.get("version_before") != rec.version
        or r.get("kind") == "release"
    ):
        return None
    state = rec.state
    step = r.get("version_after") == rec.version + 1
    if not step and r.get("version_after") != rec.version:
        return None
    if step:  # it must be admissible from the stored state
        if rec.quarantine is not None or rec.program != ledger.program_id:
            return None
        args = r.get("args")
        entry = ledger.program.by_name(str(r.get("name")), args) if isinstance(args, dict) else None
        if not isinstance(entry, Entry):
            return None
        nxt = entry.fire(rec.state)
        if nxt is None or ledger.state_problem(nxt) is not None:
            return None
        needs = entry.kind == "action" and ledger.program.needs_approval(entry, rec.state)
        if needs and not _approved(seen, r):
            return None
        state = nxt
    quarantine = r.get("quarantine")
    window, seen_count = r.get("window"), r.get("seen")
    if not isinstance(window, int) or not isinstance(seen_count, int):
        return None
    new = Record(rec.version + step, state, rec.rev + 1,
                 quarantine, window, seen_count, rec.program)  # fmt: skip
    return new if _digest(ledger, sid, new) == r.get("record") else None


def _quarantine(ledger: Ledger, sid: str, rec: Record, reason: str) -> int:
    if ledger.store.cas(sid, rec.rev, rec._replace(rev=rec.rev + 1, quarantine=reason)):
        _note(ledger, sid, reason)
    return 1


def _note(ledger: Ledger, sid: str, reason: str) -> None:
    if ledger.audit is not None:
        ledger.audit.append(
            {"time": ledger.clock(), "session": sid, "kind": "recover", "quarantine": reason,
             "commit": True, "artifact": ledger.artifact_hash}
        )  # fmt: skip
