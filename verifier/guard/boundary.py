"""What may cross the guard's API boundary: identifiers and the size of a request.

Session ids, approver and admin names and approval ids come from the trusted side (the
gateway, an operator); they are checked for one strict form so that no two spellings name the
same session (`dl-1`, `DL-1`, `dl-1 `, `dl\u200b-1`). A request (action or event name and
arguments) is capped before anything reads, logs or echoes it, so a hostile payload never
reaches the audit log or a reason.
"""

from __future__ import annotations

import re
from typing import Any

from verifier.guard.options import GuardError, RequestLimits

# Lowercase ASCII letters and digits first, then those and `. _ - : @ / + =`; 1 to 128
# characters. No case, no whitespace, no control, format or non-ASCII characters: one spelling
# per session, so a look-alike is refused instead of getting a fresh session.
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._:@/+=-]{0,127}")
ID_RULE = (
    "1 to 128 characters: lowercase ASCII letters, digits and `. _ - : @ / + =`, "
    "starting with a letter or a digit"
)
APPROVAL_ID = re.compile(r"ap-[0-9a-f]{24}")
JSON_SCALARS = (type(None), bool, int, float, str)
SEQUENCES = (list, tuple, set, frozenset)
INT_BITS = 64


def bad_id(what: str, value: Any) -> str | None:
    """Why `value` is not a valid `what` (session id, approver, admin), or None."""
    if type(value) is not str:
        return f"invalid {what} {preview(value)}: a {what} is a string, not {type(value).__name__}"
    if ID_PATTERN.fullmatch(value) is None:
        return f"invalid {what} {preview(value)}: use {ID_RULE}"
    return None


def require_id(what: str, value: Any) -> str:
    """`value` if it is a valid `what`; GuardError otherwise."""
    problem = bad_id(what, value)
    if problem is not None:
        raise GuardError(problem)
    return str(value)


def bad_approval_id(value: Any) -> str | None:
    """Why `value` is not an approval id (`ap-` and 24 hex digits), or None."""
    if type(value) is str and APPROVAL_ID.fullmatch(value) is not None:
        return None
    return f"invalid approval id {preview(value)}: approval ids look like `ap-` and 24 hex digits"


def preview(value: Any, limit: int = 40) -> str:
    """A short, printable ASCII rendering of any value, in backticks, safe to log."""
    kind = type(value)  # exact types only: a subclass's own __repr__ never runs here
    if kind is str:
        text = value
    elif kind is int and value.bit_length() > INT_BITS:
        text = f"<int of {value.bit_length()} bits>"
    elif kind in JSON_SCALARS:
        text = repr(value)
    else:
        text = f"<{kind.__name__}>"
    shown = text[:limit].encode("ascii", "backslashreplace").decode("ascii")
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in shown)
    more = f"... ({len(text)} characters)" if len(text) > limit else ""
    return f"`{shown}`{more}"


def request_problem(kind: str, name: Any, args: Any, limits: RequestLimits) -> str | None:
    """Why a request is too large or malformed to be decided or logged, or None."""
    if type(name) is str:
        if len(name) > limits.name:
            return f"the {kind} name is too long ({len(name)} characters, at most {limits.name})"
    elif (problem := _Walk(limits).problem(name, f"the {kind} name")) is not None:
        return problem
    if type(args) is not dict:
        return _Walk(limits).problem(args, "the argument object")
    if len(args) > limits.args:
        return f"too many arguments ({len(args)}, at most {limits.args})"
    walk = _Walk(limits)
    for key, value in args.items():
        if type(key) is not str:
            return "argument names must be strings"
        if len(key) > limits.name:
            return f"an argument name is too long ({len(key)} characters, at most {limits.name})"
        walk.spent += len(key)
        problem = walk.problem(value, f"argument `{key}`")
        if problem is not None:
            return problem
    return None


class _Walk:
    """Measures values against the limits, stopping at the first excess (never recursing far)."""

    def __init__(self, limits: RequestLimits) -> None:
        self.limits = limits
        self.spent = 0
        self.count = 0

    def problem(self, value: Any, what: str) -> str | None:
        stack: list[tuple[Any, int]] = [(value, 1)]
        while stack:
            item, depth = stack.pop()
            self.count += 1
            if self.count > self.limits.values:
                return f"{what} is too large (more than {self.limits.values} values)"
            problem = self._item(item, depth, what, stack)
            if problem is not None:
                return problem
            if self.spent > self.limits.total:
                return f"{what} is too large (more than {self.limits.total} characters in all)"
        return None

    def _item(self, item: Any, depth: int, what: str, stack: list[tuple[Any, int]]) -> str | None:
        kind = type(item)
        if kind is str:
            if len(item) > self.limits.string:
                return f"{what} is too long ({len(item)} characters, at most {self.limits.string})"
            self.spent += len(item)
        elif kind is int:
            if item.bit_length() > INT_BITS:
                return f"{what} is too large (an integer of more than {INT_BITS} bits)"
            self.spent += 8
        elif kind in (bool, float, type(None)):
            self.spent += 8
        elif kind in SEQUENCES or kind is dict:
            if depth >= self.limits.depth:
                return f"{what} is nested too deeply (more than {self.limits.depth} levels)"
            if len(item) > self.limits.values:
                return f"{what} is too large (more than {self.limits.values} values)"
            if kind is dict:
                if any(type(k) is not str or len(k) > self.limits.string for k in item):
                    return f"{what} holds an object key that is not a short string"
                self.spent += sum(map(len, item))
            stack.extend((child, depth + 1) for child in (item.values() if kind is dict else item))
        else:
            return f"{what} is not a JSON value ({kind.__name__})"
        return None
