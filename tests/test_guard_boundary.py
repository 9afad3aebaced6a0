"""The guard's API boundary: threads, session ids, options and request sizes (issue 9)."""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.guard_support import COUNTER, ROOT, redis_server, write_artifact
from verifier.guard import DenialLimit, Guard, GuardError, verify_file
from verifier.guard.audit import read_records

EMAIL = ROOT / "models" / "email_assistant.cap"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> str:
    return str(write_artifact(EMAIL, tmp_path_factory.mktemp("a") / "email.json"))


@pytest.fixture(scope="module")
def counter(tmp_path_factory) -> str:
    return str(write_artifact(COUNTER, tmp_path_factory.mktemp("c") / "counter.json"))


# ---- item 6: one Guard shared by threads


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.mark.parametrize("store", ["memory://", "sqlite", "redis"])
def test_threads_sharing_one_guard_keep_the_audit_chain(counter, tmp_path, store, request):
    url = f"sqlite:///{tmp_path / 's.db'}?synchronous=normal" if store == "sqlite" else store
    if store == "redis":
        url = request.getfixturevalue("redis_url")
    log = tmp_path / "a.jsonl"
    guard = Guard.load(counter, store=url, audit=str(log))
    threads, each = 8, 250 if store == "memory://" else 60
    seen: list[list[str]] = []

    def work() -> None:
        session = guard.session("shared")
        seen.append([session.propose("inc", {}).verdict for _ in range(each)])

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert Counter(v for vs in seen for v in vs) == {"allow": threads * each}
    assert guard.session("shared").state()["state"] == {"n": threads * each}
    guard.close()
    report = verify_file(str(log))
    records = 2 * threads * each  # every committed decision has its outcome record
    assert (report.ok, report.records) == (True, records)
    seqs = [r["seq"] for r in read_records(str(log))]
    assert seqs == list(range(1, records + 1))
    Guard.load(counter, store=url, audit=str(log)).close()  # starts again on the same log


def test_threads_on_an_unaudited_in_memory_guard_lose_no_update(counter):
    guard = Guard.load(counter)  # the lock-free fast path: the store's compare-and-set decides
    seen: list[list[str]] = []

    def work() -> None:
        session = guard.session("shared")
        seen.append([session.propose("inc", {}).reason or "allow" for _ in range(250)])

    workers = [threading.Thread(target=work) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    reasons = Counter(v for vs in seen for v in vs)
    allowed = reasons.pop("allow")
    assert all(r.startswith("the session advanced concurrently from version") for r in reasons)
    assert guard.session("shared").state()["state"] == {"n": allowed}
    assert guard.session("shared").state()["version"] == allowed


# ---- item 10: session identity


@pytest.mark.parametrize(
    "sid", ["dl-1 ", " dl-1", "DL-1", "dl\u200b-1", "dl-1\n", "dl\u00ad-1", "", "x" * 129]
)
def test_look_alike_session_ids_are_refused(artifact, sid):
    guard = Guard.load(artifact)
    with pytest.raises(GuardError, match="invalid session id"):
        guard.session(sid)
    d = guard.decide(sid, "action", "draft", {})
    assert d.verdict == "deny" and d.reason.startswith("invalid session id")


@pytest.mark.parametrize("sid", [2, 2.5, False, None, b"dl-1", ["dl-1"]])
def test_non_string_session_ids_are_refused(artifact, sid):
    guard = Guard.load(artifact)
    with pytest.raises(GuardError, match="invalid session id"):
        guard.session(sid)
    d = guard.decide(sid, "event", "user_opens_session", {})
    assert (d.verdict, d.version) == ("deny", -1)
    assert d.reason.startswith("invalid session id")


def test_a_quarantined_session_has_no_fresh_twin(artifact, tmp_path):
    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    session = guard.session("dl-1")
    session.observe("user_opens_session")
    assert session.observe("user_opens_session").verdict == "quarantine"
    for twin in ("dl-1 ", "DL-1", "dl-\u200b1", "dl-\uff11"):
        assert guard.decide(twin, "event", "user_opens_session", {}).verdict == "deny"
    records = list(read_records(str(log)))
    assert {r["session"] for r in records if r.get("writes")} == {"dl-1"}
    refused = [r for r in records if str(r.get("reason")).startswith("invalid session id")]
    assert len(refused) == 4 and all(r["writes"] is False for r in refused)


# ---- item 12: options


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shadow": "false"}, "option `shadow` must be true or false, not 'false'"),
        ({"shadow": 1}, "option `shadow` must be true or false, not 1"),
        ({"token_ttl": math.inf}, "option `token_ttl` must be a number of seconds"),
        ({"token_ttl": math.nan}, "option `token_ttl` must be a number of seconds"),
        ({"token_ttl": -1}, "option `token_ttl` must be a number of seconds"),
        ({"token_ttl": 0}, "option `token_ttl` must be a number of seconds"),
        ({"token_ttl": "300"}, "option `token_ttl` must be a number of seconds"),
        ({"token_ttl": True}, "option `token_ttl` must be a number of seconds"),
        ({"denial_limit": (3, 5)}, "option `denial_limit` must be a DenialLimit"),
        ({"clock": 5}, "option `clock` must be a function"),
        ({"shadw": True}, "unknown option `shadw`"),
    ],
)
def test_nonsense_options_refuse_to_start(artifact, options, message):
    with pytest.raises(GuardError) as info:
        Guard.load(artifact, **options)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("denials", "window", "message"),
    [
        (5, 0, "`DenialLimit(denials=5, window=0)`"),
        (20, 10, "`DenialLimit(denials=20, window=10)`"),
        (0, 10, "`DenialLimit(denials=0, window=10)`"),
        (True, 10, "`DenialLimit(denials=True, window=10)`"),
        (2.0, 10, "`DenialLimit(denials=2.0, window=10)`"),
        (2, 10**6, "`DenialLimit(denials=2, window=1000000)`"),
    ],
)
def test_a_denial_limit_that_can_never_fire_is_refused(denials, window, message):
    with pytest.raises(GuardError) as info:
        DenialLimit(denials, window)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///:memory:", "`sqlite:///:memory:` is not persistent"),
        ("sqlite://", "names no file"),
        ("sqlite:///x.db?synchronus=normal", "unknown parameter `synchronus`"),
        ("sqlite:///x.db?synchronous=normal&synchronous=full", "parameter `synchronous` twice"),
        ("sqlite:///x.db?synchronous=off", "unknown synchronous mode `off`"),
        ("memory://somewhere", "`memory://somewhere` takes no host, path or parameters"),
        ("memory://?x=1", "takes no host, path or parameters"),
        ("postgres://db/x", "unknown store URL `postgres://db/x`"),
        ("redis://localhost:1/0?foo=bar", "unknown parameter `foo`"),
        ("redis://localhost:notaport/0", "invalid port"),
        ("redis://localhost:1/zero", "database `zero`"),
        ("", "unknown store URL ``"),
    ],
)
def test_bad_store_urls_refuse_to_start(artifact, tmp_path, monkeypatch, url, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GuardError) as info:
        Guard.load(artifact, store=url)
    assert message in str(info.value)
    assert not (tmp_path / ":memory:").exists()


def test_a_store_that_is_not_a_store_is_refused(artifact):
    with pytest.raises(GuardError, match="option `store` must be a store URL or a Store"):
        Guard.load(artifact, store={"url": "memory://"})  # type: ignore[arg-type]
    with pytest.raises(GuardError, match="option `audit` must be a path or an AuditLog"):
        Guard.load(artifact, audit=3)  # type: ignore[arg-type]


# ---- item 14: request sizes


def _opened(guard: Guard, sid: str = "s"):
    session = guard.session(sid)
    assert session.observe("user_opens_session").verdict == "allow"
    return session


@pytest.mark.parametrize(
    ("name", "args", "reason"),
    [
        ("x" * 2_000_000, {}, "the action name is too long (2000000 characters, at most 128)"),
        ("read", {"label": "x" * 2_000_000}, "argument `label` is too long"),
        ("read", {f"k{i}": 1 for i in range(100_000)}, "too many arguments (100000, at most 64)"),
        ("read", {"k" * 1000: 1}, "an argument name is too long (1000 characters, at most 128)"),
        ("read", {"label": [[[[[[[[[["x"]]]]]]]]]]}, "argument `label` is nested too deeply"),
        ("read", {"label": list(range(100_000))}, "argument `label` is too large"),
        ("read", {1: "public"}, "argument names must be strings"),
    ],
)
def test_oversized_requests_are_denied_and_not_logged(artifact, tmp_path, name, args, reason):
    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    session = _opened(guard)
    d = session.propose(name, args)
    assert d.verdict == "deny"
    assert d.reason.startswith(reason)
    assert session.state()["version"] == 1
    assert log.stat().st_size < 4000
    last = json.loads(log.read_text().splitlines()[-1])
    assert (last["verdict"], last["writes"], last["reason"]) == ("deny", False, d.reason)


def test_oversized_requests_are_not_logged_after_quarantine(artifact, tmp_path):
    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    session = _opened(guard)
    assert session.observe("user_opens_session").verdict == "quarantine"
    d = session.propose("read", {"label": "x" * 2_000_000})
    assert d.verdict == "quarantine"
    e = session.observe("y" * 2_000_000, {})
    assert e.verdict == "quarantine"
    assert log.stat().st_size < 4000


def test_an_oversized_event_quarantines(artifact, tmp_path):
    guard = Guard.load(artifact)
    session = _opened(guard)
    d = session.observe("user_closes_session", {"x": "y" * 100_000})
    assert d.verdict == "quarantine"
    assert d.reason == "argument `x` is too long (100000 characters, at most 4096)"
    assert session.state()["quarantine"] == d.reason


# ---- any request: a clean decision, a bounded record


def _values(leaf_size: int):
    from hypothesis import strategies as st

    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(),
        st.text(max_size=leaf_size), st.binary(max_size=8),
    )  # fmt: skip
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=6)
        ),
        max_leaves=30,
    )


def test_any_request_gets_a_decision_and_a_bounded_record(artifact, tmp_path_factory):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    log = tmp_path_factory.mktemp("fuzz") / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    names = st.one_of(
        st.sampled_from(["read", "send", "draft", "user_opens_session"]), _values(9000)
    )
    sids = st.one_of(st.sampled_from(["s", "t"]), _values(200))

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        sid=sids,
        kind=st.sampled_from(["action", "event", "other"]),
        name=names,
        args=st.one_of(_values(9000), st.dictionaries(st.text(max_size=9), _values(9000))),
    )
    def check(sid, kind, name, args) -> None:  # fmt: skip
        before = log.stat().st_size if log.exists() else 0
        d = guard.decide(sid, kind, name, args)
        assert d.verdict in ("allow", "deny", "escalate", "quarantine")
        assert d.reason is None or len(d.reason) < 4096 + 600  # at most one capped string
        # one record: at most the capped request (16384 characters of up to 4 UTF-8 bytes)
        assert log.stat().st_size - before < 4 * 16384 + 4000

    check()
    assert verify_file(str(log)).ok


def test_request_limits_are_options_validated_like_the_others(artifact):
    from verifier.guard import RequestLimits

    with pytest.raises(GuardError, match=r"invalid `RequestLimits`: `name` must be an integer"):
        RequestLimits(name=0)
    with pytest.raises(GuardError, match=r"invalid `RequestLimits`: `string` must be"):
        RequestLimits(string=True)
    with pytest.raises(GuardError, match="option `limits` must be a RequestLimits"):
        Guard.load(artifact, limits={"name": 3})
    with pytest.raises(GuardError, match=r"`depth` must be an integer from 1 to 64, not 65"):
        RequestLimits(depth=65)  # deeper requests could not be written to the log and read back
    guard = Guard.load(artifact, limits=RequestLimits(name=20))
    session = _opened(guard)
    d = session.propose("y" * 21)
    assert (d.verdict, d.reason) == (
        "deny",
        "the action name is too long (21 characters, at most 20)",
    )


class Hostile(str):
    def __repr__(self) -> str:
        raise RuntimeError("repr bomb")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq bomb")

    __hash__ = str.__hash__


@pytest.mark.parametrize(
    ("sid", "kind", "name"),
    [
        (Hostile("s"), "action", "draft"),
        ("s", Hostile("action"), "draft"),
        (10**5000, "action", "draft"),
        ("s", "action", Hostile("draft")),
        ("s", "action", 10**5000),
    ],
    ids=["sid-repr", "kind-eq", "sid-huge-int", "name-repr", "name-huge-int"],
)
def test_hostile_objects_get_a_decision_not_an_exception(artifact, tmp_path, sid, kind, name):
    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    d = guard.decide(sid, kind, name, {})
    assert d.verdict in ("deny", "quarantine")
    assert verify_file(str(log)).ok


def test_the_deepest_allowed_request_is_logged_and_verifies(artifact, tmp_path):
    from verifier.guard import RequestLimits

    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log), limits=RequestLimits(depth=64, values=100))
    session = _opened(guard)
    deep: object = "x"
    for _ in range(63):
        deep = [deep]
    assert session.propose("read", {"label": deep}).verdict == "deny"  # not a label, but read
    guard.close()
    report = verify_file(str(log))
    assert report.ok, report.problem
