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
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from verifier import ir
from verifier.guard import artifact as art
from verifier.guard.approval import Approvals, escalation, release
from verifier.guard.audit import AuditError, AuditIntegrityError, AuditLog
from verifier.guard.boundary import bad_id, preview, request_problem, require_id
from verifier.guard.decision import (
    ALLOW,
    DENY,
    ESCALATE,
    QUARANTINE,
    Decision,
    Outcome,
    describe_error,
)
from verifier.guard.ledger import Ledger
from verifier.guard.options import (
    DenialLimit,
    GuardError,
    RequestLimits,
    check_options,
    check_parts,
    check_store_url,
    is_store,
)
from verifier.guard.program import Entry, Program, Refusal, State
from verifier.guard.recovery import recover
from verifier.guard.secret import Secret, SecretError, load_secret
from verifier.guard.session import Session
from verifier.guard.store import (
    IntegrityError,
    Record,
    Store,
    StoreError,
    open_store,
)
from verifier.ir import codec as ir_json
from verifier.ir.evaluate import EvalError
from verifier.ir.values import state_to_json

MAX_RETRIES = 16  # compare-and-set retries when only bookkeeping (not the state) changed
EVENT_PATIENCE = 10.0  # seconds an observation keeps retrying before it quarantines instead
OPTIONS = ("shadow", "token_ttl", "denial_limit", "clock", "limits")
KINDS = ("action", "event")

__all__ = ["DenialLimit", "Guard", "GuardError", "RequestLimits", "program_id"]


class Guard:
    """Enforces one verified artifact over sessions kept in a store.

    Thread-safe: one lock per guard serializes its decisions, approvals and releases (the
    write path: decide, audit record, compare-and-set). Processes sharing a store and a log are
    serialized by the log's file lock and the store's compare-and-set instead.
    """

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
        secret: Secret | None = None,
        limits: RequestLimits | None = None,
    ) -> None:
        check_options(shadow, token_ttl, denial_limit, clock)
        check_parts(store, audit, limits)
        self.artifact = artifact
        self.artifact_hash = artifact.content_hash
        self.program = Program(artifact.model)
        self.store = store
        self.audit = audit
        self.shadow = shadow
        self.token_ttl = token_ttl
        self.denial_limit = denial_limit
        self.clock = clock
        self.limits = limits or RequestLimits()
        self._graph = artifact.graph_states
        self._persistent = store.persistent
        self.program_id = program_id(artifact.model)
        self.secret = secret
        store.key = secret.derive("store") if secret is not None else None
        # the in-memory store trusts its records, so the general path's checks reduce to these
        self._plain = denial_limit is None and not store.persistent and audit is None
        self._lock = threading.Lock()
        self.ledger = Ledger(
            self.program, self.program_id, self.artifact_hash, store, audit,
            shadow=shadow, token_ttl=token_ttl, graph=self._graph, clock=clock, secret=secret,
        )  # fmt: skip
        self._initial = self.ledger.initial
        self.approvals = Approvals(self.ledger, self._lock, self._integrity, self._admissible)

    @classmethod
    def load(
        cls,
        path: str,
        store: str | Store = "memory://",
        audit: str | AuditLog | None = None,
        public_key: Any = None,
        secret: str | None = None,
        pin: art.Pin | None = None,
        **options: Any,
    ) -> Guard:
        """Load and verify an artifact, open the store and audit log, recover after a crash.

        `secret` is the path of the guard's secret file (`verifier keygen --secret`): it keys
        the audit chain, the store's record digests and the logged argument hashes. `pin`
        fixes the capability name, a minimum serial or the exact content hash accepted.
        Options (each validated; GuardError names a bad one): `shadow`, `token_ttl`,
        `denial_limit`, `clock`, `limits`.
        """
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise GuardError(f"unknown option `{unknown[0]}` (options: {', '.join(OPTIONS)})")
        defaults = {"shadow": False, "token_ttl": 300.0, "denial_limit": None, "clock": time.time}
        check_options(**{**defaults, **{k: v for k, v in options.items() if k != "limits"}})
        if isinstance(store, str) or not is_store(store):
            check_store_url(store)
        if audit is not None and not isinstance(audit, str | AuditLog):
            raise GuardError(f"option `audit` must be a path or an AuditLog, not {audit!r}")
        try:
            key = load_secret(secret) if secret is not None else None
            artifact = art.load(path, public_key, pin)
            opened = open_store(store) if isinstance(store, str) else store
            log = AuditLog(audit) if isinstance(audit, str) else audit
        except (art.ArtifactError, StoreError, AuditError, SecretError) as err:
            raise GuardError(str(err)) from None
        if log is not None and log.redact and key is None:
            raise GuardError(
                "`redact=True` needs a secret: an unkeyed hash of the arguments is reversed by"
                " trying every value (pass `secret=`)"
            )
        try:
            guard = cls(artifact, opened, log, secret=key, **options)
        except RecursionError:  # a program at the nesting limit, loaded from a deep stack
            raise GuardError("the artifact's program nests too deeply to compile here") from None
        if log is not None:
            guard._open_audit(log)
        return guard

    def _open_audit(self, log: AuditLog) -> None:
        try:
            log.open(self.secret)  # verifies the whole chain against its head file
            with log.locked():
                recover(self.ledger, log)
        except (AuditError, StoreError) as err:
            raise GuardError(str(err)) from None

    def session(self, session_id: str, initial: dict[str, Any] | None = None) -> Session:
        """A handle on one session (created in the store on first use).

        `session_id` comes from the trusted side (the gateway's transport session, a configured
        header), never from the agent; GuardError unless it has the one form of `boundary.ID_RULE`.
        """
        sid = require_id("session id", session_id)
        return Session(self.ledger, self._decide_valid, sid, self._initial_state(initial))

    def _initial_state(self, initial: dict[str, Any] | None) -> State | None:
        if initial is None:
            return self._initial[0] if len(self._initial) == 1 else None
        for s in self._initial:
            if state_to_json(self.program.model, s) == initial:
                return s
        raise GuardError("the given initial state is not an initial state of the spec")

    # ---- the decision path

    def decide(
        self, sid: Any, kind: str, name: Any, args: Any, initial: State | None = None
    ) -> Decision:
        """Decide one proposal (kind "action") or observation (kind "event"); never raises."""
        known = type(kind) is str and kind in KINDS
        problem = bad_id("session id", sid)
        if problem is None and not known:
            problem = f"unknown request kind {preview(kind)} (use action or event)"
        if problem is not None:
            shown = name if type(name) is str and len(name) <= self.limits.name else None
            kind = kind if known else preview(kind)
            with self._lock:
                return self.ledger.failed(preview(sid), kind, shown, None, DENY, problem)
        return self._decide_valid(sid, kind, name, args, initial)

    def _decide_valid(
        self, sid: str, kind: str, name: Any, args: Any, initial: State | None
    ) -> Decision:
        """`decide` for a session id already checked (a Session's own).

        The fast path runs outside the lock: it writes only through the in-memory store's
        locked compare-and-set and logs nothing. Everything else holds the guard's lock.
        """
        if self._plain and type(args) is dict and len(args) <= self.limits.args:
            fast = self._fast_path(sid, kind, name, args)
            if fast is not None:
                return fast
        with self._lock:
            try:
                problem = request_problem(kind, name, args, self.limits)
                if self.audit is None:
                    return self._decide_request(sid, kind, name, args, initial, problem)
                with self.audit.locked():
                    return self._decide_request(sid, kind, name, args, initial, problem)
            except IntegrityError as err:
                return self._failed(sid, kind, name, QUARANTINE, f"integrity failure: {err}")
            except AuditIntegrityError as err:  # the log is broken: stop deciding, touch no session
                if kind == "action":
                    return self._failed(sid, kind, name, DENY, f"audit failure: {err}")
                why = f"audit failure: {err}; the event could not be recorded"
                return self._failed(sid, kind, name, QUARANTINE, why)
            except AuditError as err:
                return self._failed(sid, kind, name, DENY, f"audit failure: {err}")
            except Exception as err:  # fail closed on anything else
                verdict = DENY if kind == "action" else QUARANTINE
                reason = f"internal error: {describe_error(err)}"
                did = getattr(err, "decision_id", None)  # a failed write keeps its decision's id
                return self._failed(sid, kind, name, verdict, reason, did)

    def _failed(
        self, sid: str, kind: str, name: Any, verdict: str, reason: str, did: str | None = None
    ) -> Decision:
        shown = name if type(name) is str and len(name) <= self.limits.name else None
        return self.ledger.failed(sid, kind, shown, None, verdict, reason, did)

    def _decide_request(
        self, sid: str, kind: str, name: Any, args: Any, initial: State | None, problem: str | None
    ) -> Decision:
        if problem is None:
            return self._decide(sid, kind, name, args, initial)
        # Too large or malformed to read: decided and logged without the payload.
        shown = name if type(name) is str and len(name) <= self.limits.name else preview(name)
        refusal = Refusal(problem)
        rec = self.ledger.read(sid, initial)
        out = self._integrity(rec)
        if out is None and kind == "action":
            out = self._refuse(rec, kind, problem, None)
        elif out is None:
            out = Outcome(QUARANTINE, problem, None, self.ledger.quarantined(rec, problem))
        decision = self.ledger.commit(sid, kind, shown, None, refusal, rec, out)
        if decision is None:
            lost = Outcome(DENY if kind == "action" else QUARANTINE, problem)
            return self.ledger.emit(sid, kind, shown, None, refusal, rec, lost)
        return decision

    def _fast_path(self, sid: str, kind: str, name: Any, args: Any) -> Decision | None:
        """The common cases in one pass (in-memory store, no audit log, no denial limit): an
        enabled instance needing no approval, or a proposal whose guard is false. None hands
        the request to the general path, which decides every other case. An instance found
        here has arguments validated against their finite domains, so it is within the caps."""
        try:  # anything odd (a huge or deeply nested value) goes to the general path's caps
            rec = self.store.get(sid)
            if rec is None or rec.quarantine is not None or rec.program != self.program_id:
                return None
            entry = self.program.lookup(kind, name, args)
            if type(entry) is not Entry:
                return None
            nxt = entry.fire(rec.state)
        except Exception:
            return None
        if nxt is None:
            if kind != "action":
                return None
            why = self.program.why_not(entry, rec.state)
            did = self.ledger.new_id()
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
                return self.ledger.emit(sid, kind, name, args, entry, rec, Outcome(DENY, reason))
            return None
        did = self.ledger.new_id()
        return Decision(
            ALLOW, None, new.version, did, self.artifact_hash, sid, name, None, self.shadow, None
        )

    def _decide(self, sid: str, kind: str, name: Any, args: Any, initial: State | None) -> Decision:
        """Decide until a compare-and-set lands. An action whose state moved is denied (the
        agent must look again); an observation is decided again on the new state until it is
        applied, and if it cannot be within EVENT_PATIENCE, the session is quarantined: an
        observed event is never dropped."""
        deadline = time.monotonic() + EVENT_PATIENCE
        for attempt in itertools.count():
            rec = self.ledger.read(sid, initial)
            entry = self.program.lookup(kind, name, args)
            out = self._evaluate(sid, rec, kind, entry)
            decision = self.ledger.commit(sid, kind, name, args, entry, rec, out)
            if decision is not None:
                return decision
            lost = self.ledger.read(sid, initial)
            if kind == "action" and out.verdict == ALLOW and lost.version != rec.version:
                reason = f"the session advanced concurrently from version {rec.version}"
                return self.ledger.emit(sid, kind, name, args, entry, lost, Outcome(DENY, reason))
            if kind == "action" and attempt + 1 >= MAX_RETRIES:
                return self.ledger.emit(
                    sid, kind, name, args, entry, rec, Outcome(DENY, "too much contention")
                )
            if kind != "action" and time.monotonic() > deadline:
                raise IntegrityError("the event could not be applied under contention")
            _backoff(attempt)
        raise AssertionError("unreachable")  # pragma: no cover - count() never ends

    def problem(self, rec: Record) -> str | None:
        """Why a stored record cannot be trusted (persistent stores only), or None."""
        if not self.store.persistent or rec.quarantine is not None:
            return None
        return self.ledger.state_problem(rec.state)

    def _evaluate(self, sid: str, rec: Record, kind: str, entry: Entry | Refusal) -> Outcome:
        out = self._admissible(rec, kind, entry)
        if out.verdict != ESCALATE or not isinstance(entry, Entry):
            return out
        nxt = entry.fire(rec.state)
        advanced = self._advanced(rec, "action", nxt)  # type: ignore[arg-type]
        return escalation(self.ledger, sid, rec, entry, out, advanced)

    def _integrity(self, rec: Record) -> Outcome | None:
        """The session-level checks every request passes first: integrity, quarantine, policy."""
        if self._persistent:
            problem = self.problem(rec)
            if problem is not None:
                return Outcome(QUARANTINE, problem, None, self.ledger.quarantined(rec, problem))
        if rec.quarantine is not None:
            return Outcome(QUARANTINE, f"the session is quarantined: {rec.quarantine}")
        if rec.program != self.program_id:
            reason = "integrity failure: the session was created under another policy"
            return Outcome(QUARANTINE, reason, None, self.ledger.quarantined(rec, reason))
        return None

    def _admissible(self, rec: Record, kind: str, entry: Entry | Refusal) -> Outcome:
        """The full decision of a request on a record (an escalation carries no approval yet)."""
        checked = self._integrity(rec)
        if checked is not None:
            return checked
        if isinstance(entry, Refusal):
            return self._refuse(rec, kind, entry.reason, entry.line)
        try:
            nxt = entry.fire(rec.state)
        except EvalError as err:
            line = err.span.line
            reason = f"integrity failure: `{entry.name}` faults: {err.message} (line {line})"
            return Outcome(QUARANTINE, reason, line, self.ledger.quarantined(rec, reason))
        if nxt is None:
            why = self.program.why_not(entry, rec.state)
            return self._refuse(rec, kind, why.reason, why.line)
        if self._graph is not None and nxt not in self._graph:
            reason = "integrity failure: the successor is not in the verified graph"
            return Outcome(QUARANTINE, reason, None, self.ledger.quarantined(rec, reason))
        if kind == "action" and self.program.needs_approval(entry, rec.state):
            line = _approval_line(entry)
            return Outcome(ESCALATE, f"`{entry.name}` needs approval (line {line})", line)
        return Outcome(ALLOW, None, None, self._advanced(rec, kind, nxt))

    def _advanced(self, rec: Record, kind: str, nxt: State) -> Record:
        window, seen = self._window(rec, kind, denied=False)
        return Record(rec.version + 1, nxt, rec.rev + 1, None, window, seen, rec.program)

    def _refuse(self, rec: Record, kind: str, reason: str, line: int | None) -> Outcome:
        if kind != "action":
            why = f"impossible event: {reason}"
            return Outcome(QUARANTINE, why, line, self.ledger.quarantined(rec, why))
        if self.denial_limit is None:
            return Outcome(DENY, reason, line)
        window, seen = self._window(rec, kind, denied=True)
        if window.bit_count() >= self.denial_limit.denials:
            why = (
                f"denial rate: {window.bit_count()} of the last {seen} proposals denied ({reason})"
            )
            return Outcome(QUARANTINE, why, line, self.ledger.quarantined(rec, why))
        return Outcome(DENY, reason, line, rec._replace(rev=rec.rev + 1, window=window, seen=seen))

    def _window(self, rec: Record, kind: str, denied: bool) -> tuple[int, int]:
        limit = self.denial_limit
        if limit is None or kind != "action":
            return rec.window, rec.seen
        mask = (1 << limit.window) - 1
        return ((rec.window << 1) | int(denied)) & mask, min(rec.seen + 1, limit.window)

    def release(self, session_id: str, admin: str, reset: bool = False) -> Decision:
        """Lift a quarantine (an administrator's act, audited); `reset` restarts the state.

        Every approval of the session, pending or approved, is revoked first.
        """
        with self._lock:
            return release(self.ledger, session_id, admin, reset)

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


def _backoff(attempt: int) -> None:
    """A randomized pause before retrying a lost compare-and-set (spreads contending writers)."""
    if attempt:
        time.sleep(random.uniform(0, min(0.005, 0.00005 * (1 << min(attempt, 10)))))


def program_id(model: ir.Model) -> str:
    """A short id of the enforced program; session records are valid only under it."""
    text = ir_json.canonical(ir_json.model_to_json(model))
    return hashlib.sha256(text).hexdigest()[:16]
