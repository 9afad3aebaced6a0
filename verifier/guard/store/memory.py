"""The in-process store: dicts under a lock. Fast; gone when the process exits."""

from __future__ import annotations

import threading
import time

from verifier.guard.store.base import ApprovalRecord, Record

PURGE_AT = 10_000


class MemoryStore:
    """Session records and approvals in this process's memory."""

    url = "memory://"
    persistent = False  # records never leave this process, so they are not re-validated
    key: bytes | None = None  # unused: nothing is encoded

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._approvals: dict[str, ApprovalRecord] = {}
        self._lock = threading.Lock()

    def get(self, session: str) -> Record | None:
        return self._records.get(session)

    def create(self, session: str, record: Record) -> bool:
        with self._lock:
            if session in self._records:
                return False
            self._records[session] = record
            return True

    def cas(self, session: str, expected_rev: int, record: Record) -> bool:
        with self._lock:
            current = self._records.get(session)
            if current is None or current.rev != expected_rev:
                return False
            self._records[session] = record
            return True

    def put_approval(self, approval: ApprovalRecord) -> None:
        with self._lock:
            if len(self._approvals) >= PURGE_AT:  # drop expired approvals nobody decided
                now = time.time()
                self._approvals = {k: a for k, a in self._approvals.items() if a.expires >= now}
            self._approvals.setdefault(approval.id, approval)

    def get_approval(self, approval_id: str) -> ApprovalRecord | None:
        return self._approvals.get(approval_id)

    def approvals(self, session: str | None = None) -> list[ApprovalRecord]:
        with self._lock:
            found = list(self._approvals.values())
        return [a for a in found if session is None or a.session == session]

    def replace_approval(self, old: ApprovalRecord, new: ApprovalRecord | None) -> bool:
        with self._lock:
            if self._approvals.get(old.id) != old:
                return False
            if new is None:
                del self._approvals[old.id]
            else:
                self._approvals[old.id] = new
            return True

    def close(self) -> None:
        """Nothing to release."""
