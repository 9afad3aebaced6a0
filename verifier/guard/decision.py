"""What the guard answers: a verdict, why, and what it is bound to."""

from __future__ import annotations

from typing import NamedTuple

from verifier.guard.store import Record

ALLOW = "allow"
DENY = "deny"
ESCALATE = "escalate"
QUARANTINE = "quarantine"


class Decision(NamedTuple):
    """One decision. Immutable; `allowed` is the only thing a tool runner should test.

    `version` is the session's state version after the decision; `reason` names the failed
    clause and its spec line (None on allow); `approval_token` is set only on escalate;
    `shadow` is True when the guard runs in log-only mode (nothing was enforced).
    """

    verdict: str
    reason: str | None
    version: int
    decision_id: str
    artifact_hash: str
    session: str
    action: str | None
    approval_token: str | None = None
    shadow: bool = False
    line: int | None = None

    @property
    def allowed(self) -> bool:
        return self.verdict == ALLOW

    def to_json(self) -> dict[str, object]:
        return self._asdict()


class Outcome(NamedTuple):
    """A decision before it is recorded: verdict, reason, line and the record to write."""

    verdict: str
    reason: str | None
    line: int | None = None
    record: Record | None = None
    token: str | None = None


def describe_error(err: BaseException) -> str:
    """An exception as one lowercase clause for a decision's reason."""
    text = str(err).strip() or type(err).__name__
    return text[0].lower() + text[1:]
