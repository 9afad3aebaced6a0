"""The artifact document's exact shape (the schema, checked by hand), and deployment pins.

`check_shape` runs on every parsed artifact before any field is used: each member has its
exact JSON type (an int is never a bool or a float) and no object holds an unknown member, so
the code after it never meets a list where it reads a dict. `Pin` is what a deployment fixes
about the artifact it accepts: the capability name, a minimum `serial`, or the exact hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

HASH = re.compile(r"sha256:[0-9a-f]{64}\Z")
HEX64 = re.compile(r"[0-9a-f]{64}\Z")
MAX_SERIAL = 2**63 - 1

_TOP_REQUIRED = {
    "format", "format_version", "capability", "spec", "tools", "proof", "program", "graph",
    "content_hash",
}  # fmt: skip
_TOP = _TOP_REQUIRED | {"signature", "serial"}
_PROOF = {
    "verdict", "engine", "complete", "states", "transitions", "depth", "properties",
    "certificate_sha256",
}  # fmt: skip


class ArtifactError(Exception):
    """An artifact that cannot be trusted: unreadable, unproved, altered or badly signed."""


def _bad(what: str) -> ArtifactError:
    return ArtifactError(f"the artifact is malformed: {what}")


def _object(value: Any, what: str, required: set[str], allowed: set[str]) -> dict[str, Any]:
    if type(value) is not dict:
        raise _bad(f"{what} is not an object")
    missing = required - set(value)
    if missing:
        raise _bad(f"{what} lacks `{sorted(missing)[0]}`")
    extra = set(value) - allowed
    if extra:
        raise _bad(f"{what} has an unknown member")
    return value


def _str(value: Any, what: str, optional: bool = False) -> None:
    if not (type(value) is str or (optional and value is None)):
        raise _bad(f"{what} is not a string")


def _count(value: Any, what: str, optional: bool = False) -> None:
    if optional and value is None:
        return
    if type(value) is not int or not 0 <= value <= MAX_SERIAL:
        raise _bad(f"{what} is not a non-negative integer")


def check_shape(doc: Any) -> dict[str, Any]:
    """`doc` itself if it has the artifact schema's shape; ArtifactError naming the first fault."""
    _object(doc, "the document", _TOP_REQUIRED, _TOP)
    _str(doc["format"], "`format`")
    _count(doc["format_version"], "`format_version`")
    _str(doc["capability"], "`capability`")
    _str(doc["content_hash"], "`content_hash`")
    if "serial" in doc:
        _count(doc["serial"], "`serial`")
    spec = _object(doc["spec"], "`spec`", _SPEC, _SPEC)
    for key in ("path", "source", "sha256"):
        _str(spec[key], f"`spec.{key}`")
    tools = _object(doc["tools"], "`tools`", set(), {"verifier", "z3", "python"})
    for key, value in tools.items():
        _str(value, f"`tools.{key}`", optional=True)
    _proof(doc["proof"])
    if type(doc["program"]) is not dict:
        raise _bad("`program` is not an object")
    if doc["graph"] is not None:
        _graph(doc["graph"])
    if "signature" in doc:
        sig = _object(doc["signature"], "`signature`", _SIG, _SIG)
        for key in _SIG:
            _str(sig[key], f"`signature.{key}`")
    return doc


_SIG = {"algorithm", "public_key", "key_id", "value"}
_SPEC = {"path", "source", "sha256"}
_PROP = {"name", "kind", "verdict", "engine"}


def _proof(proof: Any) -> None:
    _object(proof, "`proof`", _PROOF, _PROOF)
    for key in ("verdict", "engine"):
        _str(proof[key], f"`proof.{key}`")
    if type(proof["complete"]) is not bool:
        raise _bad("`proof.complete` is not a bool")
    for key in ("states", "transitions", "depth"):
        _count(proof[key], f"`proof.{key}`", optional=True)
    _str(proof["certificate_sha256"], "`proof.certificate_sha256`", optional=True)
    if type(proof["properties"]) is not list:
        raise _bad("`proof.properties` is not a list")
    for p in proof["properties"]:
        _object(p, "a proved property", _PROP, _PROP)
        for key in _PROP:
            _str(p[key], f"a property's `{key}`")


def _graph(graph: Any) -> None:
    keys = {"states", "initial", "edges"}
    _object(graph, "`graph`", keys, keys)
    _count(graph["initial"], "`graph.initial`")
    for key, width in (("states", None), ("edges", 3)):
        rows = graph[key]
        if type(rows) is not list or any(
            type(row) is not list
            or (width is not None and len(row) != width)
            or any(type(v) is not int for v in row)
            for row in rows
        ):
            raise _bad(f"`graph.{key}` is not a list of lists of integers")


@dataclass(frozen=True)
class Pin:
    """What a deployment requires of the artifact it loads (each field optional).

    `capability`: the exact capability name; `min_serial`: the lowest `serial` accepted
    (`verifier compile --serial N`; an artifact without one has serial 0); `content_hash`:
    exactly this artifact (`sha256:<hex>`, as `verifier compile` prints it).
    """

    capability: str | None = None
    min_serial: int | None = None
    content_hash: str | None = None

    def __post_init__(self) -> None:
        name = self.capability
        if name is not None and (type(name) is not str or not name or not name.isprintable()):
            raise ValueError("`capability` must be a non-empty printable string")
        if self.min_serial is not None and (
            type(self.min_serial) is not int or not 0 <= self.min_serial <= MAX_SERIAL
        ):
            raise ValueError("`min_serial` must be an integer from 0 to 2**63-1")
        if self.content_hash is not None and (
            type(self.content_hash) is not str or not HASH.match(self.content_hash)
        ):
            raise ValueError("`content_hash` must be `sha256:` and 64 lowercase hex digits")

    def check_hash(self, content_hash: str) -> None:
        """ArtifactError if this pin names another artifact's content hash."""
        if self.content_hash is not None and content_hash != self.content_hash:
            raise ArtifactError(
                f"the artifact is `{content_hash}`, but this deployment is pinned to "
                f"`{self.content_hash}`"
            )

    def check(self, doc: dict[str, Any], content_hash: str) -> None:
        """ArtifactError if the (verified) document is not the one this pin admits."""
        self.check_hash(content_hash)
        if self.capability is not None and doc["capability"] != self.capability:
            raise ArtifactError(
                f"the artifact is for capability `{doc['capability']}`, but this deployment "
                f"is pinned to `{self.capability}`"
            )
        serial = doc.get("serial", 0)
        if self.min_serial is not None and serial < self.min_serial:
            raise ArtifactError(
                f"the artifact has serial {serial}, older than the minimum {self.min_serial} "
                "this deployment accepts"
            )
