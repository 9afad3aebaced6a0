"""Offline validation of a recorded agent trace, through the live guard's decision path.

A trace is JSON Lines. Each line is a step `{"action": NAME, "args": {...}}` or
`{"event": NAME, "args": {...}}`; `"kind": "action" | "event"` with `"action": NAME` (the
shape `verifier check --format json` prints) works too. A first line with `"action": null`
and a `"state"` chooses the initial state. An action that needs approval is admissible only
if its line says `"approved": true`.

The trace is untrusted input: each line is parsed as strict JSON (`verifier.ir.jsontext`), and
a line that is not a step (not UTF-8, not JSON, too deep, NaN, duplicate keys, not an object)
is a `ReplayError` naming the line, never a traceback and never an inadmissible step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.guard.artifact import ArtifactError
from verifier.guard.decision import ALLOW, ESCALATE
from verifier.guard.monitor import Guard, GuardError
from verifier.guard.session import Session
from verifier.ir import jsontext

MAX_TRACE_BYTES = 256 << 20


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


def _step(data: Any) -> tuple[str, Any, Any, bool]:
    if not isinstance(data, dict):
        raise ValueError("a step must be a JSON object")
    if "event" in data:
        kind, name = "event", data["event"]
    else:
        kind, name = data.get("kind") or "action", data.get("action")
    if kind not in ("action", "event"):
        raise ValueError('`kind` must be "action" or "event"')
    if not isinstance(name, str):
        raise ValueError(f"the {kind} must be named by a string")
    args = data.get("args")
    return kind, name, {} if args is None else args, data.get("approved") is True


def replay_file(
    artifact_path: str, trace_path: str, public_key: str | None = None
) -> ReplayOutcome:
    """Replay every step of `trace_path` against the artifact; stop at the first bad one."""
    try:
        guard = Guard.load(artifact_path, public_key=public_key)
        with open(trace_path, "rb") as fh:
            data = fh.read(MAX_TRACE_BYTES + 1)
    except (GuardError, ArtifactError) as err:
        raise ReplayError(str(err)) from None
    except OSError as err:
        raise ReplayError(f"cannot read `{trace_path}`: {(err.strerror or '').lower()}") from None
    if len(data) > MAX_TRACE_BYTES:
        raise ReplayError(f"`{trace_path}` is larger than {MAX_TRACE_BYTES >> 20} MiB")
    try:
        return replay_lines(guard, data.split(b"\n"))
    except ReplayError as err:
        raise ReplayError(f"{trace_path}:{err}") from None


def replay_lines(guard: Guard, lines: list[bytes]) -> ReplayOutcome:
    """Replay raw JSONL lines in a fresh in-memory session of `guard`.

    ReplayError (its message starting with the line number and a colon) for a line that is
    not a step; an outcome naming the first inadmissible step otherwise.
    """
    session: Session | None = None
    steps = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = jsontext.loads(line, floats=True)
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
        except jsontext.JSONTextError as err:
            raise ReplayError(f"{number}: the line is not a JSON step: {err}") from None
        except (ValueError, GuardError) as err:
            raise ReplayError(f"{number}: malformed step: {err}") from None
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
