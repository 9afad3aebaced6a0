"""A store shared by a fleet: Redis hashes, compare-and-set in a Lua script (atomic server-side)."""

from __future__ import annotations

import time
from typing import Any

from verifier.guard.store.base import (
    ApprovalRecord,
    Record,
    StoreError,
    decode_approval,
    decode_record,
    encode_approval,
    encode_record,
)

# KEYS[1] session hash; ARGV: expected rev ("" = must not exist), new rev, record text,
# deadline (server milliseconds). A write the server reaches after its deadline (the client
# gave up waiting: it told its caller the write failed) is refused, so it never lands late.
_CAS = """
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[4]) then
  return -1
end
local cur = redis.call('HGET', KEYS[1], 'rev')
if (cur == false and ARGV[1] == '') or (cur ~= false and cur == ARGV[1]) then
  redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'record', ARGV[3])
  return 1
end
return 0
"""


# KEYS[1] the approvals hash; ARGV: id, expected text, new text ("" = delete).
_SWAP = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return 1
"""


class RedisStore:
    """Session records in Redis, under a key prefix."""

    persistent = True
    key: bytes | None = None

    def __init__(self, client: Any, url: str, prefix: str = "verifier:") -> None:
        self.url = url
        self._r = client
        self._prefix = prefix
        self._cas = client.register_script(_CAS)
        timeout = client.connection_pool.connection_kwargs.get("socket_timeout") or 10.0
        self._patience_ms = int(float(timeout) * 500)  # half the client's wait, as margin
        seconds, micros = self._call(client.time)
        self._offset_ms = seconds * 1000 + micros // 1000 - time.monotonic_ns() // 1_000_000
        self._swap = client.register_script(_SWAP)
        self._approvals = f"{prefix}approvals"

    def _deadline(self) -> int:
        """The server time (ms) after which this write must not happen any more."""
        return time.monotonic_ns() // 1_000_000 + self._offset_ms + self._patience_ms

    def _write(self, session: str, expected: object, record: Record) -> bool:
        args = [expected, record.rev, encode_record(session, record, self.key), self._deadline()]
        done = self._call(self._cas, keys=[self._key(session)], args=args)
        if done == -1:
            raise StoreError("the redis store refused a late write (past its deadline)")
        return bool(done)

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        try:
            import redis
        except ImportError:  # pragma: no cover - the `redis` extra is not installed
            raise StoreError("the redis store needs the `redis` package") from None
        try:
            client = redis.Redis.from_url(url, socket_timeout=10.0)
            client.ping()
        except (redis.RedisError, ValueError) as err:
            raise StoreError(f"cannot reach the redis store `{url}`: {err}") from None
        return cls(client, url)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import redis

        try:
            return fn(*args, **kwargs)
        except redis.RedisError as err:
            raise StoreError(f"the redis store failed: {err}") from None

    def _key(self, session: str) -> str:
        return f"{self._prefix}s:{session}"

    def get(self, session: str) -> Record | None:
        text = self._call(self._r.hget, self._key(session), "record")
        return None if text is None else decode_record(session, text, self.key)

    def create(self, session: str, record: Record) -> bool:
        return self._write(session, "", record)

    def cas(self, session: str, expected_rev: int, record: Record) -> bool:
        return self._write(session, expected_rev, record)

    def put_approval(self, approval: ApprovalRecord) -> None:
        self._call(
            self._r.hsetnx, self._approvals, approval.id, encode_approval(approval, self.key)
        )
        stale = [a for a in self.approvals() if a.expires < time.time() - 3600]
        for a in stale:
            self.replace_approval(a, None)

    def get_approval(self, approval_id: str) -> ApprovalRecord | None:
        text = self._call(self._r.hget, self._approvals, approval_id)
        return None if text is None else decode_approval(text, self.key)

    def approvals(self, session: str | None = None) -> list[ApprovalRecord]:
        found = [decode_approval(t, self.key) for t in self._call(self._r.hvals, self._approvals)]
        return [a for a in found if session is None or a.session == session]

    def replace_approval(self, old: ApprovalRecord, new: ApprovalRecord | None) -> bool:
        args = [
            old.id,
            encode_approval(old, self.key),
            "" if new is None else encode_approval(new, self.key),
        ]
        return bool(self._call(self._swap, keys=[self._approvals], args=args))

    def close(self) -> None:
        self._call(self._r.close)
