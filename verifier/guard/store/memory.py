"""The in-process store: dicts under a lock. Fast; gone when the process exits."""

from __future__ import annotations

import threading
import time

from verifier.guard.store.base import Record, TokenRecord, token_key

PURGE_AT = 10_000


class MemoryStore:
    """Session records and tokens in this process's memory."""

    url = "memory://"
    persistent = False  # records never leave this process, so they are not re-validated
    key: bytes | None = None  # unused: nothing is encoded

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._tokens: dict[str, TokenRecord] = {}
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

    def put_token(self, token: str, data: TokenRecord) -> None:
        with self._lock:
            if len(self._tokens) >= PURGE_AT:  # drop expired tokens nobody spent
                now = time.time()
                self._tokens = {k: t for k, t in self._tokens.items() if t.expires >= now}
            self._tokens[token_key(token)] = data

    def take_token(self, token: str) -> TokenRecord | None:
        with self._lock:
            return self._tokens.pop(token_key(token), None)

    def close(self) -> None:
        """Nothing to release."""
