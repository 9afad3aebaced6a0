"""Issue 9 item 1: nothing in an artifact's IR ever becomes code.

An attacker who can write the artifact (unsigned deployment, or before the signature check)
puts Python source into every string and number field of the program, recomputes the content
hash, and tries to get it executed: while loading, at the first decision, or in `verifier
replay`. Every attempt must be a clean refusal, and the marker file must never appear.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.guard_support import ROOT, build_document
from verifier.guard import Guard, GuardError
from verifier.guard import artifact as art

KITCHEN = ROOT / "tests" / "data" / "guard" / "kitchen.cap"
FREE_TEXT = {"doc", "text", "path"}  # strings shown to people, never compiled
NAMES = {"name", "var", "members"}  # an identifier there is just another (valid) name


@pytest.fixture(scope="module")
def kitchen() -> dict[str, Any]:
    return build_document(KITCHEN, with_graph=False)


def leaves(
    value: Any, path: tuple[Any, ...] = (), tag: str = ""
) -> Iterator[tuple[tuple[Any, ...], Any, tuple[str, str]]]:
    """Every (path, value, (node tag, field)) of a string or number inside a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*path, k), str(value.get("node", tag)) + "." + k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, (*path, i), tag)
    elif isinstance(value, str | int) and not isinstance(value, bool):
        node, _, field = tag.rpartition(".")
        yield path, value, (node, field)


def targets(program: dict[str, Any], per_field: int = 2) -> list[tuple[tuple[Any, ...], Any]]:
    """The first few occurrences of every field of every node kind (each one a target)."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for path, value, kind in leaves(program):
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= per_field:
            out.append((path, value))
    return out


def payloads(marker: Path, original: Any) -> list[Any]:
    touch = f"__import__('os').system('touch {marker}')"
    return [
        f"({touch} or {original if isinstance(original, int) else 0})",
        f"{original}\n{touch}\n",
        f"0)\n{touch}\n(",
        f"{original} if {touch} else {original}",
        "__import__",
        f"{touch}",
    ]


def with_value(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = dict(document)
    doc["program"] = json.loads(json.dumps(document["program"]))
    node: Any = doc["program"]
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    doc.pop("content_hash", None)
    doc["content_hash"] = art.content_hash(doc)
    return doc


def exercise(path: Path) -> bool:
    """Load and run every transition once; True if the guard accepted the artifact."""
    try:
        guard = Guard.load(str(path))
    except GuardError:
        return False
    try:
        session = guard.session("s")
        for t in guard.program.model.transitions:
            for entry in guard.program.entries:
                if entry.name == t.name:
                    if t.kind == "action":
                        session.propose(entry.name, entry.args)
                    else:
                        session.observe(entry.name, entry.args)
    finally:
        guard.close()
    return True


def test_every_string_and_number_of_the_ir_is_an_injection_target(kitchen, tmp_path):
    marker = tmp_path / "pwned"
    target = tmp_path / "a.json"
    accepted = []
    cases = 0
    target.write_bytes(art.dumps(kitchen))
    assert exercise(target)  # the untouched artifact loads and runs: refusals below are real
    fields = {kind for _, _, kind in leaves(kitchen["program"])}
    assert len(fields) > 60  # every field of every node kind in the kitchen spec
    for path, original in targets(kitchen["program"]):
        for payload in payloads(marker, original):
            cases += 1
            target.write_bytes(art.dumps(with_value(kitchen, path, payload)))
            harmless = path[-1] in FREE_TEXT or (
                payload.isidentifier() and (path[-1] in NAMES or path[0] == "consts")
            )
            if exercise(target) and not harmless:
                accepted.append((path, payload))
            assert not marker.exists(), f"code ran from {path}: {payload!r}"
    assert cases > 700, cases
    assert accepted == []


@pytest.mark.parametrize(
    "value",
    [True, 1.5, -1, 10**30, None, [], {}, {"node": "Lit"}, "1", "s[0]"],
    ids=repr,
)
def test_wrong_types_in_number_fields_are_refused(kitchen, tmp_path, value):
    target = tmp_path / "a.json"
    for path, original in targets(kitchen["program"], 1):
        if not isinstance(original, int) or "span" in path or "consts" in path:
            continue
        target.write_bytes(art.dumps(with_value(kitchen, path, value)))
        assert not exercise(target) or value == original, path


def test_an_unknown_operator_or_function_is_refused(kitchen, tmp_path):
    target = tmp_path / "a.json"
    ops = {v: p for p, v, _ in leaves(kitchen["program"]) if p[-1] in ("op", "func", "kind")}
    assert set(ops) >= {"min", "abs", "max", "size", "in", "union", "neg", "count", "event"}
    for path in ops.values():
        for bogus in ("pow", "eval", "__import__", "and ", "exec"):
            target.write_bytes(art.dumps(with_value(kitchen, path, bogus)))
            with pytest.raises(GuardError, match="program"):
                Guard.load(str(target))


def test_replay_refuses_an_injected_artifact(kitchen, tmp_path):
    from verifier.cli import main

    marker = tmp_path / "pwned"
    lit = next(p for p, _, _ in leaves(kitchen["program"]) if p[-2:] == ("right", "value"))
    doc = with_value(kitchen, lit, f"(__import__('os').system('touch {marker}') or 3)")
    artifact = tmp_path / "a.json"
    artifact.write_bytes(art.dumps(doc))
    trace = tmp_path / "t.jsonl"
    trace.write_text(json.dumps({"action": "call", "args": {"t": "mail", "n": 1}}) + "\n")
    result = CliRunner().invoke(main, ["replay", str(artifact), str(trace)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "the compiled program is malformed" in result.output
    assert not marker.exists()


def test_the_saturating_flag_round_trips_and_is_strict(kitchen, tmp_path):
    text = json.dumps(kitchen["program"])
    assert text.count('"saturating": true') >= 2  # the variable, its slot, ...; never `false`
    assert '"saturating": false' not in text
    guard = Guard.load(str(_write(tmp_path, kitchen)))
    heat = guard.program.model.var("heat").type
    assert heat.saturating is True
    guard.close()
    for bad in ("false", "1", '"true"', "null"):
        doc = json.loads(json.dumps(kitchen))
        doc["program"] = json.loads(text.replace('"saturating": true', f'"saturating": {bad}', 1))
        doc["content_hash"] = art.content_hash(doc)
        with pytest.raises(GuardError, match="`saturating` that is not `true`"):
            Guard.load(str(_write(tmp_path, doc)))


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "s.json"
    path.write_bytes(art.dumps(doc))
    return path


def test_a_program_that_would_enumerate_too_many_instances_is_refused():
    from verifier import ir
    from verifier.ir.codec import IRFormatError
    from verifier.ir.validate import check_model

    def transition(name: str) -> ir.Transition:
        return ir.Transition(name, "action", (ir.Param("p", ir.IntType(0, 999_999)),), (), None, ())

    one = ir.Model("m", None, (), (), (), (), (transition("a"),), (), None)
    assert check_model(one) is one
    two = ir.Model("m", None, (), (), (), (), (transition("a"), transition("b")), (), None)
    with pytest.raises(IRFormatError, match="2000000 transition instances, more than"):
        check_model(two)
    wide = ir.Transition("c", "action", (ir.Param("p", ir.IntType(0, 10**6)),), (), None, ())
    with pytest.raises(IRFormatError, match="`c` has too many parameter combinations"):
        check_model(ir.Model("m", None, (), (), (), (), (wide,), (), None))


def test_every_spec_in_the_repository_and_the_docs_passes_the_load_check():
    """The loader's re-derivation agrees with lowering on every spec we ship or document."""
    import re

    from verifier.ir import codec
    from verifier.lang.frontend import load_text

    texts = [
        (str(p), p.read_text()) for p in sorted(ROOT.glob("**/*.cap")) if ".venv" not in str(p)
    ]
    for md in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        blocks = re.findall(r"```cap\n(.*?)```", md.read_text(), re.S)
        texts += [(f"{md.name}#{i}", block) for i, block in enumerate(blocks)]
    checked = 0
    for name, text in texts:
        model = load_text(text, name).model
        if model is not None:
            back = codec.model_from_json(codec.model_to_json(model))
            assert back == model, name
            checked += 1
    assert checked > 40
