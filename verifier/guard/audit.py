"""The audit log: an append-only, hash-chained JSONL file (see `chain`) and its writer.

Writers on one host share a log through an exclusive `flock`; the guard holds it across
decide, append and commit, so the log's order is the commit order. Under the lock the writer
checks that the path still names the file it opened and that the file still ends with the
records it knows (its own last record, then records other writers chained on correctly). Any
other change (the file removed, replaced, truncated, edited, or a record that does not chain)
breaks the log: the writer refuses every later record, and the guard stops deciding.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from typing import Any

from verifier.guard.chain import (
    GENESIS,
    TORN,
    UNREADABLE,
    AuditError,
    AuditIntegrityError,
    ChainReport,
    Keying,
    check_line,
    record_hash,
    verify_file,
    verify_lines,
)
from verifier.guard.head import Head, HeadFile, read_head
from verifier.guard.secret import Secret

__all__ = [
    "GENESIS", "TORN", "UNREADABLE", "AuditError", "AuditIntegrityError", "AuditLog", "ChainReport",
    "read_records", "record_hash", "verify_file", "verify_lines",
]  # fmt: skip

STOP = "; the guard stops deciding until an operator restores the log and restarts it"


def read_records(path: str) -> Iterator[dict[str, Any]]:
    """Every complete record of a log, in order (no verification)."""
    with open(path, "rb") as fh:
        for line in fh:
            if line.endswith(b"\n"):
                yield json.loads(line)


class AuditLog:
    """An appending writer. `open` it (the guard does), then `append` only inside `locked()`."""

    def __init__(self, path: str, *, redact: bool = False, fsync: bool = False) -> None:
        self.path = path
        self.redact = redact
        self.fsync = fsync
        self.keying = Keying()
        self.broken: str | None = None
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        except OSError as err:
            raise AuditError(f"cannot open the audit log `{path}`: {err.strerror}") from None
        st = os.fstat(self._fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(self._fd)
            raise AuditError(f"the audit log `{path}` is not a regular file")
        self._id = (st.st_dev, st.st_ino)
        self._size = -1
        self._mtime = -1
        self._seq = 0
        self._head = GENESIS
        self._last = b""  # the bytes of the last record, as written
        self._heads: HeadFile | None = None

    @property
    def head_path(self) -> str:
        return self.path + ".head"

    def open(self, secret: Secret | None) -> ChainReport:
        """Key the log, verify it whole against its head file; AuditIntegrityError if broken."""
        self.keying = Keying.of(secret)
        with self._flock():
            report = self._verify_all()
            self._heads = HeadFile(self.head_path, self.keying.key)
            self._heads.reset(Head(self._seq, self._head))
        return report

    def _verify_all(self) -> ChainReport:
        with open(self._fd, "rb", closefd=False) as fh:
            fh.seek(0)
            lines = fh.readlines()
        if lines and not lines[-1].endswith(b"\n"):  # a writer died mid-record: never committed
            os.ftruncate(self._fd, os.fstat(self._fd).st_size - len(lines.pop()))
        report = verify_lines(lines, None, self.keying)
        if not report.ok:
            raise AuditIntegrityError(
                f"the audit log `{self.path}` does not verify: record {report.bad_line}"
                f" {report.problem}"
            )
        problem = head_problem(self.path, lines, self.keying.key)
        if problem is not None:
            raise AuditIntegrityError(problem)
        self._seq, self._head = report.records, report.head
        self._last = lines[-1] if lines else b""
        st = os.fstat(self._fd)
        self._size, self._mtime = st.st_size, st.st_mtime_ns
        return report

    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError as err:
            raise AuditError(f"cannot lock the audit log: {err.strerror}") from None
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def locked(self) -> Iterator[AuditLog]:
        """Hold the log exclusively (across processes) and check it is still the log we know."""
        if self.broken is not None:
            raise AuditIntegrityError(self.broken)
        if self._heads is None:
            raise AuditError("the audit log was not opened (load the guard with `Guard.load`)")
        with self._flock():
            self._check_still_ours()
            seq = self._seq
            try:
                yield self
            finally:
                self._settle(seq)

    def _settle(self, seq: int) -> None:
        """Before unlocking: note the file's state and, if we appended, the new head."""
        st = os.fstat(self._fd)
        self._mtime = st.st_mtime_ns if st.st_size == self._size else -1
        if self._seq != seq and self._heads is not None and self.broken is None:
            self._heads.write(Head(self._seq, self._head), self.fsync)

    def _stop(self, problem: str) -> AuditIntegrityError:
        self.broken = f"the audit log `{self.path}` {problem}{STOP}"
        return AuditIntegrityError(self.broken)

    def _check_still_ours(self) -> None:
        try:
            at_path = os.stat(self.path)
        except OSError:
            at_path = None
        if at_path is None or (at_path.st_dev, at_path.st_ino) != self._id:
            raise self._stop("was removed or replaced")
        st = os.fstat(self._fd)
        if st.st_size == self._size and st.st_mtime_ns == self._mtime:
            return  # nobody else wrote since our last record
        if st.st_size < self._size:
            raise self._stop("was truncated")
        self._catch_up(st.st_size)

    def _catch_up(self, size: int) -> None:
        """Check our last record is intact and every record since chains onto it."""
        start = self._size - len(self._last)
        with open(self._fd, "rb", closefd=False) as fh:
            fh.seek(start)
            if fh.read(len(self._last)) != self._last:
                raise self._stop(f"record {self._seq} was edited")
            lines = fh.read(size - self._size).splitlines(keepends=True)
        if lines and not lines[-1].endswith(b"\n"):  # another writer died mid-record
            os.ftruncate(self._fd, size - len(lines.pop()))
        for line in lines:
            record, problem = check_line(line, self._seq + 1, self._head, self.keying)
            if problem is not None or record is None:
                raise self._stop(f"record {self._seq + 1} {problem}")
            self._seq, self._head, self._last = record["seq"], record["hash"], line
        st = os.fstat(self._fd)
        self._size, self._mtime = st.st_size, st.st_mtime_ns

    def append(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Chain, hash and write one record; AuditError if it cannot be written in full."""
        if self.broken is not None:
            raise AuditIntegrityError(self.broken)
        record = dict(fields)
        record["seq"] = self._seq + 1
        record["prev"] = self._head
        line = self.keying.seal(record)
        try:
            written = os.write(self._fd, line)
            if self.fsync:
                os.fsync(self._fd)
        except OSError as err:
            self._mtime = -1  # re-read the tail under the next lock (drops a torn write)
            raise AuditError(f"cannot write the audit log: {err.strerror}") from None
        if written != len(line):
            self._mtime = -1
            raise AuditError("the audit record was written only in part")
        self._seq, self._head, self._last = record["seq"], record["hash"], line
        self._size += written
        return record

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
        if self._heads is not None:
            with contextlib.suppress(OSError):
                self._heads.close()


def head_problem(path: str, lines: list[bytes], key: bytes | None) -> str | None:
    """Why a verified log does not reach the head in its head file (`LOG.head`), or None."""
    head_path = path + ".head"
    exists, head = read_head(head_path, key)
    if lines and not exists:
        return (
            f"the audit log `{path}` has no head file `{head_path}`; restore it, or after"
            " checking the log run `verifier audit verify LOG --write-head`"
        )
    if exists and head is None:
        return f"the head file `{head_path}` does not verify"
    if head is not None and (
        head.seq > len(lines) or (head.seq and json.loads(lines[head.seq - 1])["hash"] != head.hash)
    ):
        return (
            f"the audit log `{path}` ends before the head the guard last wrote"
            f" (record {head.seq}): its tail was cut or replaced"
        )
    return None


def check_head(path: str, secret: Secret | None) -> str | None:
    """`head_problem` of a log file that verifies (the offline verifier's head check)."""
    try:
        with open(path, "rb") as fh:
            lines = fh.readlines()
    except OSError as err:
        raise AuditError(f"cannot read the audit log `{path}`: {err.strerror or err}") from None
    if not os.path.exists(path + ".head"):
        return None  # offline, a log without a head file is checked as a chain only
    return head_problem(path, lines, Keying.of(secret).key)


def write_head(path: str, secret: Secret | None) -> Head:
    """Accept a verified log's current end as its head (an operator's act after a check)."""
    report = verify_file(path, None, secret)
    if not report.ok:
        raise AuditIntegrityError(f"record {report.bad_line} {report.problem}")
    head = Head(report.records, report.head)
    heads = HeadFile(path + ".head", Keying.of(secret).key)
    heads.reset(head)
    heads.close()
    return head
