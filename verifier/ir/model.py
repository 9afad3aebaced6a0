"""The typed, resolved, immutable model every engine and the monitor read.

Runtime values are plain ints everywhere: a bool is 0/1, an enum value is its member's index,
an integer is itself, a set of an enum is a bit mask (bit i = member i). A state is a tuple
of ints, one per *slot*: a scalar variable has one slot, an array one slot per element
(row-major, nested arrays flattened). `Model.slots` describes every slot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from verifier.diagnostics import NOWHERE, Span

__all__ = [
    "BOOL",
    "ArrayRead",
    "ArrayType",
    "Binary",
    "BoolType",
    "Call",
    "EnumType",
    "Expr",
    "Guard",
    "IndexType",
    "IntType",
    "Ite",
    "Lit",
    "Local",
    "Model",
    "Param",
    "Property",
    "Quant",
    "ScalarType",
    "SetType",
    "Slot",
    "StateVar",
    "Transition",
    "Type",
    "Unary",
    "Update",
    "Var",
    "children",
    "index_offset",
    "index_value",
    "reads_state",
    "slot_width",
]


def _span() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)


# ---- types


@dataclass(frozen=True)
class BoolType:
    def size(self) -> int:
        return 2

    def values(self) -> range:
        return range(2)

    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True)
class IntType:
    """An integer range lo..hi (inclusive).

    `saturating` marks a declared `lo..hi saturating` range: the front end clamps every write
    to it, so the IR needs nothing more; the flag is informational and not part of equality.
    """

    lo: int
    hi: int
    saturating: bool = field(default=False, compare=False)

    def size(self) -> int:
        return self.hi - self.lo + 1

    def values(self) -> range:
        return range(self.lo, self.hi + 1)

    def __str__(self) -> str:
        return f"{self.lo}..{self.hi}" + (" saturating" if self.saturating else "")


@dataclass(frozen=True)
class EnumType:
    name: str
    members: tuple[str, ...]

    def size(self) -> int:
        return len(self.members)

    def values(self) -> range:
        return range(len(self.members))

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class SetType:
    """A set of members of an enum, stored as a bit mask."""

    elem: EnumType

    def size(self) -> int:
        return 1 << len(self.elem.members)

    def values(self) -> range:
        return range(1 << len(self.elem.members))

    def __str__(self) -> str:
        return f"set of {self.elem}"


@dataclass(frozen=True)
class ArrayType:
    index: IndexType
    elem: Type

    def size(self) -> int:
        return self.elem.size() ** self.index.size()

    @property
    def length(self) -> int:
        return self.index.size()

    @property
    def width(self) -> int:
        """Number of slots."""
        return self.length * slot_width(self.elem)

    def __str__(self) -> str:
        return f"array[{self.index}] of {self.elem}"


ScalarType = BoolType | IntType | EnumType | SetType
IndexType = BoolType | IntType | EnumType
Type = BoolType | IntType | EnumType | SetType | ArrayType

BOOL = BoolType()


def slot_width(t: Type) -> int:
    return t.width if isinstance(t, ArrayType) else 1


def index_offset(t: IndexType, value: int) -> int:
    """Position of an index value within its index type (0-based)."""
    return value - t.lo if isinstance(t, IntType) else value


def index_value(t: IndexType, offset: int) -> int:
    return offset + t.lo if isinstance(t, IntType) else offset


# ---- expressions (every node carries its type; ints have an interval type)


@dataclass(frozen=True)
class Lit:
    value: int
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Var:
    """A scalar state variable, read from one slot."""

    name: str
    slot: int
    type: ScalarType
    span: Span = _span()


@dataclass(frozen=True)
class ArrayRead:
    """`var[i1][i2]...`: slot = base + sum(stride_k * offset(i_k)); result is a scalar."""

    name: str
    base: int
    dims: tuple[IndexType, ...]
    strides: tuple[int, ...]
    indices: tuple[Expr, ...]
    type: ScalarType
    span: Span = _span()


@dataclass(frozen=True)
class Local:
    """A transition parameter or a quantifier variable."""

    name: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Unary:
    op: str  # "not" | "neg"
    arg: Expr
    type: Type
    span: Span = _span()


# Binary ops: and or implies iff eq ne lt le gt ge add sub mul div mod
#             union diff inter (sets) in (elem, set)
@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Ite:
    cond: Expr
    then: Expr
    orelse: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    """Built-in functions: min, max (2+ ints), abs (int), size (set)."""

    func: str
    args: tuple[Expr, ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Quant:
    """all/some (bool) or count (int) over a finite index domain."""

    kind: str  # "all" | "some" | "count"
    var: str
    domain: IndexType
    body: Expr
    type: Type
    span: Span = _span()


Expr = Lit | Var | ArrayRead | Local | Unary | Binary | Ite | Call | Quant


# ---- transitions and properties


@dataclass(frozen=True)
class Param:
    name: str
    type: ScalarType
    span: Span = _span()


@dataclass(frozen=True)
class Guard:
    cond: Expr
    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Update:
    """Write `value` to a scalar variable (indices == ()) or to one array element.

    All right-hand sides read the pre-state (simultaneous assignment).
    """

    name: str
    base: int
    dims: tuple[IndexType, ...]
    strides: tuple[int, ...]
    indices: tuple[Expr, ...]
    value: Expr
    type: ScalarType  # the target's declared type; a value outside it is a domain violation
    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Transition:
    name: str
    kind: str  # "action" | "event"
    params: tuple[Param, ...]
    guards: tuple[Guard, ...]
    approval: Expr | None  # None: never needs approval
    updates: tuple[Update, ...]
    doc: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Property:
    name: str
    kind: str  # "invariant" | "reachable"
    cond: Expr
    text: str
    doc: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class StateVar:
    name: str
    type: Type
    slot: int  # first slot
    init: tuple[int, ...] | None  # one value per slot, or None for `any`
    span: Span = _span()


@dataclass(frozen=True)
class Slot:
    """One int of the state tuple."""

    var: str
    path: tuple[int, ...]  # index values from the outermost array inward; () for scalars
    type: ScalarType

    @property
    def label(self) -> str:
        return self.var + "".join(f"[{p}]" for p in self.path)


@dataclass(frozen=True)
class Model:
    name: str
    doc: str | None
    consts: tuple[tuple[str, int], ...]
    vars: tuple[StateVar, ...]
    slots: tuple[Slot, ...]
    init: tuple[Expr, ...]  # `init when` predicates, conjoined
    transitions: tuple[Transition, ...]
    properties: tuple[Property, ...]
    final: Expr | None
    source: str = field(default="", compare=False, repr=False)
    path: str = field(default="<input>", compare=False)

    def transition(self, name: str) -> Transition:
        for t in self.transitions:
            if t.name == name:
                return t
        raise KeyError(name)

    def var(self, name: str) -> StateVar:
        for v in self.vars:
            if v.name == name:
                return v
        raise KeyError(name)

    def declared_space(self) -> int:
        return math.prod(s.type.size() for s in self.slots)

    def declared_bits(self) -> float:
        return sum(math.log2(s.type.size()) for s in self.slots)


def children(e: Expr) -> tuple[Expr, ...]:
    """The direct subexpressions of `e`."""
    match e:
        case ArrayRead(indices=idx):
            return idx
        case Unary(arg=a):
            return (a,)
        case Binary(left=left, right=right):
            return (left, right)
        case Ite(cond=c, then=t, orelse=o):
            return (c, t, o)
        case Call(args=args):
            return args
        case Quant(body=b):
            return (b,)
    return ()


def reads_state(e: Expr) -> bool:
    """Whether `e` reads any state variable."""
    if isinstance(e, Var | ArrayRead):
        return True
    return any(reads_state(c) for c in children(e))
