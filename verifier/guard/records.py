"""What an audit record of a decision says (the chain fields are added by the writer)."""

from __future__ import annotations

from typing import Any

from verifier.guard.decision import Outcome
from verifier.guard.program import Entry, Refusal, args_hash
from verifier.guard.store import Record


def decision_record(
    sid: str,
    kind: str,
    name: Any,
    args: Any,
    entry: Entry | Refusal,
    rec: Record,
    out: Outcome,
    decision_id: str,
) -> dict[str, Any]:
    """The fields of one decision's record: who, what, versions, verdict and why."""
    after = out.record.version if out.record is not None else rec.version
    shown, digest = _args(entry, args)
    return {
        "session": sid,
        "kind": kind,
        "name": name if isinstance(name, str) else repr(name),
        "args": shown,
        "args_sha256": digest,
        "version_before": rec.version,
        "version_after": after,
        "verdict": out.verdict,
        "reason": out.reason,
        "decision_id": decision_id,
        "commit": out.record is not None,
        "quarantine": out.record.quarantine if out.record is not None else None,
    }


def _args(entry: Entry | Refusal, args: Any) -> tuple[Any, str]:
    """Validated arguments as the program shows them, or the raw request (made printable)."""
    if isinstance(entry, Entry):
        return entry.args, entry.args_hash
    shown = args if isinstance(args, dict) else repr(args)
    try:
        return shown, args_hash(shown) if isinstance(shown, dict) else args_hash({"repr": shown})
    except (TypeError, ValueError):
        return repr(args), args_hash({"repr": repr(args)})
