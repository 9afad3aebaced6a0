"""How a decision is written: the audit record first, then the store's compare-and-set.

The guard, approvals, releases and crash recovery all write through one `Ledger`, so there is
one place where a decision becomes a record and a record becomes session state, and one
fail-closed path for when that cannot happen.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
from collections.abc import Callable
from typing import Any

from verifier.guard.audit import AuditLog
from verifier.guard.decision import DENY, ESCALATE, QUARANTINE, Decision, Outcome, describe_error
from verifier.guard.program import Entry, Program, Refusal, State
from verifier.guard.records import decision_record
from verifier.guard.store import PENDING, ApprovalRecord, Record, Store, StoreError


class Ledger:
    """The guard's write path over one store and (optionally) one audit log."""

    def __init__(
        self,
        program: Program,
        program_id: str,
        artifact_hash: str,
        store: Store,
        audit: AuditLog | None,
        *,
        shadow: bool,
        token_ttl: float,
        graph: frozenset[State] | None,
        clock: Callable[[], float],
    ) -> None:
        self.program = program
        self.program_id = program_id
        self.artifact_hash = artifact_hash
        self.store = store
        self.audit = audit
        self.shadow = shadow
        self.token_ttl = token_ttl
        self.graph = graph
        self.clock = clock
        self.initial = program.initial_states()
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(6)

    def new_id(self) -> str:
        """A decision id, unique within this guard process."""
        return f"{self._prefix}-{next(self._ids)}"

    def read(self, sid: str, initial: State | None) -> Record:
        """The session's record, created in its initial state on first use."""
        rec = self.store.get(sid)
        if rec is None:
            if initial is None:
                raise StoreError(f"session `{sid}` has no initial state; give one")
            self.store.create(sid, Record(0, initial, 0, program=self.program_id))
            rec = self.store.get(sid)
            if rec is None:
                raise StoreError(f"session `{sid}` could not be created")
        return rec

    def state_problem(self, state: State) -> str | None:
        """Why a state cannot be trusted (outside the domain or the verified graph), or None."""
        if not self.program.valid_state(state):
            return "integrity failure: the stored state is outside the declared domain"
        if self.graph is not None and state not in self.graph:
            return "integrity failure: the stored state is not in the verified graph"
        return None

    @staticmethod
    def quarantined(rec: Record, reason: str | None) -> Record:
        """The record frozen with a quarantine reason."""
        return rec._replace(rev=rec.rev + 1, quarantine=reason or "quarantined")

    def commit(
        self,
        sid: str,
        kind: str,
        name: Any,
        args: Any,
        entry: Entry | Refusal,
        rec: Record,
        out: Outcome,
        extra: dict[str, Any] | None = None,
    ) -> Decision | None:
        """Audit, then compare-and-set; None if another writer got there first."""
        decision = self.emit(sid, kind, name, args, entry, rec, out, extra)
        if out.record is not None and not self.store.cas(sid, rec.rev, out.record):
            self._abort(sid, decision)
            return None
        if out.grant is not None:  # spent; a leftover is harmless (bound to the old version)
            with contextlib.suppress(Exception):
                self.store.replace_approval(out.grant, None)
        if out.verdict == ESCALATE and out.approval is not None and isinstance(entry, Entry):
            self._put_approval(sid, rec, entry, out.approval, decision.decision_id)
        return decision

    def emit(
        self,
        sid: str,
        kind: str,
        name: Any,
        args: Any,
        entry: Entry | Refusal,
        rec: Record,
        out: Outcome,
        extra: dict[str, Any] | None = None,
    ) -> Decision:
        """Record a decision in the audit log (if any) and return it."""
        did = self.new_id()
        after = out.record.version if out.record is not None else rec.version
        approval = out.grant.id if out.grant is not None else out.approval
        if self.audit is not None:
            fields = decision_record(sid, kind, name, args, entry, rec, out, did)
            fields["time"] = self.clock()
            fields["artifact"] = self.artifact_hash
            if self.audit.redact:
                del fields["args"]
            if self.shadow:
                fields["shadow"] = True
            if approval is not None:
                fields["approval"] = approval
            fields.update(extra or {})
            self.audit.append(fields)
        action = name if isinstance(name, str) else None
        return Decision(
            out.verdict, out.reason, after, did, self.artifact_hash, sid, action, approval,
            self.shadow, out.line,
        )  # fmt: skip

    def _put_approval(self, sid: str, rec: Record, entry: Entry, aid: str, did: str) -> None:
        now = self.clock()
        self.store.put_approval(
            ApprovalRecord(
                aid, sid, rec.version, entry.name, entry.args, entry.args_hash, self.program_id,
                PENDING, now, now + self.token_ttl, did,
            )
        )  # fmt: skip

    def _abort(self, sid: str, decision: Decision) -> None:
        if self.audit is not None:
            self.audit.append(
                {
                    "time": self.clock(),
                    "session": sid,
                    "kind": "abort",
                    "aborts": decision.decision_id,
                    "reason": "compare-and-set lost to a concurrent writer",
                    "artifact": self.artifact_hash,
                }
            )

    def failed(
        self, sid: str, kind: str, name: Any, args: Any, verdict: str, reason: str
    ) -> Decision:
        """The fail-closed answer; records it (and a quarantine) when the store and log allow."""
        with contextlib.suppress(Exception):
            if verdict == QUARANTINE:
                rec = self.store.get(sid)
                if rec is not None and rec.quarantine is None:
                    self.store.cas(sid, rec.rev, self.quarantined(rec, reason))
        did = self.new_id()
        with contextlib.suppress(Exception):
            if self.audit is not None:
                with self.audit.locked():
                    self.audit.append(
                        {
                            "time": self.clock(), "session": sid, "kind": kind,
                            "name": name if isinstance(name, str) else repr(name),
                            "verdict": verdict, "reason": reason, "decision_id": did,
                            "artifact": self.artifact_hash, "commit": False,
                        }
                    )  # fmt: skip
        action = name if isinstance(name, str) else None
        return Decision(
            verdict, reason, -1, did, self.artifact_hash, sid, action, None, self.shadow
        )

    def run_locked(self, sid: str, kind: str, run: Callable[[], Decision]) -> Decision:
        """Run an administrative step under the audit lock; any error is a recorded deny."""
        try:
            if self.audit is None:
                return run()
            with self.audit.locked():
                return run()
        except Exception as err:  # fail closed
            return self.failed(
                sid, kind, None, None, DENY, f"internal error: {describe_error(err)}"
            )
