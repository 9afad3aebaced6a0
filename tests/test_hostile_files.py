"""Issue 9 item 9 and the must-show fuzz test: hostile files against `Guard.load`, `verifier
replay` and `verifier audit verify`. Every case is a clean refusal (GuardError, or exit 2 with
one line), never a traceback, never exit 1 for unreadable input, never code execution."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.guard_support import COUNTER, build_document
from verifier.guard import Guard, GuardError
from verifier.guard import artifact as art
from verifier.ir import jsontext

MARKER = "/tmp/verifier-hostile-pwned"


@pytest.fixture(scope="module")
def good() -> bytes:
    return art.dumps(build_document(COUNTER, with_graph=False))


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    key = art.generate_key()
    path = tmp_path_factory.mktemp("k") / "k.pub"
    path.write_bytes(art.public_pem(key.public_key()))
    return key, str(path)


def rehash(data: bytes) -> bytes:
    """Recompute the content hash of an edited canonical artifact, as an attacker would."""
    head, rest = data.split(b',"content_hash":"sha256:', 1)
    body = head + b"," + rest[64 + 2 :]
    return (
        head + b',"content_hash":"' + art.content_hash_bytes(body[:-1]).encode() + b'",' + rest[66:]
    )


def hostile_artifacts(good: bytes) -> dict[str, bytes]:
    """Edits of a valid artifact, each with a recomputed content hash."""
    deep = b"[" * 100_000 + b"]" * 100_000
    edits = {
        "5000-digit int": (b'"format_version":1', b'"format_version":' + b"9" * 5000),
        "5000-digit int in the IR": (b'"slot":0', b'"slot":' + b"1" * 5000),
        "negative huge int": (b'"lo":0', b'"lo":-' + b"7" * 400),
        "deep nesting": (b'"graph":null', b'"graph":' + deep),
        "deep nesting in the IR": (b'"init":[]', b'"init":' + deep),
        "deep objects": (b'"graph":null', b'"graph":' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        "NaN": (b'"format_version":1', b'"format_version":NaN'),
        "Infinity": (b'"slot":0', b'"slot":Infinity'),
        "-Infinity": (b'"lo":0', b'"lo":-Infinity'),
        "1e999": (b'"lo":0', b'"lo":1e999'),
        "float": (b'"slot":0', b'"slot":0.0'),
        "lone surrogate in a name": (b'"name":"n"', b'"name":"\\ud800"'),
        "lone surrogate in the source": (b'"source":"', b'"source":"\\udfff'),
        "surrogate pair split": (b'"capability":"counter"', b'"capability":"\\udc00\\ud800"'),
        "duplicate top key": (b'"format":"', b'"format":"x","format":"'),
        "duplicate IR key": (b'"node":"Model"', b'"node":"Model","node":"Model"'),
        "spec is a list": (b'"spec":{', b'"spec":[{'),
        "proof is a string": (b'"proof":{', b'"proof":"x","q":{'),
        "program is a list": (b'"program":{', b'"program":[{'),
        "graph states is a dict": (
            b'"graph":null',
            b'"graph":{"states":{},"initial":0,"edges":[]}',
        ),
        "properties hold a number": (b'"properties":[]', b'"properties":[1]'),
        "tools is null": (b'"tools":{', b'"tools":null,"x":{'),
        "bool where an int belongs": (b'"slot":0', b'"slot":false'),
        "null where a list belongs": (b'"params":[]', b'"params":null'),
        "object where a type belongs": (b'{"hi":5000,"lo":0,"node":"IntType"}', b'{"node":"Var"}'),
        "unknown node": (b'"node":"Lit"', b'"node":"__import__"'),
        "control character": (b'"capability":"counter"', b'"capability":"coun\\u0000ter"'),
    }
    out = {}
    for name, (old, new) in edits.items():
        assert old in good, name
        out[name] = rehash(good.replace(old, new, 1))
    out["invalid UTF-8"] = rehash(good.replace(b'"counter"', b'"count\xff\xfe"', 1))
    out["encoded surrogate"] = rehash(good.replace(b'"counter"', b'"count\xed\xa0\x80"', 1))
    out["overlong UTF-8"] = rehash(good.replace(b'"counter"', b'"count\xc0\xaf"', 1))
    out["empty"] = b""
    out["a number"] = b"1\n"
    out["a list"] = b"[]\n"
    out["only nesting"] = b"[" * 100_000
    out["binary"] = bytes(range(256)) * 4
    out["truncated"] = good[: len(good) // 2]
    return out


def test_every_hostile_artifact_is_a_guard_error(good, tmp_path, key_pair):
    path = tmp_path / "a.json"
    path.write_bytes(good)
    Guard.load(str(path)).close()  # the unedited artifact loads: each refusal below is real
    cases = hostile_artifacts(good)
    assert len(cases) > 30
    for name, data in cases.items():
        path.write_bytes(data)
        for public_key in (None, key_pair[1]):
            try:
                Guard.load(str(path), public_key=public_key).close()
            except GuardError as err:
                assert "\n" not in str(err), name
            else:
                pytest.fail(f"{name}: loaded")
    assert not os.path.exists(MARKER)


def invoke(*args: str) -> Result:
    from verifier.cli import main

    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback for {args[:1]}") from result.exception
    assert "Traceback" not in result.output
    return result


def assert_clean_refusal(result: Result, name: str) -> None:
    assert result.exit_code == 2, (name, result.exit_code, result.output)
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (name, result.output)


def test_replay_refuses_every_hostile_artifact_with_exit_2(good, tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"action": "inc"}\n')
    path = tmp_path / "a.json"
    for name, data in hostile_artifacts(good).items():
        path.write_bytes(data)
        assert_clean_refusal(invoke("replay", str(path), str(trace)), name)


HOSTILE_LINES = {
    "deep nesting": b"[" * 100_000 + b"\n",
    "deep nesting in args": b'{"action":"inc","args":' + b"[" * 50_000 + b"]" * 50_000 + b"}\n",
    "lone surrogate": b'{"action":"\\ud800"}\n',
    "NaN": b'{"action":"inc","args":{"n":NaN}}\n',
    "Infinity": b'{"action":"inc","args":{"n":-Infinity}}\n',
    "invalid UTF-8": b'{"action":"inc\xff"}\n',
    "5000-digit int": b'{"action":"inc","args":{"n":' + b"9" * 5000 + b"}}\n",
    "duplicate keys": b'{"action":"inc","action":"reset_seen"}\n',
    "not an object": b"[1, 2]\n",
    "a string": b'"inc"\n',
    "not JSON": b"{action: inc}\n",
    "bad kind": b'{"kind": 3, "action": "inc"}\n',
    "bad initial state": b'{"action": null, "state": {"n": [1]}}\n',
}


def test_replay_refuses_every_hostile_trace_line_with_exit_2(good, tmp_path):
    artifact = tmp_path / "a.json"
    artifact.write_bytes(good)
    trace = tmp_path / "t.jsonl"
    for name, line in HOSTILE_LINES.items():
        trace.write_bytes(b'{"action": "inc"}\n' + line)
        result = invoke("replay", str(artifact), str(trace))
        assert_clean_refusal(result, name)
        assert result.output.startswith(f"error: {trace}:2: "), (name, result.output)
    trace.write_bytes(HOSTILE_LINES["bad initial state"])
    result = invoke("replay", str(artifact), str(trace))
    assert_clean_refusal(result, "bad initial state on line 1")
    assert result.output == (
        f"error: {trace}:1: malformed step: the given initial state is not an initial state "
        "of the spec\n"
    )


def test_replay_still_reports_inadmissible_steps_with_exit_1(good, tmp_path):
    artifact = tmp_path / "a.json"
    artifact.write_bytes(good)
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(b'{"action": "inc"}\n{"event": "reset_seen"}\n')
    result = invoke("replay", str(artifact), str(trace))
    assert result.exit_code == 1
    assert (
        result.output
        == f"{trace}:2: step 2 `reset_seen`: quarantine: "
        + (result.output.split("quarantine: ", 1)[1])
    )


# What the audit writer itself records for a hostile request (NaN, an escaped lone surrogate)
# is a record: read, and refused by its hash (exit 1); everything else here no guard writes.
WRITER_FORMS = ("lone surrogate", "NaN", "Infinity", "bad kind", "bad initial state")


def test_audit_verify_refuses_every_hostile_log_with_exit_2(tmp_path):
    log = tmp_path / "audit.jsonl"
    lines = {**HOSTILE_LINES, "binary": bytes(range(256)) + b"\n", "number": b"3\n"}
    for name, line in lines.items():
        log.write_bytes(line)
        result = invoke("audit", "verify", str(log))
        if name in WRITER_FORMS:
            assert result.exit_code == 1, (name, result.output)
            assert result.output == f"{log}:1: record 1 does not match its hash (edited)\n"
            continue
        assert_clean_refusal(result, name)
        assert result.output.startswith(f"error: {log}:1: record 1 is not a JSON record"), (
            name,
            result.output,
        )


def test_audit_verify_of_a_directory_or_missing_file_is_exit_2(tmp_path):
    assert_clean_refusal(invoke("audit", "verify", str(tmp_path)), "directory")
    assert_clean_refusal(invoke("audit", "verify", str(tmp_path / "nope")), "missing")


def test_a_guard_never_writes_a_record_its_verifier_cannot_read(good, tmp_path):
    artifact = tmp_path / "a.json"
    artifact.write_bytes(good)
    log = tmp_path / "audit.jsonl"
    guard = Guard.load(str(artifact), audit=str(log))
    session = guard.session("s")
    nasty: list[Any] = [
        {"n": float("nan")},
        {"n": float("inf")},
        {"\ud800": 1},
        {"n": "\udfff"},
        {"n": json.loads("[" * 300 + "]" * 300)},
    ]
    for args in nasty:
        assert session.propose("inc", args).verdict == "deny"
    assert session.propose("\ud800", {}).verdict == "deny"
    guard.close()
    assert invoke("audit", "verify", str(log)).exit_code == 0
    Guard.load(str(artifact), audit=str(log)).close()  # and it restarts on its own log


# ---- fuzzing: random mutations of a valid artifact and random JSON-ish bytes

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _program_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _program_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _program_paths(v, (*path, i))
    return out


@SETTINGS
@given(data=st.data(), value=json_values)
def test_fuzz_guard_load_with_a_replaced_program_node(good, tmp_path, data, value):
    doc = json.loads(good)
    paths = _program_paths(doc["program"])[1:]
    path = data.draw(st.sampled_from(paths))
    node = doc["program"]
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    doc.pop("content_hash")
    try:
        doc["content_hash"] = art.content_hash(doc)
        raw = art.dumps(doc)
    except ValueError:  # NaN/surrogates cannot even be written canonically: write them by hand
        doc["content_hash"] = "sha256:" + "0" * 64
        raw = rehash(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    target = tmp_path / "f.json"
    target.write_bytes(raw)
    try:
        guard = Guard.load(str(target))
    except GuardError:
        return
    try:  # accepted: a well-formed program; every decision still answers
        for entry in guard.program.entries:
            kind = entry.kind
            d = guard.decide("s", kind, entry.name, entry.args)
            assert d.verdict in ("allow", "deny", "escalate", "quarantine")
    finally:
        guard.close()


@SETTINGS
@given(blob=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=4000))
def test_fuzz_both_clis_on_random_bytes(good, tmp_path, blob, cut):
    artifact = tmp_path / "a.json"
    artifact.write_bytes(good[:cut] + blob + good[cut:])
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(blob + b"\n")
    result = invoke("replay", str(artifact), str(trace))
    assert result.exit_code == 2 or good[:cut] + blob + good[cut:] == good
    artifact.write_bytes(good)
    result = invoke("replay", str(artifact), str(trace))
    assert result.exit_code in (0, 1, 2)
    if result.exit_code == 2:
        assert len(result.output.splitlines()) == 1
    result = invoke("audit", "verify", str(trace))
    assert result.exit_code in (1, 2) or blob.strip() == b""
    assert len(result.output.splitlines()) == 1


def test_strict_json_reader_limits():
    assert jsontext.loads(b'{"a":[1,{"b":null}]}') == {"a": [1, {"b": None}]}
    for data, message in [
        (b"[" * 2000, "nests too deeply to read"),
        (b"[" * 201 + b"]" * 201, "nests more than 200"),
        (b"1" * 31, "more than 30 digits"),
        (b"NaN", "`NaN`"),
        (b"1.5", "only integers"),
        (b'"\\ud800"', "lone surrogate"),
        (b'{"\\udc00":1}', "lone surrogate"),
        (b"\xff", "not UTF-8"),
        (b'{"a":1,"a":1}', "repeats the key `a`"),
        (b"{", "not JSON"),
    ]:
        with pytest.raises(jsontext.JSONTextError, match=message):
            jsontext.loads(data)
    assert jsontext.loads(b"1.5", floats=True) == 1.5
    with pytest.raises(jsontext.JSONTextError, match="not a finite number"):
        jsontext.loads(b"1e999", floats=True)
