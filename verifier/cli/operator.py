"""The operator's commands: `verifier approvals list`, `approve`, `reject` and `release`.

They open the same artifact, store and audit log as a running guard (a guard of their own,
with the same checks and the same write path) and act as the operator's side: the agent never
reaches them. Exit status: 0 done, 1 refused (the reason is printed), 2 unusable input.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

import click

from verifier.guard import AuditLog, Decision, Guard, GuardError
from verifier.guard.approval import rejected_by
from verifier.guard.audit import AuditError
from verifier.guard.store import ApprovalRecord


def _connection(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options naming the running guard's artifact, store and audit log."""
    options = [
        click.option(
            "--artifact",
            envvar="VERIFIER_ARTIFACT",
            required=True,
            metavar="PATH",
            help="The artifact the running guard enforces [env VERIFIER_ARTIFACT].",
        ),
        click.option(
            "--store",
            envvar="VERIFIER_STORE",
            required=True,
            metavar="URL",
            help="The running guard's store: sqlite:///path or redis://... [env VERIFIER_STORE].",
        ),
        click.option(
            "--audit",
            envvar="VERIFIER_AUDIT",
            metavar="PATH",
            help="The running guard's audit log [env VERIFIER_AUDIT].",
        ),
        click.option(
            "--redact",
            is_flag=True,
            envvar="VERIFIER_AUDIT_REDACT",
            help="Leave arguments out of the audit records, as the guard does.",
        ),
        click.option(
            "--public-key",
            envvar="VERIFIER_PUBLIC_KEY",
            metavar="PEM",
            help="Require the artifact to be signed by this key [env VERIFIER_PUBLIC_KEY].",
        ),
        click.option(
            "--secret",
            envvar="VERIFIER_SECRET",
            metavar="PATH",
            help="The running guard's secret, for a keyed log and store [env VERIFIER_SECRET].",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _open(conn: dict[str, Any]) -> Guard:
    """The operator's guard on the running guard's files; exit 2 if they are unusable."""
    store = conn["store"]
    if store.startswith("memory:"):
        _fail("a memory:// store lives inside its guard's process; name its persistent store")
    try:
        audit = conn["audit"]
        log = AuditLog(audit, redact=conn["redact"]) if audit else None
        return Guard.load(
            conn["artifact"],
            store=store,
            audit=log,
            public_key=conn["public_key"],
            secret=conn["secret"],
        )
    except (GuardError, AuditError) as err:
        _fail(str(err))


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _finish(decision: Decision, done: str, ok: bool | None = None) -> None:
    if decision.verdict == "allow" if ok is None else ok:
        click.echo(done)
        sys.exit(0)
    click.echo(f"refused ({decision.verdict}): {decision.reason}", err=True)
    sys.exit(1)


@click.group()
def approvals() -> None:
    """Work with the approvals of escalated proposals."""


@approvals.command("list")
@_connection
@click.option("--session", help="Only this session's approvals.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Text for people, JSON lines for tools.",
)
def approvals_list(session: str | None, fmt: str, **conn: Any) -> None:
    """List pending and approved (not yet spent) approvals, oldest first."""
    guard = _open(conn)
    try:
        found = guard.approvals.list(session)
    except GuardError as err:
        _fail(str(err))
    except Exception as err:  # a store that fails while listing: report it, no traceback
        _fail(f"cannot list the approvals: {err}")
    finally:
        guard.close()
    now = time.time()
    for a in found:
        click.echo(json.dumps(_json(a, now)) if fmt == "json" else _text(a, now))
    if fmt == "text" and not found:
        click.echo("no approvals")


def _json(a: ApprovalRecord, now: float) -> dict[str, Any]:
    fields = a._asdict()
    fields["expired"] = a.expires < now
    return fields


def _text(a: ApprovalRecord, now: float) -> str:
    args = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(a.args.items()))
    left = a.expires - now
    due = f"expires in {left:.0f}s" if left >= 0 else "expired"
    by = f" by {a.approver}" if a.approver else ""
    return (
        f"{a.id}  session {a.session}  {a.action}({args})  at version {a.version}  "
        f"{a.status}{by}  {due}"
    )


@click.command()
@click.argument("approval_id", metavar="ID")
@click.option("--approver", required=True, help="Who approves (recorded in the audit log).")
@_connection
def approve(approval_id: str, approver: str, **conn: Any) -> None:
    """Approve an escalated proposal: the agent's identical retry then commits once."""
    guard = _open(conn)
    try:
        decision = guard.approvals.approve(approval_id, approver)
    finally:
        guard.close()
    _finish(decision, f"approved {approval_id} ({decision.action} in session {decision.session})")


@click.command()
@click.argument("approval_id", metavar="ID")
@click.option("--approver", required=True, help="Who rejects (recorded in the audit log).")
@_connection
def reject(approval_id: str, approver: str, **conn: Any) -> None:
    """Reject a pending proposal, or revoke an approval the agent has not used yet."""
    guard = _open(conn)
    try:
        decision = guard.approvals.reject(approval_id, approver)
    finally:
        guard.close()
    done = f"rejected {approval_id} ({decision.action} in session {decision.session})"
    _finish(decision, done, decision.reason == rejected_by(approver))


@click.command()
@click.argument("session")
@click.option("--admin", required=True, help="Who releases (recorded in the audit log).")
@click.option("--reset", is_flag=True, help="Also return the session to its initial state.")
@_connection
def release(session: str, admin: str, reset: bool, **conn: Any) -> None:
    """Lift a session's quarantine; every approval of the session is revoked."""
    guard = _open(conn)
    try:
        decision = guard.release(session, admin, reset)
    finally:
        guard.close()
    how = " and reset it" if reset else ""
    _finish(decision, f"released session {session}{how} (version {decision.version})")
