"""The verified artifact: canonical JSON, content hash, Ed25519 signature, loading and checks.

An artifact binds a spec's source, the proof that every property holds, and the compiled
transition program (serialized IR) the guard enforces. Its content hash is the SHA-256 of the
canonical JSON of everything except `content_hash` and `signature`; the signature signs the
same bytes. This module imports no engine: building takes any finished result with the
shape of `ProvedResult` (the checker's CheckResult), so the runtime guard loads artifacts with
a small trusted base.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifier import __version__, ir
from verifier.ir import codec as ir_json

FORMAT = "verifier-artifact"
FORMAT_VERSION = 1
GRAPH_LIMIT = 20_000  # reachable states up to which the explicit graph is embedded

_UNSIGNED = ("content_hash", "signature")


class ArtifactError(Exception):
    """An artifact that cannot be trusted: unreadable, unproved, altered or badly signed."""


@dataclass(frozen=True)
class Artifact:
    """A loaded, verified artifact."""

    document: dict[str, Any]
    model: ir.Model
    content_hash: str
    graph_states: frozenset[tuple[int, ...]] | None
    signed_by: str | None

    @property
    def source(self) -> str:
        return str(self.document["spec"]["source"])


class PropertyOutcome(Protocol):
    """One decided property, as the checker reports it."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def engine(self) -> str | None: ...


class ProvedResult(Protocol):
    """What an artifact is built from: the checker's result for one spec."""

    @property
    def path(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def model(self) -> ir.Model | None: ...
    @property
    def verdict(self) -> str: ...
    @property
    def complete(self) -> bool: ...
    @property
    def engine(self) -> str: ...
    @property
    def states(self) -> int | None: ...
    @property
    def transitions(self) -> int | None: ...
    @property
    def depth(self) -> int | None: ...
    @property
    def properties(self) -> Sequence[PropertyOutcome]: ...


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(document: dict[str, Any]) -> str:
    """`sha256:<hex>` of the canonical JSON of the document's signed part."""
    return "sha256:" + sha256_hex(_body_bytes(document))


def _body_bytes(document: dict[str, Any]) -> bytes:
    return ir_json.canonical({k: v for k, v in document.items() if k not in _UNSIGNED})


def _z3_version() -> str | None:
    try:
        return importlib.metadata.version("z3-solver")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return None


def _proof(result: ProvedResult, certificate: bytes | None) -> dict[str, Any]:
    props = [
        {"name": p.name, "kind": p.kind, "verdict": p.verdict, "engine": p.engine or result.engine}
        for p in result.properties
    ]
    return {
        "verdict": result.verdict,
        "engine": result.engine,
        "complete": result.complete,
        "states": result.states,
        "transitions": result.transitions,
        "depth": result.depth,
        "properties": props,
        "certificate_sha256": sha256_hex(certificate) if certificate is not None else None,
    }


def graph_json(
    states: list[tuple[int, ...]], initial: int, edges: list[tuple[int, int, int]]
) -> dict[str, Any]:
    """The explicit verified graph: states, the count of initial ones, (src, dst, instance)."""
    return {
        "states": [[int(v) for v in s] for s in states],  # generated code may yield bools
        "initial": initial,
        "edges": sorted([list(e) for e in edges]),
    }


def build(
    result: ProvedResult,
    graph: dict[str, Any] | None = None,
    certificate: bytes | None = None,
) -> dict[str, Any]:
    """The artifact document for a proved result; ArtifactError if anything is unproved."""
    model = result.model
    if model is None or result.verdict != "proved" or not result.complete:
        raise ArtifactError(f"`{result.path}` is not proved (verdict: {result.verdict})")
    document: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "capability": model.name,
        "spec": {
            "path": result.path,
            "source": result.source,
            "sha256": sha256_hex(result.source.encode("utf-8")),
        },
        "tools": {
            "verifier": __version__,
            "z3": _z3_version(),
            "python": platform.python_version(),
        },
        "proof": _proof(result, certificate),
        "program": ir_json.model_to_json(model),
        "graph": graph,
    }
    document["content_hash"] = content_hash(document)
    return document


def sign(document: dict[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """A copy of the document carrying an Ed25519 signature over its signed part."""
    public = raw_public(private_key.public_key())
    value = private_key.sign(_body_bytes(document))
    out = dict(document)
    out["signature"] = {
        "algorithm": "ed25519",
        "public_key": base64.b64encode(public).decode(),
        "key_id": key_id(private_key.public_key()),
        "value": base64.b64encode(value).decode(),
    }
    return out


def dumps(document: dict[str, Any]) -> bytes:
    """The bytes written to `NAME.artifact.json` (canonical JSON plus a newline)."""
    return ir_json.canonical(document) + b"\n"


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return sha256_hex(raw_public(key))[:16]


# ---- keys


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(path: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file; ArtifactError if it is not one."""
    data = _read_bytes(path, "the private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise ArtifactError(f"cannot read the private key `{path}`: {_why(err)}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ArtifactError(f"`{path}` is not an Ed25519 private key")
    return key


def load_public_key(key: str | bytes | Ed25519PublicKey) -> Ed25519PublicKey:
    """A public key given as an object, PEM bytes, or the path of a PEM file."""
    if isinstance(key, Ed25519PublicKey):
        return key
    data = key
    if isinstance(key, str):
        data = _read_bytes(key, "the public key")
    try:
        loaded = serialization.load_pem_public_key(data if isinstance(data, bytes) else b"")
    except ValueError:
        raise ArtifactError("the public key is not a PEM Ed25519 public key") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise ArtifactError("the public key is not an Ed25519 key")
    return loaded


def _read_bytes(path: str, what: str) -> bytes:
    """The bytes of `path`; ArtifactError naming `what` if it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as err:
        raise ArtifactError(f"cannot read {what} `{path}`: {_why(err)}") from None


def _why(err: Exception) -> str:
    return (err.strerror if isinstance(err, OSError) and err.strerror else str(err)).lower()


# ---- loading: every check the guard relies on


def read(path: str) -> dict[str, Any]:
    """The JSON document in `path`; ArtifactError if unreadable."""
    data = _read_bytes(path, "the artifact")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ArtifactError(f"`{path}` is not a JSON artifact") from None
    if not isinstance(document, dict):
        raise ArtifactError(f"`{path}` is not a JSON artifact")
    return document


def verify(
    document: dict[str, Any], public_key: str | bytes | Ed25519PublicKey | None = None
) -> Artifact:
    """Check format, hash, signature (required when `public_key` is given), proof and program."""
    if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
        raise ArtifactError("not a verifier artifact of a supported format version")
    actual = content_hash(document)
    if document.get("content_hash") != actual:
        raise ArtifactError("the artifact's content hash does not match its content")
    signed_by = _check_signature(document, public_key)
    _check_proof(document)
    spec = document.get("spec") or {}
    source = spec.get("source")
    if not isinstance(source, str) or spec.get("sha256") != sha256_hex(source.encode("utf-8")):
        raise ArtifactError("the spec source does not match its SHA-256")
    try:
        model = ir_json.model_from_json(document.get("program"), source)
    except (ir_json.IRFormatError, TypeError, ValueError) as err:
        raise ArtifactError(f"the compiled program is malformed: {err}") from None
    return Artifact(document, model, actual, _graph_states(document, model), signed_by)


def load(path: str, public_key: str | bytes | Ed25519PublicKey | None = None) -> Artifact:
    """Read and verify an artifact file."""
    return verify(read(path), public_key)


def _check_signature(
    document: dict[str, Any], public_key: str | bytes | Ed25519PublicKey | None
) -> str | None:
    if public_key is None:
        return None
    key = load_public_key(public_key)
    sig = document.get("signature")
    if not isinstance(sig, dict) or sig.get("algorithm") != "ed25519":
        raise ArtifactError("the artifact is not signed, and a signature is required")
    try:
        key.verify(base64.b64decode(str(sig.get("value")), validate=True), _body_bytes(document))
    except (InvalidSignature, ValueError):
        raise ArtifactError("the artifact's signature does not verify with the given key") from None
    return key_id(key)


def _check_proof(document: dict[str, Any]) -> None:
    proof = document.get("proof") or {}
    props = proof.get("properties")
    if proof.get("verdict") != "proved" or proof.get("complete") is not True:
        raise ArtifactError("the artifact's spec is not proved")
    if not isinstance(props, list) or any(p.get("verdict") != "proved" for p in props):
        raise ArtifactError("the artifact's spec is not proved")


def _graph_states(document: dict[str, Any], model: ir.Model) -> frozenset[tuple[int, ...]] | None:
    graph = document.get("graph")
    if graph is None:
        return None
    states = graph.get("states") if isinstance(graph, dict) else None
    width = len(model.slots)
    if not isinstance(states, list) or any(
        not isinstance(s, list) or len(s) != width or any(type(v) is not int for v in s)
        for s in states
    ):
        raise ArtifactError("the artifact's verified graph is malformed")
    return frozenset(tuple(s) for s in states)
