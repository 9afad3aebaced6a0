"""Strict well-formedness of a model read from outside (an artifact): the guard's first check.

A model decoded from JSON is only a tree of IR classes holding whatever values the document
had. `check_model` re-derives everything the rest of the system relies on, before anything
else uses the model: every field has its exact Python type (an int is an `int`, never a bool,
a float or a string), every name is an identifier that resolves (state variables, slots,
parameters, quantified variables, enum members), every operator and function is one of the
known set, every expression's type is the one lowering computes (exact integer intervals), the
slot layout is the one the declarations imply, initial values lie in their domains, and the
sizes that loading enumerates are capped. Code generation then emits only these validated ints
and fixed operator spellings (see `verifier.ir.compiled`).
"""

from __future__ import annotations

import re
from typing import Any

from verifier.diagnostics import Span
from verifier.ir import model as ir

MAX_ENUMERATION = 1_000_000  # parameter tuples per transition, quantifier domain (as lowering)
MAX_SLOTS = 1_000_000  # ints in one state
MAX_MEMBERS = 4_096  # members of one enum
MAX_INT = 10**18  # magnitude of any integer written in the program
MAX_TEXT = 100_000  # characters of one display string (guard text, doc, names)

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
LOCAL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(#[0-9]{1,9})?\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

UNARY = ("not", "neg", "singleton")
LOGIC = ("and", "or", "implies")
COMPARE = ("eq", "ne", "lt", "le", "gt", "ge")
ARITH = ("add", "sub", "mul", "div", "mod")
SETS = ("union", "diff", "inter")
BINARY = (*LOGIC, *COMPARE, *ARITH, *SETS, "in")
FUNCS = ("min", "max", "abs", "size")
QUANTS = ("all", "some", "count")


class IRFormatError(ValueError):
    """A JSON document that does not describe a well-formed model."""


def arith_interval(op: str, a: ir.IntType, b: ir.IntType) -> ir.IntType:
    """The exact interval of `a op b` (the divisor of div/mod is known to be positive)."""
    if op == "add":
        return ir.IntType(a.lo + b.lo, a.hi + b.hi)
    if op == "sub":
        return ir.IntType(a.lo - b.hi, a.hi - b.lo)
    if op == "mul":
        products = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        return ir.IntType(min(products), max(products))
    if op == "div":
        quotients = [x // y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        return ir.IntType(min(quotients), max(quotients))
    if op == "mod":
        if a.lo >= 0 and a.hi < b.lo:
            return a
        return ir.IntType(0, b.hi - 1)
    raise ValueError(op)  # pragma: no cover


def join_types(a: ir.Type, b: ir.Type) -> ir.Type:
    """The type of `if c then a else b`: the interval hull of two ints, else `a`."""
    if isinstance(a, ir.IntType) and isinstance(b, ir.IntType):
        return ir.IntType(min(a.lo, b.lo), max(a.hi, b.hi))
    return a


def same_kind(a: ir.Type, b: ir.Type) -> bool:
    """Whether values of `a` and `b` may be compared (any two integer ranges may)."""
    return (isinstance(a, ir.IntType) and isinstance(b, ir.IntType)) or a == b


def fail(what: str) -> IRFormatError:
    return IRFormatError(what)


def int_(value: Any, what: str) -> int:
    if type(value) is not int or not -MAX_INT <= value <= MAX_INT:
        raise fail(f"{what} is not an integer within bounds")
    return value


def name(value: Any, what: str, pattern: re.Pattern[str] = IDENT) -> str:
    if type(value) is not str or len(value) > 200 or not pattern.match(value):
        raise fail(f"{what} is not an identifier")
    return value


def text(value: Any, what: str, optional: bool = False) -> None:
    if value is None and optional:
        return
    if type(value) is not str or len(value) > MAX_TEXT or _CONTROL.search(value):
        raise fail(f"{what} is not a plain string")


def tuple_(value: Any, what: str) -> tuple[Any, ...]:
    if type(value) is not tuple:
        raise fail(f"{what} is not a list")
    return value


def span(value: Any) -> None:
    if type(value) is not Span:
        raise fail("a span is malformed")


def check_type(t: Any, what: str) -> ir.Type:
    """`t` itself, if it is a well-formed type; IRFormatError otherwise."""
    if type(t) is ir.BoolType:
        return t
    if type(t) is ir.IntType:
        if int_(t.lo, what) > int_(t.hi, what):
            raise fail(f"{what} is an empty range")
        if type(t.saturating) is not bool:
            raise fail(f"{what} has a malformed `saturating` flag")
        return t
    if type(t) is ir.EnumType:
        name(t.name, f"{what}'s name")
        members = tuple_(t.members, f"{what}'s members")
        if not 0 < len(members) <= MAX_MEMBERS or len(set(members)) != len(members):
            raise fail(f"{what} has no, too many or repeated members")
        for m in members:
            name(m, f"a member of {what}")
        return t
    if type(t) is ir.SetType:
        if type(t.elem) is not ir.EnumType:
            raise fail(f"{what} is a set of something other than an enum")
        check_type(t.elem, what)
        return t
    if type(t) is ir.ArrayType:
        if type(check_type(t.index, what)) not in (ir.BoolType, ir.IntType, ir.EnumType):
            raise fail(f"{what} has an index that is not bool, a range or an enum")
        if t.index.size() > MAX_SLOTS:
            raise fail(f"{what} is too large")
        check_type(t.elem, what)
        if t.width > MAX_SLOTS:
            raise fail(f"{what} is too large")
        return t
    raise fail(f"{what} is not a type")


def scalar(t: Any, what: str) -> ir.ScalarType:
    if isinstance(check_type(t, what), ir.ArrayType):
        raise fail(f"{what} is an array where a single value is expected")
    return t


def index_type(t: Any, what: str) -> ir.IndexType:
    if type(check_type(t, what)) not in (ir.BoolType, ir.IntType, ir.EnumType):
        raise fail(f"{what} is not bool, a range or an enum")
    return t


def layout_slots(vars_: tuple[ir.StateVar, ...]) -> tuple[ir.Slot, ...]:
    """The slots the declared variables occupy, in order (the layout lowering produces)."""
    out: list[ir.Slot] = []

    def walk(var: str, t: ir.Type, path: tuple[int, ...]) -> None:
        if isinstance(t, ir.ArrayType):
            for v in t.index.values():
                walk(var, t.elem, (*path, v))
        else:
            out.append(ir.Slot(var, path, t))

    for v in vars_:
        walk(v.name, v.type, ())
    return tuple(out)


def array_layout(t: ir.Type, depth: int) -> tuple[tuple[ir.IndexType, ...], tuple[int, ...]]:
    """The index types and strides of the first `depth` dimensions of an array type."""
    dims: list[ir.IndexType] = []
    strides: list[int] = []
    for _ in range(depth):
        if not isinstance(t, ir.ArrayType):
            raise fail("an array access has more indices than dimensions")
        dims.append(t.index)
        strides.append(ir.slot_width(t.elem))
        t = t.elem
    return tuple(dims), tuple(strides)


def check_vars(model: ir.Model) -> None:
    """The state variables, their initial values and the slot layout they imply."""
    names: set[str] = set()
    slot = 0
    for v in tuple_(model.vars, "the state variables"):
        if type(v) is not ir.StateVar:
            raise fail("a state variable is malformed")
        name(v.name, "a state variable's name")
        if v.name in names:
            raise fail(f"state variable `{v.name}` is declared twice")
        names.add(v.name)
        span(v.span)
        width = ir.slot_width(check_type(v.type, f"the type of `{v.name}`"))
        if int_(v.slot, f"the slot of `{v.name}`") != slot:
            raise fail(f"state variable `{v.name}` is not at slot {slot}")
        slot += width
        if slot > MAX_SLOTS:
            raise fail("the state has too many slots")
        if v.init is not None and len(tuple_(v.init, f"the initial value of `{v.name}`")) != width:
            raise fail(f"the initial value of `{v.name}` has the wrong width")
    slots = layout_slots(model.vars)
    if tuple_(model.slots, "the slots") != slots:
        raise fail("the slots do not match the state variables")
    for v in model.vars:
        for k, value in enumerate(v.init or ()):
            domain = slots[v.slot + k].type.values()
            if int_(value, f"the initial value of `{v.name}`") not in domain:
                raise fail(f"the initial value of `{v.name}` is outside its type")
