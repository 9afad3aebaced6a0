"""Issue 9 item 15: canonical bytes only, signature over the raw bytes, and deployment pins."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.guard_support import AGENT_SPECS, COUNTER, ROOT, build_document
from verifier.cli.guard import compile_spec
from verifier.guard import Guard, GuardError, Pin
from verifier.guard import artifact as art
from verifier.ir import jsontext

EMAIL = ROOT / "models" / "email_assistant.cap"


@pytest.fixture(scope="module")
def key() -> art.Ed25519PrivateKey:
    return art.generate_key()


@pytest.fixture(scope="module")
def counter_doc() -> dict[str, Any]:
    return build_document(COUNTER, with_graph=False)


def signed(tmp_path: Path, doc: dict[str, Any], key: Any, name: str = "a.json") -> str:
    path = tmp_path / name
    path.write_bytes(art.dumps(art.sign(doc, key)))
    return str(path)


def pub(tmp_path: Path, key: Any) -> str:
    path = tmp_path / "k.pub"
    path.write_bytes(art.public_pem(key.public_key()))
    return str(path)


def reserialized(doc: dict[str, Any], serial: int) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k != "content_hash"}
    out["serial"] = serial
    out["content_hash"] = art.content_hash(out)
    return out


def test_compile_serial_is_signed_and_a_minimum_serial_refuses_older_artifacts(tmp_path, key):
    private = tmp_path / "k.key"
    private.write_bytes(art.private_pem(key))
    out = {}
    for serial in (3, 4):
        out[serial] = tmp_path / f"c{serial}.json"
        stdout, stderr = io.StringIO(), io.StringIO()
        code = compile_spec(
            str(COUNTER), str(out[serial]), str(private), {}, stdout, stderr, serial=serial
        )
        assert code == 0, stderr.getvalue()
    key_path = pub(tmp_path, key)
    pin = Pin(capability="counter", min_serial=4)
    Guard.load(str(out[4]), public_key=key_path, pin=pin).close()
    with pytest.raises(GuardError, match="has serial 3, older than the minimum 4"):
        Guard.load(str(out[3]), public_key=key_path, pin=pin)
    # the serial is signed: raising it in the old artifact breaks the signature
    data = out[3].read_bytes().replace(b'"serial":3', b'"serial":9')
    out[3].write_bytes(data)
    with pytest.raises(GuardError, match="content hash does not match"):
        Guard.load(str(out[3]), public_key=key_path, pin=pin)


def test_another_capabilitys_signed_artifact_is_refused_when_pinned(tmp_path, key, counter_doc):
    other = signed(tmp_path, build_document(EMAIL, with_graph=False), key, "email.json")
    key_path = pub(tmp_path, key)
    Guard.load(other, public_key=key_path).close()  # validly signed by the same key...
    with pytest.raises(GuardError, match="for capability `email_assistant`, but this deployment"):
        Guard.load(other, public_key=key_path, pin=Pin(capability="counter"))  # ...not ours


def test_an_exact_hash_pin_admits_only_that_artifact(tmp_path, key, counter_doc):
    new = signed(tmp_path, reserialized(counter_doc, 2), key, "new.json")
    old = signed(tmp_path, counter_doc, key, "old.json")
    wanted = json.loads(Path(new).read_bytes())["content_hash"]
    Guard.load(new, pin=Pin(content_hash=wanted)).close()
    with pytest.raises(GuardError, match="but this deployment is pinned to `sha256:"):
        Guard.load(old, pin=Pin(content_hash=wanted))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"capability": ""}, "`capability` must be a non-empty printable string"),
        ({"capability": 3}, "`capability` must be"),
        ({"capability": "a\nb"}, "`capability` must be"),
        ({"min_serial": -1}, "`min_serial` must be an integer"),
        ({"min_serial": True}, "`min_serial` must be an integer"),
        ({"min_serial": "3"}, "`min_serial` must be an integer"),
        ({"min_serial": 2.0}, "`min_serial` must be an integer"),
        ({"min_serial": 2**64}, "`min_serial` must be an integer"),
        ({"content_hash": "abc"}, "`content_hash` must be `sha256:`"),
        ({"content_hash": "sha256:" + "A" * 64}, "`content_hash` must be"),
    ],
)
def test_pins_are_validated_strictly(fields, message):
    with pytest.raises(ValueError, match=message):
        Pin(**fields)


def test_a_pin_of_the_wrong_type_refuses_to_start(tmp_path, counter_doc):
    path = tmp_path / "a.json"
    path.write_bytes(art.dumps(counter_doc))
    with pytest.raises(GuardError, match=r"the pin must be a `verifier\.guard\.Pin`"):
        Guard.load(str(path), pin={"capability": "counter"})  # type: ignore[arg-type]


def test_duplicate_keys_are_refused_even_when_the_last_one_would_verify(tmp_path, counter_doc):
    good = art.dumps(counter_doc)
    for dup in (
        good.replace(b'{"capability":', b'{"capability":"x","capability":', 1),
        good.replace(b'"format_version":1', b'"format_version":1,"format_version":1', 1),
        good.replace(b'"node":"Model"', b'"node":"Model","node":"Model"', 1),
    ):
        path = tmp_path / "a.json"
        path.write_bytes(dup)
        with pytest.raises(GuardError):
            Guard.load(str(path))
    with pytest.raises(jsontext.JSONTextError, match="repeats the key `capability`"):
        jsontext.loads(good.replace(b'{"capability":', b'{"capability":"x","capability":', 1))


def test_non_canonical_encodings_of_a_valid_artifact_are_refused(tmp_path, counter_doc, key):
    text = art.dumps(counter_doc)
    doc = json.loads(text)
    variants = [
        json.dumps(doc, sort_keys=True).encode() + b"\n",  # whitespace
        text.replace(b'"node"', b'"\\u006eode"'),  # a \\u escape for the same character
        text.rstrip(b"\n"),  # no final newline
        text + b"\n",  # two
        b"\xef\xbb\xbf" + text,  # a byte-order mark
        text.replace(b'"format_version":1', b'"format_version":1.0'),
        text.replace(b'"format_version":1', b'"format_version":1e0'),
        text.replace(b'"format_version":1', b'"format_version":01'),
    ]
    for n, data in enumerate(variants):
        assert data != text
        path = tmp_path / f"v{n}.json"
        path.write_bytes(data)
        with pytest.raises(GuardError):
            Guard.load(str(path))


def test_the_signature_is_checked_over_the_raw_bytes_before_parsing(tmp_path, key, monkeypatch):
    doc = build_document(COUNTER, with_graph=False)
    path = Path(signed(tmp_path, doc, key))
    key_path = pub(tmp_path, key)
    hostile = path.read_bytes().replace(b'"graph":null', b'"graph":' + b"[" * 100_000, 1)
    path.write_bytes(hostile)

    def no_parse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed before the signature was checked")

    monkeypatch.setattr(jsontext, "loads", no_parse)
    with pytest.raises(GuardError, match="content hash does not match"):
        Guard.load(str(path), public_key=key_path)
    doc2 = reserialized(doc, 1)
    path.write_bytes(art.dumps(art.sign(doc2, art.generate_key())))
    with pytest.raises(GuardError, match="signature does not verify with the given key"):
        Guard.load(str(path), public_key=key_path)


def test_artifacts_written_before_serials_still_verify(tmp_path, key, counter_doc):
    """Format 1 is kept: the signed bytes are the same canonical JSON as before."""
    old = {k: v for k, v in counter_doc.items() if k not in ("serial", "content_hash")}
    old["content_hash"] = art.content_hash(old)
    path = signed(tmp_path, old, key)
    loaded = art.load(path, pub(tmp_path, key))
    assert "serial" not in loaded.document
    with pytest.raises(art.ArtifactError, match="has serial 0, older than the minimum 1"):
        art.load(path, pub(tmp_path, key), Pin(min_serial=1))


@pytest.mark.parametrize("spec", AGENT_SPECS, ids=lambda p: p.stem)
def test_every_agent_model_signs_and_loads_through_the_raw_byte_path(tmp_path, key, spec):
    path = signed(tmp_path, build_document(spec, with_graph=False), key)
    name = json.loads(Path(path).read_bytes())["capability"]
    Guard.load(path, public_key=pub(tmp_path, key), pin=Pin(capability=name)).close()


@pytest.mark.parametrize("path", [3, None, b"a.json", ["a.json"]], ids=repr)
def test_an_artifact_path_that_is_not_a_path_refuses_to_start(path):
    with pytest.raises(GuardError, match="the artifact path must be a string"):
        Guard.load(path)
