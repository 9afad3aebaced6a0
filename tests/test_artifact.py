"""Artifacts: compile refuses unproved specs; hash, signature and schema; tampering is refused."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from tests.guard_support import ROOT, write_artifact
from verifier.cli.guard import compile_spec
from verifier.guard import Guard, GuardError
from verifier.guard import artifact as art

EMAIL = ROOT / "models" / "email_assistant.cap"
BUG = ROOT / "examples" / "violations" / "email_label_bug.cap"
SCHEMA = json.loads((ROOT / "verifier" / "schemas" / "artifact.schema.json").read_text())


def run_compile(spec: Path, out: Path, key: str | None = None) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = compile_spec(str(spec), str(out), key, {}, stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path, art.Ed25519PrivateKey]:
    key = art.generate_key()
    private = tmp_path / "k.key"
    public = tmp_path / "k.pub"
    private.write_bytes(art.private_pem(key))
    public.write_bytes(art.public_pem(key.public_key()))
    return private, public, key


def test_compile_writes_a_signed_artifact_that_matches_the_schema(tmp_path, keys):
    out = tmp_path / "email.artifact.json"
    code, stdout, _ = run_compile(EMAIL, out, str(keys[0]))
    assert code == 0
    document = json.loads(out.read_bytes())
    jsonschema.validate(document, SCHEMA)
    assert stdout.startswith(f"compiled `{EMAIL}` -> `{out}` ({document['content_hash']}")
    assert out.read_bytes() == art.dumps(document)  # canonical on disk
    assert document["proof"]["states"] == len(document["graph"]["states"])
    loaded = art.load(str(out), str(keys[1]))
    assert loaded.signed_by == art.key_id(keys[2].public_key())
    assert loaded.model.name == "email_assistant"


def test_compile_refuses_an_unproved_spec_with_its_counterexample(tmp_path):
    out = tmp_path / "bug.json"
    code, _, stderr = run_compile(BUG, out)
    assert code == 1
    assert not out.exists()
    assert "violated" in stderr
    assert f"error: refusing to compile `{BUG}`: not every property is proved" in stderr


def test_compile_reports_an_invalid_spec_as_a_usage_error(tmp_path):
    bad = tmp_path / "bad.cap"
    bad.write_text("state { x: 0..3 = 0 }\naction a { x := y }\n")
    code, _, stderr = run_compile(bad, tmp_path / "bad.json")
    assert code == 2
    assert "unknown" in stderr


def test_one_flipped_byte_anywhere_is_refused(tmp_path):
    path = write_artifact(EMAIL, tmp_path / "a.json")
    data = bytearray(path.read_bytes())
    Guard.load(str(path)).close()
    for offset in (30, len(data) // 2, len(data) - 10):
        tampered = bytearray(data)
        tampered[offset] ^= 0x01
        path.write_bytes(bytes(tampered))
        with pytest.raises(GuardError):
            Guard.load(str(path))


def test_an_edited_policy_with_a_recomputed_hash_fails_the_signature(tmp_path, keys):
    path = write_artifact(EMAIL, tmp_path / "a.json", keys[2])
    document = json.loads(path.read_bytes())
    document["spec"]["path"] = "elsewhere.cap"
    document["content_hash"] = art.content_hash(document)
    path.write_bytes(art.dumps(document))
    Guard.load(str(path)).close()  # hash alone is consistent again...
    with pytest.raises(GuardError, match="signature does not verify"):
        Guard.load(str(path), public_key=str(keys[1]))  # ...but the signature is not


def test_a_wrong_key_and_a_missing_signature_are_refused(tmp_path, keys):
    other = art.generate_key()
    signed = write_artifact(EMAIL, tmp_path / "s.json", other)
    unsigned = write_artifact(EMAIL, tmp_path / "u.json")
    with pytest.raises(GuardError, match="signature does not verify with the given key"):
        Guard.load(str(signed), public_key=str(keys[1]))
    with pytest.raises(GuardError, match="not signed, and a signature is required"):
        Guard.load(str(unsigned), public_key=str(keys[1]))


def test_an_artifact_claiming_an_unproved_spec_is_refused(tmp_path):
    path = write_artifact(EMAIL, tmp_path / "a.json")
    document = json.loads(path.read_bytes())
    document["proof"]["properties"][0]["verdict"] = "violated"
    document["content_hash"] = art.content_hash(document)
    path.write_bytes(art.dumps(document))
    with pytest.raises(GuardError, match="spec is not proved"):
        Guard.load(str(path))


def test_build_refuses_an_unproved_result():
    from verifier.check.dispatch import run_check
    from verifier.lang.frontend import load_model

    result = run_check(load_model(str(BUG)))
    with pytest.raises(art.ArtifactError, match="is not proved"):
        art.build(result)


def test_keygen_and_cli_round_trip(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from verifier.cli import main

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["keygen", "ci"]).exit_code == 0
    assert (tmp_path / "ci.key").stat().st_mode & 0o777 == 0o600
    result = runner.invoke(main, ["compile", str(EMAIL), "--sign-key", "ci.key"])
    assert result.exit_code == 0, result.output
    Guard.load("email_assistant.artifact.json", public_key="ci.pub").close()


def test_compile_with_a_certificate_records_its_hash(tmp_path):
    import hashlib

    out, cert = tmp_path / "a.json", tmp_path / "proof.smt2"
    stdout, stderr = io.StringIO(), io.StringIO()
    assert compile_spec(str(EMAIL), str(out), None, {}, stdout, stderr, str(cert)) == 0
    proof = json.loads(out.read_bytes())["proof"]
    assert proof["certificate_sha256"] == hashlib.sha256(cert.read_bytes()).hexdigest()
    assert proof["engine"] != "explicit"
    Guard.load(str(out)).close()
