"""The embedded default: one SQLite file, WAL journal, compare-and-set in IMMEDIATE transactions.

Durable across `kill -9`: a transition is one committed transaction or nothing.
`synchronous=FULL` (the default) also survives power loss; `?synchronous=normal` in the URL
trades that for speed (still safe against a process crash in WAL mode).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import urllib.parse

from verifier.guard.store.base import (
    ApprovalRecord,
    Record,
    StoreError,
    decode_approval,
    decode_record,
    encode_approval,
    encode_record,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions
  (id TEXT PRIMARY KEY, rev INTEGER NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS approvals
  (id TEXT PRIMARY KEY, session TEXT NOT NULL, expires REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS approvals_by_session ON approvals (session);
"""


class SQLiteStore:
    """Session records in a SQLite database file."""

    persistent = True
    key: bytes | None = None

    def __init__(self, path: str, synchronous: str = "FULL", timeout: float = 30.0) -> None:
        self.url = f"sqlite:///{path}"  # an absolute path gives the four slashes
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as err:
            raise StoreError(f"cannot open the SQLite store `{path}`: {err}") from None

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        """`sqlite:///relative/path.db` or `sqlite:////absolute/path.db` (SQLAlchemy style)."""
        rest, _, query = url.removeprefix("sqlite://").partition("?")
        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise StoreError(f"the SQLite URL `{url}` names no file")
        options = urllib.parse.parse_qs(query, keep_blank_values=True)
        unknown = sorted(set(options) - {"synchronous", "timeout"})
        if unknown:
            raise StoreError(f"unknown option `{unknown[0]}` in `{url}` (synchronous, timeout)")
        sync = options.get("synchronous", ["full"])[-1].upper()
        if sync not in ("FULL", "NORMAL", "EXTRA"):
            raise StoreError(f"unknown synchronous mode `{sync.lower()}` in `{url}`")
        return cls(path, sync, _timeout(options.get("timeout", ["30"])[-1], url))

    def _run(self, sql: str, params: tuple[object, ...]) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, params)
        except sqlite3.Error as err:
            raise StoreError(f"the SQLite store failed: {err}") from None

    def get(self, session: str) -> Record | None:
        with self._lock:
            row = self._run("SELECT record FROM sessions WHERE id = ?", (session,)).fetchone()
        return None if row is None else decode_record(session, row[0], self.key)

    def create(self, session: str, record: Record) -> bool:
        text = encode_record(session, record, self.key)
        with self._lock:
            cur = self._run(
                "INSERT OR IGNORE INTO sessions (id, rev, record) VALUES (?, ?, ?)",
                (session, record.rev, text),
            )
            return cur.rowcount == 1

    def cas(self, session: str, expected_rev: int, record: Record) -> bool:
        text = encode_record(session, record, self.key)
        with self._lock:
            self._run("BEGIN IMMEDIATE", ())
            try:
                cur = self._run(
                    "UPDATE sessions SET rev = ?, record = ? WHERE id = ? AND rev = ?",
                    (record.rev, text, session, expected_rev),
                )
                self._run("COMMIT", ())
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            return cur.rowcount == 1

    def put_approval(self, approval: ApprovalRecord) -> None:
        with self._lock:
            self._run(
                "INSERT OR IGNORE INTO approvals (id, session, expires, data) VALUES (?, ?, ?, ?)",
                (
                    approval.id,
                    approval.session,
                    approval.expires,
                    encode_approval(approval, self.key),
                ),
            )
            self._run("DELETE FROM approvals WHERE expires < ?", (time.time() - 3600,))

    def get_approval(self, approval_id: str) -> ApprovalRecord | None:
        with self._lock:
            row = self._run("SELECT data FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        return None if row is None else decode_approval(row[0], self.key)

    def approvals(self, session: str | None = None) -> list[ApprovalRecord]:
        sql, params = "SELECT data FROM approvals", ()
        if session is not None:
            sql, params = f"{sql} WHERE session = ?", (session,)  # type: ignore[assignment]
        with self._lock:
            rows = self._run(sql, params).fetchall()
        return [decode_approval(row[0], self.key) for row in rows]

    def replace_approval(self, old: ApprovalRecord, new: ApprovalRecord | None) -> bool:
        with self._lock:
            if new is None:
                cur = self._run(
                    "DELETE FROM approvals WHERE id = ? AND data = ?",
                    (old.id, encode_approval(old, self.key)),
                )
            else:
                cur = self._run(
                    "UPDATE approvals SET data = ?, expires = ? WHERE id = ? AND data = ?",
                    (
                        encode_approval(new, self.key),
                        new.expires,
                        old.id,
                        encode_approval(old, self.key),
                    ),
                )
            return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _timeout(text: str, url: str) -> float:
    """The busy timeout in seconds: how long a write waits for another connection's lock."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise StoreError(f"the timeout `{text}` in `{url}` must be seconds in (0, 3600]")
    return value
