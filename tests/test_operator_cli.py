"""The operator's commands against a running guard's artifact, store and audit log."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tests.guard_support import ROOT, write_artifact
from verifier.cli import main
from verifier.guard import Guard, verify_file
from verifier.guard.audit import read_records

EMAIL = ROOT / "models" / "email_assistant.cap"
SEND = ("send", {"external": True})


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> str:
    return str(write_artifact(EMAIL, tmp_path_factory.mktemp("a") / "email.json"))


@pytest.fixture
def running(artifact, tmp_path):
    """A running guard (sqlite store, audit log) and the options naming its files."""
    store, log = f"sqlite:///{tmp_path / 'g.db'}", str(tmp_path / "audit.jsonl")
    guard = Guard.load(artifact, store=store, audit=log)
    yield guard, ["--artifact", artifact, "--store", store, "--audit", log]
    guard.close()


def drafting(guard: Guard, sid: str = "s"):
    session = guard.session(sid)
    assert session.observe("user_opens_session").verdict == "allow"
    assert session.propose("draft").verdict == "allow"
    return session


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_list_approve_then_the_retry_goes_through_exactly_once(running):
    guard, conn = running
    session = drafting(guard)
    d = session.propose(*SEND)
    listed = run("approvals", "list", *conn)
    assert listed.exit_code == 0
    assert re.fullmatch(
        rf"{d.approval_id}  session s  send\(external=true\)  at version 2  pending  "
        r"expires in \d+s\n",
        listed.output,
    )
    (row,) = [json.loads(line) for line in run("approvals", "list", *conn, "--format", "json")
              .output.splitlines()]  # fmt: skip
    assert (row["id"], row["status"], row["args"], row["expired"]) == (
        d.approval_id, "pending", {"external": True}, False,
    )  # fmt: skip
    ok = run("approve", d.approval_id, "--approver", "alice", *conn)
    assert (ok.exit_code, ok.output) == (0, f"approved {d.approval_id} (send in session s)\n")
    assert session.state()["state"]["sends"] == 0
    retries = [session.propose(*SEND) for _ in range(2)]
    assert [r.verdict for r in retries] == ["allow", "deny"]  # once; then no draft to send
    assert session.state()["state"]["sends"] == 1
    assert run("approvals", "list", *conn).output == "no approvals\n"
    guard.close()
    log = conn[-1]
    assert verify_file(log).ok
    decisions = [r for r in read_records(log) if r["kind"] != "outcome"]
    kinds = [(r["kind"], r["verdict"]) for r in decisions][-4:]
    assert kinds == [("action", "escalate"), ("approve", "allow"), ("action", "allow"),
                     ("action", "deny")]  # fmt: skip


def test_reject_and_refusals_exit_1_with_the_reason(running):
    guard, conn = running
    session = drafting(guard)
    d = session.propose(*SEND)
    empty = run("approve", d.approval_id, "--approver", "", *conn)
    assert empty.exit_code == 1
    assert empty.output.startswith("refused (deny): invalid approver ``: use 1 to 128 characters")
    rejected = run("reject", d.approval_id, "--approver", "bob", *conn)
    assert (rejected.exit_code, rejected.output) == (
        0, f"rejected {d.approval_id} (send in session s)\n",
    )  # fmt: skip
    again = run("approve", d.approval_id, "--approver", "alice", *conn)
    assert again.exit_code == 1
    assert again.output == (
        f"refused (deny): unknown approval `{d.approval_id}`: never issued, already decided "
        "or expired\n"
    )
    assert session.propose(*SEND).verdict == "escalate"


def test_release_lifts_a_quarantine_from_the_operator_side(running):
    guard, conn = running
    session = drafting(guard)
    pending = session.propose(*SEND).approval_id
    assert session.observe("user_opens_session").verdict == "quarantine"
    assert run("release", "s", "--admin", "", *conn).exit_code == 1
    released = run("release", "s", "--admin", "root", *conn)
    assert (released.exit_code, released.output) == (0, "released session s (version 2)\n")
    assert session.propose("read", {"label": "public"}).verdict == "allow"
    assert run("approve", pending, "--approver", "alice", *conn).exit_code == 1  # revoked
    twice = run("release", "s", "--admin", "root", *conn)
    assert (twice.exit_code, twice.output) == (
        1, "refused (deny): the session is not quarantined\n",
    )  # fmt: skip
    reset = run("release", "s", "--admin", "root", "--reset", *conn)
    assert (reset.exit_code, reset.output) == (0, "released session s and reset it (version 4)\n")
    assert session.state()["state"]["phase"] == "idle"


def test_unusable_inputs_exit_2_without_a_traceback(artifact, tmp_path):
    cases = [
        (["--artifact", artifact, "--store", "memory://"], "a memory:// store lives inside"),
        (["--artifact", str(tmp_path / "nope.json"), "--store", f"sqlite:///{tmp_path}/s.db"],
         "nope.json"),
        (["--artifact", artifact, "--store", "sqlite:///:memory:"], "is not persistent"),
        (["--artifact", artifact, "--store", "postgres://x"], "unknown store URL"),
    ]  # fmt: skip
    for conn, message in cases:
        result = run("approvals", "list", *conn)
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error: ") and message in result.output
        assert "Traceback" not in result.output
    assert run("approve", "ap-1", "--approver", "a").exit_code == 2  # no artifact, no store
    store = ["--artifact", artifact, "--store", f"sqlite:///{tmp_path / 'ok.db'}"]
    bad = run("approvals", "list", *store, "--session", "Ticket 1")
    assert (bad.exit_code, bad.output) == (
        2,
        "error: invalid session id `Ticket 1`: use 1 to 128 characters: lowercase ASCII "
        "letters, digits and `. _ - : @ / + =`, starting with a letter or a digit\n",
    )
    assert run("approvals", "list", *store, "--session", "t-1").output == "no approvals\n"


def test_the_commands_read_their_connection_from_the_environment(running, monkeypatch):
    guard, conn = running
    session = drafting(guard)
    d = session.propose(*SEND)
    env = {"VERIFIER_ARTIFACT": conn[1], "VERIFIER_STORE": conn[3], "VERIFIER_AUDIT": conn[5]}
    result = CliRunner(env=env).invoke(main, ["approve", d.approval_id, "--approver", "alice"])
    assert result.exit_code == 0, result.output
    assert session.propose(*SEND).verdict == "allow"


def test_a_separate_operator_process_approves_for_a_running_guard(running):
    guard, conn = running
    session = drafting(guard)
    d = session.propose(*SEND)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "verifier", "approve", d.approval_id, "--approver", "alice"]
    done = subprocess.run([*cmd, *conn], capture_output=True, text=True, env=env, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")
    assert session.propose(*SEND).verdict == "allow"
    assert session.state()["state"]["sends"] == 1


def test_every_operator_option_is_documented():
    from verifier.cli.operator import approvals, approve, reject, release

    doc = (ROOT / "docs" / "cli.md").read_text()
    commands = [approvals.commands["list"], approve, reject, release]
    missing = [
        f"{c.name} {opt}"
        for c in commands
        for p in c.params
        for opt in getattr(p, "opts", [])
        if opt.startswith("--") and opt != "--help" and f"`{opt}" not in doc
    ]
    assert not missing, missing
    for heading in ("approvals list", "approve ID", "reject ID", "release SESSION"):
        assert f"## `verifier {heading}" in doc


def test_operator_commands_open_a_keyed_log_and_store_with_the_secret(artifact, tmp_path):
    from tests.guard_support import write_secret

    secret = str(write_secret(tmp_path / "guard.secret"))
    store, log = f"sqlite:///{tmp_path / 'g.db'}", str(tmp_path / "audit.jsonl")
    guard = Guard.load(artifact, store=store, audit=log, secret=secret)
    session = drafting(guard)
    d = session.propose(*SEND)
    conn = ["--artifact", artifact, "--store", store, "--audit", log]
    unkeyed = run("approve", d.approval_id, "--approver", "alice", *conn)
    assert unkeyed.exit_code == 2 and unkeyed.output.startswith("error: ")
    keyed = run("approve", d.approval_id, "--approver", "alice", *conn, "--secret", secret)
    assert keyed.exit_code == 0, keyed.output
    assert session.propose(*SEND).verdict == "allow"  # the identical retry commits once
    guard.close()
    from verifier.guard.secret import load_secret

    assert verify_file(log, secret=load_secret(secret)).ok
