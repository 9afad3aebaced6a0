"""Attacks on the guard's write path: failed commits, forged records, fleets, contention, rows.

Each test is an attack that succeeded against the guard before issue 9 (items 2, 3, 4, 5, 18).
"""

from __future__ import annotations

import json
import multiprocessing
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.guard_support import COUNTER, ROOT, redis_server, write_artifact, write_secret
from verifier.guard import Guard
from verifier.guard.audit import read_records, record_hash
from verifier.guard.store import open_store

TICKS = ROOT / "tests" / "data" / "guard" / "ticks.cap"
EMAIL = ROOT / "models" / "email_assistant.cap"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_clean(redis_url) -> str:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    return redis_url


@pytest.fixture(scope="module")
def counter(tmp_path_factory) -> str:
    return str(write_artifact(COUNTER, tmp_path_factory.mktemp("c") / "counter.json"))


@pytest.fixture(scope="module")
def ticks(tmp_path_factory) -> str:
    return str(write_artifact(TICKS, tmp_path_factory.mktemp("t") / "ticks.json"))


@pytest.fixture(scope="module")
def email(tmp_path_factory) -> str:
    return str(write_artifact(EMAIL, tmp_path_factory.mktemp("e") / "email.json"))


def _claims_commit(audit: Path, decision_id: str) -> bool:
    """Whether any record says the decision's change reached the store."""
    records = list(read_records(str(audit)))
    return any(r.get("of") == decision_id and r.get("commit") is True for r in records) or any(
        r.get("decision_id") == decision_id and r.get("commit") is True for r in records
    )


# ---- item 2: a refused action must never be committed later


def test_sqlite_locked_past_the_busy_timeout_is_denied_and_never_committed(counter, tmp_path):
    db = tmp_path / "s.db"
    audit = tmp_path / "a.jsonl"
    guard = Guard.load(counter, store=f"sqlite:///{db}?timeout=0.2", audit=str(audit))
    s = guard.session("x")
    assert s.propose("inc", {}).verdict == "allow"
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
    d = s.propose("inc", {})
    assert d.verdict == "deny"
    assert "database is locked" in d.reason
    blocker.execute("ROLLBACK")
    blocker.close()
    guard.close()
    assert not _claims_commit(audit, d.decision_id)
    again = Guard.load(counter, store=f"sqlite:///{db}", audit=str(audit))
    assert again.session("x").state()["version"] == 1  # recovery did not apply the refused step
    assert again.session("x").propose("inc", {}).verdict == "allow"


def test_redis_paused_past_the_socket_timeout_is_denied_and_never_committed(
    counter, tmp_path, redis_clean
):
    import redis

    audit = tmp_path / "a.jsonl"
    guard = Guard.load(counter, store=f"{redis_clean}?socket_timeout=0.3", audit=str(audit))
    s = guard.session("x")
    assert s.propose("inc", {}).verdict == "allow"
    admin = redis.Redis.from_url(redis_clean)
    admin.execute_command("CLIENT", "PAUSE", "1200", "WRITE")
    d = s.propose("inc", {})
    assert d.verdict == "deny"
    assert "redis store failed" in d.reason
    time.sleep(1.4)  # the pause ends: a queued write would run now
    assert open_store(redis_clean).get("x").version == 1  # type: ignore[union-attr]
    guard.close()
    assert not _claims_commit(audit, d.decision_id)
    again = Guard.load(counter, store=redis_clean, audit=str(audit))
    assert again.session("x").state()["version"] == 1
    admin.close()


def test_redis_refuses_a_write_that_reaches_it_after_its_deadline(redis_clean):
    from verifier.guard.store import Record, StoreError

    store = open_store(redis_clean)
    assert store.create("x", Record(0, (0,), 0))
    store._deadline = lambda: 0  # type: ignore[attr-defined]  # as if it had waited in a queue
    with pytest.raises(StoreError, match="refused a late write"):
        store.cas("x", 0, Record(1, (1,), 1))
    assert open_store(redis_clean).get("x") == Record(0, (0,), 0)


class LostReply:
    """A store whose next compare-and-set lands but whose reply is lost (a network cut)."""

    def __init__(self, real) -> None:
        self.real, self.armed = real, False
        self.persistent, self.url = real.persistent, real.url

    def __getattr__(self, name):
        return getattr(self.real, name)

    def cas(self, sid, rev, record):
        landed = self.real.cas(sid, rev, record)
        if self.armed:
            self.armed = False
            from verifier.guard.store import StoreError

            raise StoreError("the redis store failed: Timeout reading from socket")
        return landed


def test_a_refused_write_that_landed_anyway_quarantines(counter, tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    audit = tmp_path / "a.jsonl"
    store = LostReply(open_store(db))
    guard = Guard.load(counter, store=store, audit=str(audit))  # type: ignore[arg-type]
    s = guard.session("x")
    assert s.propose("inc", {}).verdict == "allow"
    store.armed = True
    d = s.propose("inc", {})
    assert d.verdict == "deny"  # the caller was told the step failed...
    again = s.propose("inc", {})  # ...so a store that has it anyway is not trusted
    assert again.verdict == "quarantine"
    assert again.reason == (
        "integrity failure: a write the guard reported as failed reached the store"
        f" (decision `{d.decision_id}`)"
    )
    guard.close()
    # and at restart, from the log alone
    store2 = LostReply(open_store(db))
    g2 = Guard.load(counter, store=store2, audit=str(audit))  # type: ignore[arg-type]
    assert (
        g2.session("x")
        .state()["quarantine"]
        .startswith("integrity failure: a write the guard reported as failed reached the store")
    )


def test_a_lost_reply_is_detected_at_restart(counter, tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    audit = tmp_path / "a.jsonl"
    store = LostReply(open_store(db))
    guard = Guard.load(counter, store=store, audit=str(audit))  # type: ignore[arg-type]
    s = guard.session("x")
    assert s.propose("inc", {}).verdict == "allow"
    store.armed = True
    d = s.propose("inc", {})
    assert d.verdict == "deny"
    guard.close()  # restarts before any other decision on `x`
    again = Guard.load(counter, store=db, audit=str(audit))
    assert again.session("x").state()["quarantine"] == (
        "integrity failure: a write the guard reported as failed reached the store"
        f" (decision `{d.decision_id}`)"
    )


# ---- item 3: an appended record does not control a session at restart


def _append_unkeyed(audit: Path, fields: dict) -> None:
    records = list(read_records(str(audit)))
    record = dict(fields, seq=len(records) + 1, prev=records[-1]["hash"])
    record["hash"] = record_hash(record)
    with open(audit, "a") as fh:
        fh.write(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")


def _forge(sid: str, kind: str, name, args, before: int, after: int, rev: int) -> list[dict]:
    did = f"forged-{kind}"
    return [
        {
            "session": sid, "kind": kind, "name": name, "args": args, "verdict": "allow",
            "version_before": before, "version_after": after, "writes": True, "rev_after": rev,
            "decision_id": did, "quarantine": None, "commit": True, "time": 0.0,
        },
        {"session": sid, "kind": "outcome", "of": did, "commit": True, "verdict": "allow",
         "rev_after": rev, "version_after": after, "time": 0.0},
    ]  # fmt: skip


def test_appended_records_cannot_lift_a_quarantine_or_approve(email, tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    audit = tmp_path / "a.jsonl"
    guard = Guard.load(email, store=db, audit=str(audit))
    s = guard.session("s")
    s.observe("user_opens_session")
    s.propose("draft")
    assert s.propose("send", {"external": True}).verdict == "escalate"
    q = guard.session("q")
    assert q.observe("user_closes_session").verdict == "quarantine"  # impossible: never opened
    guard.close()
    rev_s = open_store(db).get("s").rev  # type: ignore[union-attr]
    rev_q = open_store(db).get("q").rev  # type: ignore[union-attr]
    for r in _forge("q", "release", None, None, 0, 1, rev_q + 1):
        _append_unkeyed(audit, r)
    for r in _forge("s", "approve", "send", {"external": True}, 2, 3, rev_s + 1):
        _append_unkeyed(audit, r)
    again = Guard.load(email, store=db, audit=str(audit))
    assert again.session("q").state()["quarantine"] is not None  # still quarantined
    state = again.session("s").state()
    assert state["state"]["sends"] == 0  # the escalated send was not committed
    assert state["quarantine"] == (
        "integrity failure: the audit log holds a change the store lacks"
        " (an unkeyed log is not re-applied)"
    )


@pytest.mark.parametrize("copy_key", [False, True])
def test_a_keyed_chain_refuses_an_appended_record(email, tmp_path, copy_key):
    secret = write_secret(tmp_path / "guard.secret")
    db = f"sqlite:///{tmp_path / 's.db'}"
    audit = tmp_path / "a.jsonl"
    guard = Guard.load(email, store=db, audit=str(audit), secret=secret)
    guard.session("q").observe("user_closes_session")
    guard.close()
    key_id = next(read_records(str(audit)))["key"]
    for r in _forge("q", "release", None, None, 0, 1, 2):
        _append_unkeyed(audit, {**r, "key": key_id} if copy_key else r)
    from verifier.guard import GuardError

    problem = "does not match its hash (edited)" if copy_key else "is not keyed with the secret"
    with pytest.raises(GuardError, match=rf"record 3 {re.escape(problem)}"):
        Guard.load(email, store=db, audit=str(audit), secret=secret)


def test_a_keyed_log_redoes_only_admissible_steps_the_store_lost(counter, tmp_path):
    secret = write_secret(tmp_path / "guard.secret")
    db = tmp_path / "s.db"
    audit = tmp_path / "a.jsonl"
    guard = Guard.load(counter, store=f"sqlite:///{db}", audit=str(audit), secret=secret)
    s = guard.session("x")
    s.propose("inc", {})
    guard.close()
    snapshot = db.read_bytes()  # the store as it was before the next two steps
    guard = Guard.load(counter, store=f"sqlite:///{db}", audit=str(audit), secret=secret)
    guard.session("x").propose("inc", {})
    guard.session("x").propose("inc", {})
    guard.close()
    for extra in ("-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)
    db.write_bytes(snapshot)  # the store lost the last writes (restored from a backup)
    again = Guard.load(counter, store=f"sqlite:///{db}", audit=str(audit), secret=secret)
    state = again.session("x").state()
    assert (state["version"], state["quarantine"]) == (3, None)  # both lost steps redone
    records = list(read_records(str(audit)))
    assert [r["reason"] for r in records if r.get("kind") == "redo"] == [
        "the store lacked a committed change; re-applied from the keyed log"
    ] * 2


def _append_keyed(audit: Path, secret: str, fields: dict) -> None:
    """What a holder of the secret could append (recovery must still re-check it)."""
    from verifier.guard.chain import Keying
    from verifier.guard.secret import load_secret

    records = list(read_records(str(audit)))
    record = dict(fields, seq=len(records) + 1, prev=records[-1]["hash"])
    line = Keying.of(load_secret(secret)).seal(record)
    with open(audit, "ab") as fh:
        fh.write(line)


@pytest.mark.parametrize("with_escalation", [False, True])
def test_recovery_re_applies_an_approval_only_with_its_escalation(email, tmp_path, with_escalation):
    from verifier.guard.secret import load_secret
    from verifier.guard.store import Record
    from verifier.guard.store.base import record_digest

    secret = write_secret(tmp_path / "guard.secret")
    db = f"sqlite:///{tmp_path / 's.db'}"
    audit = tmp_path / "a.jsonl"
    guard = Guard.load(email, store=db, audit=str(audit), secret=secret)
    s = guard.session("s")
    s.observe("user_opens_session")
    s.propose("draft")
    from verifier.guard.store import IntegrityError

    with pytest.raises(IntegrityError):
        open_store(db).get("s")  # keyed records do not verify without the key...
    store = open_store(db)
    store.key = load_secret(secret).derive("store")
    rec = store.get("s")  # ...and do with it
    entry = guard.program.by_name("send", {"external": True})
    new = Record(rec.version + 1, entry.fire(rec.state), rec.rev + 1, None, 0, 0, rec.program)
    mac = guard.ledger.redaction.entry_fields(entry)["args_hmac"]
    guard.close()
    common = {"session": "s", "name": "send", "args": {"external": True}, "args_hmac": mac}
    if with_escalation:  # the proposal escalates, an operator grants the approval
        _append_keyed(audit, secret, {
            **common, "kind": "action", "verdict": "escalate", "version_before": rec.version,
            "version_after": rec.version, "writes": False, "decision_id": "e-1",
            "approval": "ap-1",
        })  # fmt: skip
        _append_keyed(audit, secret, {
            **common, "kind": "approve", "verdict": "allow", "version_before": rec.version,
            "version_after": rec.version, "writes": False, "decision_id": "g-1",
            "approval": "ap-1", "approver": "alice",
        })  # fmt: skip
    _append_keyed(audit, secret, {  # the retry that spends the approval commits
        **common, "kind": "action", "verdict": "allow", "version_before": rec.version,
        "version_after": new.version, "writes": True, "decision_id": "a-1", "quarantine": None,
        "rev_after": new.rev, "window": 0, "seen": 0, "record": record_digest("s", new, store.key),
        "approval": "ap-1",
    })  # fmt: skip
    _append_keyed(audit, secret, {"session": "s", "kind": "outcome", "of": "a-1", "commit": True})
    from verifier.guard.audit import write_head

    write_head(str(audit), load_secret(secret))  # as if the guard had written them
    again = Guard.load(email, store=db, audit=str(audit), secret=secret)
    state = again.session("s").state()
    if with_escalation:
        assert (state["state"]["sends"], state["quarantine"]) == (1, None)
    else:
        assert state["state"]["sends"] == 0
        assert state["quarantine"] == (
            "integrity failure: the audit log holds a change the store lacks"
            " (it does not re-derive from the stored state)"
        )


# ---- item 4: one shared store, one log per host


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_restarting_one_host_keeps_the_sessions_another_host_advanced(
    kind, counter, tmp_path, request
):
    store = (
        f"sqlite:///{tmp_path / 's.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("redis_clean")
    )
    a = Guard.load(counter, store=store, audit=str(tmp_path / "a.jsonl"))
    b = Guard.load(counter, store=store, audit=str(tmp_path / "b.jsonl"))
    sessions = [f"s{i}" for i in range(20)]
    for sid in sessions:
        assert a.session(sid).propose("inc", {}).verdict == "allow"
        assert b.session(sid).propose("inc", {}).verdict == "allow"
    a.close()
    a = Guard.load(counter, store=store, audit=str(tmp_path / "a.jsonl"))  # host A restarts
    for sid in sessions:
        state = a.session(sid).state()
        assert (state["version"], state["quarantine"]) == (2, None)


# ---- item 5: an observed event is applied or the session quarantined, never dropped


class Counting:
    """A store that counts lost compare-and-sets (how much contention there was)."""

    def __init__(self, real) -> None:
        self.real, self.lost = real, 0
        self.persistent, self.url = real.persistent, real.url

    def __getattr__(self, name):
        return getattr(self.real, name)

    def get(self, sid):
        rec = self.real.get(sid)
        time.sleep(0.0003)  # widen the read-decide-write window so that writers collide
        return rec

    def cas(self, sid, rev, record):
        landed = self.real.cas(sid, rev, record)
        self.lost += not landed
        return landed


def _observe(artifact: str, store: str, count: int, start: Any = None) -> tuple[int, int, int]:
    """Observe `tick` `count` times; (applied, quarantined, compare-and-sets lost).

    `start` is a barrier every worker waits at once its guard is loaded, so that the workers
    race even on a loaded machine where they would otherwise start one after another.
    """
    counting = Counting(open_store(store))
    guard = Guard.load(artifact, store=counting)  # type: ignore[arg-type]
    s = guard.session("shared")
    if start is not None:
        start.wait()
    applied = quarantined = 0
    for _ in range(count):
        d = s.observe("tick", {})
        applied += d.verdict == "allow"
        quarantined += d.verdict == "quarantine"
    guard.close()
    return applied, quarantined, counting.lost


def _store(kind: str, tmp_path: Path, request) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}?synchronous=normal"
    return str(request.getfixturevalue("redis_clean"))


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
@pytest.mark.parametrize("how", ["threads", "processes"])
def test_events_applied_equal_events_observed_under_contention(kind, how, ticks, tmp_path, request):
    store = _store(kind, tmp_path, request)
    workers, each = (6, 80) if how == "threads" else (4, 100)
    if how == "threads":  # one Guard per thread
        results: list[tuple[int, int, int]] = []
        barrier = threading.Barrier(workers)
        threads = [
            threading.Thread(target=lambda: results.append(_observe(ticks, store, each, barrier)))
            for _ in range(workers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager, context.Pool(workers) as pool:
            barrier = manager.Barrier(workers)
            results = pool.starmap(_observe, [(ticks, store, each, barrier)] * workers)
    applied = sum(a for a, _, _ in results)
    lost = sum(lost for _, _, lost in results)
    observed = workers * each
    state = Guard.load(ticks, store=store).session("shared").state()
    print(
        f"{kind}/{how}: observed {observed}, applied {applied}, n = {state['state']['n']},"
        f" compare-and-sets lost {lost}"
    )
    assert lost > 0  # there was contention
    assert sum(q for _, q, _ in results) == 0
    assert applied == observed == state["state"]["n"] == state["version"]


# ---- item 18: old rows replayed or rows deleted while the guard runs


def _row(db: Path, sid: str) -> str:
    with sqlite3.connect(db) as c:
        return str(c.execute("SELECT record FROM sessions WHERE id = ?", (sid,)).fetchone()[0])


def _put_row(db: Path, sid: str, text: str | None) -> None:
    c = sqlite3.connect(db)
    if text is None:
        c.execute("DELETE FROM sessions WHERE id = ?", (sid,))
    else:
        rev = json.loads(text)["r"][3]
        c.execute("UPDATE sessions SET record = ?, rev = ? WHERE id = ?", (text, rev, sid))
    c.commit()
    c.close()


def test_a_replayed_old_row_does_not_restart_a_budget(counter, tmp_path):
    db = tmp_path / "s.db"
    guard = Guard.load(counter, store=f"sqlite:///{db}")
    s = guard.session("x")
    s.propose("inc", {})
    old = _row(db, "x")
    s.propose("inc", {})
    s.propose("inc", {})
    _put_row(db, "x", old)  # an old copy of the row, digest and all
    d = s.propose("inc", {})
    assert (d.verdict, d.reason) == (
        "quarantine",
        "integrity failure: the stored record of session `x` is older than one this guard"
        " has seen (revision 1 < 3): a replayed or restored row",
    )


def test_a_deleted_row_does_not_restart_a_budget(counter, tmp_path):
    db = tmp_path / "s.db"
    audit = tmp_path / "a.jsonl"
    guard = Guard.load(counter, store=f"sqlite:///{db}", audit=str(audit))
    s = guard.session("x")
    s.propose("inc", {})
    _put_row(db, "x", None)
    d = s.propose("inc", {})
    assert (d.verdict, d.reason) == (
        "quarantine",
        "integrity failure: the stored record of session `x` was deleted",
    )
    assert s.state()["quarantine"] == d.reason  # it is back, quarantined
    guard.close()
    again = Guard.load(counter, store=f"sqlite:///{db}", audit=str(audit))  # and at restart
    state = again.session("x").state()
    assert state["quarantine"] == "integrity failure: the stored record of session `x` was deleted"
    _put_row(db, "x", None)  # deleted again, then the guard restarts
    again.close()
    again = Guard.load(counter, store=f"sqlite:///{db}", audit=str(audit))
    state = again.session("x").state()
    assert state["quarantine"] == "integrity failure: the stored record of session `x` was deleted"
    assert again.release("x", "root", reset=True).verdict == "allow"  # the administrator's way
    assert again.session("x").propose("inc", {}).verdict == "allow"


def test_a_keyed_digest_refuses_a_recomputed_one(counter, tmp_path):
    from verifier.guard.store import Record
    from verifier.guard.store.base import encode_record

    secret = write_secret(tmp_path / "guard.secret")
    db = tmp_path / "s.db"
    guard = Guard.load(counter, store=f"sqlite:///{db}", secret=secret)
    s = guard.session("x")
    s.propose("inc", {})
    forged = encode_record("x", Record(1, (0,), 1, program=guard.program_id))  # unkeyed digest
    _put_row(db, "x", forged)
    d = s.propose("inc", {})
    assert (d.verdict, d.reason) == (
        "quarantine",
        "integrity failure: the stored record of session `x` does not match its digest",
    )
