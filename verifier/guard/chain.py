"""The audit chain: how a record is hashed (keyed with the guard's secret, or not) and how a
sequence of records is verified.

Each record holds `seq` (1, 2, ...), `prev` (the previous record's `hash`, or 64 zeros for the
first) and `hash`: HMAC-SHA256 under the secret's audit key of the record's canonical JSON
without `hash` (a keyed record also names the key in `key`), or plain SHA-256 without a secret.
Editing, deleting, inserting or reordering records breaks the chain at the first bad record;
with a key, so does appending a record, since nobody without the secret can compute its hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from verifier.guard.secret import Secret, digest
from verifier.ir import jsontext

GENESIS = "0" * 64
TORN = "is incomplete (a torn write)"
UNREADABLE = "is not a JSON record"  # a line no guard writes (`audit verify` exits 2)
RECORD_DEPTH = 1_000_000


class AuditError(Exception):
    """The audit log cannot be written (the guard denies)."""


class AuditIntegrityError(AuditError):
    """The audit log does not verify (the guard stops deciding)."""


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of a value (sorted keys, no whitespace, UTF-8). A lone
    surrogate (which UTF-8 cannot encode) is written as its JSON escape `\\udXXX`, which reads
    back as the same string, so a hostile name or argument is still recorded and verifies."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace")


def record_hash(record: dict[str, Any], key: bytes | None = None) -> str:
    """The hash a record must carry: its canonical JSON without `hash`, keyed if `key`."""
    return digest(key, canonical({k: v for k, v in record.items() if k != "hash"}))


@dataclass(frozen=True)
class Keying:
    """How a log's records are hashed: the audit key and its public id, or neither."""

    key: bytes | None = None
    key_id: str | None = None

    @classmethod
    def of(cls, secret: Secret | None) -> Keying:
        """The keying a secret gives (none without one)."""
        return cls() if secret is None else cls(secret.derive("audit"), secret.key_id)

    def seal(self, record: dict[str, Any]) -> bytes:
        """Name the key in the record, set its hash, and return its line (serialized once:
        the hash covers the canonical JSON without `hash`, which the line then appends)."""
        if self.key_id is not None:
            record["key"] = self.key_id
        body = canonical(record)
        record["hash"] = digest(self.key, body)
        return body[:-1] + b',"hash":"' + record["hash"].encode() + b'"}\n'

    def problem(self, record: dict[str, Any]) -> str | None:
        """Why a record's hash is not one this keying wrote, or None."""
        named = record.get("key")
        if named is not None and self.key_id is None:
            return "is keyed: pass --secret (the guard's secret) to verify it"
        if named is not None and named != self.key_id:
            return "is keyed with another secret"
        if named is None and self.key_id is not None:
            return "is not keyed with the secret (written without it, or forged)"
        if record.get("hash") != record_hash(record, self.key):
            return "does not match its hash (edited)"
        return None


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


def check_line(
    line: bytes, seq: int, prev: str, keying: Keying
) -> tuple[dict[str, Any] | None, str | None]:
    """The record on one line if it is the `seq`-th of a chain ending in `prev`, else why not."""
    try:  # strict, but reading what `canonical` writes: NaN and `\udXXX` escapes are records,
        # and nesting is bounded only by the interpreter, as it is for the writer
        record = jsontext.loads(
            line, max_depth=RECORD_DEPTH, floats=True, constants=True, surrogates=True
        )
    except jsontext.JSONTextError as err:
        return None, f"{UNREADABLE}: {err}"
    if not isinstance(record, dict):
        return None, UNREADABLE
    try:
        problem = keying.problem(record)
    except RecursionError:
        return None, f"{UNREADABLE}: it nests too deeply to hash"
    if problem is not None:
        return record, problem
    if record.get("prev") != prev:
        return record, "does not follow the previous record (inserted, deleted or reordered)"
    if record.get("seq") != seq:
        return record, f"has sequence {record.get('seq')!r}, expected {seq}"
    return record, None


def verify_lines(
    lines: list[bytes], head: str | None = None, keying: Keying = Keying()
) -> ChainReport:
    """Verify a chain given as raw lines (each ending in a newline, the last one too)."""
    prev = GENESIS
    for n, raw in enumerate(lines, start=1):
        if not raw.endswith(b"\n"):
            return ChainReport(n - 1, prev, n, TORN)
        record, problem = check_line(raw, n, prev, keying)
        if problem is not None or record is None:
            return ChainReport(n - 1, prev, n, problem)
        prev = record["hash"]
    if head is not None and prev != head:
        where = len(lines) + 1
        return ChainReport(len(lines), prev, where, f"the log ends before head `{head}`")
    return ChainReport(len(lines), prev)


def verify_file(path: str, head: str | None = None, secret: Secret | None = None) -> ChainReport:
    """Verify the chain in `path` (keyed with `secret` if given); AuditError if unreadable."""
    try:
        with open(path, "rb") as fh:
            lines = fh.readlines()
    except OSError as err:
        raise AuditError(f"cannot read the audit log `{path}`: {err.strerror or err}") from None
    return verify_lines(lines, head, Keying.of(secret))
