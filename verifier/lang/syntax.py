"""The abstract syntax tree: what was written, with spans that equality ignores."""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.diagnostics import NOWHERE, Span


def _span() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)


# ---- types


@dataclass(frozen=True)
class BoolT:
    span: Span = _span()


@dataclass(frozen=True)
class RangeT:
    lo: Expr
    hi: Expr
    span: Span = _span()
    saturating: bool = False  # `lo..hi saturating`: writes clamp; `hi` means "hi or more"


@dataclass(frozen=True)
class EnumT:
    members: tuple[Ident, ...]
    span: Span = _span()


@dataclass(frozen=True)
class SetT:
    elem: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class ArrayT:
    index: TypeExpr
    elem: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class NamedT:
    name: str
    span: Span = _span()


TypeExpr = BoolT | RangeT | EnumT | SetT | ArrayT | NamedT


# ---- expressions


@dataclass(frozen=True)
class Ident:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class IntLit:
    value: int
    span: Span = _span()


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Member:
    """`Enum.member`, a qualified enum value."""

    enum: str
    member: str
    span: Span = _span()


@dataclass(frozen=True)
class Unary:
    op: str  # "not" | "-"
    arg: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / mod == != < <= > >= and or implies in notin
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Ite:
    cond: Expr
    then: Expr
    orelse: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Quant:
    kind: str  # "all" | "some" | "count"
    var: Ident
    domain: TypeExpr
    body: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    func: Ident
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Index:
    base: Expr
    index: Expr
    span: Span = _span()


@dataclass(frozen=True)
class SetLit:
    elems: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ListLit:
    elems: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ArrayComp:
    """`[for i in T: e]`: the array whose element at index `i` is `e`."""

    var: Ident
    domain: TypeExpr
    body: Expr
    span: Span = _span()


Expr = (
    IntLit
    | BoolLit
    | Name
    | Member
    | Unary
    | Binary
    | Ite
    | Quant
    | Call
    | Index
    | SetLit
    | ListLit
    | ArrayComp
)


# ---- statements


@dataclass(frozen=True)
class Guard:
    cond: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Approval:
    cond: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class LValue:
    var: Ident
    indices: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Assign:
    target: LValue
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class If:
    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...]
    span: Span = _span()


Stmt = Guard | Approval | Assign | If


# ---- declarations


@dataclass(frozen=True)
class Param:
    name: Ident
    type: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class Header:
    name: Ident
    doc: str | None
    span: Span = _span()


@dataclass(frozen=True)
class ConstDecl:
    name: Ident
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class EnumDecl:
    name: Ident
    members: tuple[Ident, ...]
    span: Span = _span()


@dataclass(frozen=True)
class TypeDecl:
    name: Ident
    type: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class DefDecl:
    name: Ident
    params: tuple[Param, ...]
    body: Expr
    span: Span = _span()


@dataclass(frozen=True)
class AnyValue:
    """`= any`: every value of the type is initial."""

    span: Span = _span()


@dataclass(frozen=True)
class VarDecl:
    name: Ident
    type: TypeExpr
    init: Expr | AnyValue | None
    span: Span = _span()


@dataclass(frozen=True)
class StateBlock:
    vars: tuple[VarDecl, ...]
    span: Span = _span()


@dataclass(frozen=True)
class InitDecl:
    cond: Expr
    span: Span = _span()


@dataclass(frozen=True)
class TransitionDecl:
    kind: str  # "action" | "event"
    name: Ident
    params: tuple[Param, ...]
    doc: str | None
    body: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class FinalDecl:
    cond: Expr
    span: Span = _span()


@dataclass(frozen=True)
class PropertyDecl:
    kind: str  # "invariant" | "reachable"
    name: Ident
    doc: str | None
    cond: Expr
    span: Span = _span()


@dataclass(frozen=True)
class StepArg:
    name: Ident
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class ScenarioStep:
    """`name(arg: value) -> verdict "clause" then approve`: one step and what the guard says."""

    name: Ident
    args: tuple[StepArg, ...]
    verdict: Ident
    clause: str | None
    then: Ident | None
    span: Span = _span()


@dataclass(frozen=True)
class ScenarioState:
    """`state: expr` (what must hold at this point) or `init: expr` (which initial state)."""

    kind: str  # "state" | "init"
    cond: Expr
    span: Span = _span()


@dataclass(frozen=True)
class ScenarioDecl:
    name: Ident
    doc: str | None
    items: tuple[ScenarioStep | ScenarioState, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ScenariosFor:
    """`scenarios for "spec.cap"`: this file holds scenarios of another spec."""

    spec: str
    span: Span = _span()


# ---- tool bindings (words such as `input`, `below`, `glob` are Idents, checked in lowering)


@dataclass(frozen=True)
class BindLit:
    """A literal in a binding: a name (enum member), an integer, a string or a boolean."""

    value: str | int | bool
    kind: str  # "name" | "int" | "string" | "bool"
    span: Span = _span()


@dataclass(frozen=True)
class FieldDecl:
    name: Ident
    type: Ident
    max_length: int | None
    default: BindLit | None
    span: Span = _span()


@dataclass(frozen=True)
class FieldBlock:
    kind: Ident  # `input` | `output`
    fields: tuple[FieldDecl, ...]
    span: Span = _span()


@dataclass(frozen=True)
class BindSource:
    """`field`, or `domain(field)`, `path(field)`, `path(field, root "name")`."""

    field: Ident
    transform: Ident | None
    option: Ident | None
    root: str | None
    span: Span = _span()


@dataclass(frozen=True)
class BindPattern:
    kind: Ident | None  # None: the literal itself
    value: BindLit
    span: Span = _span()


@dataclass(frozen=True)
class BindArm:
    patterns: tuple[BindPattern, ...]  # () for `else`
    value: BindLit
    span: Span = _span()


@dataclass(frozen=True)
class BindRule:
    param: Ident
    form: str  # "table" | "member" | "plain" | "const"
    source: BindSource | None
    arms: tuple[BindArm, ...] = ()
    items: tuple[BindLit, ...] = ()
    constant: BindLit | None = None
    span: Span = _span()


@dataclass(frozen=True)
class OnClause:
    words: tuple[Ident, Ident, Ident]  # `on` outcome `observe`
    event: Ident
    rules: tuple[BindRule, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ToolDecl:
    tool: Ident  # the MCP tool name (a name or a string)
    action: Ident
    doc: str | None
    items: tuple[FieldBlock | BindRule | OnClause, ...]
    span: Span = _span()


Decl = (
    ConstDecl
    | EnumDecl
    | TypeDecl
    | DefDecl
    | StateBlock
    | InitDecl
    | TransitionDecl
    | FinalDecl
    | PropertyDecl
    | ScenarioDecl
    | ScenariosFor
    | ToolDecl
)


@dataclass(frozen=True)
class Spec:
    """A parsed `.cap` file."""

    header: Header | None
    decls: tuple[Decl, ...]
    path: str = field(default="<input>", compare=False)
    source: str = field(default="", compare=False, repr=False)
