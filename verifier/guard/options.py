"""The guard's options, each validated strictly: a guard never starts on a value it would misread.

Every check raises `GuardError` naming the option and the bad value. Store URLs are checked
here before a store is opened: scheme, path and every query parameter.
"""

from __future__ import annotations

import math
import urllib.parse
from dataclasses import dataclass
from typing import Any

from verifier.guard.audit import AuditLog

MAX_TTL = 7 * 24 * 3600.0  # an approval older than a week is not a decision anybody remembers
MAX_WINDOW = 1024
SQLITE_PARAMS = {"synchronous": ("full", "normal", "extra")}
REDIS_SCHEMES = ("redis", "unix")
STORE_METHODS = (
    "get",
    "create",
    "cas",
    "put_approval",
    "get_approval",
    "approvals",
    "replace_approval",
)


class GuardError(Exception):
    """The guard cannot start or an operator request is malformed: a clear, one-line reason."""


@dataclass(frozen=True)
class DenialLimit:
    """Quarantine a session once `denials` of its last `window` proposals were denied."""

    denials: int
    window: int

    def __post_init__(self) -> None:
        d, w = self.denials, self.window
        if not (type(d) is int and type(w) is int and 1 <= d <= w <= MAX_WINDOW):
            raise GuardError(
                f"invalid `DenialLimit(denials={d!r}, window={w!r})`: it can never fire; "
                f"give whole numbers with 1 <= denials <= window <= {MAX_WINDOW}"
            )


# Nesting a request may have and still be written to the audit log and read back (JSON
# encoding and decoding recurse; near 900 levels they fail).
MAX_DEPTH = 64


@dataclass(frozen=True)
class RequestLimits:
    """Caps on one request: name length, argument count, name and string length, nesting, size."""

    name: int = 128
    args: int = 64
    string: int = 4096
    depth: int = 4
    values: int = 1024
    total: int = 16384

    def __post_init__(self) -> None:
        for field, value in vars(self).items():
            top = MAX_DEPTH if field == "depth" else 10_000_000
            if type(value) is not int or not 1 <= value <= top:
                raise GuardError(
                    f"invalid `RequestLimits`: `{field}` must be an integer from 1 to {top}, "
                    f"not {value!r}"
                )


def check_options(shadow: Any, token_ttl: Any, denial_limit: Any, clock: Any) -> None:
    """GuardError for the first option that is not what it must be."""
    if type(shadow) is not bool:
        raise GuardError(f"option `shadow` must be true or false, not {shadow!r}")
    number = type(token_ttl) in (int, float)
    if not (number and math.isfinite(token_ttl) and 0 < token_ttl <= MAX_TTL):
        raise GuardError(
            f"option `token_ttl` must be a number of seconds above 0 and at most {MAX_TTL:.0f}, "
            f"not {token_ttl!r}"
        )
    if denial_limit is not None and not isinstance(denial_limit, DenialLimit):
        raise GuardError(
            f"option `denial_limit` must be a DenialLimit(denials, window) or None, "
            f"not {denial_limit!r}"
        )
    if not callable(clock):
        raise GuardError(f"option `clock` must be a function returning seconds, not {clock!r}")


def check_parts(store: Any, audit: Any, limits: Any) -> None:
    """GuardError unless `store` is a Store, `audit` an AuditLog or None, `limits` RequestLimits."""
    if not is_store(store):
        raise GuardError(f"option `store` must be a store URL or a Store, not {store!r}")
    if audit is not None and not isinstance(audit, AuditLog):
        raise GuardError(f"option `audit` must be a path or an AuditLog, not {audit!r}")
    if limits is not None and not isinstance(limits, RequestLimits):
        raise GuardError(f"option `limits` must be a RequestLimits, not {limits!r}")


def is_store(store: Any) -> bool:
    """Whether `store` has every method of a Store."""
    return all(callable(getattr(store, m, None)) for m in STORE_METHODS)


def check_store_url(url: Any) -> None:
    """GuardError unless `url` is a well-formed store URL with known parameters only."""
    if type(url) is not str:
        raise GuardError(f"option `store` must be a store URL or a Store, not {url!r}")
    parts = urllib.parse.urlsplit(url) if "://" in url else None
    if parts is None or parts.scheme not in ("memory", "sqlite", *REDIS_SCHEMES):
        raise GuardError(
            f"unknown store URL `{url}`; use memory://, sqlite:///path.db or redis://host:port/db"
        )
    params = _params(url, parts.query)
    if parts.scheme == "memory":
        if parts.netloc or parts.path or parts.query or parts.fragment:
            raise GuardError(f"the store URL `{url}` takes no host, path or parameters")
    elif parts.scheme == "sqlite":
        _check_sqlite(url, parts, params)
    else:
        _check_redis(url, parts, params)


def _params(url: str, query: str) -> dict[str, str]:
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise GuardError(f"the store URL `{url}` has a malformed query") from None
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise GuardError(f"the store URL `{url}` gives parameter `{key}` twice")
        params[key] = value
    return params


def _check_sqlite(url: str, parts: urllib.parse.SplitResult, params: dict[str, str]) -> None:
    path = url.removeprefix("sqlite://").partition("?")[0].removeprefix("/")
    if not path or parts.netloc:
        raise GuardError(
            f"the SQLite URL `{url}` names no file; use sqlite:///relative.db or "
            "sqlite:////absolute/path.db"
        )
    if path == ":memory:" or path.startswith("file:") or parts.fragment:
        raise GuardError(
            f"the SQLite URL `{url}` is not persistent (or not a plain file); "
            "use memory:// for a store that lives only in this process"
        )
    for key, value in params.items():
        if key == "timeout":
            _check_seconds(url, key, value)
            continue
        allowed = SQLITE_PARAMS.get(key)
        if allowed is None:
            raise GuardError(f"unknown parameter `{key}` in the store URL `{url}`")
        if value.lower() not in allowed:
            raise GuardError(f"unknown synchronous mode `{value}` in `{url}` (use full or normal)")


def _check_seconds(url: str, key: str, value: str) -> None:
    """A wait in seconds: a finite number above 0 and at most an hour."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= 3600:  # also refuses NaN
        raise GuardError(
            f"`{key}={value}` in the store URL `{url}` must be a number of seconds "
            "above 0 and at most 3600"
        )


def _check_redis(url: str, parts: urllib.parse.SplitResult, params: dict[str, str]) -> None:
    for key, value in params.items():
        if key == "socket_timeout":
            _check_seconds(url, key, value)
        elif parts.scheme != "unix" or key != "db":
            raise GuardError(f"unknown parameter `{key}` in the store URL `{url}`")
    try:
        port = parts.port
    except ValueError:
        raise GuardError(f"invalid port in the store URL `{url}`") from None
    if parts.scheme != "unix" and (not parts.hostname or (port is not None and port < 1)):
        raise GuardError(f"the store URL `{url}` names no host")
    db = params.get("db") if parts.scheme == "unix" else parts.path.removeprefix("/")
    if db and not (db.isascii() and db.isdigit()):
        raise GuardError(f"the database `{db}` in the store URL `{url}` must be a number")
    if parts.fragment:
        raise GuardError(f"the store URL `{url}` has a fragment")
