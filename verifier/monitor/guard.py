"""The runtime guard: loads a verified artifact and decides every proposal and observation.

Decisions fail closed: any exception on the decision path becomes a deny (an action) or a
quarantine (an observed event, whose world the guard can no longer track; and any integrity
failure). With an audit log, the guard holds the log's lock across decide, append and commit:
the record is written first (a write-ahead entry), then the store is updated by compare-and-set.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import secrets
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from verifier import artifact as art
from verifier import ir, ir_json
from verifier.evaluate import EvalError
from verifier.monitor.audit import TORN, AuditError, AuditIntegrityError, AuditLog, verify_file
from verifier.monitor.decision import (
    ALLOW,
    DENY,
    ESCALATE,
    QUARANTINE,
    Decision,
    Outcome,
    describe_error,
)
from verifier.monitor.program import Entry, Program, Refusal, State
from verifier.monitor.records import decision_record
from verifier.monitor.session import Session
from verifier.store import IntegrityError, Record, Store, StoreError, open_store

MAX_RETRIES = 16  # compare-and-set retries when only bookkeeping (not the state) changed


class GuardError(Exception):
    """The guard cannot start: the artifact, store or audit log is not usable."""


class DenialLimit(NamedTuple):
    """Quarantine a session once `denials` of its last `window` proposals were denied."""

    denials: int
    window: int


class Guard:
    """Enforces one verified artifact over sessions kept in a store."""

    def __init__(
        self,
        artifact: art.Artifact,
        store: Store,
        audit: AuditLog | None = None,
        *,
        shadow: bool = False,
        token_ttl: float = 300.0,
        denial_limit: DenialLimit | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.artifact = artifact
        self.artifact_hash = artifact.content_hash
        self.program = Program(artifact.model)
        self.store = store
        self.audit = audit
        self.shadow = shadow
        self.token_ttl = token_ttl
        self.denial_limit = denial_limit
        self.clock = clock
        self._graph = artifact.graph_states
        self._persistent = store.persistent
        self.program_id = program_id(artifact.model)
        # the in-memory store trusts its records, so the general path's checks reduce to these
        self._plain = denial_limit is None and not store.persistent
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(6)
        self._initial = self.program.initial_states()

    @classmethod
    def load(
        cls,
        path: str,
        store: str | Store = "memory://",
        audit: str | AuditLog | None = None,
        public_key: Any = None,
        **options: Any,
    ) -> Guard:
        """Load and verify an artifact, open the store and audit log, recover after a crash."""
        try:
            artifact = art.load(path, public_key)
            opened = open_store(store) if isinstance(store, str) else store
            log = AuditLog(audit) if isinstance(audit, str) else audit
        except (art.ArtifactError, StoreError, AuditError) as err:
            raise GuardError(str(err)) from None
        guard = cls(artifact, opened, log, **options)
        if log is not None:
            guard._open_audit(log)
        return guard

    def _open_audit(self, log: AuditLog) -> None:
        from verifier.monitor.recovery import recover

        try:
            _require_intact(log.path, torn_ok=True)  # a torn tail is repaired under the lock
            with log.locked():
                _require_intact(log.path, torn_ok=False)
                recover(self, log)
        except (AuditError, StoreError) as err:
            raise GuardError(str(err)) from None

    def session(self, session_id: str, initial: dict[str, Any] | None = None) -> Session:
        """A handle on one session (created in the store on first use)."""
        return Session(self, session_id, self._initial_state(initial))

    def _initial_state(self, initial: dict[str, Any] | None) -> State | None:
        from verifier.values import state_to_json

        if initial is None:
            return self._initial[0] if len(self._initial) == 1 else None
        for s in self._initial:
            if state_to_json(self.program.model, s) == initial:
                return s
        raise GuardError("the given initial state is not an initial state of the spec")

    # ---- the decision path

    def decide(
        self, sid: str, kind: str, name: Any, args: Any, initial: State | None = None
    ) -> Decision:
        """Decide one proposal (kind "action") or observation (kind "event"); never raises."""
        try:
            if self.audit is None:
                if self._plain:
                    fast = self._fast_path(sid, kind, name, args)
                    if fast is not None:
                        return fast
                return self._decide(sid, kind, name, args, initial)
            with self.audit.locked():
                return self._decide(sid, kind, name, args, initial)
        except (IntegrityError, AuditIntegrityError) as err:
            return self._failed(sid, kind, name, args, QUARANTINE, f"integrity failure: {err}")
        except AuditError as err:
            return self._failed(sid, kind, name, args, DENY, f"audit failure: {err}")
        except Exception as err:  # fail closed on anything else
            verdict = DENY if kind == "action" else QUARANTINE
            return self._failed(
                sid, kind, name, args, verdict, f"internal error: {describe_error(err)}"
            )

    def _fast_path(self, sid: str, kind: str, name: Any, args: Any) -> Decision | None:
        """The common cases in one pass (in-memory store, no audit log, no denial limit): an
        enabled instance needing no approval, or a proposal whose guard is false. None hands
        the request to the general path, which decides every other case."""
        rec = self.store.get(sid)
        if rec is None or rec.quarantine is not None or rec.program != self.program_id:
            return None
        entry = self.program.lookup(kind, name, args)
        if type(entry) is not Entry:
            return None
        try:
            nxt = entry.fire(rec.state)
        except EvalError:
            return None
        if nxt is None:
            if kind != "action":
                return None
            why = self.program.why_not(entry, rec.state)
            did = f"{self._prefix}-{next(self._ids)}"
            return Decision(
                DENY, why.reason, rec.version, did, self.artifact_hash, sid, name, None,
                self.shadow, why.line,
            )  # fmt: skip
        if entry.approval is not None and kind == "action":
            return None  # may need approval: the general path decides
        if self._graph is not None and nxt not in self._graph:
            return None
        new = Record(rec.version + 1, nxt, rec.rev + 1, None, 0, 0, rec.program)
        if not self.store.cas(sid, rec.rev, new):
            if kind == "action" and self.store.get(sid).version != rec.version:  # type: ignore[union-attr]
                reason = f"the session advanced concurrently from version {rec.version}"
                return self._emit(sid, kind, name, args, entry, rec, Outcome(DENY, reason))
            return None
        did = f"{self._prefix}-{next(self._ids)}"
        return Decision(
            ALLOW, None, new.version, did, self.artifact_hash, sid, name, None, self.shadow, None
        )

    def _decide(self, sid: str, kind: str, name: Any, args: Any, initial: State | None) -> Decision:
        for _ in range(MAX_RETRIES):
            rec = self._read(sid, initial)
            entry = self.program.lookup(kind, name, args)
            out = self._evaluate(rec, kind, entry)
            decision = self._commit(sid, kind, name, args, entry, rec, out)
            if decision is not None:
                return decision
            lost = self._read(sid, initial)
            # A proposal was decided on a state that no longer holds: the agent must look
            # again. An observation happened whatever the state: decide it again.
            if kind == "action" and out.verdict == ALLOW and lost.version != rec.version:
                reason = f"the session advanced concurrently from version {rec.version}"
                return self._emit(sid, kind, name, args, entry, lost, Outcome(DENY, reason))
        return self._emit(sid, kind, name, args, entry, rec, Outcome(DENY, "too much contention"))

    def _read(self, sid: str, initial: State | None) -> Record:
        rec = self.store.get(sid)
        if rec is None:
            if initial is None:
                raise GuardError(f"session `{sid}` has no initial state; give one")
            self.store.create(sid, Record(0, initial, 0, program=self.program_id))
            rec = self.store.get(sid)
            if rec is None:
                raise StoreError(f"session `{sid}` could not be created")
        return rec

    def problem(self, rec: Record) -> str | None:
        """Why a stored record cannot be trusted (persistent stores only), or None."""
        if not self.store.persistent or rec.quarantine is not None:
            return None
        return self._state_problem(rec.state)

    def _state_problem(self, state: State) -> str | None:
        if not self.program.valid_state(state):
            return "integrity failure: the stored state is outside the declared domain"
        if self._graph is not None and state not in self._graph:
            return "integrity failure: the stored state is not in the verified graph"
        return None

    def _evaluate(self, rec: Record, kind: str, entry: Entry | Refusal) -> Outcome:
        if self._persistent:
            problem = self.problem(rec)
            if problem is not None:
                return Outcome(QUARANTINE, problem, None, self._quarantine_record(rec, problem))
        if rec.quarantine is not None:
            return Outcome(QUARANTINE, f"the session is quarantined: {rec.quarantine}")
        if rec.program != self.program_id:
            reason = "integrity failure: the session was created under another policy"
            return Outcome(QUARANTINE, reason, None, self._quarantine_record(rec, reason))
        if isinstance(entry, Refusal):
            return self._refuse(rec, kind, entry.reason, entry.line)
        try:
            nxt = entry.fire(rec.state)
        except EvalError as err:
            line = err.span.line
            reason = f"integrity failure: `{entry.name}` faults: {err.message} (line {line})"
            return Outcome(QUARANTINE, reason, line, self._quarantine_record(rec, reason))
        if nxt is None:
            why = self.program.why_not(entry, rec.state)
            return self._refuse(rec, kind, why.reason, why.line)
        if kind == "action" and self.program.needs_approval(entry, rec.state):
            line = _approval_line(entry)
            reason = f"`{entry.name}` needs approval (line {line})"
            return Outcome(ESCALATE, reason, line, None, secrets.token_urlsafe(18))
        if self._graph is not None and nxt not in self._graph:
            reason = "integrity failure: the successor is not in the verified graph"
            return Outcome(QUARANTINE, reason, None, self._quarantine_record(rec, reason))
        if self.denial_limit is None:
            return Outcome(
                ALLOW,
                None,
                None,
                Record(rec.version + 1, nxt, rec.rev + 1, None, 0, 0, rec.program),
            )
        window, seen = self._window(rec, kind, denied=False)
        return Outcome(
            ALLOW,
            None,
            None,
            Record(rec.version + 1, nxt, rec.rev + 1, None, window, seen, rec.program),
        )

    def _refuse(self, rec: Record, kind: str, reason: str, line: int | None) -> Outcome:
        if kind != "action":
            why = f"impossible event: {reason}"
            return Outcome(QUARANTINE, why, line, self._quarantine_record(rec, why))
        if self.denial_limit is None:
            return Outcome(DENY, reason, line)
        window, seen = self._window(rec, kind, denied=True)
        if window.bit_count() >= self.denial_limit.denials:
            why = (
                f"denial rate: {window.bit_count()} of the last {seen} proposals denied ({reason})"
            )
            return Outcome(QUARANTINE, why, line, self._quarantine_record(rec, why))
        return Outcome(DENY, reason, line, rec._replace(rev=rec.rev + 1, window=window, seen=seen))

    def _window(self, rec: Record, kind: str, denied: bool) -> tuple[int, int]:
        limit = self.denial_limit
        if limit is None or kind != "action":
            return rec.window, rec.seen
        mask = (1 << limit.window) - 1
        return ((rec.window << 1) | int(denied)) & mask, min(rec.seen + 1, limit.window)

    def _quarantine_record(self, rec: Record, reason: str | None) -> Record:
        return rec._replace(rev=rec.rev + 1, quarantine=reason or "quarantined")

    def _commit(
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
        decision = self._emit(sid, kind, name, args, entry, rec, out, extra)
        if out.record is not None and not self.store.cas(sid, rec.rev, out.record):
            self._abort(sid, decision)
            return None
        if out.token is not None:
            self._put_token(sid, rec, entry, out.token, decision.decision_id)
        return decision

    def _put_token(self, sid: str, rec: Record, entry: Any, token: str, did: str) -> None:
        from verifier.store import TokenRecord

        expires = self.clock() + self.token_ttl
        data = TokenRecord(sid, rec.version, entry.name, entry.args, entry.args_hash, expires, did)
        self.store.put_token(token, data)

    def _emit(
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
        did = f"{self._prefix}-{next(self._ids)}"
        after = out.record.version if out.record is not None else rec.version
        if self.audit is not None:
            fields = decision_record(sid, kind, name, args, entry, rec, out, did)
            fields["time"] = self.clock()
            fields["artifact"] = self.artifact_hash
            if self.audit.redact:
                del fields["args"]
            if self.shadow:
                fields["shadow"] = True
            fields.update(extra or {})
            self.audit.append(fields)
        action = name if isinstance(name, str) else None
        token = out.token if out.verdict == ESCALATE else None
        return Decision(
            out.verdict, out.reason, after, did, self.artifact_hash, sid, action, token,
            self.shadow, out.line,
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

    def _failed(
        self, sid: str, kind: str, name: Any, args: Any, verdict: str, reason: str
    ) -> Decision:
        """The fail-closed answer; records it (and a quarantine) when the store and log allow."""
        with contextlib.suppress(Exception):
            if verdict == QUARANTINE:
                rec = self.store.get(sid)
                if rec is not None and rec.quarantine is None:
                    self.store.cas(sid, rec.rev, self._quarantine_record(rec, reason))
        did = f"{self._prefix}-{next(self._ids)}"
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

    def release(self, session_id: str, admin: str, reset: bool = False) -> Decision:
        """Lift a quarantine (an administrator's act, audited); `reset` restarts the state."""
        from verifier.monitor.session import release

        return release(self, session_id, admin, reset)

    def close(self) -> None:
        """Release the store and the audit log."""
        with contextlib.suppress(Exception):
            self.store.close()
        if self.audit is not None:
            self.audit.close()


def _approval_line(entry: Entry) -> int:
    cond = entry.approval
    span = getattr(cond, "span", None)
    return span.line if span is not None and span.line > 1 else entry.instance.transition.span.line


def _require_intact(path: str, torn_ok: bool) -> None:
    report = verify_file(path)
    if report.ok or (torn_ok and report.problem == TORN):
        return
    raise GuardError(
        f"the audit log `{path}` does not verify: record {report.bad_line} {report.problem}"
    )


def program_id(model: ir.Model) -> str:
    """A short id of the enforced program; session records are valid only under it."""
    text = ir_json.canonical(ir_json.model_to_json(model))
    return hashlib.sha256(text).hexdigest()[:16]
