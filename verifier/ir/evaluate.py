"""A direct evaluator of IR expressions over a state tuple: the reference for expression meaning.

Values are ints (see `verifier.ir`). `EvalError` is raised for a runtime fault the language
defines as a violation (an array index out of its range, a division by a non-positive number);
it never escapes as a traceback to a user: engines report it as a `domain` violation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from verifier.diagnostics import Span
from verifier.ir import model as ir


class EvalError(Exception):
    """A runtime fault inside an expression or an update, located in the source."""

    def __init__(self, message: str, span: Span) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


Env = Mapping[str, int]


def eval_expr(e: ir.Expr, state: Sequence[int], env: Env) -> int:
    """Evaluate `e` in `state` with locals `env`; booleans come back as 0 or 1."""
    match e:
        case ir.Lit(value=v):
            return v
        case ir.Var(slot=slot):
            return state[slot]
        case ir.Local(name=name):
            return env[name]
        case ir.ArrayRead():
            return state[array_slot(e, state, env)]
        case ir.Unary(op="not", arg=a):
            return 0 if eval_expr(a, state, env) else 1
        case ir.Unary(op="neg", arg=a):
            return -eval_expr(a, state, env)
        case ir.Unary(op="singleton", arg=a):
            return 1 << eval_expr(a, state, env)
        case ir.Binary():
            return _binary(e, state, env)
        case ir.Ite(cond=c, then=t, orelse=o):
            return eval_expr(t if eval_expr(c, state, env) else o, state, env)
        case ir.Call():
            return _call(e, state, env)
        case ir.Quant():
            return _quant(e, state, env)
    raise TypeError(f"not an IR expression: {e!r}")  # pragma: no cover


def array_slot(
    e: ir.ArrayRead | ir.Update, state: Sequence[int], env: Env, what: str = "index"
) -> int:
    slot = e.base
    for dim, stride, idx in zip(e.dims, e.strides, e.indices, strict=True):
        value = eval_expr(idx, state, env)
        offset = ir.index_offset(dim, value)
        if not 0 <= offset < dim.size():
            raise EvalError(f"{what} {value} of `{e.name}` is outside its range {dim}", idx.span)
        slot += stride * offset
    return slot


def _binary(e: ir.Binary, state: Sequence[int], env: Env) -> int:
    op = e.op
    left = eval_expr(e.left, state, env)
    if op == "and":
        return 1 if left and eval_expr(e.right, state, env) else 0
    if op == "or":
        return 1 if left or eval_expr(e.right, state, env) else 0
    if op == "implies":
        return 1 if (not left) or eval_expr(e.right, state, env) else 0
    right = eval_expr(e.right, state, env)
    match op:
        case "eq":
            return int(left == right)
        case "ne":
            return int(left != right)
        case "lt":
            return int(left < right)
        case "le":
            return int(left <= right)
        case "gt":
            return int(left > right)
        case "ge":
            return int(left >= right)
        case "add":
            return left + right
        case "sub":
            return left - right
        case "mul":
            return left * right
        case "div" | "mod":
            if right <= 0:
                raise EvalError(f"division by {right} (the divisor must be positive)", e.span)
            return left // right if op == "div" else left % right
        case "union":
            return left | right
        case "diff":
            return left & ~right
        case "inter":
            return left & right
        case "in":
            return (right >> left) & 1
    raise TypeError(f"unknown operator {op}")  # pragma: no cover


def _call(e: ir.Call, state: Sequence[int], env: Env) -> int:
    args = [eval_expr(a, state, env) for a in e.args]
    match e.func:
        case "min":
            return min(args)
        case "max":
            return max(args)
        case "abs":
            return abs(args[0])
        case "size":
            return args[0].bit_count()
    raise TypeError(f"unknown function {e.func}")  # pragma: no cover


def _quant(e: ir.Quant, state: Sequence[int], env: Env) -> int:
    inner = dict(env)
    hits = 0
    for value in e.domain.values():
        inner[e.var] = value
        if eval_expr(e.body, state, inner):
            if e.kind == "some":
                return 1
            hits += 1
        elif e.kind == "all":
            return 0
    if e.kind == "count":
        return hits
    return 1 if e.kind == "all" else 0
