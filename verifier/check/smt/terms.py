"""IR expressions as Z3 terms, with the reference evaluator's runtime faults made explicit.

A symbolic value mirrors the IR's runtime ints: a bool slot is a Z3 Bool, an int or enum slot
a Z3 Int, a set slot a tuple of Z3 Bools (one per enum member). Every translated expression
comes with an error condition (None: cannot fail) that holds exactly when the reference
evaluator, with its short-circuit order, would raise `EvalError` (an index out of range, a
non-positive divisor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, TypeAlias

import z3

from verifier import ir

# z3 ships no type information, so these aliases document intent only.
Num: TypeAlias = Any  # z3 Int or bit-vector term
Value: TypeAlias = Any  # z3 Bool, Num, or a tuple of z3 Bools (a set)
Err: TypeAlias = Any  # z3 Bool, or None when evaluation cannot fault


@dataclass(frozen=True)
class Numbers:
    """How integers are represented: mathematical Ints, or signed bit-vectors of `width` bits.

    Bit-vectors are exact when `width` covers every interval the IR computed for the model's
    expressions (see `verifier.check.smt.width`).
    """

    width: int | None = None

    def var(self, name: str) -> Num:
        return z3.Int(name) if self.width is None else z3.BitVec(name, self.width)

    def val(self, v: int) -> Num:
        return z3.IntVal(v) if self.width is None else z3.BitVecVal(v, self.width)

    def of_bool(self, b: z3.BoolRef) -> Num:
        return z3.If(b, self.val(1), self.val(0))

    def bits(self, v: Num, n: int) -> tuple[z3.BoolRef, ...]:
        """The low `n` bits of a non-negative number, as the members of a set."""
        if self.width is None:
            return tuple((v / (1 << i)) % 2 == 1 for i in range(n))
        return tuple(z3.Extract(i, i, v) == 1 for i in range(n))

    def known(self, e: z3.ExprRef) -> int | None:
        """The value of `e` if it simplifies to a constant."""
        e = z3.simplify(e)
        if z3.is_int_value(e):
            return e.as_long()
        if z3.is_bv_value(e):
            return e.as_signed_long()
        return None

    def floor_div(self, x: Num, y: Num) -> Num:
        if self.width is None:
            return x / y  # Euclidean, which is floor division for a positive divisor
        return (x - x % y) / y  # `%` is bvsmod: the divisor's sign, so exact here


INTS = Numbers()


@dataclass(frozen=True)
class Term:
    """A symbolic value and the condition under which evaluating it raises a fault."""

    value: Value
    err: Err = None


def err_or(*errs: Err) -> Err:
    got = [e for e in errs if e is not None and not z3.is_false(e)]
    if not got:
        return None
    return got[0] if len(got) == 1 else z3.Or(*got)


def err_and(cond: z3.BoolRef, err: Err) -> Err:
    return None if err is None else z3.And(cond, err)


def as_bool(v: Value) -> z3.BoolRef:
    assert isinstance(v, z3.BoolRef), v
    return v


def as_int(v: Value) -> Num:
    assert isinstance(v, z3.ArithRef | z3.BitVecRef), v
    return v


def as_set(v: Value) -> tuple[z3.BoolRef, ...]:
    assert isinstance(v, tuple), v
    return v


def literal(t: ir.Type, v: int, nums: Numbers = INTS) -> Value:
    """The symbolic constant for a runtime int of type `t`."""
    if isinstance(t, ir.BoolType):
        return z3.BoolVal(bool(v))
    if isinstance(t, ir.SetType):
        return tuple(z3.BoolVal(bool((v >> i) & 1)) for i in range(t.elem.size()))
    return nums.val(v)


def ite(c: z3.BoolRef, a: Value, b: Value) -> Value:
    if isinstance(a, tuple):
        return tuple(z3.If(c, x, y) for x, y in zip(a, as_set(b), strict=True))
    return z3.If(c, a, b)


def equal(a: Value, b: Value) -> z3.BoolRef:
    if isinstance(a, tuple):
        return z3.And(*[x == y for x, y in zip(a, as_set(b), strict=True)])
    return a == b


class Translator:
    """Translate IR expressions over one symbolic state and one binding of locals."""

    def __init__(
        self, state: Sequence[Value], env: Mapping[str, Num], nums: Numbers = INTS
    ) -> None:
        self.state = state
        self.env = dict(env)
        self.nums = nums

    def __call__(self, e: ir.Expr) -> Term:
        match e:
            case ir.Lit(value=v, type=t):
                return Term(literal(t, v, self.nums))
            case ir.Var(slot=slot):
                return Term(self.state[slot])
            case ir.Local(name=name, type=t):
                v = self.env[name]
                if isinstance(t, ir.SetType):
                    return Term(self.nums.bits(v, t.elem.size()))
                return Term(v == 1 if isinstance(t, ir.BoolType) else v)
            case ir.ArrayRead():
                return self.array_read(e)
            case ir.Unary():
                return self.unary(e)
            case ir.Binary():
                return self.binary(e)
            case ir.Ite(cond=c, then=t, orelse=o):
                cc, tt, oo = self(c), self(t), self(o)
                cond = as_bool(cc.value)
                branch = err_or(err_and(cond, tt.err), err_and(z3.Not(cond), oo.err))
                return Term(ite(cond, tt.value, oo.value), err_or(cc.err, branch))
            case ir.Call():
                return self.call(e)
            case ir.Quant():
                return self.quant(e)
        raise TypeError(f"not an IR expression: {e!r}")  # pragma: no cover

    # ---- arrays

    def slot_of(self, e: ir.ArrayRead | ir.Update) -> tuple[Num | int, Err]:
        """The slot an indexed access touches (an int when constant) and its range fault."""
        nums = self.nums
        offset: Num | int = 0
        errs: list[Err] = []
        for dim, stride, idx in zip(e.dims, e.strides, e.indices, strict=True):
            t = self(idx)
            errs.append(t.err)
            value = nums.of_bool(as_bool(t.value)) if isinstance(idx.type, ir.BoolType) else t.value
            off = as_int(value) - dim.lo if isinstance(dim, ir.IntType) else as_int(value)
            known = nums.known(off)
            if known is not None and not 0 <= known < dim.size():
                return e.base, z3.BoolVal(True)  # statically out of range: always a fault
            if known is not None:
                off = nums.val(known)
            else:
                errs.append(z3.Or(off < 0, off >= dim.size()))
            offset = offset + stride * off
        known = nums.known(nums.val(0) + offset)
        return (e.base + known if known is not None else e.base + offset), err_or(*errs)

    def array_read(self, e: ir.ArrayRead) -> Term:
        slot, err = self.slot_of(e)
        if isinstance(slot, int):
            return Term(self.state[slot], err)
        width = 1
        for d in e.dims:
            width *= d.size()
        first = self.state[e.base]
        value = reduce(
            lambda acc, k: ite(slot == e.base + k, self.state[e.base + k], acc),
            range(1, width),
            first,
        )
        return Term(value, err)

    # ---- operators

    def unary(self, e: ir.Unary) -> Term:
        a = self(e.arg)
        if e.op == "not":
            return Term(z3.Not(as_bool(a.value)), a.err)
        if e.op == "neg":
            return Term(-as_int(a.value), a.err)
        assert e.op == "singleton" and isinstance(e.type, ir.SetType)
        elem = as_int(a.value)
        return Term(tuple(elem == i for i in range(e.type.elem.size())), a.err)

    def binary(self, e: ir.Binary) -> Term:
        op = e.op
        left = self(e.left)
        if op in ("and", "or", "implies"):
            return self.logic(op, left, self(e.right))
        right = self(e.right)
        err = err_or(left.err, right.err)
        a, b = left.value, right.value
        match op:
            case "eq":
                return Term(equal(a, b), err)
            case "ne":
                return Term(z3.Not(equal(a, b)), err)
            case "iff":
                return Term(as_bool(a) == as_bool(b), err)
            case "union" | "diff" | "inter":
                return Term(set_op(op, as_set(a), as_set(b)), err)
            case "in":
                bits = as_set(b)
                elem = as_int(a)
                return Term(z3.Or(*[z3.And(elem == i, x) for i, x in enumerate(bits)]), err)
            case "div" | "mod":
                x, y = as_int(a), as_int(b)
                fault = err_or(err, y <= 0)
                return Term(self.nums.floor_div(x, y) if op == "div" else x % y, fault)
        return Term(arith(op, as_int(a), as_int(b)), err)

    def logic(self, op: str, left: Term, right: Term) -> Term:
        a, b = as_bool(left.value), as_bool(right.value)
        if op == "and":
            return Term(z3.And(a, b), err_or(left.err, err_and(a, right.err)))
        if op == "or":
            return Term(z3.Or(a, b), err_or(left.err, err_and(z3.Not(a), right.err)))
        return Term(z3.Implies(a, b), err_or(left.err, err_and(a, right.err)))

    def call(self, e: ir.Call) -> Term:
        args = [self(a) for a in e.args]
        err = err_or(*(a.err for a in args))
        if e.func == "size":
            return Term(z3.Sum(*[self.nums.of_bool(x) for x in as_set(args[0].value)]), err)
        vals = [as_int(a.value) for a in args]
        if e.func == "abs":
            return Term(z3.If(vals[0] < 0, -vals[0], vals[0]), err)
        pick = (lambda x, y: z3.If(y < x, y, x)) if e.func == "min" else _max
        return Term(reduce(pick, vals), err)

    def quant(self, e: ir.Quant) -> Term:
        bodies = []
        for v in e.domain.values():
            inner = Translator(self.state, {**self.env, e.var: self.nums.val(v)}, self.nums)
            bodies.append(inner(e.body))
        if e.kind == "count":
            total = z3.Sum(*[self.nums.of_bool(as_bool(b.value)) for b in bodies])
            return Term(total, err_or(*(b.err for b in bodies)))
        # all/some stop at the first false/true body, like the reference evaluator.
        errs: list[Err] = []
        reached: list[z3.BoolRef] = []
        for b in bodies:
            val = as_bool(b.value)
            errs.append(err_and(z3.And(*reached), b.err) if reached else b.err)
            reached.append(val if e.kind == "all" else z3.Not(val))
        vals = [as_bool(b.value) for b in bodies]
        value = z3.And(*vals) if e.kind == "all" else z3.Or(*vals)
        return Term(value, err_or(*errs))


def _max(x: Num, y: Num) -> Num:
    return z3.If(y > x, y, x)


def arith(op: str, a: Num, b: Num) -> z3.ExprRef:
    match op:
        case "lt":
            return a < b
        case "le":
            return a <= b
        case "gt":
            return a > b
        case "ge":
            return a >= b
        case "add":
            return a + b
        case "sub":
            return a - b
        case "mul":
            return a * b
    raise TypeError(f"unknown operator {op}")  # pragma: no cover


def set_op(op: str, a: tuple[z3.BoolRef, ...], b: tuple[z3.BoolRef, ...]) -> Value:
    pairs = zip(a, b, strict=True)
    if op == "union":
        return tuple(z3.Or(x, y) for x, y in pairs)
    if op == "inter":
        return tuple(z3.And(x, y) for x, y in pairs)
    return tuple(z3.And(x, z3.Not(y)) for x, y in pairs)
