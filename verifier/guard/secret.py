"""The guard's secret: one key file only the guard's side reads, from which the audit chain,
the store record digests and the argument hashes are keyed (HMAC-SHA256).

Without a secret those are plain SHA-256 digests: they reveal corruption and careless edits,
not a deliberate one by whoever can write the log or the store.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import warnings
from dataclasses import dataclass

SECRET_BYTES = 32


class SecretError(Exception):
    """The secret file is missing, unreadable or malformed (the guard does not start)."""


@dataclass(frozen=True)
class Secret:
    """The guard's key, and one derived key per use so no two uses share a key."""

    key: bytes

    def derive(self, purpose: str) -> bytes:
        """The key for one purpose (`audit`, `store`, `args`)."""
        return hmac.new(self.key, b"verifier-guard/" + purpose.encode(), hashlib.sha256).digest()

    @property
    def key_id(self) -> str:
        """A short public name of the key (records carry it, so verify can name a wrong key)."""
        return self.derive("id").hex()[:16]


def digest(key: bytes | None, data: bytes) -> str:
    """HMAC-SHA256 of `data` under `key`, or plain SHA-256 without a key (hex)."""
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def generate_secret() -> bytes:
    """A fresh secret as the file holds it: 64 hex digits and a newline."""
    return os.urandom(SECRET_BYTES).hex().encode() + b"\n"


def write_secret(path: str) -> None:
    """Create a new secret file (mode 600); refuses to overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(generate_secret())


def load_secret(path: str) -> Secret:
    """Read and validate a secret file; warns if other users can read it."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read(256)
    except OSError as err:
        raise SecretError(
            f"cannot read the secret `{path}`: {(err.strerror or '').lower()}"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise SecretError(f"the secret `{path}` is not a regular file")
    text = data.removesuffix(b"\n")
    try:
        key = bytes.fromhex(text.decode("ascii")) if len(text) == 2 * SECRET_BYTES else b""
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != SECRET_BYTES:
        raise SecretError(
            f"the secret `{path}` must hold 64 hexadecimal digits"
            " (create one with `verifier keygen --secret NAME`)"
        )
    if st.st_mode & 0o077:
        warnings.warn(f"the secret `{path}` is readable by other users; chmod 600 it", stacklevel=2)
    return Secret(key)
