"""Run a Python tool function only when the guard allows it.

The transition commits when the guard says allow, *before* the tool runs (gate before
effect). If the tool then raises, the exception propagates unchanged and the session stays
advanced: the attempt counts against the policy's limits, which is the conservative reading.
A spec that models tool failure declares an event for it and names it as `on_error`; the
runner then reports that event (an impossible one quarantines the session) and re-raises.
In shadow mode the tool runs whatever the verdict, and the decision is only logged.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from verifier.guard.decision import Decision
from verifier.guard.session import Session

F = TypeVar("F", bound=Callable[..., Any])


class ToolDenied(Exception):
    """The guard did not allow the tool call; `decision` says why."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"{decision.verdict}: {decision.reason}")
        self.decision = decision


def _admit(session: Session, action: str, args: dict[str, Any]) -> Decision:
    decision = session.propose(action, args)
    if not decision.allowed and not decision.shadow:
        raise ToolDenied(decision)
    return decision


@contextlib.contextmanager
def guarded_call(
    session: Session, action: str, args: dict[str, Any] | None = None, on_error: str | None = None
) -> Iterator[Decision]:
    """`with guarded_call(s, "send", {...}):` runs the block only on allow (else ToolDenied)."""
    decision = _admit(session, action, args or {})
    try:
        yield decision
    except BaseException:
        if on_error is not None:
            session.observe(on_error, {})
        raise


def guarded(
    session: Session,
    action: str | None = None,
    on_error: str | None = None,
    args: Callable[..., dict[str, Any]] | None = None,
) -> Callable[[F], F]:
    """Decorate a tool: each call proposes `action` (default: the function's name) with the
    call's arguments bound by name (or `args(*a, **kw)`), and runs only on allow."""

    def wrap(fn: F) -> F:
        name = action or fn.__name__
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def run(*a: Any, **kw: Any) -> Any:
            if args is not None:
                bound = args(*a, **kw)
            else:
                call = signature.bind(*a, **kw)
                call.apply_defaults()
                bound = dict(call.arguments)
            with guarded_call(session, name, bound, on_error):
                return fn(*a, **kw)

        return run  # type: ignore[return-value]

    return wrap
