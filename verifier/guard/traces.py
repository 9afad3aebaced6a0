"""Recorded traces, read from the formats the project writes, as sessions of steps to replay.

Four formats are read, told apart by their content: JSON Lines of steps
(`{"action": NAME, "args": {...}}` or `{"event": ...}`), the guard's own audit log (JSON Lines
with `seq` and `hash`), the JSON document of `verifier check --format json` (one session per
property trace) and ITF traces (`verifier check --itf`). Everything is plain data: nothing read
becomes code, and every malformed input is a TraceError naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.ir import jsontext

MAX_TRACE_BYTES = 256 << 20
ADMISSIBLE = "admissible"  # allow, or escalate and then allowed on approval
REFUSED = "refused"  # anything but allow (the attempted step of a domain violation)
_DECISIONS = ("action", "event", "approve", "reject", "release")
_SKIPPED = ("outcome", "redo")  # an outcome is read with its decision; a redo repeats one
_DIVERGED = {
    "abort": "an `abort` record (a decision lost to a concurrent one)",
    "recover": "a `recover` record (the store and the log disagreed at a restart)",
}


class TraceError(Exception):
    """A trace file that cannot be read or is not in a known format."""


@dataclass(frozen=True)
class TraceStep:
    """One recorded request and the verdict it must get (a recorded one, or admissible)."""

    kind: str | None  # "action" | "event" | "approve" | "reject" | "release"; None: by name
    name: Any
    args: Any
    expect: str  # a verdict, ADMISSIBLE or REFUSED
    line: int
    state: dict[str, Any] | None = None  # the recorded state after the step, if any


@dataclass(frozen=True)
class RecordedSession:
    """The steps of one session of a trace, in order."""

    name: str
    steps: tuple[TraceStep, ...]
    initial: dict[str, Any] | None = None
    initial_line: int = 0


@dataclass(frozen=True)
class RecordedTrace:
    """A trace file: its format, the spec it names (if any) and its sessions."""

    path: str
    format: str  # "steps" | "audit" | "check-json" | "itf"
    sessions: tuple[RecordedSession, ...]
    spec: str | None = None


def read_trace(path: str) -> RecordedTrace:
    """Read a trace file in any of the four formats (at most MAX_TRACE_BYTES)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TRACE_BYTES + 1)
    except OSError as err:
        raise TraceError(f"cannot read `{path}`: {(err.strerror or str(err)).lower()}") from None
    if len(data) > MAX_TRACE_BYTES:
        raise TraceError(f"`{path}` is larger than {MAX_TRACE_BYTES >> 20} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise TraceError(f"{path}:{line}: the line is not a JSON step: it is not UTF-8") from None
    return parse_trace(text, path)


def parse_trace(text: str, path: str = "<trace>") -> RecordedTrace:
    """Parse trace text; the format is recognised from the content."""
    try:  # strict JSON: no NaN, no duplicate keys, bounded depth (`verifier.ir.jsontext`)
        whole = jsontext.loads(text.encode("utf-8", "surrogatepass"), floats=True)
    except jsontext.JSONTextError:
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("states"), list) and "vars" in whole:
        return _itf(whole, path)
    if isinstance(whole, dict) and isinstance(whole.get("files"), list):
        return _check_json(whole, path)
    rows = _json_lines(text, path)
    if rows and all(_is_audit(r) for _, r in rows):
        return _audit(rows, path)
    return _steps(rows, path)


def _json_lines(text: str, path: str) -> list[tuple[int, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = jsontext.loads(line.encode("utf-8", "surrogatepass"), floats=True)
            rows.append((number, value))
        except jsontext.JSONTextError as err:
            raise TraceError(f"{path}:{number}: the line is not a JSON step: {err}") from None
    return rows


def _is_audit(row: Any) -> bool:
    return isinstance(row, dict) and "seq" in row and "hash" in row and "session" in row


def _object(row: Any, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise TraceError(f"{where}: a step must be a JSON object")
    return row


def _steps(rows: list[tuple[int, Any]], path: str) -> RecordedTrace:
    initial: dict[str, Any] | None = None
    initial_line = 0
    steps: list[TraceStep] = []
    for number, raw in rows:
        row = _object(raw, f"{path}:{number}")
        first = not steps and initial is None and "state" in row
        if first and row.get("action") is None and "event" not in row:
            initial, initial_line = _state(row["state"], f"{path}:{number}"), number
            continue
        if "event" in row:
            kind, name = "event", row["event"]
        else:
            kind, name = row.get("kind") or "action", row.get("action")
        if kind not in ("action", "event"):
            raise TraceError(f"{path}:{number}: `kind` must be `action` or `event`")
        if not isinstance(name, str):
            raise TraceError(
                f"{path}:{number}: malformed step: the {kind} must be named by a string"
            )
        expect = ADMISSIBLE if row.get("approved") is True else "allow"
        steps.append(TraceStep(kind, name, row.get("args") or {}, expect, number))
    return RecordedTrace(
        path, "steps", (RecordedSession("trace", tuple(steps), initial, initial_line),)
    )


def _state(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TraceError(f"{where}: `state` must be an object of variable: value")
    return value


def _audit(rows: list[tuple[int, Any]], path: str) -> RecordedTrace:
    """Decisions per session, in log order; a decision whose outcome says the store did not
    take it (or that has no outcome) is left out, since it changed nothing."""
    committed = {
        r.get("of"): r.get("commit") is True for _, r in rows if r.get("kind") == "outcome"
    }
    sessions: dict[str, list[TraceStep]] = {}
    for number, row in rows:
        kind = row.get("kind")
        if kind in _SKIPPED:
            continue
        if kind in _DIVERGED:
            raise TraceError(
                f"{path}:{number}: {_DIVERGED[kind]} cannot be replayed in order; "
                "replay the log of a single writer that never lost a write"
            )
        if kind not in _DECISIONS:
            raise TraceError(f"{path}:{number}: unknown record kind `{kind}`")
        if row.get("writes") is True and not committed.get(row.get("decision_id"), False):
            continue
        if "args" not in row and kind in ("action", "event"):
            raise TraceError(f"{path}:{number}: the arguments were redacted; replay needs them")
        verdict = row.get("verdict")
        if not isinstance(verdict, str):
            raise TraceError(f"{path}:{number}: the record has no verdict")
        sid = str(row.get("session"))
        step = TraceStep(kind, row.get("name"), row.get("args") or {}, verdict, number)
        sessions.setdefault(sid, []).append(step)
    out = tuple(RecordedSession(f"session {sid}", tuple(s)) for sid, s in sessions.items())
    return RecordedTrace(path, "audit", out)


def _check_json(doc: dict[str, Any], path: str) -> RecordedTrace:
    sessions: list[RecordedSession] = []
    specs: list[str] = []
    for f in doc["files"]:
        if not isinstance(f, dict):
            raise TraceError(f"`{path}` is not a `verifier check --format json` report")
        if isinstance(f.get("path"), str):
            specs.append(f["path"])
        for p in f.get("properties") or []:
            trace = p.get("trace") if isinstance(p, dict) else None
            if isinstance(trace, list) and trace:
                sessions.append(_check_trace(trace, str(p.get("name")), p.get("kind"), path))
    spec = specs[0] if len(set(specs)) == 1 else None
    return RecordedTrace(path, "check-json", tuple(sessions), spec)


def _check_trace(trace: list[Any], prop: str, kind: Any, path: str) -> RecordedSession:
    where = f"{path}: property `{prop}`"
    first = _object(trace[0], where)
    steps = []
    for k, raw in enumerate(trace[1:], start=1):
        row = _object(raw, where)
        attempted = kind == "domain" and k == len(trace) - 1
        expect = REFUSED if attempted else ADMISSIBLE
        state = None if attempted else _state(row.get("state"), where)
        steps.append(
            TraceStep(
                row.get("kind"), row.get("action"), row.get("args") or {}, expect, k, state=state
            )
        )
    return RecordedSession(prop, tuple(steps), _state(first.get("state"), where))


def _itf(doc: dict[str, Any], path: str) -> RecordedTrace:
    states = doc["states"]
    names = [v for v in doc.get("vars") or [] if isinstance(v, str)]
    steps = []
    initial: dict[str, Any] | None = None
    for k, raw in enumerate(states):
        row = _object(raw, f"{path}: state {k}")
        values = {v: _from_itf(row.get(v), f"{path}: state {k}") for v in names}
        if k == 0:
            initial = values
            continue
        meta = _meta(row)
        if "action" not in meta:
            raise TraceError(f"{path}: state {k} names no transition in `#meta`")
        expect = REFUSED if "failure" in meta else ADMISSIBLE
        state = None if "failure" in meta else values
        steps.append(
            TraceStep(None, meta["action"], meta.get("args") or {}, expect, k, state=state)
        )
    head = _meta(doc)
    source = head.get("source") if isinstance(head.get("source"), str) else None
    name = str(head.get("description") or "itf")
    return RecordedTrace(path, "itf", (RecordedSession(name, tuple(steps), initial),), source)


def _meta(row: dict[str, Any]) -> dict[str, Any]:
    meta = row.get("#meta")
    return meta if isinstance(meta, dict) else {}


def _from_itf(value: Any, where: str) -> Any:
    """An ITF value as the guard's JSON value: sets become lists, maps lists or objects."""
    if not isinstance(value, dict):
        return value
    if "#bigint" in value:
        try:
            return int(str(value["#bigint"]))
        except ValueError:
            raise TraceError(f"{where}: a malformed `#bigint`") from None
    if "#set" in value and isinstance(value["#set"], list):
        return [_from_itf(x, where) for x in value["#set"]]
    if "#map" in value and isinstance(value["#map"], list):
        pairs = [p for p in value["#map"] if isinstance(p, list) and len(p) == 2]
        keys = [_from_itf(p[0], where) for p in pairs]
        items = [_from_itf(p[1], where) for p in pairs]
        if all(isinstance(k, str) for k in keys):
            return dict(zip(keys, items, strict=True))
        if all(isinstance(k, bool) for k in keys):
            return {("true" if k else "false"): v for k, v in zip(keys, items, strict=True)}
        return items
    raise TraceError(f"{where}: an ITF value this spec language does not produce")
