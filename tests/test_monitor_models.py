"""Every spec in models/: compile, load, and drive a scripted session through every verdict.

The script is derived from the reference semantics: a shortest path to a state where an
action needs approval, a disabled action (deny), an impossible event (quarantine), then the
administrator's release. The guard's state is compared with the reference after every step,
and the audit chain must verify at the end.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import jsonschema
import pytest

from tests.guard_support import ALL_SPECS, ROOT, write_artifact
from verifier.guard import Guard, verify_file
from verifier.guard.session import Session
from verifier.ir import semantics as sem
from verifier.ir.values import args_to_json, state_to_json

State = tuple[int, ...]
SCHEMA = json.loads((ROOT / "verifier" / "schemas" / "artifact.schema.json").read_text())


def call(session: Session, inst: sem.Instance):
    args = args_to_json(inst.transition.params, inst.args)
    if inst.transition.kind == "event":
        return session.observe(inst.name, args)
    return session.propose(inst.name, args)


def plain_action(inst: sem.Instance, s: State) -> bool:
    return inst.transition.kind == "action" and not sem.needs_approval(inst, s)


def approval_action(inst: sem.Instance, s: State) -> bool:
    return inst.transition.kind == "action" and sem.needs_approval(inst, s)


def path_to(model, start: State, want) -> list[sem.Instance] | None:
    """The shortest path from `start` whose last step is an instance `want` accepts."""
    insts = sem.instances(model)
    parent: dict[State, tuple[State, sem.Instance] | None] = {start: None}
    queue = deque([start])
    while queue:
        s = queue.popleft()
        for inst, nxt in sem.successors(model, s, insts):
            if want(inst, s):
                path = [inst]
                while parent[s] is not None:
                    s, step = parent[s]  # type: ignore[misc]
                    path.append(step)
                return path[::-1]
            if isinstance(nxt, tuple) and nxt not in parent:
                parent[nxt] = (s, inst)
                queue.append(nxt)
    return None


def step(guard: Guard, session: Session, model, inst: sem.Instance, state: State) -> State:
    """Take one reference step through the guard (approving if asked) and compare states."""
    decision = call(session, inst)
    if decision.verdict == "escalate":
        assert guard.approvals.approve(decision.approval_id, "tester").verdict == "allow"
        decision = call(session, inst)  # the approved retry commits once
    assert decision.verdict == "allow", decision
    state = sem.apply(inst, state)
    assert session.state()["state"] == state_to_json(model, state)
    assert session.state()["version"] == decision.version
    return state


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: p.stem)
def test_scripted_session_through_every_verdict(spec: Path, tmp_path: Path):
    artifact = write_artifact(spec, tmp_path / "a.json")
    jsonschema.validate(json.loads(artifact.read_bytes()), SCHEMA)
    log = tmp_path / "audit.jsonl"
    guard = Guard.load(str(artifact), store=f"sqlite:///{tmp_path / 's.db'}", audit=str(log))
    model = guard.program.model
    state = sem.initial_states(model)[0]
    session = guard.session("script", state_to_json(model, state))
    insts = sem.instances(model)

    # allow: the first enabled action that needs no approval
    path = path_to(model, state, plain_action)
    assert path is not None
    for inst in path:
        state = step(guard, session, model, inst, state)
    first = path[-1]

    # deny: an action disabled here; the reason names the failed clause and its line
    disabled = [i for i in insts if i.transition.kind == "action" and not sem.enabled(i, state)]
    if disabled:
        clause = sem.failed_guard(disabled[0], state)
        assert clause is not None
        decision = call(session, disabled[0])
        assert decision.reason == (
            f"`{disabled[0].name}` requires `{clause.text}` (line {clause.span.line})"
        )
        assert decision.line == clause.span.line
    else:  # every action is enabled here (the puzzles): an unknown action is denied
        decision = session.propose("no_such_action", {})
        assert decision.reason == "unknown action `no_such_action`"
    assert decision.verdict == "deny"
    assert session.state()["state"] == state_to_json(model, state)

    # escalate, then approve (specs without `needs approval` have nothing to escalate)
    path = path_to(model, state, approval_action)
    has_approval = any(t.approval is not None for t in model.transitions)
    assert (path is not None) == has_approval
    if path is not None:
        for inst in path[:-1]:
            state = step(guard, session, model, inst, state)
        escalated = call(session, path[-1])
        assert escalated.verdict == "escalate" and escalated.approval_id
        assert session.state()["state"] == state_to_json(model, state)  # nothing advanced
        approved = guard.approvals.approve(escalated.approval_id, "alice")
        assert approved.verdict == "allow"
        assert session.state()["state"] == state_to_json(model, state)  # still nothing
        retried = call(session, path[-1])
        assert (retried.verdict, retried.reason) == (
            "allow",
            f"approved by alice ({escalated.approval_id})",
        )
        state = sem.apply(path[-1], state)
        assert session.state()["state"] == state_to_json(model, state)

    # quarantine: an impossible event (or an unknown one), then everything is frozen
    events = [i for i in insts if i.transition.kind == "event" and not sem.enabled(i, state)]
    if events:
        quarantined = call(session, events[0])
    else:
        quarantined = session.observe("the_world_left_the_model", {})
    assert quarantined.verdict == "quarantine"
    assert quarantined.reason.startswith("impossible event: ")
    assert call(session, first).verdict == "quarantine"
    assert session.state()["state"] == state_to_json(model, state)

    released = guard.release("script", "admin")
    assert released.verdict == "allow"
    assert session.state()["quarantine"] is None
    for inst in path_to(model, state, plain_action) or []:
        state = step(guard, session, model, inst, state)
    guard.close()

    report = verify_file(str(log))
    assert report.ok, report
    assert report.records >= 6
