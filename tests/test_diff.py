"""`verifier diff`: equivalence, restriction and widening, explicitly and symbolically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_support import cli
from verifier.check.diff import DiffOptions, run_diff
from verifier.check.refinement import DiffError, Renaming
from verifier.lang.frontend import load_model
from verifier.report.text import step_label

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples/diff"


pytestmark = pytest.mark.usefixtures("in_root")


def diff(old: str | Path, new: str | Path, **opts: object):  # type: ignore[no-untyped-def]
    return run_diff(load_model(str(old)), load_model(str(new)), DiffOptions(**opts))  # type: ignore[arg-type]


def labels(inc) -> list[str]:  # type: ignore[no-untyped-def]
    assert inc.trace is not None
    return [step_label(s) for s in inc.trace.steps[1:]]


# ---- the six examples


def test_small_equivalent_rewrite() -> None:
    r = diff(EX / "mail_old.cap", EX / "mail_equivalent.cap")
    assert (r.verdict, r.engine) == ("equivalent", "explicit")
    assert cli("diff", "examples/diff/mail_old.cap", "examples/diff/mail_equivalent.cap")[0] == 0


def test_small_restriction() -> None:
    r = diff(EX / "mail_old.cap", EX / "mail_restricted.cap")
    assert (r.verdict, r.engine, r.restricts.holds) == ("restricting", "explicit", True)
    assert labels(r.converse) == ["read(l=untrusted)", "send(external=true)"]
    assert r.converse.reason == (
        "refuses `send(external=true)`: `send` requires "
        "`not (external and (tainted or untrusted in seen))` (line 20)"
    )
    assert cli("diff", "examples/diff/mail_old.cap", "examples/diff/mail_restricted.cap")[0] == 0


def test_small_widening_with_its_shortest_trace() -> None:
    r = diff(EX / "mail_old.cap", EX / "mail_widened.cap")
    assert (r.verdict, r.engine) == ("widening", "explicit")
    assert labels(r.restricts) == ["read(l=private)", "read(l=untrusted)", "send(external=true)"]
    assert r.converse.holds is True
    code, out = cli("diff", "examples/diff/mail_old.cap", "examples/diff/mail_widened.cap")
    assert code == 1
    assert out == (
        "examples/diff/mail_old.cap -> examples/diff/mail_widened.cap: widening: NEW admits a "
        "trace OLD refuses [explicit]\n"
        "  shortest trace NEW admits and OLD refuses, 3 steps:\n"
        "    step  transition           changes\n"
        "       0  (initial)            seen={}, sends=0\n"
        "       1  read(l=private)      seen={private}\n"
        "       2  read(l=untrusted)    seen={private, untrusted}\n"
        "       3  send(external=true)  sends=1\n"
        "    OLD refuses `send(external=true)`: `send` requires `not (external and tainted)` "
        "(line 19)\n"
        "  every trace of OLD is a trace of NEW\n"
        "  reachable states: 24 -> 24 (4.58 -> 4.58 bits, +0.00)\n"
        "  observed: seen, sends\n"
    )


def test_large_equivalent_rewrite_is_decided_symbolically() -> None:
    r = diff(EX / "fleet_old.cap", EX / "fleet_equivalent.cap")
    assert (r.verdict, r.engine) == ("equivalent", "symbolic")
    assert r.restricts.note == "proved by kind (k=1)"
    assert r.new_space.states is None  # far beyond counting


def test_large_restriction() -> None:
    r = diff(EX / "fleet_old.cap", EX / "fleet_restricted.cap")
    assert (r.verdict, r.engine) == ("restricting", "symbolic")
    assert labels(r.converse) == [
        "start(a=1)",
        "request_external(a=1)",
        "approve(a=1)",
        "send_external(a=1)",
    ]
    assert r.converse.reason == (
        "refuses `send_external(a=1)`: `send_external` requires `spent[a] > 0` (line 64)"
    )


def test_large_widening_with_its_shortest_trace() -> None:
    code, out = cli("diff", "examples/diff/fleet_old.cap", "examples/diff/fleet_widened.cap")
    assert code == 1
    assert "widening: NEW admits a trace OLD refuses [symbolic]" in out
    assert "  shortest trace NEW admits and OLD refuses, 2 steps:\n" in out
    assert "       1  start(a=1)          phase[1]=working\n" in out
    assert "       2  send_external(a=1)  sent_external[1]=true\n" in out
    assert "    OLD refuses `send_external(a=1)`: `send_external` requires `approved[a]`" in out


def test_explicit_search_cannot_decide_the_large_pairs() -> None:
    code, out = cli(
        "diff", "--engine", "explicit", "--max-states", "20000",
        "examples/diff/fleet_old.cap", "examples/diff/fleet_equivalent.cap",
    )  # fmt: skip
    assert code == 3
    assert "inconclusive" in out and "stopped after 20,000 state pairs" in out


@pytest.mark.parametrize("pair", ["mail_equivalent", "mail_restricted", "mail_widened"])
def test_engines_agree_on_the_small_pairs(pair: str) -> None:
    a = diff(EX / "mail_old.cap", EX / f"{pair}.cap", engine="explicit")
    b = diff(EX / "mail_old.cap", EX / f"{pair}.cap", engine="symbolic")
    assert a.verdict == b.verdict
    for x, y in ((a.restricts, b.restricts), (a.converse, b.converse)):
        assert x.holds == y.holds
        assert (labels(x) if x.trace else None) == (labels(y) if y.trace else None)


# ---- semantics


BASE = """capability c
state {
  n: 0..3 = 0
  flag: bool = false
}
action inc { when n < 3  n := n + 1 }
action set_flag { when not flag  flag := true }
"""


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def test_removing_an_approval_is_a_widening_and_adding_one_restricts(tmp_path: Path) -> None:
    ask = write(tmp_path, "ask.cap", BASE.replace("{ when n < 3", "{ when n < 3 needs approval"))
    free = write(tmp_path, "free.cap", BASE)
    r = diff(ask, free)
    assert r.verdict == "widening"
    assert labels(r.restricts) == ["inc()"]
    assert (
        r.restricts.reason
        == "escalates `inc()` to a human (`needs approval`) where the other does not"
    )
    assert diff(free, ask).verdict == "restricting"


def test_hidden_variables_use_the_subset_construction(tmp_path: Path) -> None:
    old = write(tmp_path, "old.cap", BASE)
    # NEW counts set_flag calls in a variable OLD does not have: the traces stay the same
    new = write(
        tmp_path,
        "new.cap",
        BASE.replace("flag: bool = false", "flag: bool = false\n  audits: 0..1 = 0").replace(
            "flag := true", "flag := true  audits := 1"
        ),
    )
    r = diff(old, new)
    assert r.verdict == "equivalent"
    assert (r.hidden_old, r.hidden_new) == ([], ["audits"])
    symbolic = diff(old, new, engine="symbolic")
    assert symbolic.restricts.holds is True  # every variable of OLD is observed in NEW
    assert symbolic.converse.holds is None  # but NEW hides one from OLD
    assert (
        symbolic.converse.note is not None and "`audits` is not observed" in symbolic.converse.note
    )


def test_renaming_maps_variables_and_transitions(tmp_path: Path) -> None:
    old = write(tmp_path, "old.cap", BASE)
    text = BASE.replace("n: 0..3", "total: 0..3").replace("action inc { when n < 3  n := n + 1 }",
        "action bump { when total < 3  total := total + 1 }")  # fmt: skip
    new = write(tmp_path, "new.cap", text)
    assert diff(old, new).verdict == "widening"  # different names: nothing observed in common
    renamed = Renaming((("inc", "bump"), ("n", "total")))
    for engine in ("explicit", "symbolic"):
        assert diff(old, new, renaming=renamed, engine=engine).verdict == "equivalent"
    code, _ = cli("diff", "--rename", "inc=bump", "--rename", "n=total", str(old), str(new))
    assert code == 0


def test_bad_renaming_is_exit_2(tmp_path: Path) -> None:
    old = write(tmp_path, "old.cap", BASE)
    with pytest.raises(DiffError, match="OLD has no variable or transition `nope`"):
        diff(old, old, renaming=Renaming((("nope", "n"),)))
    code, out = cli("diff", "--rename", "n", str(old), str(old))
    assert code == 2 and "is not OLD_NAME=NEW_NAME" in out
    code, out = cli("diff", "--rename", "n=x", str(old), str(old))
    assert code == 2 and "NEW has no variable or transition `x`" in out


def test_initial_states_are_compared(tmp_path: Path) -> None:
    old = write(tmp_path, "old.cap", BASE)
    new = write(tmp_path, "new.cap", BASE.replace("n: 0..3 = 0", "n: 0..3 = 1"))
    for engine in ("explicit", "symbolic"):
        r = diff(old, new, engine=engine)
        assert r.verdict == "widening"
        assert r.restricts.trace is not None and len(r.restricts.trace) == 0
        assert r.restricts.reason == "has no initial state with these values"


def test_growth_budget(tmp_path: Path) -> None:
    old = write(tmp_path, "old.cap", BASE)
    wider = write(
        tmp_path, "wider.cap", BASE.replace("n: 0..3", "n: 0..7").replace("n < 3", "n < 7")
    )
    r = diff(old, wider)
    assert (r.old_space.states, r.new_space.states) == (8, 16)
    code, out = cli("diff", "--max-growth", "1", str(old), str(wider))
    assert code == 1  # a widening anyway
    assert "reachable states: 8 -> 16 (3.00 -> 4.00 bits, +1.00)" in out
    assert "growth +1.00 bits within --max-growth 1" in out
    code, out = cli("diff", "--max-growth", "0.5", str(wider), str(old))
    assert code == 0  # a restriction shrinks the space
    # a restriction that keeps the space within budget, and one that exceeds it
    code, out = cli("diff", "--max-growth", "0.5", str(old), str(wider))
    assert code == 1 and "growth budget exceeded: +1.00 bits > --max-growth 0.5" in out
    for bad in ("-1", "nan", "lots"):
        code, out = cli("diff", "--max-growth", bad, str(old), str(old))
        assert code == 2 and "is not a number of bits >= 0" in out


def test_growth_budget_is_inconclusive_when_not_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import verifier.check.diff as diff_module

    monkeypatch.setattr(diff_module, "COUNT_LIMIT", 5)  # the 8 reachable states are too many
    old = write(tmp_path, "old.cap", BASE)
    code, out = cli("diff", "--max-growth", "1", str(old), str(old))
    assert code == 3
    assert "reachable states: ? -> ? (not counted: more than 5 reachable states)" in out
    assert "growth budget: not measured (a reachable space was not counted)" in out
    assert cli("diff", str(old), str(old))[0] == 0  # without a budget, counting is optional


def test_invalid_spec_is_exit_2(tmp_path: Path) -> None:
    old = write(tmp_path, "old.cap", BASE)
    bad = write(tmp_path, "bad.cap", "capability x\nstate { n: 0..3 }\n")
    code, out = cli("diff", str(old), str(bad))
    assert code == 2
    assert "error[missing-initial]" in out
    assert cli("diff", str(old), str(tmp_path / "missing.cap"))[0] == 2


def test_json_report(tmp_path: Path) -> None:
    code, out = cli(
        "diff", "--format", "json", "examples/diff/mail_old.cap", "examples/diff/mail_widened.cap"
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["verdict"] == "widening"
    assert doc["new_in_old"]["holds"] is False
    assert doc["new_in_old"]["length"] == 3
    assert [s["action"] for s in doc["new_in_old"]["trace"]] == [None, "read", "read", "send"]
    assert doc["old_in_new"] == {"holds": True, "engine": "explicit"}
    assert doc["space"]["old"] == {"states": 24, "bits": 4.58, "declared_bits": 4.58}
    assert doc["growth_bits"] == 0.0


FAULTY = """capability f
state {
  n: 0..3 = 0
  arr: array[0..3] of 0..1 = 0
}
action step { when arr[n + 1] == 0 and n < 3  n := n + 1 }
action mark { arr[n] := 1 }
action share(k: 0..2) { when all i in 0..3: arr[(i + k) mod 4] == 0 or arr[3 - n - k] == 1  n := 0 }
"""
PAIRS = {
    "fault_moved": (
        FAULTY,
        FAULTY.replace("arr[n + 1] == 0 and n < 3", "n < 3 and arr[n + 1] == 0"),
    ),
    "fault_dropped_guard": (FAULTY, FAULTY.replace(" and n < 3", "")),
    "quantifier_widened": (
        FAULTY,
        FAULTY.replace("or arr[3 - n - k] == 1", "or n == 0 or arr[3 - n - k] == 1"),
    ),
    "approval_added": (
        BASE,
        BASE.replace("{ when not flag", "{ needs approval when n > 1  when not flag"),
    ),
    "event_became_action": (BASE, BASE.replace("action set_flag", "event set_flag")),
}


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_engines_agree_on_faults_quantifiers_approvals_and_kinds(tmp_path: Path, pair: str) -> None:
    old_text, new_text = PAIRS[pair]
    old, new = write(tmp_path, "old.cap", old_text), write(tmp_path, "new.cap", new_text)
    a = diff(old, new, engine="explicit")
    b = diff(old, new, engine="symbolic")
    assert a.verdict == b.verdict
    for x, y in ((a.restricts, b.restricts), (a.converse, b.converse)):
        assert x.holds == y.holds, (x, y)
        assert (labels(x) if x.trace else None) == (labels(y) if y.trace else None)
    assert (
        a.verdict
        == {
            "fault_moved": "equivalent",
            "fault_dropped_guard": "equivalent",
            "quantifier_widened": "widening",
            "approval_added": "restricting",
            "event_became_action": "widening",
        }[pair]
    )


ANY = """capability any_start
state {
  a: 0..63 = any
  b: 0..63 = any
  c: 0..63 = any
  d: 0..63 = any
}
action bump { when a < 63  a := a + 1 }
"""


def test_too_many_initial_states_for_explicit_search_go_symbolic(tmp_path: Path) -> None:
    wide = write(tmp_path, "wide.cap", ANY)
    narrow = write(tmp_path, "narrow.cap", ANY + "init when b > 3\n")
    r = diff(wide, narrow)
    assert (r.verdict, r.engine) == ("restricting", "symbolic")
    assert r.converse.trace is not None and len(r.converse.trace) == 0
    (start,) = r.converse.trace.steps
    assert start.state[1] <= 3  # an initial state of OLD that NEW does not have
    assert r.converse.reason == "has no initial state with these values"
    assert diff(narrow, wide).verdict == "widening"
    code, out = cli("diff", "--engine", "explicit", str(wide), str(narrow))
    assert code == 3
    assert "16777216 initial states, more than the explicit engine enumerates" in out


BUGS = {
    "email_label_bug": ("email_assistant", 5, "refuses `send(external=true)`"),
    "refund_threshold_bug": ("refund_agent", 3, "refuses `refund()`"),
    "tool_pinning_bug": ("tool_gateway", 3, 'refuses `call_tool(t="search")`'),
    "file_symlink_bug": ("file_agent", 2, "refuses `write_through_link()`"),
    "budget_escrow_bug": ("budget_handoff", 2, "takes `offer_times_out()` elsewhere"),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_every_seeded_policy_bug_is_a_widening_of_its_model(bug: str) -> None:
    model, length, reason = BUGS[bug]
    r = diff(ROOT / f"models/{model}.cap", ROOT / f"examples/violations/{bug}.cap")
    assert r.verdict == "widening"
    assert r.restricts.trace is not None and len(r.restricts.trace) == length
    assert r.restricts.reason is not None and r.restricts.reason.startswith(reason)


def test_symbolic_options_are_validated_and_used(tmp_path: Path) -> None:
    old = write(tmp_path, "old.cap", BASE)
    for bad in (["--depth", "0"], ["--timeout", "0"], ["--max-states", "0"], ["--engine", "x"]):
        assert cli("diff", *bad, str(old), str(old))[0] == 2
    code, out = cli("diff", "--engine", "symbolic", "--depth", "1", "--timeout", "30",
                    str(old), str(old))  # fmt: skip
    assert code == 0 and "proved by kind (k=1)" in out
