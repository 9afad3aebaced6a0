"""Stores: one semantics for memory, SQLite and a real Redis; races, processes, kill -9, tamper."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.guard_support import (
    COUNTER,
    ROOT,
    committed,
    drive_counter,
    redis_server,
    write_artifact,
)
from verifier.guard import Guard, verify_file
from verifier.guard.audit import read_records
from verifier.guard.store import ApprovalRecord, IntegrityError, Record, open_store


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def counter(tmp_path_factory) -> str:
    return str(write_artifact(COUNTER, tmp_path_factory.mktemp("c") / "counter.json"))


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_url(request, tmp_path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = request.getfixturevalue("redis_url")
    import redis

    redis.Redis.from_url(url).flushdb()
    return url


def test_compare_and_set_and_approvals(store_url):
    store = open_store(store_url)
    first = Record(0, (1, 2), 0)
    assert store.create("s", first) is True
    assert store.create("s", Record(5, (0, 0), 9)) is False
    assert store.get("s") == first
    assert store.cas("s", 1, Record(1, (2, 2), 1)) is False
    assert store.cas("s", 0, Record(1, (2, 2), 1)) is True
    assert store.cas("s", 0, Record(1, (3, 3), 1)) is False  # the same expectation twice
    assert store.get("s") == Record(1, (2, 2), 1)
    assert store.get("nobody") is None
    now = time.time()
    pending = ApprovalRecord(
        "ap-1", "s", 1, "inc", {}, "ab" * 32, "p", "pending", now, now + 60, "d-1"
    )
    store.put_approval(pending)
    store.put_approval(pending._replace(version=7))  # put never overwrites
    assert store.get_approval("ap-1") == pending
    assert store.approvals("s") == [pending] == store.approvals()
    assert store.approvals("t") == []
    approved = pending._replace(status="approved", approver="alice")
    assert store.replace_approval(pending, approved) is True
    assert store.replace_approval(pending, approved) is False  # exactly one operator wins
    assert store.get_approval("ap-1") == approved
    assert store.replace_approval(pending, None) is False
    assert store.replace_approval(approved, None) is True
    assert store.get_approval("ap-1") is None
    store.close()


class RacingStore:
    """Wraps a store so that, just before this guard's first compare-and-set, another guard
    commits from the same state: the classic check-then-act race."""

    def __init__(self, real, rival) -> None:
        self.real, self.rival, self.fired = real, rival, False
        self.persistent, self.url = real.persistent, real.url

    def __getattr__(self, name):
        return getattr(self.real, name)

    def cas(self, sid, rev, record):
        if not self.fired:
            self.fired = True
            assert self.rival.propose("inc", {}).verdict == "allow"
        return self.real.cas(sid, rev, record)


def test_of_two_proposals_from_one_state_exactly_one_advances(store_url, counter):
    real = open_store(store_url)  # one object, so the memory store is shared too
    rival = Guard.load(counter, store=real).session("r")
    racing = RacingStore(real, rival)
    loser = Guard.load(counter, store=racing).session("r")  # type: ignore[arg-type]
    d = loser.propose("inc", {})
    assert (d.verdict, d.reason) == ("deny", "the session advanced concurrently from version 0")
    assert loser.state()["state"] == {"n": 1}
    assert loser.state()["version"] == 1


def test_an_approval_commits_only_at_its_version_in_every_store(store_url, tmp_path):
    artifact = str(write_artifact(ROOT / "models" / "email_assistant.cap", tmp_path / "e.json"))
    shared = open_store(store_url)
    a = Guard.load(artifact, store=shared).session("e")
    b = Guard.load(artifact, store=shared).session("e")  # another guard on the same store
    a.observe("user_opens_session")
    a.propose("draft")
    d = a.propose("send", {"external": True})
    assert d.verdict == "escalate"
    operator_b = Guard.load(artifact, store=shared).approvals  # the operator's own guard
    assert operator_b.approve(d.approval_id, "alice").verdict == "allow"
    assert operator_b.approve(d.approval_id, "bob").reason == (
        f"approval `{d.approval_id}` was already approved by alice"
    )
    assert a.state()["state"]["sends"] == 0  # an approval alone moves nothing
    assert b.propose("send", {"external": True}).verdict == "allow"  # the retry commits once
    assert a.state()["state"]["sends"] == 1
    assert a.propose("draft").verdict == "allow"
    again = a.propose("send", {"external": True})  # a new proposal: a new approval
    assert again.verdict == "escalate" and again.approval_id != d.approval_id


def _processes(counter: str, store: str, audit: str | None, workers: int, each: int) -> int:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        args = [(counter, store, audit, "shared", each)] * workers
        return sum(pool.starmap(drive_counter, args))


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
@pytest.mark.parametrize("with_audit", [False, True])
def test_processes_share_a_session_without_lost_updates(
    kind, with_audit, counter, tmp_path, request
):
    if kind == "sqlite":
        store = f"sqlite:///{tmp_path / 'shared.db'}?synchronous=normal"
    else:
        store = request.getfixturevalue("redis_url")
        import redis

        redis.Redis.from_url(store).flushdb()
    audit = str(tmp_path / "audit.jsonl") if with_audit else None
    allowed = _processes(counter, store, audit, workers=4, each=40)
    guard = Guard.load(counter, store=store)
    state = guard.session("shared").state()
    assert state["version"] == allowed == state["state"]["n"]
    if not with_audit:
        assert allowed >= 40
        return
    assert allowed == 160  # the shared log's lock serializes decide-append-commit
    report = verify_file(audit)
    assert report.ok and report.records == 320  # each step: its record, then its outcome
    steps = committed(list(read_records(audit)), "shared")
    assert sorted(r["version_before"] for r in steps) == list(range(160))


def _spawn_forever(counter: str, store: str, audit: str, crash_after: int | None):
    code = (
        "import sys; from tests.guard_support import drive_forever; "
        "drive_forever(sys.argv[1], sys.argv[2], sys.argv[3], "
        "int(sys.argv[4]) if sys.argv[4] != '-' else None)"
    )
    cmd = [sys.executable, "-c", code, counter, store, audit, str(crash_after or "-")]
    return subprocess.Popen(cmd, cwd=ROOT)


def _assert_consistent(counter: str, store: str, audit: str) -> int:
    guard = Guard.load(counter, store=store, audit=audit)  # repairs, then verifies
    report = verify_file(audit)
    assert report.ok, report
    steps = committed(list(read_records(audit)), "crash")
    state = guard.session("crash").state()
    assert state["version"] == len(steps) == state["state"]["n"]
    assert sorted(r["version_before"] for r in steps) == list(range(len(steps)))
    guard.close()
    return len(steps)


def test_kill_9_mid_stream_loses_nothing(counter, tmp_path):
    store = f"sqlite:///{tmp_path / 'crash.db'}"
    audit = str(tmp_path / "audit.jsonl")
    previous = 0
    for _ in range(3):
        lines = Path(audit).read_bytes().count(b"\n") if os.path.exists(audit) else 0
        proc = _spawn_forever(counter, store, audit, None)
        deadline = time.time() + 60
        while time.time() < deadline:
            if os.path.exists(audit) and Path(audit).read_bytes().count(b"\n") > lines + 30:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        now = _assert_consistent(counter, store, audit)
        assert now > previous
        previous = now


def test_a_crash_between_audit_and_commit_is_closed_not_applied(counter, tmp_path):
    store = f"sqlite:///{tmp_path / 'crash.db'}"
    audit = str(tmp_path / "audit.jsonl")
    proc = _spawn_forever(counter, store, audit, crash_after=7)
    assert proc.wait(timeout=60) == 9
    raw = Guard.load(counter, store=store).session("crash").state()
    assert raw["version"] == 6  # the 7th step is in the log but not in the store...
    # ...and the caller never heard `allow`: recovery closes it as not committed
    assert _assert_consistent(counter, store, audit) == 6
    last = list(read_records(audit))[-1]
    assert (last["kind"], last["commit"], last["reason"]) == (
        "outcome",
        False,
        "not committed: the guard stopped before the store write",
    )


def test_a_torn_audit_record_is_dropped_on_restart(counter, tmp_path):
    store = f"sqlite:///{tmp_path / 's.db'}"
    audit = tmp_path / "audit.jsonl"
    guard = Guard.load(counter, store=store, audit=str(audit))
    for _ in range(3):
        guard.session("crash").propose("inc", {})
    guard.close()
    with open(audit, "ab") as fh:
        fh.write(b'{"seq":4,"session":"crash","verdict":"al')  # died mid-write
    assert not verify_file(str(audit)).ok
    assert _assert_consistent(counter, store, str(audit)) == 3


def _edit_sqlite(path: Path, edit) -> None:
    db = sqlite3.connect(path)
    (text,) = db.execute("SELECT record FROM sessions WHERE id = 'x'").fetchone()
    db.execute("UPDATE sessions SET record = ? WHERE id = 'x'", (edit(json.loads(text)),))
    db.commit()
    db.close()


def test_tampered_stored_state_quarantines(counter, tmp_path):
    from verifier.guard.store.base import encode_record

    path = tmp_path / "s.db"
    store = f"sqlite:///{path}"
    guard = Guard.load(counter, store=store)
    assert guard.session("x").propose("inc", {}).verdict == "allow"

    def naive(data):  # edits the state but cannot fix the digest
        data["r"][2] = [4]
        return json.dumps(data)

    _edit_sqlite(path, naive)
    with pytest.raises(IntegrityError):
        open_store(store).get("x")
    d = guard.session("x").propose("inc", {})
    assert d.verdict == "quarantine"
    assert (
        d.reason == "integrity failure: the stored record of session `x` does not match its digest"
    )

    def forged(data):  # a consistent digest, but a state outside the declared domain
        return encode_record("x", Record(1, (99999,), 1, program=guard.program_id))

    _edit_sqlite(path, forged)
    d = guard.session("x").propose("inc", {})
    assert (d.verdict, d.reason) == (
        "quarantine",
        "integrity failure: the stored state is outside the declared domain",
    )
    assert guard.session("x").state()["quarantine"] == d.reason
    assert (
        guard.release("x", "root").reason == "the stored state does not verify; release with reset"
    )
    assert guard.release("x", "root", reset=True).verdict == "allow"
    assert guard.session("x").state()["state"] == {"n": 0}


def test_a_session_from_another_policy_is_quarantined(counter, tmp_path):
    variant = tmp_path / "variant.cap"
    variant.write_text(COUNTER.read_text().replace("5000", "4000"))
    other = str(write_artifact(variant, tmp_path / "variant.json"))
    store = f"sqlite:///{tmp_path / 's.db'}"
    old = Guard.load(counter, store=store)
    assert old.session("x").propose("inc", {}).verdict == "allow"
    new = Guard.load(other, store=store)  # same state layout, different program
    assert new.program_id != old.program_id
    d = new.session("x").propose("inc", {})
    assert (d.verdict, d.reason) == (
        "quarantine",
        "integrity failure: the session was created under another policy",
    )
    assert new.release("x", "root").reason == (
        "the session was created under another policy; release with reset"
    )
    assert new.release("x", "root", reset=True).verdict == "allow"
    assert new.session("x").propose("inc", {}).verdict == "allow"
    assert new.session("x").state()["state"] == {"n": 1}


def test_an_observation_that_loses_a_race_is_decided_again(store_url, counter):
    real = open_store(store_url)
    rival = Guard.load(counter, store=real).session("o")
    late = Guard.load(counter, store=RacingStore(real, rival)).session("o")  # type: ignore[arg-type]
    d = late.observe("reset_seen", {})  # possible at n == 0, but the rival made n == 1 first
    assert (d.verdict, d.reason) == (
        "quarantine",
        "impossible event: `reset_seen` requires `n == 0` (line 14)",
    )


def test_sqlite_urls_follow_the_sqlalchemy_convention(tmp_path, monkeypatch):
    from verifier.guard.store import StoreError
    from verifier.guard.store.sqlite import SQLiteStore

    monkeypatch.chdir(tmp_path)
    SQLiteStore.from_url("sqlite:///relative.db").close()
    assert (tmp_path / "relative.db").exists()
    SQLiteStore.from_url(f"sqlite:///{tmp_path}/absolute.db?synchronous=normal").close()
    assert (tmp_path / "absolute.db").exists()
    with pytest.raises(StoreError, match="names no file"):
        SQLiteStore.from_url("sqlite:///")
    with pytest.raises(StoreError, match="unknown synchronous mode `off`"):
        SQLiteStore.from_url("sqlite:///x.db?synchronous=off")
    with pytest.raises(StoreError, match="unknown store URL `postgres://x`"):
        open_store("postgres://x")
