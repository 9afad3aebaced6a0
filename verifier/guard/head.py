"""The head file next to an audit log (`LOG.head`): the last record the guard wrote.

A log whose tail was cut is still a valid chain; the head file says how far it must reach.
It holds two fixed-size slots written in turn (record n goes to slot n % 2), so a torn write
leaves the other slot valid. Each slot carries a digest, keyed with the guard's secret if any.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from verifier.guard.chain import AuditError
from verifier.guard.secret import digest

SLOT = 160


@dataclass(frozen=True)
class Head:
    """The guard's last record: its sequence number and hash."""

    seq: int
    hash: str


def _mac(key: bytes | None, seq: int, hash_: str) -> str:
    return digest(key, f"verifier-audit-head:{seq}:{hash_}".encode())


def encode_slot(head: Head, key: bytes | None) -> bytes:
    """One slot's bytes: canonical JSON padded to the slot size."""
    mac = _mac(key, head.seq, head.hash)
    text = f'{{"seq":{head.seq},"hash":"{head.hash}","mac":"{mac}"}}'.encode()
    return text.ljust(SLOT - 1) + b"\n"


def _decode_slot(raw: bytes, key: bytes | None) -> Head | None:
    try:
        data = json.loads(raw)
        seq, hash_ = data["seq"], data["hash"]
        ok = type(seq) is int and seq >= 0 and isinstance(hash_, str)
        ok = ok and data["mac"] == _mac(key, seq, hash_)
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    return Head(seq, hash_) if ok else None


def read_head(path: str, key: bytes | None) -> tuple[bool, Head | None]:
    """(whether the head file exists, the newest valid slot or None)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(2 * SLOT)
    except FileNotFoundError:
        return False, None
    except OSError as err:
        raise AuditError(f"cannot read the head file `{path}`: {err.strerror}") from None
    heads = [_decode_slot(data[i * SLOT : (i + 1) * SLOT], key) for i in range(2)]
    valid = [h for h in heads if h is not None]
    return True, max(valid, key=lambda h: h.seq) if valid else None


class HeadFile:
    """The writer of a log's head file (one `pwrite` per record)."""

    def __init__(self, path: str, key: bytes | None) -> None:
        self.path = path
        self.key = key
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
        except OSError as err:
            raise AuditError(f"cannot open the head file `{path}`: {err.strerror}") from None

    def write(self, head: Head, fsync: bool) -> None:
        """Record `head` in its slot."""
        try:
            os.pwrite(self._fd, encode_slot(head, self.key), (head.seq % 2) * SLOT)
            if fsync:
                os.fsync(self._fd)
        except OSError as err:
            raise AuditError(f"cannot write the head file `{self.path}`: {err.strerror}") from None

    def reset(self, head: Head) -> None:
        """Write both slots (a log that starts afresh, or an operator's accepted head)."""
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, encode_slot(head, self.key) * 2, 0)
        except OSError as err:
            raise AuditError(f"cannot write the head file `{self.path}`: {err.strerror}") from None

    def close(self) -> None:
        os.close(self._fd)
