"""Crash recovery: the audit log is the write-ahead log of the session store.

The guard appends a record before it commits to the store. A crash between the two leaves a
record whose change the store lacks; on load, the guard re-applies that change (transitions
are deterministic) or, when it cannot (redacted arguments), quarantines the session.
"""

from __future__ import annotations

from typing import Any

from verifier.guard.audit import AuditLog, read_records
from verifier.guard.ledger import Ledger
from verifier.guard.program import Entry
from verifier.guard.store import IntegrityError, Record


def _last_commits(log: AuditLog) -> dict[str, dict[str, Any]]:
    last: dict[str, dict[str, Any]] = {}
    aborted: set[str] = set()
    for r in read_records(log.path):
        if r.get("kind") == "abort":
            aborted.add(str(r.get("aborts")))
        elif r.get("commit"):
            last[str(r.get("session"))] = r
    return {sid: r for sid, r in last.items() if r.get("decision_id") not in aborted}


def recover(ledger: Ledger, log: AuditLog) -> int:
    """Bring the store up to the audit log; returns how many sessions were repaired."""
    repaired = 0
    for sid, r in _last_commits(log).items():
        try:
            rec = ledger.store.get(sid)
        except IntegrityError:
            continue  # quarantined on first use
        if rec is None or _applied(rec, r):
            continue
        new = _redo(ledger, rec, r)
        if new is None:
            reason = "integrity failure: the audit log holds a change the store lacks"
            new = rec._replace(rev=rec.rev + 1, quarantine=reason)
        ledger.store.cas(sid, rec.rev, new)
        repaired += 1
    return repaired


def _applied(rec: Record, r: dict[str, Any]) -> bool:
    return rec.version == r.get("version_after") and rec.quarantine == r.get("quarantine")


def _redo(ledger: Ledger, rec: Record, r: dict[str, Any]) -> Record | None:
    if rec.version != r.get("version_before"):
        return None
    quarantine = r.get("quarantine")
    if r.get("version_after") == rec.version:
        return rec._replace(rev=rec.rev + 1, quarantine=quarantine)
    if r.get("kind") == "release":
        return Record(
            rec.version + 1, ledger.initial[0], rec.rev + 1, None, 0, 0, ledger.program_id
        )
    args = r.get("args")
    if not isinstance(args, dict):
        return None
    entry = ledger.program.by_name(str(r.get("name")), args)
    nxt = entry.fire(rec.state) if isinstance(entry, Entry) else None
    if nxt is None:
        return None
    return rec._replace(version=rec.version + 1, state=nxt, rev=rec.rev + 1, quarantine=quarantine)
