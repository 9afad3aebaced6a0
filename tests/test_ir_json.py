"""IR <-> canonical JSON round trips on every spec in models/."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from tests.guard_support import ALL_SPECS
from tests.strategies import cap_specs
from verifier.ir import codec as ir_json
from verifier.lang.frontend import load_model, load_text


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: p.stem)
def test_round_trip_gives_an_equal_model(spec):
    model = load_model(str(spec))
    data = ir_json.model_to_json(model)
    text = ir_json.canonical(data)
    back = ir_json.model_from_json(json.loads(text), model.source)
    assert back == model
    assert back.source == model.source
    # spans are not part of equality, so compare the canonical bytes too
    assert ir_json.canonical(ir_json.model_to_json(back)) == text


def test_canonical_json_is_sorted_and_compact():
    assert ir_json.canonical({"b": [1, 2], "a": "é"}) == '{"a":"é","b":[1,2]}'.encode()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"node": "Model", "format": 2}, "unsupported model format 2"),
        ([], "the document is not a model"),
        ({"node": "Model", "format": 1, "name": {"node": "os.system"}}, "unknown node `os.system`"),
    ],
)
def test_malformed_documents_are_refused(document, message):
    with pytest.raises(ir_json.IRFormatError, match="^" + message.replace("(", r"\(")):
        ir_json.model_from_json(document)


def test_a_node_with_an_unknown_field_is_refused():
    data = {"node": "Lit", "value": 1, "type": {"node": "BoolType"}, "span": [1, 1, 1, 2], "x": 0}
    with pytest.raises(ir_json.IRFormatError, match="unknown field `x`"):
        ir_json.from_json(data)


@settings(max_examples=80, deadline=None)
@given(cap_specs())
def test_round_trip_on_random_specs(text):
    model = load_text(text).model
    assert model is not None
    data = json.loads(ir_json.canonical(ir_json.model_to_json(model)))
    back = ir_json.model_from_json(data, model.source)
    assert back == model
    assert ir_json.canonical(ir_json.model_to_json(back)) == ir_json.canonical(data)
