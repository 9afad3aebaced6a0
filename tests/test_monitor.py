"""Guard semantics on the email assistant: tokens, quarantine, shadow mode, fail-closed paths."""

from __future__ import annotations

import json

import pytest

from tests.guard_support import ROOT, write_artifact
from verifier.guard import DenialLimit, Guard, ToolDenied, guarded, guarded_call, verify_file
from verifier.guard.audit import AuditLog
from verifier.guard.store import StoreError
from verifier.guard.store.memory import MemoryStore

EMAIL = ROOT / "models" / "email_assistant.cap"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> str:
    return str(write_artifact(EMAIL, tmp_path_factory.mktemp("a") / "email.json"))


def drafting(guard: Guard, sid: str = "s"):
    session = guard.session(sid)
    assert session.observe("user_opens_session").verdict == "allow"
    assert session.propose("draft").verdict == "allow"
    return session


def test_decision_carries_version_id_and_artifact_hash(artifact):
    guard = Guard.load(artifact)
    session = drafting(guard)
    d = session.propose("read", {"label": "public"})
    assert (d.verdict, d.reason, d.version, d.session, d.action) == ("allow", None, 3, "s", "read")
    assert d.artifact_hash == guard.artifact_hash
    assert d.artifact_hash.startswith("sha256:")
    assert d.decision_id != session.propose("read", {"label": "public"}).decision_id
    assert not d.shadow


@pytest.mark.parametrize(
    ("action", "args", "reason"),
    [
        ("fly", {}, "unknown action `fly`"),
        ("user_closes_session", {}, "`user_closes_session` is an event, not an action"),
        ("read", {}, "missing argument `label` (`read` at line 31)"),
        ("read", {"label": "secret"}, "argument `label` must be one of public, private, "
         "confidential, untrusted; got 'secret' (`read` at line 31)"),
        ("read", {"label": "public", "x": 1}, "unknown argument `x` (`read` at line 31)"),
        ("send", {"external": 1}, "argument `external` must be true or false, not 1 "
         "(`send` at line 41)"),
        ("read", ["public"], "arguments must be an object of name: value"),
        (None, {}, "unknown action `None`"),
    ],
)  # fmt: skip
def test_malformed_proposals_are_denied_with_a_reason(artifact, action, args, reason):
    session = drafting(Guard.load(artifact))
    d = session.propose(action, args)
    assert (d.verdict, d.reason) == ("deny", reason)
    assert session.state()["version"] == 2


def test_a_cached_bool_argument_does_not_admit_an_int(artifact):
    session = drafting(Guard.load(artifact))
    assert session.propose("send", {"external": False}).verdict == "allow"
    assert session.propose("draft").verdict == "allow"
    assert session.propose("send", {"external": 0}).verdict == "deny"


def test_quarantine_freezes_until_release(artifact):
    guard = Guard.load(artifact)
    session = drafting(guard)
    q = session.observe("user_opens_session")
    assert q.verdict == "quarantine"
    assert q.reason == "impossible event: `user_opens_session` requires `phase == idle` (line 27)"
    frozen = session.propose("read", {"label": "public"})
    assert frozen.verdict == "quarantine"
    assert frozen.reason.startswith("the session is quarantined: impossible event")
    assert session.observe("no_such_event").verdict == "quarantine"
    assert guard.release("s", "root").verdict == "allow"
    assert guard.release("s", "root").reason == "the session is not quarantined"
    assert session.propose("read", {"label": "public"}).verdict == "allow"


def test_denial_rate_quarantines(artifact):
    guard = Guard.load(artifact, denial_limit=DenialLimit(denials=3, window=5))
    session = drafting(guard)
    verdicts = [session.propose("fly").verdict for _ in range(3)]
    assert verdicts == ["deny", "deny", "quarantine"]
    assert session.state()["quarantine"] == (
        "denial rate: 3 of the last 4 proposals denied (unknown action `fly`)"
    )


def test_denials_outside_the_window_do_not_count(artifact):
    guard = Guard.load(artifact, denial_limit=DenialLimit(denials=2, window=2))
    session = drafting(guard)
    for _ in range(5):
        assert session.propose("fly").verdict == "deny"
        assert session.propose("read", {"label": "public"}).verdict == "allow"


def test_shadow_mode_is_marked_in_every_decision_and_record(artifact, tmp_path):
    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log), shadow=True)
    session = drafting(guard)
    decisions = [session.propose("fly"), session.propose("read", {"label": "public"})]
    assert [d.shadow for d in decisions] == [True, True]
    assert decisions[0].verdict == "deny"  # still computed and reported, never silently allow
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r.get("shadow") for r in records] == [True] * len(records)
    assert len([r for r in records if r["kind"] != "outcome"]) == 4


class BrokenStore(MemoryStore):
    def get(self, session):
        raise StoreError("the store is down")


def test_an_unreachable_store_denies_actions_and_quarantines_events(artifact):
    guard = Guard.load(artifact, store=BrokenStore())
    session = guard.session("s")
    d = session.propose("draft")
    assert (d.verdict, d.reason) == ("deny", "internal error: the store is down")
    assert session.observe("user_opens_session").verdict == "quarantine"


def test_an_unwritable_audit_log_denies(artifact, tmp_path):
    log = AuditLog(str(tmp_path / "a.jsonl"))
    guard = Guard.load(artifact, audit=log)
    session = guard.session("s")
    assert session.observe("user_opens_session").verdict == "allow"
    import os

    # the descriptor can no longer write (as with a full disk or a revoked mount)
    log._fd = os.open(str(tmp_path / "a.jsonl"), os.O_RDONLY)
    d = session.propose("draft")
    assert d.verdict == "deny"
    assert d.reason.startswith("audit failure: cannot ")
    assert session.state()["version"] == 1  # not committed


def test_every_decision_is_audited_before_it_returns(artifact, tmp_path):
    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    session = drafting(guard)
    d = session.propose("send", {"external": True})
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["decision_id"] == d.decision_id
    assert (last["verdict"], last["session"], last["name"]) == ("escalate", "s", "send")
    assert last["args"] == {"external": True}
    assert len(last["args_sha256"]) == 64
    assert (last["version_before"], last["version_after"]) == (2, 2)
    assert last["artifact"] == guard.artifact_hash
    assert "approval_token" not in json.dumps(last)


def test_redacted_audit_keeps_only_the_keyed_arguments_hash(artifact, tmp_path):
    from tests.guard_support import write_secret

    log = AuditLog(str(tmp_path / "a.jsonl"), redact=True)
    guard = Guard.load(artifact, audit=log, secret=write_secret(tmp_path / "g.secret"))
    drafting(guard).propose("read", {"label": "private"})
    last = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[-2])  # before its outcome
    assert "args" not in last and "args_sha256" not in last and len(last["args_hmac"]) == 64


def test_decorator_runs_the_tool_only_on_allow(artifact):
    session = drafting(Guard.load(artifact))
    sent: list[bool] = []

    @guarded(session)
    def send(external: bool) -> str:
        sent.append(external)
        return "ok"

    assert send(False) == "ok"
    with pytest.raises(ToolDenied) as info:
        send(external=False)  # no draft any more
    assert info.value.decision.reason.startswith("`send` requires `phase == working and draft")
    assert sent == [False]


def test_a_failing_tool_keeps_the_committed_step_and_reports_on_error(artifact):
    session = drafting(Guard.load(artifact))
    with pytest.raises(RuntimeError), guarded_call(session, "discard_draft"):
        raise RuntimeError("tool crashed")
    assert session.state()["state"]["draft_ready"] is False  # the step stays committed
    with pytest.raises(ToolDenied), guarded_call(session, "send", {"external": False}):
        pytest.fail("must not run")  # pragma: no cover
    with (
        pytest.raises(RuntimeError),
        guarded_call(session, "draft", on_error="user_closes_session"),
    ):
        raise RuntimeError("tool crashed")
    assert session.state()["state"]["phase"] == "closed"


def test_audit_verify_detects_edit_delete_insert_reorder(artifact, tmp_path):
    from click.testing import CliRunner

    from verifier.cli import main

    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    session = drafting(guard)
    for label in ("public", "private", "untrusted"):
        session.propose("read", {"label": label})
    guard.close()
    lines = log.read_text().splitlines(keepends=True)
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify", str(log)])
    assert ok.exit_code == 0 and ok.output.startswith("ok: 10 records, head ")  # with outcomes

    edited = [*lines]
    edited[4] = edited[4].replace('"public"', '"private"')
    deleted = lines[:1] + lines[2:]
    inserted = [*lines[:3], lines[1], *lines[3:]]
    reordered = [lines[0], lines[2], lines[1], *lines[3:]]
    cases = [
        (edited, 5, "does not match its hash (edited)"),
        (deleted, 2, "does not follow the previous record (inserted, deleted or reordered)"),
        (inserted, 4, "does not follow the previous record (inserted, deleted or reordered)"),
        (reordered, 2, "does not follow the previous record (inserted, deleted or reordered)"),
    ]
    for variant, bad, problem in cases:
        path = tmp_path / "v.jsonl"
        path.write_text("".join(variant))
        result = runner.invoke(main, ["audit", "verify", str(path)])
        assert result.exit_code == 1
        assert result.output == f"{path}:{bad}: record {bad} {problem}\n"
    truncated = tmp_path / "t.jsonl"
    truncated.write_text("".join(lines[:-1]))
    head = json.loads(lines[-1])["hash"]
    assert runner.invoke(main, ["audit", "verify", str(truncated)]).exit_code == 0
    assert runner.invoke(main, ["audit", "verify", str(truncated), "--head", head]).exit_code == 1


def test_a_guard_refuses_to_start_on_an_edited_audit_log(artifact, tmp_path):
    from verifier.guard import GuardError

    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    drafting(guard)
    guard.close()
    log.write_text(log.read_text().replace('"draft"', '"drafx"'))
    assert not verify_file(str(log)).ok
    with pytest.raises(GuardError, match="does not verify: record 3 does not match its hash"):
        Guard.load(artifact, audit=str(log))


def test_replay_reports_the_first_inadmissible_step(artifact, tmp_path):
    from click.testing import CliRunner

    from verifier.cli import main

    trace = tmp_path / "t.jsonl"
    steps = [
        {"event": "user_opens_session"},
        {"action": "read", "args": {"label": "private"}},
        {"action": "draft"},
        {"action": "send", "args": {"external": True}, "approved": True},
        {"action": "read", "args": {"label": "untrusted"}},
        {"action": "draft"},
        {"action": "send", "args": {"external": True}, "approved": True},
    ]
    trace.write_text("".join(json.dumps(s) + "\n" for s in steps))
    result = CliRunner().invoke(main, ["replay", artifact, str(trace)])
    assert result.exit_code == 1
    assert result.output == (
        f"{trace}:7: step 7 `send`: deny: `send` requires `not (external and tainted)` (line 44)\n"
    )
    trace.write_text("".join(json.dumps(s) + "\n" for s in steps[:6]))
    result = CliRunner().invoke(main, ["replay", artifact, str(trace)])
    assert (result.exit_code, result.output) == (0, "ok: 6 steps admissible\n")
    unapproved = [steps[0], steps[2], {"action": "send", "args": {"external": True}}]
    trace.write_text("".join(json.dumps(s) + "\n" for s in unapproved))
    result = CliRunner().invoke(main, ["replay", artifact, str(trace)])
    assert result.exit_code == 1
    assert result.output.endswith("step 3 `send`: escalate: `send` needs approval (line 45)\n")


def test_an_audit_record_edited_while_running_stops_the_guard(artifact, tmp_path):
    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    session = drafting(guard)
    log.write_text(log.read_text().replace('"commit":true', '"commit":false'))  # the last record
    d = session.propose("read", {"label": "public"})
    assert (d.verdict, d.reason) == (
        "deny",
        f"audit failure: the audit log `{log}` record 4 was edited; the guard stops deciding"
        " until an operator restores the log and restarts it",
    )
    assert session.state()["quarantine"] is None  # no session pays for a broken log
    assert session.state()["version"] == 2
