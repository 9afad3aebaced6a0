"""How a decision is written: the audit record first, then the store's compare-and-set.

The guard, approvals, releases and crash recovery all write through one `Ledger`, so there is
one place where a decision becomes a record and a record becomes session state, and one
fail-closed path for when that cannot happen.

A decision that writes the store is recorded in two phases: the decision record (`writes`,
the revision and digest of the record it will write), then, after the compare-and-set, an
`outcome` record saying whether the store took it. A record never claims a commit that did
not happen, and recovery can tell what the caller was told.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import secrets
import time
from collections.abc import Callable
from typing import Any

from verifier.guard.audit import AuditError, AuditLog
from verifier.guard.decision import DENY, ESCALATE, QUARANTINE, Decision, Outcome, describe_error
from verifier.guard.program import Entry, Program, Refusal, State
from verifier.guard.records import Redaction, decision_record
from verifier.guard.secret import Secret
from verifier.guard.store import (
    PENDING,
    ApprovalRecord,
    IntegrityError,
    Record,
    Store,
    StoreError,
)
from verifier.guard.store.base import record_digest


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
        secret: Secret | None = None,
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
        self.secret = secret
        self.redaction = Redaction(
            audit is not None and audit.redact, secret.derive("args") if secret else None
        )
        self.initial = program.initial_states()
        self.known: dict[str, int] = {}  # the highest revision seen per session (persistent)
        self.doubtful: dict[str, tuple[int, str, str]] = {}  # failed writes: rev, digest, id
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(6)

    def new_id(self) -> str:
        """A decision id, unique within this guard process."""
        return f"{self._prefix}-{next(self._ids)}"

    def read(self, sid: str, initial: State | None) -> Record:
        """The session's record, created in its initial state on first use."""
        rec = self.store.get(sid)
        if self.store.persistent:
            self.check_fresh(sid, rec)
        if rec is None:
            if initial is None:
                raise StoreError(f"session `{sid}` has no initial state; give one")
            self.store.create(sid, Record(0, initial, 0, program=self.program_id))
            rec = self.store.get(sid)
            if rec is None:
                raise StoreError(f"session `{sid}` could not be created")
        return rec

    def check_fresh(self, sid: str, rec: Record | None) -> None:
        """IntegrityError if the stored record is gone or older than one this guard has seen."""
        if sid in self.doubtful and rec is not None:
            self._check_doubtful(sid, rec)
        seen = self.known.get(sid)
        if seen is not None:
            if rec is None:  # re-created quarantined, so that `release(reset=True)` can act
                reason = f"the stored record of session `{sid}` was deleted"
                gone = Record(0, self.initial[0], seen + 1, f"integrity failure: {reason}")
                if self.store.create(sid, gone._replace(program=self.program_id)):
                    self.known[sid] = gone.rev
                raise IntegrityError(reason)
            if rec.rev < seen:
                raise IntegrityError(
                    f"the stored record of session `{sid}` is older than one this guard has"
                    f" seen (revision {rec.rev} < {seen}): a replayed or restored row"
                )
        if rec is not None and (seen is None or rec.rev > seen):
            self.known[sid] = rec.rev

    def _check_doubtful(self, sid: str, rec: Record) -> None:
        """A write whose store call failed must not have landed after all (a lost reply)."""
        rev, digest, did = self.doubtful[sid]
        if rec.rev == rev and record_digest(sid, rec, self.store.key) == digest:
            raise IntegrityError(
                f"a write the guard reported as failed reached the store (decision `{did}`)"
            )
        if rec.rev != rev - 1 or rec.quarantine is not None:
            del self.doubtful[sid]  # written over since, or seen not to have landed

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
        """Record, compare-and-set, record the outcome; None if another writer got there first.

        A store failure is recorded as a failed outcome and re-raised (the caller fails closed).
        """
        decision = self.emit(sid, kind, name, args, entry, rec, out, extra)
        if out.record is not None:
            try:
                ok = self.store.cas(sid, rec.rev, out.record)
            except StoreError as err:
                digest = record_digest(sid, out.record, self.store.key)
                self.doubtful[sid] = (out.record.rev, digest, decision.decision_id)
                err.decision_id = decision.decision_id  # the fail-closed answer keeps its id
                self.outcome(sid, decision.decision_id, False, f"the store failed: {err}")
                raise
            if not ok:
                self.outcome(
                    sid, decision.decision_id, False, "compare-and-set lost to a concurrent writer"
                )
                return None
            self.known[sid] = out.record.rev
            self.doubtful.pop(sid, None)  # a failed write from the old revision can never land
            self._confirm(sid, decision)
        if out.grant is not None:  # spent; a leftover is harmless (bound to the old version)
            with contextlib.suppress(Exception):
                self.store.replace_approval(out.grant, None)
        if out.verdict == ESCALATE and out.approval is not None and isinstance(entry, Entry):
            self._put_approval(sid, rec, entry, out.approval, decision.decision_id)
        return decision

    def _confirm(self, sid: str, decision: Decision) -> None:
        """The store took the change: say so. If the log cannot, the change stands (the store
        has it) but the log is broken, so the guard stops deciding."""
        try:
            self.outcome(sid, decision.decision_id, True)
        except AuditError as err:
            if self.audit is not None and self.audit.broken is None:
                self.audit.broken = (
                    f"the audit log `{self.audit.path}` lost the outcome of decision"
                    f" `{decision.decision_id}` ({err}); the guard stops deciding until an"
                    " operator restarts it"
                )

    def outcome(self, sid: str, did: str, committed: bool, reason: str | None = None) -> None:
        """The second phase: whether the store took the change of decision `did`."""
        if self.audit is None:
            return
        fields: dict[str, Any] = {
            "time": self.clock(), "session": sid, "kind": "outcome", "of": did,
            "commit": committed, "artifact": self.artifact_hash,
        }  # fmt: skip
        if reason is not None:
            fields["reason"] = self.redaction.failure(reason)
        if self.shadow:
            fields["shadow"] = True
        self.audit.append(fields)

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
            fields = decision_record(sid, kind, name, args, entry, rec, out, did, self.redaction)
            fields["time"] = self.clock()
            fields["artifact"] = self.artifact_hash
            if out.record is not None:  # what recovery needs to re-derive the record exactly
                new = out.record
                fields.update(rev_after=new.rev, window=new.window, seen=new.seen)
                fields["record"] = record_digest(sid, new, self.store.key)
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

    def failed(
        self,
        sid: str,
        kind: str,
        name: Any,
        args: Any,
        verdict: str,
        reason: str,
        decision_id: str | None = None,
    ) -> Decision:
        """The fail-closed answer; records it (and a quarantine) when the store and log allow."""
        if verdict == QUARANTINE:
            with contextlib.suppress(Exception):
                self.force_quarantine(sid, reason)
        did = decision_id or self.new_id()
        with contextlib.suppress(Exception):
            if self.audit is not None:
                with self.audit.locked():
                    self.audit.append(
                        {
                            "time": self.clock(), "session": sid, "kind": kind,
                            "name": self.redaction.name(name, False),
                            "verdict": verdict, "reason": self.redaction.failure(reason),
                            "decision_id": did, "artifact": self.artifact_hash, "writes": False,
                        }
                    )  # fmt: skip
        action = name if isinstance(name, str) else None
        return Decision(
            verdict, reason, -1, did, self.artifact_hash, sid, action, None, self.shadow
        )

    def force_quarantine(self, sid: str, reason: str) -> None:
        """Quarantine a stored session, retrying lost compare-and-sets (bounded)."""
        for attempt in range(64):
            rec = self.store.get(sid)
            if rec is None or rec.quarantine is not None:
                return
            new = self.quarantined(rec, reason)
            if self.store.cas(sid, rec.rev, new):
                self.known[sid] = new.rev
                return
            time.sleep(random.uniform(0, 0.001 * min(attempt + 1, 5)))

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
