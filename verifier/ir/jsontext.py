"""Strict JSON text: how the guard reads bytes it did not write itself (artifacts, audit logs).

`loads` accepts exactly the JSON the project writes and nothing that could surprise the code
after it: UTF-8 only (an encoded surrogate is not UTF-8), no duplicate object keys, no NaN or
Infinity, no integer longer than `MAX_INT_DIGITS` digits, no float that is not finite (and no
float at all unless asked), no string holding a lone surrogate escape (`"\\ud800"`), and no
nesting deeper than `max_depth`. Every refusal is one `JSONTextError` with a short reason; no
other exception escapes, whatever the bytes.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 200  # arrays/objects inside each other; the IR of every shipped model is under 20
MAX_INT_DIGITS = 30


class JSONTextError(ValueError):
    """Bytes that are not strict JSON; the message says why, in a few words."""


def loads(
    data: bytes,
    *,
    max_depth: int = MAX_DEPTH,
    floats: bool = False,
    constants: bool = False,
    surrogates: bool = False,
) -> Any:
    """The value in `data`; JSONTextError if it is not strict JSON within the limits.

    `floats` admits finite floats; `constants` also NaN and the infinities, and `surrogates`
    lone surrogate escapes (both only for reading back what `json.dumps` wrote, as the audit
    log does for hostile requests).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise JSONTextError(f"it is not UTF-8 (byte {err.start + 1})") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=float if constants else _constant,
            parse_int=_int,
            parse_float=(_any_float if constants else _float) if floats else _no_float,
        )
    except RecursionError:
        raise JSONTextError("it nests too deeply to read") from None
    except JSONTextError:
        raise
    except json.JSONDecodeError as err:
        raise JSONTextError(f"it is not JSON ({err.msg.lower()} at offset {err.pos})") from None
    except ValueError as err:  # pragma: no cover - int() limits, should a hook miss one
        raise JSONTextError(f"it is not JSON ({err})") from None
    _check_tree(value, max_depth, surrogates)
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONTextError(f"it repeats the key `{_shown(key)}` in one object")
            seen.add(key)
    return out


def _constant(name: str) -> Any:
    raise JSONTextError(f"it holds `{name}`, which is not a JSON number")


def _int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONTextError(f"it holds an integer of more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _float(text: str) -> float:
    if len(text) > 64:
        raise JSONTextError("it holds a number written with more than 64 characters")
    value = float(text)
    if not math.isfinite(value):
        raise JSONTextError(f"it holds `{text}`, which is not a finite number")
    return value


def _any_float(text: str) -> float:
    if len(text) > 64:
        raise JSONTextError("it holds a number written with more than 64 characters")
    return float(text)


def _no_float(text: str) -> float:
    raise JSONTextError(f"it holds `{text[:20]}`, where only integers are allowed")


def _check_tree(value: Any, max_depth: int, surrogates: bool) -> None:
    """Depth and lone surrogates, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not surrogates:
                _string(item)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            raise JSONTextError(f"it nests more than {max_depth} levels deep")
        if isinstance(item, dict):
            for k, v in item.items():
                if not surrogates:
                    _string(k)
                stack.append((v, depth + 1))
        else:
            stack.extend((v, depth + 1) for v in item)


def _string(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONTextError("it holds a string with a lone surrogate (`\\udXXX`)") from None


def _shown(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")[:40]


def depth(value: Any) -> int:
    """How deep arrays and objects nest in a JSON value (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
        else:
            continue
        deepest = max(deepest, level)
    return deepest
