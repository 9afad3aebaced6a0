"""Attacks on the audit log and its secret: lost records, broken chains, leaks (issue 9)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.guard_support import COUNTER, ROOT, write_artifact, write_secret
from verifier.cli import main
from verifier.guard import AuditLog, Guard, GuardError
from verifier.guard.audit import read_records
from verifier.guard.secret import SecretError, load_secret
from verifier.guard.store import open_store

PIN = ROOT / "tests" / "data" / "guard" / "pin.cap"


@pytest.fixture(scope="module")
def counter(tmp_path_factory) -> str:
    return str(write_artifact(COUNTER, tmp_path_factory.mktemp("c") / "counter.json"))


@pytest.fixture(scope="module")
def pin(tmp_path_factory) -> str:
    return str(write_artifact(PIN, tmp_path_factory.mktemp("p") / "pin.json"))


def _running(counter: str, tmp_path: Path, **kw):
    log = tmp_path / "a.jsonl"
    guard = Guard.load(counter, store=f"sqlite:///{tmp_path / 's.db'}", audit=str(log), **kw)
    s = guard.session("x")
    assert s.propose("inc", {}).verdict == "allow"
    assert s.propose("inc", {}).verdict == "allow"
    return guard, s, log


def _stopped(d, problem: str) -> None:
    assert d.verdict == "deny"
    assert d.reason.startswith("audit failure: ") and problem in d.reason, d.reason
    assert "the guard stops deciding" in d.reason


# ---- item 7: records lost while decisions continue


def test_an_unlinked_log_stops_the_guard(counter, tmp_path):
    guard, s, log = _running(counter, tmp_path)
    log.unlink()
    _stopped(s.propose("inc", {}), "was removed or replaced")
    assert open_store(guard.store.url).get("x").version == 2  # type: ignore[union-attr]


def test_a_replaced_log_stops_the_guard(counter, tmp_path):
    _guard, s, log = _running(counter, tmp_path)
    other = tmp_path / "other.jsonl"
    other.write_bytes(b"")
    os.replace(other, log)
    _stopped(s.propose("inc", {}), "was removed or replaced")


@pytest.mark.parametrize("cut", ["all", "tail"])
def test_a_truncated_log_stops_the_guard(counter, tmp_path, cut):
    _guard, s, log = _running(counter, tmp_path)
    data = log.read_bytes()
    keep = 0 if cut == "all" else data.rindex(b"\n", 0, len(data) - 1) + 1
    with open(log, "r+b") as fh:
        fh.truncate(keep)
    _stopped(s.propose("inc", {}), "was truncated")
    assert s.propose("inc", {}).verdict == "deny"  # and it stays stopped


@pytest.mark.parametrize("cut", ["all", "tail"])
def test_a_log_truncated_while_stopped_is_refused_at_load(counter, tmp_path, cut):
    guard, _s, log = _running(counter, tmp_path)
    guard.close()
    data = log.read_bytes()
    keep = 0 if cut == "all" else data.rindex(b"\n", 0, len(data) - 1) + 1
    log.write_bytes(data[:keep])
    with pytest.raises(GuardError, match="ends before the head the guard last wrote"):
        Guard.load(counter, store=f"sqlite:///{tmp_path / 's.db'}", audit=str(log))
    out = CliRunner().invoke(main, ["audit", "verify", str(log)])  # offline, too
    assert out.exit_code == 1
    assert out.output == (
        f"{log}: the audit log `{log}` ends before the head the guard last wrote (record 4):"
        " its tail was cut or replaced\n"
    )


def test_an_audit_path_that_is_not_a_regular_file_is_refused(counter, tmp_path):
    link = tmp_path / "a.jsonl"
    link.symlink_to("/dev/null")
    with pytest.raises(GuardError, match="is not a regular file"):
        Guard.load(counter, audit=str(link))


# ---- item 8: a broken log stops the guard; it never quarantines every session


def test_a_bad_line_stops_deciding_without_quarantining_sessions(counter, tmp_path):
    guard, s, log = _running(counter, tmp_path)
    good = log.read_bytes()
    with open(log, "ab") as fh:
        fh.write(b"not a record\n")
    _stopped(s.propose("inc", {}), "record 5 is not a JSON record")
    _stopped(guard.session("y").propose("inc", {}), "record 5 is not a JSON record")
    assert open_store(guard.store.url).get("x").quarantine is None  # type: ignore[union-attr]
    guard.close()
    with pytest.raises(GuardError, match="record 5 is not a JSON record"):
        Guard.load(counter, store=f"sqlite:///{tmp_path / 's.db'}", audit=str(log))
    log.write_bytes(good)  # the operator removes the line
    again = Guard.load(counter, store=f"sqlite:///{tmp_path / 's.db'}", audit=str(log))
    assert again.session("x").propose("inc", {}).verdict == "allow"


def test_an_appended_record_with_a_wrong_prev_is_not_chained_onto(counter, tmp_path):
    from verifier.guard.audit import record_hash

    _guard, s, log = _running(counter, tmp_path)
    n = len(list(read_records(str(log))))
    fake = {"seq": n + 1, "prev": "0" * 64, "session": "x", "kind": "note"}
    fake["hash"] = record_hash(fake)
    with open(log, "a") as fh:
        fh.write(json.dumps(fake) + "\n")
    _stopped(s.propose("inc", {}), f"record {n + 1} does not follow the previous record")


def test_an_event_while_the_log_is_broken_quarantines_only_its_session(tmp_path):
    artifact = str(write_artifact(ROOT / "models" / "email_assistant.cap", tmp_path / "e.json"))
    log = tmp_path / "a.jsonl"
    db = f"sqlite:///{tmp_path / 's.db'}"
    guard = Guard.load(artifact, store=db, audit=str(log))
    guard.session("e").observe("user_opens_session")
    guard.session("f").observe("user_opens_session")
    log.unlink()
    d = guard.session("e").observe("user_closes_session")
    assert d.verdict == "quarantine" and "the event could not be recorded" in d.reason
    assert open_store(db).get("e").quarantine == d.reason  # type: ignore[union-attr]
    assert open_store(db).get("f").quarantine is None  # type: ignore[union-attr]


# ---- item 13: a redacted log leaks nothing an attacker can use


def test_redact_needs_a_secret(pin, tmp_path):
    with pytest.raises(GuardError, match="`redact=True` needs a secret"):
        Guard.load(pin, audit=AuditLog(str(tmp_path / "a.jsonl"), redact=True))


OPAQUE = {"args_hmac", "prev", "hash", "artifact", "key", "decision_id", "record", "time"}


def readable_fields(log: Path) -> str:
    """Every field of the log's records except digests, ids and the clock, which are random
    hex or digits and may hold any short number by chance."""
    records = read_records(str(log))
    return "\n".join(json.dumps(v) for r in records for k, v in r.items() if k not in OPAQUE)


def test_a_redacted_log_hides_values_in_reasons_names_and_hashes(pin, tmp_path):
    secret = write_secret(tmp_path / "guard.secret")
    log = tmp_path / "a.jsonl"
    guard = Guard.load(pin, audit=AuditLog(str(log), redact=True), secret=secret)
    s = guard.session("s")
    assert s.propose("check_pin", {"pin": 4711}).verdict == "allow"
    d = s.propose("check_pin", {"pin": 47110})  # out of domain: the reason names the value
    assert d.verdict == "deny" and "47110" in d.reason  # the caller sees its own value...
    s.propose("pin=4711", {})  # a value smuggled into the name
    records = list(read_records(str(log)))
    assert "4711" not in readable_fields(log)  # ...the log does not
    assert "args" not in records[0] and "args_sha256" not in records[0]
    hashes = {r["args_hmac"] for r in records if "args_hmac" in r}
    for guess in range(10_000):  # the unkeyed brute force finds nothing
        plain = json.dumps({"pin": guess}, sort_keys=True, separators=(",", ":"))
        assert hashlib.sha256(plain.encode()).hexdigest() not in hashes
    assert [r.get("name") for r in records if r.get("kind") == "action"][-1] == "<redacted>"
    assert [r.get("reason") for r in records if r.get("kind") == "action"][1] == (
        "the arguments are invalid (redacted)"
    )


# ---- the secret


def test_a_secret_is_validated_strictly(tmp_path):
    short = tmp_path / "short.secret"
    short.write_text("ab" * 8 + "\n")
    short.chmod(0o600)
    with pytest.raises(SecretError, match="must hold 64 hexadecimal digits"):
        load_secret(str(short))
    with pytest.raises(SecretError, match="cannot read the secret"):
        load_secret(str(tmp_path / "missing.secret"))
    loose = write_secret(tmp_path / "loose.secret")
    Path(loose).chmod(0o644)
    with pytest.warns(UserWarning, match="is readable by other users"):
        load_secret(loose)


def test_keygen_secret_and_audit_verify_with_it(counter, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    out = runner.invoke(main, ["keygen", "--secret", "guard"])
    assert out.exit_code == 0, out.output
    assert oct(os.stat("guard.secret").st_mode & 0o777) == "0o600"
    guard, _s, log = _running(counter, tmp_path, secret="guard.secret")
    guard.close()
    ok = runner.invoke(main, ["audit", "verify", str(log), "--secret", "guard.secret"])
    assert ok.exit_code == 0 and ok.output.startswith("ok: 4 records, head "), ok.output
    unkeyed = runner.invoke(main, ["audit", "verify", str(log)])
    assert unkeyed.exit_code == 1
    assert "record 1 is keyed: pass --secret" in unkeyed.output
    other = write_secret(tmp_path / "other.secret")
    wrong = runner.invoke(main, ["audit", "verify", str(log), "--secret", other])
    assert wrong.exit_code == 1
    assert "record 1 is keyed with another secret" in wrong.output


def test_a_log_without_its_head_file_needs_an_operator(counter, tmp_path):
    guard, _s, log = _running(counter, tmp_path)
    guard.close()
    Path(f"{log}.head").unlink()
    store = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(GuardError, match=r"has no head file .*--write-head"):
        Guard.load(counter, store=store, audit=str(log))
    out = CliRunner().invoke(main, ["audit", "verify", str(log), "--write-head"])
    assert out.exit_code == 0, out.output
    again = Guard.load(counter, store=store, audit=str(log))
    assert again.session("x").propose("inc", {}).verdict == "allow"


def test_a_forged_head_file_is_refused_with_a_secret(counter, tmp_path):
    from verifier.guard.head import Head, encode_slot

    secret = write_secret(tmp_path / "guard.secret")
    guard, _s, log = _running(counter, tmp_path, secret=secret)
    guard.close()
    data = log.read_bytes()
    cut = data[: data.rindex(b"\n", 0, len(data) - 1) + 1]
    log.write_bytes(cut)  # cut the tail and rewrite the head to match, without the secret
    last = json.loads(cut.splitlines()[-1])
    Path(f"{log}.head").write_bytes(encode_slot(Head(last["seq"], last["hash"]), None) * 2)
    with pytest.raises(GuardError, match=r"the head file `.*` does not verify"):
        Guard.load(counter, store=f"sqlite:///{tmp_path / 's.db'}", audit=str(log), secret=secret)


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("timeout=0", "must be seconds in (0, 3600]"),
        ("timeout=nan", "must be seconds in (0, 3600]"),
        ("timeout=soon", "must be seconds in (0, 3600]"),
        ("busy=1", "unknown option `busy`"),
    ],
)
def test_sqlite_options_are_validated(tmp_path, query, problem):
    from verifier.guard.store import StoreError

    with pytest.raises(StoreError, match=re.escape(problem)):
        open_store(f"sqlite:///{tmp_path / 's.db'}?{query}")


def test_a_redacted_fail_closed_record_keeps_no_request_text(pin, tmp_path):
    secret = write_secret(tmp_path / "guard.secret")
    log = tmp_path / "a.jsonl"
    guard = Guard.load(pin, audit=AuditLog(str(log), redact=True), secret=secret)
    d = guard.ledger.failed("s", "action", "pin=4711", {}, "deny", "internal error: bad `4711`")
    assert d.reason == "internal error: bad `4711`"
    assert "4711" not in readable_fields(log)
    last = list(read_records(str(log)))[-1]
    assert (last["name"], last["reason"]) == ("<redacted>", "internal error (redacted)")


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\xff" * 320,
        b'{"seq":1e400,"hash":"x","mac":"y"}',
        b'{"seq":-1,"hash":"x"}',
        b"[" * 300,
    ],
)
def test_a_hostile_head_file_is_refused(counter, tmp_path, garbage):
    guard, _s, log = _running(counter, tmp_path)
    guard.close()
    Path(f"{log}.head").write_bytes(garbage)
    with pytest.raises(GuardError, match=r"the head file `.*` does not verify"):
        Guard.load(counter, store=f"sqlite:///{tmp_path / 's.db'}", audit=str(log))


def test_lone_surrogates_in_a_request_are_recorded_and_verify(counter, tmp_path):
    from verifier.guard import verify_file

    _guard, s, log = _running(counter, tmp_path)
    assert s.propose("\ud800", {}).reason == "unknown action `\ud800`"
    assert s.propose("inc", {"a\udc00": "\ud800"}).verdict == "deny"
    assert s.propose("inc", {}).verdict == "allow"  # the log was not broken by them
    report = verify_file(str(log))
    assert report.ok and report.records == 8
    names = [r.get("name") for r in read_records(str(log)) if r.get("kind") == "action"]
    assert names[2:4] == ["\ud800", "inc"]
