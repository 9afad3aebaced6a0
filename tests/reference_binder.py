"""A straightforward reference implementation of argument bindings, for differential tests.

Written independently of verifier/guard/binding.py and verifier/ir/patterns.py: Python's `re`
for regexes and globs, `posixpath.normpath` for paths, plain string methods for e-mail
domains, first matching arm wins. Returns the argument dict, or None for a refusal.
"""

from __future__ import annotations

import math
import posixpath
import re
from typing import Any

from verifier import ir
from verifier.ir import binding as b

LOCAL_CHARS = set(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~-"
)
LABEL_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def glob_to_re(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i : i + 2] == "**":
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return "".join(out)


def pattern_matches(kind: str, text: str, value: str) -> bool:
    if kind == "exact":
        return value == text
    if kind == "prefix":
        return value.startswith(text)
    regex = glob_to_re(text) if kind == "glob" else text
    return re.fullmatch(regex, value, re.DOTALL | re.ASCII) is not None


def domain_of(value: str) -> str | None:
    if value.count("@") != 1 or len(value) > 320:
        return None
    local, domain = value.split("@")
    if not local or len(local) > 64 or any(c not in LOCAL_CHARS for c in local):
        return None
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    domain = domain.lower()
    if domain.endswith("."):
        domain = domain[:-1]
    if not domain or len(domain) > 253:
        return None
    labels = domain.split(".")
    if len(labels) < 2:
        return None
    for label in labels:
        if not 1 <= len(label) <= 63 or any(c not in LABEL_CHARS for c in label):
            return None
        if label.startswith("-") or label.endswith("-"):
            return None
    return domain


def normal_path(value: str) -> str | None:
    if not value or "\x00" in value or len(value.split("/")) > 256:
        return None
    norm = posixpath.normpath(value)
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    if norm == ".." or norm.startswith("../"):
        return None
    return norm


def json_type_ok(value: Any, ftype: str) -> bool:
    if ftype == "string":
        return type(value) is str
    if ftype == "boolean":
        return type(value) is bool
    if ftype == "integer":
        return type(value) is int and -(2**53) <= value <= 2**53
    if type(value) is float:
        return math.isfinite(value)
    return type(value) is int and -(2**53) <= value <= 2**53


def to_json(t: ir.IndexType, v: int) -> Any:
    if isinstance(t, ir.BoolType):
        return v == 1
    if isinstance(t, ir.EnumType):
        return t.members[v]
    return v


def rule_value(r: b.Rule, values: dict[str, Any]) -> Any:
    """The parameter's JSON value, or raise LookupError for a refusal."""
    if r.kind == "const":
        return to_json(r.type, r.constant)
    assert r.source is not None
    x = values[r.source.field]
    if r.source.transform == "domain":
        x = domain_of(x)
    elif r.source.transform == "path":
        assert r.source.root is None, "the reference handles lexical paths only"
        x = normal_path(x)
    if x is None:
        raise LookupError
    if r.kind == "direct":
        t = r.type
        if isinstance(t, ir.BoolType) and type(x) is bool:
            return x
        if isinstance(t, ir.IntType) and type(x) is int and t.lo <= x <= t.hi:
            return x
        if isinstance(t, ir.EnumType) and type(x) is str and x in t.members:
            return x
        raise LookupError
    if r.kind == "bucket":
        for bound, value in zip(r.bounds, r.values, strict=True):
            if x < bound:
                return to_json(r.type, value)
    else:
        for arm in r.arms:
            if type(x) is str and any(pattern_matches(p.kind, p.text, x) for p in arm.patterns):
                return to_json(r.type, arm.value)
            if type(x) is not str and any(int(x) == n for n in arm.numbers):
                return to_json(r.type, arm.value)
    if r.otherwise is None:
        raise LookupError
    return to_json(r.type, r.otherwise)


def reference_bind(binding: b.ToolBinding, args: Any) -> dict[str, Any] | None:
    """The action's arguments for a call, or None if the call is refused."""
    if type(args) is not dict:
        return None
    fields = {f.name: f for f in binding.inputs}
    if any(k not in fields for k in args):
        return None
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in args:
            if f.default is None:
                return None
            values[name] = f.default
            continue
        v = args[name]
        if not json_type_ok(v, f.type) or (f.type == "string" and len(v) > f.max_length):
            return None
        values[name] = v
    try:
        return {r.param: rule_value(r, values) for r in binding.rules}
    except LookupError:
        return None
