"""What every store keeps and promises."""

from __future__ import annotations

import hmac
import json
from typing import Any, NamedTuple, Protocol

from verifier.guard.secret import digest


class StoreError(Exception):
    """The store cannot be reached or used (the guard fails closed on it)."""

    decision_id: str | None = None  # set when a decision's write failed (its id is kept)


class IntegrityError(StoreError):
    """A stored record does not match its digest or is malformed (the guard quarantines)."""


class Record(NamedTuple):
    """One session: state version, state tuple, revision (bumped on every write), status.

    `window` is the bit history of the last outcomes (1 = denied), newest in bit 0, and
    `seen` how many outcomes it holds; the denial-rate quarantine reads them.
    """

    version: int
    state: tuple[int, ...]
    rev: int
    quarantine: str | None = None
    window: int = 0
    seen: int = 0
    program: str = ""  # the enforced program's id: a record is valid only under that policy


PENDING = "pending"
APPROVED = "approved"


class ApprovalRecord(NamedTuple):
    """An escalated proposal waiting for an operator (`pending`) or approved once (`approved`).

    Bound to the session, its state version, the action and its validated arguments (and their
    hash) and the enforced program; `approver` is set once approved.
    """

    id: str
    session: str
    version: int
    action: str
    args: dict[str, Any]
    args_hash: str
    program: str
    status: str
    created: float
    expires: float
    decision_id: str
    approver: str | None = None


class Store(Protocol):
    """Session records with compare-and-set, and approval records (insert once, swap exactly)."""

    url: str
    persistent: bool
    key: bytes | None  # the secret's store key: record digests are HMACs under it

    def get(self, session: str) -> Record | None: ...

    def create(self, session: str, record: Record) -> bool: ...

    def cas(self, session: str, expected_rev: int, record: Record) -> bool: ...

    def put_approval(self, approval: ApprovalRecord) -> None: ...

    def get_approval(self, approval_id: str) -> ApprovalRecord | None: ...

    def approvals(self, session: str | None = None) -> list[ApprovalRecord]: ...

    def replace_approval(self, old: ApprovalRecord, new: ApprovalRecord | None) -> bool: ...

    def close(self) -> None: ...


def record_digest(session: str, record: Record, key: bytes | None = None) -> str:
    """The digest of a record: over the session id and every field, keyed if `key`."""
    return _digest(_body(session, record), key)


def _body(session: str, record: Record) -> list[Any]:
    body = [session, record.version, [int(v) for v in record.state], record.rev, record.quarantine]
    return [*body, record.window, record.seen, record.program]


def _digest(body: list[Any], key: bytes | None) -> str:
    return digest(key, json.dumps(body, separators=(",", ":")).encode("utf-8"))


def encode_record(session: str, record: Record, key: bytes | None = None) -> str:
    """JSON text with a digest over the session id and every field (HMAC under `key`)."""
    body = _body(session, record)
    return json.dumps({"r": body, "d": _digest(body, key)}, separators=(",", ":"))


def decode_record(session: str, text: str | bytes, key: bytes | None = None) -> Record:
    """The record in `text`; IntegrityError if malformed, mismatched or for another session."""
    try:
        data = json.loads(text)
        body = data["r"]
        ok = hmac.compare_digest(_digest(body, key), str(data["d"]))
        sid, version, state, rev, quarantine, window, seen, program = body
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        raise IntegrityError(f"the stored record of session `{session}` is malformed") from err
    if not ok or sid != session:
        raise IntegrityError(f"the stored record of session `{session}` does not match its digest")
    if not (all(type(v) is int for v in state) and type(version) is int and type(rev) is int):
        raise IntegrityError(f"the stored record of session `{session}` is malformed")
    return Record(version, tuple(state), rev, quarantine, window, seen, program)


def encode_approval(data: ApprovalRecord, key: bytes | None = None) -> str:
    """An approval record as JSON text: its fields in order and a digest (HMAC under `key`),
    so that an approval written into the store by hand does not verify."""
    body = list(data)
    return json.dumps({"a": body, "d": _digest(body, key)}, separators=(",", ":"))


_APPROVAL_TYPES: tuple[tuple[type, ...], ...] = (
    (str,), (str,), (int,), (str,), (dict,), (str,), (str,), (str,),
    (float, int), (float, int), (str,), (str, type(None)),
)  # fmt: skip


def decode_approval(text: str | bytes, key: bytes | None = None) -> ApprovalRecord:
    """The approval in `text`; IntegrityError unless its digest verifies and every field has
    its type."""
    try:
        data = json.loads(text)
        fields = data["a"]
        signed = hmac.compare_digest(_digest(fields, key), str(data["d"]))
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        raise IntegrityError("a stored approval is malformed") from err
    if not signed:
        raise IntegrityError("a stored approval does not match its digest")
    ok = isinstance(fields, list) and len(fields) == len(_APPROVAL_TYPES)
    ok = ok and all(type(v) in t for v, t in zip(fields, _APPROVAL_TYPES, strict=False))
    if not ok or fields[7] not in (PENDING, APPROVED):
        raise IntegrityError("a stored approval is malformed")
    fields[8], fields[9] = float(fields[8]), float(fields[9])
    return ApprovalRecord(*fields)
