"""Offline validation of a recorded agent trace, through the live guard's decision path.

A trace is JSON Lines. Each line is a step `{"action": NAME, "args": {...}}` or
`{"event": NAME, "args": {...}}`; `"kind": "action" | "event"` with `"action": NAME` (the
shape `verifier check --format json` prints) works too. A first line with `"action": null`
and a `"state"` chooses the initial state. An action that needs approval is admissible only
if its line says `"approved": true`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from verifier.guard.artifact import ArtifactError
from verifier.guard.decision import ALLOW, ESCALATE
from verifier.guard.monitor import Guard, GuardError
from verifier.guard.session import Session


class ReplayError(Exception):
    """The artifact or the trace file cannot be used."""


@dataclass(frozen=True)
class ReplayOutcome:
    """How many steps were admissible, and the first one that was not."""

    steps: int
    bad_step: int | None = None
    bad_line: int | None = None
    name: str | None = None
    reason: str | None = None


def _step(data: Any) -> tuple[str, Any, dict[str, Any], bool]:
    if not isinstance(data, dict):
        raise ValueError("a step must be a JSON object")
    if "event" in data:
        kind, name = "event", data["event"]
    else:
        kind, name = str(data.get("kind") or "action"), data.get("action")
    args = data.get("args") or {}
    return kind, name, args, data.get("approved") is True


def replay_file(
    artifact_path: str, trace_path: str, public_key: str | None = None
) -> ReplayOutcome:
    """Replay every step of `trace_path` against the artifact; stop at the first bad one."""
    try:
        guard = Guard.load(artifact_path, public_key=public_key)
        with open(trace_path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (GuardError, ArtifactError) as err:
        raise ReplayError(str(err)) from None
    except OSError as err:
        raise ReplayError(f"cannot read `{trace_path}`: {(err.strerror or '').lower()}") from None
    return replay_lines(guard, lines)


def replay_lines(guard: Guard, lines: list[str]) -> ReplayOutcome:
    """Replay raw JSONL lines in a fresh in-memory session of `guard`."""
    session: Session | None = None
    steps = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if (
                session is None
                and isinstance(data, dict)
                and "state" in data
                and data.get("action") is None
                and "event" not in data
            ):
                session = guard.session("replay", data["state"])
                continue
            kind, name, args, approved = _step(data)
        except (ValueError, GuardError) as err:
            return ReplayOutcome(steps, steps + 1, number, None, f"malformed step: {err}")
        session = session or guard.session("replay")
        steps += 1
        decision = session.propose(name, args) if kind == "action" else session.observe(name, args)
        if decision.verdict == ESCALATE and approved and decision.approval_id:
            guard.approvals.approve(decision.approval_id, "replay")
            decision = session.propose(name, args)  # the approved retry commits once
        if decision.verdict != ALLOW:
            return ReplayOutcome(
                steps - 1, steps, number, str(name), f"{decision.verdict}: {decision.reason}"
            )
    return ReplayOutcome(steps)
