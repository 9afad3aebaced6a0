"""The verified artifact: canonical JSON, content hash, Ed25519 signature, loading and checks.

An artifact binds a spec's source, the proof that every property holds, and the compiled
transition program (serialized IR) the guard enforces. Its content hash is the SHA-256 of the
canonical JSON of everything except `content_hash` and `signature`; the signature signs the
same bytes. A file is accepted only in canonical form, so those signed bytes are the file's
own bytes with the two strictly shaped members cut out: loading checks hash and signature
over the raw bytes *before* parsing anything, then parses with limits (see
`verifier.ir.jsontext`), then checks the document's shape, the proof and the program (see
`verifier.ir.validate`), and the deployment's `Pin`. This module imports no engine: building
takes any finished result with the shape of `ProvedResult` (the checker's CheckResult), so the
runtime guard loads artifacts with a small trusted base.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifier import __version__, ir
from verifier.guard.artifact_shape import HEX64, MAX_SERIAL, ArtifactError, Pin, check_shape
from verifier.ir import codec as ir_json
from verifier.ir import jsontext

__all__ = ["MAX_SERIAL", "Artifact", "ArtifactError", "Pin", "build", "load", "sign", "verify"]

FORMAT = "verifier-artifact"
FORMAT_VERSION = 1
GRAPH_LIMIT = 20_000  # reachable states up to which the explicit graph is embedded
MAX_BYTES = 256 << 20  # the largest artifact (or key) file read

_UNSIGNED = ("content_hash", "signature")
# The two members outside the signed bytes, exactly as canonical JSON spells them. Neither can
# occur inside a JSON string (its quotes would be escaped), so cutting them out of a canonical
# file yields the signed bytes without parsing anything.
_HASH_MEMBER = re.compile(rb',"content_hash":"(sha256:[0-9a-f]{64})",')
_SIG_MEMBER = re.compile(
    rb',"signature":\{"algorithm":"ed25519","key_id":"[0-9a-f]{16}",'
    rb'"public_key":"[A-Za-z0-9+/]{43}=","value":"([A-Za-z0-9+/]{86}==)"\},'
)


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


def content_hash_bytes(body: bytes) -> str:
    """`sha256:<hex>` of the signed bytes themselves."""
    return "sha256:" + sha256_hex(body)


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
    serial: int = 0,
) -> dict[str, Any]:
    """The artifact document for a proved result; ArtifactError if anything is unproved."""
    model = result.model
    if model is None or result.verdict != "proved" or not result.complete:
        raise ArtifactError(f"`{result.path}` is not proved (verdict: {result.verdict})")
    if type(serial) is not int or not 0 <= serial <= MAX_SERIAL:
        raise ArtifactError("the serial must be an integer from 0 to 2**63-1")
    program = ir_json.model_to_json(model)
    if jsontext.depth(program) > jsontext.MAX_DEPTH - 2:
        raise ArtifactError(
            f"the compiled program of `{result.path}` nests more than "
            f"{jsontext.MAX_DEPTH - 2} levels deep, more than the guard loads"
        )
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
        "program": program,
        "graph": graph,
        "serial": serial,
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
    """The bytes of `path`; ArtifactError naming `what` if it cannot be read or is too large."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as err:
        raise ArtifactError(f"cannot read {what} `{path}`: {_why(err)}") from None
    if len(data) > MAX_BYTES:
        raise ArtifactError(f"{what} `{path}` is larger than {MAX_BYTES >> 20} MiB")
    return data


def _why(err: Exception) -> str:
    return (err.strerror if isinstance(err, OSError) and err.strerror else str(err)).lower()


# ---- loading: every check the guard relies on, in this order


def load(
    path: str, public_key: str | bytes | Ed25519PublicKey | None = None, pin: Pin | None = None
) -> Artifact:
    """Read and verify an artifact file (see `from_bytes`)."""
    if not isinstance(path, str | os.PathLike):
        raise ArtifactError("the artifact path must be a string")
    return from_bytes(_read_bytes(path, "the artifact"), public_key, pin)


def verify(
    document: dict[str, Any],
    public_key: str | bytes | Ed25519PublicKey | None = None,
    pin: Pin | None = None,
) -> Artifact:
    """Verify an in-memory document exactly as its file would be (see `from_bytes`)."""
    try:
        data = dumps(document)
    except (TypeError, ValueError, RecursionError):
        raise ArtifactError("the artifact is not a JSON document") from None
    return from_bytes(data, public_key, pin)


def from_bytes(
    data: bytes, public_key: str | bytes | Ed25519PublicKey | None = None, pin: Pin | None = None
) -> Artifact:
    """Check hash and signature over the raw bytes, then parse with limits, then the content.

    Refuses (ArtifactError) bytes that are not canonical, an unsupported format, a hash that
    does not match, a missing or bad signature when `public_key` is given, any unproved
    property, a spec source that does not match its SHA-256, a malformed program, and an
    artifact the pin does not admit.
    """
    if pin is not None and not isinstance(pin, Pin):
        raise ArtifactError("the pin must be a `verifier.guard.Pin`")
    key = load_public_key(public_key) if public_key is not None else None
    body, claimed, signature = _split(data)
    actual = content_hash_bytes(body)
    if claimed != actual:
        raise ArtifactError("the artifact's content hash does not match its content")
    signed_by = _check_signature(body, signature, key)
    if pin is not None:
        pin.check_hash(actual)  # before parsing: a pinned deployment parses only its artifact
    try:
        document = check_shape(jsontext.loads(data))
    except jsontext.JSONTextError as err:
        raise ArtifactError(f"the artifact is not strict JSON: {err}") from None
    if ir_json.canonical(document) + b"\n" != data:
        raise ArtifactError("the artifact is not in canonical form (`verifier compile` output)")
    if document["format"] != FORMAT or document["format_version"] != FORMAT_VERSION:
        raise ArtifactError("not a verifier artifact of a supported format version")
    _check_proof(document)
    model = _model(document)
    if pin is not None:
        pin.check(document, actual)
    return Artifact(document, model, actual, _graph_states(document, model), signed_by)


def _split(data: bytes) -> tuple[bytes, str, bytes | None]:
    """The signed bytes, the claimed hash and the signature value, cut from the raw bytes."""
    hashes = list(_HASH_MEMBER.finditer(data))
    sigs = list(_SIG_MEMBER.finditer(data))
    if not data.startswith(b"{") or not data.endswith(b"}\n") or len(hashes) != 1 or len(sigs) > 1:
        raise ArtifactError("the artifact is not a canonical artifact file")
    cuts = sorted([hashes[0], *sigs], key=lambda m: m.start())
    body, last = bytearray(), 0
    for m in cuts:
        body += data[last : m.start()] + b","
        last = m.end()
    body += data[last:-1]
    return bytes(body), hashes[0].group(1).decode(), sigs[0].group(1) if sigs else None


def _check_signature(
    body: bytes, signature: bytes | None, key: Ed25519PublicKey | None
) -> str | None:
    if key is None:
        return None
    if signature is None:
        raise ArtifactError("the artifact is not signed, and a signature is required")
    try:
        key.verify(base64.b64decode(signature, validate=True), body)
    except (InvalidSignature, ValueError):
        raise ArtifactError("the artifact's signature does not verify with the given key") from None
    return key_id(key)


def _model(document: dict[str, Any]) -> ir.Model:
    spec = document["spec"]
    source = spec["source"]
    if not HEX64.match(spec["sha256"]) or spec["sha256"] != sha256_hex(source.encode("utf-8")):
        raise ArtifactError("the spec source does not match its SHA-256")
    try:
        model = ir_json.model_from_json(document["program"], source)
    except ir_json.IRFormatError as err:
        raise ArtifactError(f"the compiled program is malformed: {err}") from None
    if document["capability"] != model.name:
        raise ArtifactError("the artifact's capability name is not its program's name")
    return model


def _check_proof(document: dict[str, Any]) -> None:
    proof = document["proof"]
    if proof["verdict"] != "proved" or proof["complete"] is not True:
        raise ArtifactError("the artifact's spec is not proved")
    if any(p["verdict"] != "proved" for p in proof["properties"]):
        raise ArtifactError("the artifact's spec is not proved")


def _graph_states(document: dict[str, Any], model: ir.Model) -> frozenset[tuple[int, ...]] | None:
    graph = document["graph"]
    if graph is None:
        return None
    width = len(model.slots)
    if any(len(s) != width for s in graph["states"]):
        raise ArtifactError("the artifact's verified graph is malformed")
    return frozenset(tuple(s) for s in graph["states"])
