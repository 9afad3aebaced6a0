"""The audit log: append-only, hash-chained JSONL, and its offline verifier.

Each record holds `seq` (1, 2, ...), `prev` (the previous record's `hash`, or 64 zeros for the
first) and `hash`, the SHA-256 of the record's canonical JSON without `hash`. Editing,
deleting, inserting or reordering records breaks the chain at the first bad record.
Dropping records from the end is only detectable against a known head hash.

Writers on one host share a log through an exclusive `flock`; the guard holds it across
decide, append and commit, so the log's order is the commit order.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from verifier.ir import jsontext

GENESIS = "0" * 64
TORN = "is incomplete (a torn write)"


class AuditError(Exception):
    """The audit log cannot be written (the guard denies)."""


class AuditIntegrityError(AuditError):
    """The audit log does not verify (the guard quarantines)."""


def _canonical(value: Any) -> bytes:
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode()


def record_hash(record: dict[str, Any]) -> str:
    """The hash a record must carry: SHA-256 of its canonical JSON without `hash`."""
    return hashlib.sha256(_canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of verifying a log: records read, and the first bad one if any."""

    records: int
    head: str
    bad_line: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.bad_line is None


def _check(line: bytes, seq: int, prev: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        record = jsontext.loads(line, floats=True)
    except jsontext.JSONTextError as err:  # the writer never writes such a line: unreadable
        raise AuditError(f"line {seq} is not a strict JSON record: {err}") from None
    if not isinstance(record, dict):
        raise AuditError(f"line {seq} is not a JSON record")
    if record.get("hash") != record_hash(record):
        return record, "does not match its hash (edited)"
    if record.get("prev") != prev:
        return record, "does not follow the previous record (inserted, deleted or reordered)"
    if record.get("seq") != seq:
        return record, f"has sequence {record.get('seq')!r}, expected {seq}"
    return record, None


def verify_lines(lines: list[bytes], head: str | None = None) -> ChainReport:
    """Verify a chain given as raw lines (each ending in a newline, the last one too)."""
    prev = GENESIS
    for n, raw in enumerate(lines, start=1):
        if not raw.endswith(b"\n"):
            return ChainReport(n - 1, prev, n, TORN)
        record, problem = _check(raw, n, prev)
        if problem is not None or record is None:
            return ChainReport(n - 1, prev, n, problem)
        prev = record["hash"]
    if head is not None and prev != head:
        where = len(lines) + 1
        return ChainReport(len(lines), prev, where, f"the log ends before head `{head}`")
    return ChainReport(len(lines), prev)


def verify_file(path: str, head: str | None = None) -> ChainReport:
    """Verify the chain in `path`; AuditError if it cannot be read (or a line is not JSON)."""
    try:
        with open(path, "rb") as fh:
            lines = fh.readlines()
    except OSError as err:
        raise AuditError(f"cannot read the audit log `{path}`: {err.strerror or err}") from None
    try:
        return verify_lines(lines, head)
    except AuditError as err:
        raise AuditError(f"cannot read the audit log `{path}`: {err}") from None


def read_records(path: str) -> Iterator[dict[str, Any]]:
    """Every record of a log, in order (no verification)."""
    with open(path, "rb") as fh:
        for line in fh:
            if line.endswith(b"\n"):
                yield json.loads(line)


class AuditLog:
    """An appending writer. Use `append` only inside `locked()`."""

    def __init__(self, path: str, *, redact: bool = False, fsync: bool = False) -> None:
        self.path = path
        self.redact = redact
        self.fsync = fsync
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        except OSError as err:
            raise AuditError(f"cannot open the audit log `{path}`: {err.strerror}") from None
        self._size = -1
        self._mtime = -1
        self._seq = 0
        self._head = GENESIS
        self.opened = verify_file(path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[AuditLog]:
        """Hold the log exclusively (across processes) and bring the chain head up to date."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError as err:
            raise AuditError(f"cannot lock the audit log: {err.strerror}") from None
        try:
            self._sync_tail()
            yield self
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _sync_tail(self) -> None:
        st = os.fstat(self._fd)
        size = st.st_size
        if size == self._size and st.st_mtime_ns == self._mtime:
            return  # nobody else wrote since our last record
        last, end = _last_line(self.path, size)
        if end != size:  # a writer died mid-record; that record was never committed
            os.ftruncate(self._fd, end)
        if last is None:
            self._seq, self._head = 0, GENESIS
        else:
            try:
                record = json.loads(last)
                ok = record.get("hash") == record_hash(record)
            except ValueError:
                ok = False
            if not ok:
                raise AuditIntegrityError("the last audit record does not match its hash")
            self._seq, self._head = int(record["seq"]), str(record["hash"])
        self._size, self._mtime = end, os.fstat(self._fd).st_mtime_ns

    def append(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Chain, hash and write one record; AuditError if it cannot be written in full."""
        record = dict(fields)
        record["seq"] = self._seq + 1
        record["prev"] = self._head
        try:
            record["hash"] = record_hash(record)
            line = _canonical(record) + b"\n"
            brackets = line.count(b"[") + line.count(b"{")  # cheap bound; exact depth if needed
            if brackets > jsontext.MAX_DEPTH and jsontext.depth(record) > jsontext.MAX_DEPTH:
                raise ValueError("too deep")
        except (ValueError, RecursionError):  # NaN, a lone surrogate, nesting: not readable back
            raise AuditError("the audit record would not be strict JSON") from None
        try:
            written = os.write(self._fd, line)
            if self.fsync:
                os.fsync(self._fd)
        except OSError as err:
            self._size = -1
            raise AuditError(f"cannot write the audit log: {err.strerror}") from None
        if written != len(line):
            self._size = -1
            raise AuditError("the audit record was written only in part")
        self._seq, self._head = record["seq"], record["hash"]
        st = os.fstat(self._fd)
        self._size, self._mtime = st.st_size, st.st_mtime_ns
        return record

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _last_line(path: str, size: int) -> tuple[bytes | None, int]:
    """The last complete line of the file and the offset just after it."""
    if size == 0:
        return None, 0
    chunk = 4096
    with open(path, "rb") as fh:
        while True:
            start = max(0, size - chunk)
            fh.seek(start)
            data = fh.read(size - start)
            cut = data.rfind(b"\n")
            if cut >= 0:
                end = start + cut + 1
                before = data.rfind(b"\n", 0, cut)
                if before >= 0 or start == 0:
                    return data[before + 1 : cut + 1], end
            elif start == 0:
                return None, 0
            chunk *= 4
