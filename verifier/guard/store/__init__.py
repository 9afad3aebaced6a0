"""Session stores chosen by URL, all with the same atomic compare-and-set semantics.

`memory://` (one process), `sqlite:///path` (embedded, durable), `redis://host:port/db`
(a fleet of processes and machines). A store keeps one `Record` per session and the approval
records of escalated proposals. `cas` writes a record only if the stored revision is still the
expected one, so of two writers that read the same revision exactly one succeeds.
"""

from __future__ import annotations

from verifier.guard.store.base import (
    APPROVED,
    PENDING,
    ApprovalRecord,
    IntegrityError,
    Record,
    Store,
    StoreError,
)


def open_store(url: str) -> Store:
    """The store a URL names; StoreError for an unknown scheme or an unreachable store."""
    if url.startswith("memory://"):
        from verifier.guard.store.memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite://"):
        from verifier.guard.store.sqlite import SQLiteStore

        return SQLiteStore.from_url(url)
    if url.startswith(("redis://", "unix://")):
        from verifier.guard.store.redis import RedisStore

        return RedisStore.from_url(url)
    raise StoreError(f"unknown store URL `{url}` (use memory://, sqlite:///path or redis://...)")


__all__ = [
    "APPROVED",
    "PENDING",
    "ApprovalRecord",
    "IntegrityError",
    "Record",
    "Store",
    "StoreError",
    "open_store",
]
