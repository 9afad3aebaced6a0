"""What an audit record of a decision says (the chain fields are added by the writer).

With `redact`, a record keeps no value the caller sent: no arguments, the name only if it
names a transition, the reason only if it is the spec's (a refusal that quotes the request is
replaced by its kind), and the arguments' hash keyed with the secret (a plain hash of a small
domain is reversed by trying every value).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from verifier.guard.chain import canonical
from verifier.guard.decision import Outcome
from verifier.guard.program import CACHE_LIMIT, Entry, Refusal
from verifier.guard.store import Record

REDACTED = "<redacted>"


@dataclass(frozen=True)
class Redaction:
    """How records show what the caller sent: in full, or redacted; hashed with a key or not."""

    redact: bool = False
    args_key: bytes | None = None
    _known: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def entry_fields(self, entry: Entry) -> dict[str, Any]:
        """`args_fields` of validated arguments (their keyed hash is computed once)."""
        fields: dict[str, Any] = {} if self.redact else {"args": entry.args}
        if self.args_key is None:
            fields["args_sha256"] = entry.args_hash
            return fields
        mac = self._known.get(entry.args_hash)
        if mac is None:
            mac = self.args_fields(entry.args)["args_hmac"]
            if len(self._known) < CACHE_LIMIT:
                self._known[entry.args_hash] = mac
        fields["args_hmac"] = mac
        return fields

    def args_fields(self, args: Any) -> dict[str, Any]:
        """`args` (unless redacted) and their hash (`args_hmac` with a key, else `args_sha256`)."""
        try:
            text = canonical(args if isinstance(args, dict) else {"repr": repr(args)})
        except (TypeError, ValueError):
            args = repr(args)
            text = canonical({"repr": args})
        fields: dict[str, Any] = {} if self.redact else {"args": args}
        if self.args_key is None:
            fields["args_sha256"] = hashlib.sha256(text).hexdigest()
        else:
            fields["args_hmac"] = hmac.new(self.args_key, text, hashlib.sha256).hexdigest()
        return fields

    def name(self, name: Any, known: bool) -> str:
        """The name as recorded: a transition's name, or the request's unless redacted."""
        if self.redact and not known:
            return REDACTED
        return name if isinstance(name, str) else repr(name)

    def refusal(self, kind: str, refusal: Refusal, reason: str | None) -> str | None:
        """A refusal's reason as recorded (it may quote the request's values)."""
        if not self.redact:
            return reason
        if refusal.line is not None:
            return "the arguments are invalid (redacted)"
        return f"the request names no {kind} of the spec (redacted)"

    def failure(self, reason: str) -> str:
        """A fail-closed reason as recorded (an error text may quote the request)."""
        if not self.redact:
            return reason
        return reason.split(":", 1)[0] + " (redacted)"


def decision_record(
    sid: str,
    kind: str,
    name: Any,
    args: Any,
    entry: Entry | Refusal,
    rec: Record,
    out: Outcome,
    decision_id: str,
    redaction: Redaction,
) -> dict[str, Any]:
    """The fields of one decision's record: who, what, versions, verdict and why."""
    after = out.record.version if out.record is not None else rec.version
    known = isinstance(entry, Entry)
    reason = out.reason
    if isinstance(entry, Refusal) and entry.reason and entry.reason in (reason or ""):
        reason = redaction.refusal(kind, entry, reason)  # the refusal quotes the request
    fields: dict[str, Any] = {
        "session": sid,
        "kind": kind,
        "name": redaction.name(name, known or name is None),
        "version_before": rec.version,
        "version_after": after,
        "verdict": out.verdict,
        "reason": reason,
        "decision_id": decision_id,
        "writes": out.record is not None,
        "quarantine": out.record.quarantine if out.record is not None else None,
    }
    if isinstance(entry, Entry):
        fields.update(redaction.entry_fields(entry))
    else:
        fields.update(redaction.args_fields(args))
    return fields
