"""A session handle: what an agent runtime holds to propose actions and report events.

It has no way to approve, reject or release: those belong to the operator's side (the guard's
`approvals` and `release`), so a handle given to an agent cannot approve its own escalations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from verifier.guard.decision import Decision
from verifier.guard.ledger import Ledger
from verifier.guard.program import State
from verifier.ir.values import state_to_json

Decide = Callable[[str, str, Any, Any, "State | None"], Decision]


class Session:
    """One agent session: every proposal and observation goes through the guard's decide."""

    def __init__(self, ledger: Ledger, decide: Decide, session_id: str, initial: State | None):
        self._ledger = ledger
        self._decide = decide
        self.id = session_id
        self._initial = initial

    def propose(self, action: str, args: dict[str, Any] | None = None) -> Decision:
        """Ask to perform an action; allow advances the session state."""
        return self._decide(self.id, "action", action, {} if args is None else args, self._initial)

    def observe(self, event: str, args: dict[str, Any] | None = None) -> Decision:
        """Report an environment event; an impossible one quarantines the session."""
        return self._decide(self.id, "event", event, {} if args is None else args, self._initial)

    def state(self) -> dict[str, Any]:
        """The session's version, state (as JSON values) and quarantine reason."""
        rec = self._ledger.read(self.id, self._initial)
        return {
            "session": self.id,
            "version": rec.version,
            "state": state_to_json(self._ledger.program.model, rec.state),
            "quarantine": rec.quarantine,
        }
