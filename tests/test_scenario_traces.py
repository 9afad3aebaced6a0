"""Recorded traces in `verifier test` and `verifier replay`: check JSON, ITF, the audit log."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli_support import cli
from tests.guard_support import write_artifact
from verifier.guard import AuditLog, Guard
from verifier.guard.traces import ADMISSIBLE, REFUSED, TraceError, parse_trace

ROOT = Path(__file__).resolve().parent.parent
EMAIL = "models/email_assistant.cap"

OVERFLOW = """capability overflow
state { retries: 0..2 = 0 }
action retry { retries := retries + 1 }
"""


pytestmark = pytest.mark.usefixtures("in_root")


def check_json(tmp: Path, spec: str) -> Path:
    code, out = cli("check", "--format", "json", spec)
    assert code in (0, 1)
    path = tmp / "report.json"
    path.write_text(out)
    return path


def test_check_json_traces_replay_as_scenarios(tmp_path: Path) -> None:
    report = check_json(tmp_path, EMAIL)
    code, out = cli("test", str(report))
    assert code == 0, out
    assert f"{report} (check-json trace)\n" in out
    # every reachable goal's witness is one recorded session
    assert "  ok    can_reply_after_taint (" in out
    assert out.endswith("4 scenarios: 4 passed, 0 failed\n")


def test_a_check_json_trace_with_a_wrong_state_fails(tmp_path: Path) -> None:
    report = check_json(tmp_path, EMAIL)
    doc = json.loads(report.read_text())
    prop = next(p for p in doc["files"][0]["properties"] if p["name"] == "can_send_internally")
    prop["trace"][-1]["state"]["sends"] = 2
    report.write_text(json.dumps(doc))
    code, out = cli("test", str(report))
    assert code == 1
    assert "  FAIL  can_send_internally (" in out
    assert '- expected: state phase = "working", seen = [], draft_ready = false, sends = 2' in out
    assert '+ actual:   state phase = "working", seen = [], draft_ready = false, sends = 1' in out


def test_domain_violation_trace_expects_the_last_step_refused(tmp_path: Path) -> None:
    spec = tmp_path / "overflow.cap"
    spec.write_text(OVERFLOW)
    report = check_json(tmp_path, str(spec))
    trace = parse_trace(report.read_text(), str(report))
    (session,) = [s for s in trace.sessions if s.name == "domain"]
    assert [s.expect for s in session.steps] == [ADMISSIBLE, ADMISSIBLE, REFUSED]
    code, out = cli("test", str(report))
    assert code == 0, out


def test_itf_traces_replay(tmp_path: Path) -> None:
    code, _ = cli("check", "--itf", str(tmp_path), EMAIL)
    assert code == 0
    itf = tmp_path / "email_assistant.can_reply_after_taint.itf.json"
    code, out = cli("test", str(itf))
    assert code == 0, out
    assert "  ok    witness of reachable `can_reply_after_taint` (" in out
    doc = json.loads(itf.read_text())
    doc["states"][2]["#meta"]["args"] = {"label": "confidential"}
    itf.write_text(json.dumps(doc))
    code, out = cli("test", str(itf))
    assert code == 1
    assert 'step 2, line 2: read(label: "confidential")' in out


def test_traces_without_a_spec_need_spec_option(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"event": "user_opens_session"}\n{"action": "draft"}\n')
    code, out = cli("test", str(trace))
    assert code == 2
    assert "does not name its spec" in out and "--spec SPEC.cap" in out
    code, out = cli("test", "--spec", EMAIL, str(trace))
    assert code == 0, out


def _recorded_log(tmp: Path) -> tuple[Path, Path]:
    artifact = write_artifact(ROOT / EMAIL, tmp / "email.artifact.json")
    log = tmp / "audit.jsonl"
    guard = Guard.load(str(artifact), audit=AuditLog(str(log)))
    s = guard.session("ticket-1")
    s.observe("user_opens_session")
    s.propose("read", {"label": "private"})
    s.propose("draft")
    d = s.propose("send", {"external": True})
    assert d.verdict == "escalate"
    assert guard.approvals.approve(d.approval_id or "", "alice").verdict == "allow"
    assert s.propose("send", {"external": True}).verdict == "allow"  # the approved retry
    s.propose("send", {"external": True})  # denied: no draft
    other = guard.session("ticket-2")
    other.propose("draft")  # denied: no session open
    guard.close()
    return artifact, log


def test_audit_log_replays_with_its_recorded_verdicts(tmp_path: Path) -> None:
    artifact, log = _recorded_log(tmp_path)
    trace = parse_trace(log.read_text(), str(log))
    assert trace.format == "audit"
    assert [s.name for s in trace.sessions] == ["session ticket-1", "session ticket-2"]
    assert [st.expect for st in trace.sessions[0].steps] == [
        "allow", "allow", "allow", "escalate", "allow", "allow", "deny",
    ]  # fmt: skip
    code, out = cli("test", "--spec", EMAIL, str(log))
    assert code == 0, out
    assert "  ok    session ticket-1 (7 steps)\n  ok    session ticket-2 (1 step)\n" in out
    code, out = cli("replay", str(artifact), str(log))
    assert (code, out) == (0, "ok: 8 steps admissible\n")


def test_audit_log_against_a_changed_spec_shows_the_first_difference(tmp_path: Path) -> None:
    _, log = _recorded_log(tmp_path)
    changed = tmp_path / "stricter.cap"
    changed.write_text(
        (ROOT / EMAIL)
        .read_text()
        .replace("when not (external and tainted)", "when not (external and sensitive_read)")
    )
    code, out = cli("test", "--spec", str(changed), str(log))
    assert code == 1
    assert "  FAIL  session ticket-1 (" in out
    assert "        step 4, line 7: send(external: true)\n" in out  # outcome records between
    assert "        - expected: escalate\n" in out
    assert "        + actual:   deny: `send` requires `not (external and sensitive_read)`" in out


def test_replay_reads_check_json_and_itf(tmp_path: Path) -> None:
    artifact = write_artifact(ROOT / EMAIL, tmp_path / "email.artifact.json")
    report = check_json(tmp_path, EMAIL)
    assert cli("replay", str(artifact), str(report)) == (0, "ok: 16 steps admissible\n")
    cli("check", "--itf", str(tmp_path), EMAIL)
    itf = tmp_path / "email_assistant.can_send_externally_when_clean.itf.json"
    code, out = cli("replay", str(artifact), str(itf))
    assert code == 0, out


def test_replay_reports_the_first_bad_step_of_an_audit_log(tmp_path: Path) -> None:
    artifact, log = _recorded_log(tmp_path)
    lines = log.read_text().splitlines()
    record = json.loads(lines[2])
    assert (record["kind"], record["name"]) == ("action", "read")
    record["verdict"] = "deny"  # the log claims the read was denied; the guard allows it
    lines[2] = json.dumps(record)
    log.write_text("\n".join(lines) + "\n")
    code, out = cli("replay", str(artifact), str(log))
    assert code == 1
    assert out == f"{log}:3: step 2 `read`: allow\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "t.jsonl:1: the line is not a JSON step"),
        ("[1, 2]\n", "t.jsonl:1: a step must be a JSON object"),
        ('{"kind": "approve", "action": "x"}\n', "t.jsonl:1: `kind` must be `action` or `event`"),
        (
            '{"seq": 1, "hash": "x", "session": "s", "kind": "abort", "verdict": "deny"}\n',
            "t.jsonl:1: an `abort` record (a decision lost to a concurrent one) cannot be "
            "replayed in order; replay the log of a single writer",
        ),
        (
            '{"seq": 1, "hash": "x", "session": "s", "kind": "action", "verdict": "allow"}\n',
            "t.jsonl:1: the arguments were redacted; replay needs them",
        ),
        ('{"vars": ["x"], "states": [{"x": {"#tup": []}}]}', "an ITF value this spec"),
    ],
)
def test_malformed_traces_are_clean_errors(text: str, message: str) -> None:
    with pytest.raises(TraceError) as err:
        parse_trace(text, "t.jsonl")
    assert message in str(err.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
STEP_KEYS = st.sampled_from(
    ["action", "event", "kind", "args", "state", "approved", "seq", "hash", "session", "verdict",
     "name", "vars", "states", "files", "#meta"]
)  # fmt: skip
ROWS = st.lists(st.dictionaries(STEP_KEYS, JSON, max_size=5), max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_trace_or_a_clean_error(text: str) -> None:
    with contextlib.suppress(TraceError):
        parse_trace(text, "t")


@settings(max_examples=60, deadline=None)
@given(ROWS, st.booleans())
def test_any_json_rows_replay_or_fail_cleanly(rows: list[dict[str, object]], whole: bool) -> None:
    from verifier.lang.frontend import load_model
    from verifier.testing.host import in_memory_guard
    from verifier.testing.run import Runner, plan_of_session

    text = (
        json.dumps(rows[0] if whole and rows else rows)
        if whole
        else "\n".join(json.dumps(r) for r in rows)
    )
    try:
        trace = parse_trace(text, "t")
    except TraceError:
        return
    runner = Runner(in_memory_guard(load_model(str(ROOT / EMAIL))))
    for s in trace.sessions:
        outcome = runner.run(plan_of_session(s, "t"))
        assert outcome.steps <= len(s.steps)


def _rec(seq: int, **fields: object) -> str:
    return json.dumps({"seq": seq, "hash": "h", "session": "s", **fields})


def test_audit_decisions_the_store_did_not_take_are_left_out() -> None:
    text = "\n".join(
        [
            _rec(1, kind="event", name="user_opens_session", args={}, verdict="allow",
                 writes=True, decision_id="d1"),
            _rec(2, kind="outcome", of="d1", commit=True),
            _rec(3, kind="action", name="draft", args={}, verdict="allow", writes=True,
                 decision_id="d2"),
            _rec(4, kind="outcome", of="d2", commit=False),  # lost its compare-and-set
            _rec(5, kind="action", name="draft", args={}, verdict="allow", writes=True,
                 decision_id="d3"),  # no outcome: the guard stopped before the store write
            _rec(6, kind="redo", name="draft", args={}, verdict="allow"),
            _rec(7, kind="action", name="send", args={"external": False}, verdict="deny",
                 writes=False, decision_id="d4"),
        ]
    )  # fmt: skip
    (session,) = parse_trace(text, "t").sessions
    assert [(s.name, s.expect, s.line) for s in session.steps] == [
        ("user_opens_session", "allow", 1),
        ("send", "deny", 7),
    ]


def test_audit_logs_whose_store_diverged_are_refused() -> None:
    with pytest.raises(TraceError, match="a `recover` record"):
        parse_trace(_rec(1, kind="recover", verdict="quarantine"), "t")
