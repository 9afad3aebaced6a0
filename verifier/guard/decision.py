"""What the guard answers: a verdict, why, and what it is bound to."""

from __future__ import annotations

from typing import NamedTuple

from verifier.guard.store import ApprovalRecord, Record

ALLOW = "allow"
DENY = "deny"
ESCALATE = "escalate"
QUARANTINE = "quarantine"


class Decision(NamedTuple):
    """One decision. Immutable; `allowed` is the only thing a tool runner should test.

    `version` is the session's state version after the decision; `reason` names the failed
    clause and its spec line (None on allow, except an allow that spends an approval);
    `approval_id` names the pending approval on escalate, the approval an allow spent, and the
    approval an operator decided on approve and reject: an id, never an authority; `shadow` is
    True when the guard runs in log-only mode (nothing was enforced).
    """

    verdict: str
    reason: str | None
    version: int
    decision_id: str
    artifact_hash: str
    session: str
    action: str | None
    approval_id: str | None = None
    shadow: bool = False
    line: int | None = None

    @property
    def allowed(self) -> bool:
        return self.verdict == ALLOW

    def to_json(self) -> dict[str, object]:
        return self._asdict()


class Outcome(NamedTuple):
    """A decision before it is recorded: verdict, reason, line and the record to write.

    `approval` is the approval id an escalation issues (or an operator decision names);
    `grant` is the approved approval that an allow spends once it is committed.
    """

    verdict: str
    reason: str | None
    line: int | None = None
    record: Record | None = None
    approval: str | None = None
    grant: ApprovalRecord | None = None


def describe_error(err: BaseException) -> str:
    """An exception as one lowercase clause for a decision's reason."""
    text = str(err).strip() or type(err).__name__
    return text[0].lower() + text[1:]
