"""Approvals come from the operator's side: ids for the agent, full re-decision on approve."""

from __future__ import annotations

import json
import re

import pytest

from tests.guard_support import ROOT, write_artifact
from verifier.guard import Guard, GuardError
from verifier.guard.audit import read_records
from verifier.guard.store import open_store

EMAIL = ROOT / "models" / "email_assistant.cap"
SEND = ("send", {"external": True})


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> str:
    return str(write_artifact(EMAIL, tmp_path_factory.mktemp("a") / "email.json"))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drafting(guard: Guard, sid: str = "s"):
    session = guard.session(sid)
    assert session.observe("user_opens_session").verdict == "allow"
    assert session.propose("draft").verdict == "allow"
    return session


def test_the_agent_gets_an_approval_id_and_no_way_to_approve(artifact, tmp_path):
    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    session = drafting(guard)
    d = session.propose(*SEND)
    assert (d.verdict, d.reason) == ("escalate", "`send` needs approval (line 45)")
    assert re.fullmatch(r"ap-[0-9a-f]{24}", d.approval_id)
    assert not hasattr(session, "approve") and not hasattr(session, "reject")
    assert "approval_token" not in d._fields
    again = session.propose(*SEND)  # the agent repeats itself: still one pending approval
    assert again.approval_id == d.approval_id
    (pending,) = guard.approvals.list()
    assert (pending.id, pending.session, pending.action, pending.args) == (
        d.approval_id, "s", "send", {"external": True},
    )  # fmt: skip
    assert (pending.status, pending.version, pending.approver) == ("pending", 2, None)
    last = json.loads(log.read_text().splitlines()[-1])
    assert (last["verdict"], last["approval"]) == ("escalate", d.approval_id)


def test_an_approved_proposal_commits_exactly_once_on_the_identical_retry(artifact, tmp_path):
    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    session = drafting(guard)
    d = session.propose(*SEND)
    ok = guard.approvals.approve(d.approval_id, "alice")
    assert (ok.verdict, ok.session, ok.action, ok.approval_id, ok.version) == (
        "allow", "s", "send", d.approval_id, 2,
    )  # fmt: skip
    assert ok.reason == "approved by alice: the next identical `send` proposal commits once"
    assert session.state()["version"] == 2  # approving moves nothing
    assert session.propose("send", {"external": False}).verdict == "allow"  # not the same call
    assert session.state()["state"]["sends"] == 1
    # the approval was for version 2; the session is at 3 now: the retry escalates afresh
    assert session.propose("draft").verdict == "allow"
    d = session.propose(*SEND)
    assert guard.approvals.approve(d.approval_id, "alice").verdict == "allow"
    retry = session.propose(*SEND)
    assert (retry.verdict, retry.reason, retry.version, retry.approval_id) == (
        "allow", f"approved by alice ({d.approval_id})", 5, d.approval_id,
    )  # fmt: skip
    assert session.state()["state"]["sends"] == 2
    assert guard.approvals.list() == []  # spent
    assert session.propose("draft").verdict == "allow"
    assert session.propose(*SEND).verdict == "escalate"  # a new call needs a new approval
    records = list(read_records(str(log)))
    approve = next(r for r in records if r["kind"] == "approve")
    assert (approve["approver"], approve["approval"], approve["writes"]) == (
        "alice", approve["approval"], False,
    )  # fmt: skip
    commit = next(r for r in records if r.get("reason", "") == retry.reason)
    assert (commit["kind"], commit["writes"], commit["approval"]) == ("action", True, d.approval_id)
    outcome = next(
        r for r in records if r["kind"] == "outcome" and r["of"] == commit["decision_id"]
    )
    assert outcome["commit"] is True


def test_an_approval_is_bound_to_its_session_version_and_lifetime(artifact):
    clock = Clock()
    guard = Guard.load(artifact, token_ttl=60, clock=clock)
    session, other = drafting(guard), drafting(guard, "other")
    d = session.propose(*SEND)
    assert guard.approvals.approve(d.approval_id, "alice").verdict == "allow"
    assert other.propose(*SEND).verdict == "escalate"  # another session's approval is not ours
    assert session.propose("read", {"label": "public"}).verdict == "allow"
    assert session.propose(*SEND).verdict == "escalate"  # the state moved: stale
    d = session.propose(*SEND)
    assert session.propose("read", {"label": "public"}).verdict == "allow"
    stale = guard.approvals.approve(d.approval_id, "alice")
    assert (stale.verdict, stale.reason) == (
        "deny", "stale approval: the session moved from version 3 to 4",
    )  # fmt: skip
    d = session.propose(*SEND)
    clock.now += 61
    late = guard.approvals.approve(d.approval_id, "alice")
    assert late.reason == f"approval `{d.approval_id}` has expired"
    d = session.propose(*SEND)
    assert guard.approvals.approve(d.approval_id, "alice").verdict == "allow"
    clock.now += 61
    assert session.propose(*SEND).verdict == "escalate"  # an approval unused in time lapses


@pytest.mark.parametrize("approver", ["", " alice", "ALICE", "al ice", "alice\u200b", 3, None])
def test_an_approval_needs_a_valid_approver(artifact, approver):
    guard = Guard.load(artifact)
    session = drafting(guard)
    d = session.propose(*SEND)
    refused = guard.approvals.approve(d.approval_id, approver)
    assert refused.verdict == "deny" and refused.reason.startswith("invalid approver")
    assert guard.approvals.reject(d.approval_id, approver).verdict == "deny"
    assert session.propose(*SEND).verdict == "escalate"


@pytest.mark.parametrize("aid", ["", "ap-", "ap-" + "0" * 24, "x" * 10_000, None, 7])
def test_unknown_or_malformed_approval_ids_are_refused(artifact, aid):
    guard = Guard.load(artifact)
    d = guard.approvals.approve(aid, "alice")
    assert d.verdict == "deny"
    assert d.reason.startswith(("invalid approval id", "unknown approval"))
    assert len(d.reason) < 200


def test_reject_refuses_and_revokes_and_a_second_operator_loses(artifact):
    guard = Guard.load(artifact)
    session = drafting(guard)
    d = session.propose(*SEND)
    assert guard.approvals.reject(d.approval_id, "bob").reason == "rejected by bob"
    assert guard.approvals.approve(d.approval_id, "alice").reason.startswith("unknown approval")
    d2 = session.propose(*SEND)
    assert d2.verdict == "escalate" and d2.approval_id != d.approval_id
    assert guard.approvals.approve(d2.approval_id, "alice").verdict == "allow"
    assert guard.approvals.approve(d2.approval_id, "carol").reason == (
        f"approval `{d2.approval_id}` was already approved by alice"
    )
    assert guard.approvals.reject(d2.approval_id, "bob").verdict == "deny"  # revoked unused
    assert session.propose(*SEND).verdict == "escalate"
    assert session.state()["state"]["sends"] == 0


def test_an_approval_from_before_a_quarantine_does_not_survive_a_release(artifact, tmp_path):
    log = tmp_path / "a.jsonl"
    guard = Guard.load(artifact, audit=str(log))
    session = drafting(guard)
    pending = session.propose(*SEND).approval_id
    other = drafting(guard, "o")
    granted = other.propose(*SEND).approval_id
    assert guard.approvals.approve(granted, "alice").verdict == "allow"
    assert session.observe("user_opens_session").verdict == "quarantine"
    assert other.observe("user_opens_session").verdict == "quarantine"
    frozen = guard.approvals.approve(pending, "alice")
    assert frozen.verdict == "quarantine"
    assert guard.release("s", "root").verdict == "allow"
    assert guard.release("o", "root").verdict == "allow"
    assert guard.approvals.approve(pending, "alice").reason.startswith("unknown approval")
    assert other.propose(*SEND).verdict == "escalate"  # the granted one is gone too
    releases = [r for r in read_records(str(log)) if r["kind"] == "release"]
    assert [r["revoked"] for r in releases] == [[pending], [granted]]


@pytest.mark.parametrize("admin", ["", "Root", 0])
def test_a_release_needs_a_valid_admin_and_session(artifact, admin):
    guard = Guard.load(artifact)
    session = drafting(guard)
    session.observe("user_opens_session")
    d = guard.release("s", admin)
    assert d.verdict == "deny" and d.reason.startswith("invalid admin")
    assert guard.release("S", "root").reason.startswith("invalid session id")
    assert session.state()["quarantine"] is not None


def test_approve_refuses_an_approval_issued_under_another_policy(artifact, tmp_path):
    spec = tmp_path / "email2.cap"
    spec.write_text(EMAIL.read_text().replace("const MAX_SENDS = 3", "const MAX_SENDS = 2"))
    other = str(write_artifact(spec, tmp_path / "email2.json"))
    url = f"sqlite:///{tmp_path / 's.db'}"
    old = Guard.load(artifact, store=url)
    d = drafting(old).propose(*SEND)
    old.close()
    new = Guard.load(other, store=url)  # the guard was reloaded with another policy
    refused = new.approvals.approve(d.approval_id, "alice")
    assert (refused.verdict, refused.reason) == (
        "deny", f"approval `{d.approval_id}` was issued under another policy",
    )  # fmt: skip
    retry = new.session("s").propose(*SEND)
    assert retry.verdict == "quarantine"
    assert retry.reason.endswith("the session was created under another policy")


def test_approve_refuses_a_stored_state_outside_the_verified_graph(artifact, tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    guard = Guard.load(artifact, store=url)
    d = drafting(guard).propose(*SEND)
    raw = open_store(url)  # someone with write access to the store edits the state
    rec = raw.get("s")
    assert rec is not None
    leaked = (*rec.state[:-1], 1)  # `leaked` is in its domain but never reachable
    assert guard.program.valid_state(leaked) and leaked not in guard.artifact.graph_states
    assert raw.cas("s", rec.rev, rec._replace(state=leaked, rev=rec.rev + 1))
    refused = guard.approvals.approve(d.approval_id, "alice")
    assert (refused.verdict, refused.reason) == (
        "quarantine", "integrity failure: the stored state is not in the verified graph",
    )  # fmt: skip
    assert guard.session("s").state()["quarantine"] == refused.reason
    assert guard.session("s").state()["state"]["sends"] == 0


def test_approve_decides_the_guard_again(artifact, tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    guard = Guard.load(artifact, store=url)
    d = drafting(guard).propose(*SEND)
    raw = open_store(url)
    rec = raw.get("s")
    assert rec is not None
    # the same version, but a state in the graph where `send` is disabled (no draft)
    opened = guard.session("t")
    opened.observe("user_opens_session")
    other = raw.get("t")
    assert other is not None
    assert raw.cas("s", rec.rev, rec._replace(state=other.state, rev=rec.rev + 1))
    refused = guard.approvals.approve(d.approval_id, "alice")
    assert (refused.verdict, refused.reason) == (
        "deny", "`send` requires `phase == working and draft_ready` (line 42)",
    )  # fmt: skip


def test_a_guarded_tool_runs_once_after_its_approval(artifact):
    from verifier.guard import ToolDenied, guarded

    guard = Guard.load(artifact)
    session = drafting(guard)
    sent: list[bool] = []

    @guarded(session)
    def send(external: bool) -> None:
        sent.append(external)

    with pytest.raises(ToolDenied) as info:
        send(True)
    escalated = info.value.decision
    assert (escalated.verdict, sent) == ("escalate", [])
    assert guard.approvals.approve(escalated.approval_id, "alice").verdict == "allow"
    send(True)  # the agent calls the tool again: it runs, once
    assert sent == [True]
    with pytest.raises(ToolDenied):
        send(True)  # no draft any more
    assert sent == [True]


def test_of_two_operators_deciding_one_approval_at_once_one_wins(artifact, tmp_path):
    from verifier.guard.store.memory import MemoryStore

    class Racing(MemoryStore):
        """Another operator's reject lands just before this operator's approve."""

        armed = False

        def replace_approval(self, old, new):
            if self.armed and new is not None:
                self.armed = False
                assert super().replace_approval(old, None)
            return super().replace_approval(old, new)

    log = tmp_path / "a.jsonl"
    store = Racing()
    guard = Guard.load(artifact, store=store, audit=str(log))
    session = drafting(guard)
    d = session.propose(*SEND)
    store.armed = True
    lost = guard.approvals.approve(d.approval_id, "alice")
    assert (lost.verdict, lost.reason) == (
        "deny", f"approval `{d.approval_id}` changed concurrently",
    )  # fmt: skip
    records = list(read_records(str(log)))
    assert records[-1]["aborts"] == records[-2]["decision_id"]
    assert (records[-2]["kind"], records[-2]["verdict"]) == ("approve", "allow")
    assert session.propose(*SEND).verdict == "escalate"  # nothing was approved


def test_an_approval_forged_in_the_store_does_not_verify(artifact, tmp_path):
    """Whoever can write the store but not read the guard's secret cannot grant an approval."""
    import hashlib
    import sqlite3

    from tests.guard_support import write_secret

    db = tmp_path / "g.db"
    guard = Guard.load(artifact, store=f"sqlite:///{db}", secret=str(write_secret(tmp_path / "s")))
    session = drafting(guard)
    d = session.propose(*SEND)
    assert d.verdict == "escalate"
    with sqlite3.connect(db) as conn:
        (text,) = conn.execute(
            "SELECT data FROM approvals WHERE id = ?", (d.approval_id,)
        ).fetchone()
        data = json.loads(text)
        fields = data["a"]
        fields[7], fields[9] = "approved", fields[9] + 3600  # approved, and for an hour more
        body = json.dumps(fields, separators=(",", ":")).encode()
        forged = {"a": fields, "d": hashlib.sha256(body).hexdigest()}  # no key: plain SHA-256
        conn.execute(
            "UPDATE approvals SET data = ? WHERE id = ?", (json.dumps(forged), d.approval_id)
        )
    retry = session.propose(*SEND)
    assert (retry.verdict, retry.reason) == (
        "quarantine",
        "integrity failure: a stored approval does not match its digest",
    )
    assert session.state()["state"]["sends"] == 0
    with pytest.raises(GuardError, match="a stored approval does not match its digest"):
        guard.approvals.list()
