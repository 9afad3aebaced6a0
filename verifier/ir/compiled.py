"""IR to generated Python: one closure per transition instance, one per property.

The generated code is the fast path of the explicit engine and of the monitor. It is exact on
the happy path and *defers* every fault to the reference semantics: when a generated step sees
anything unusual (a value outside its range, an index out of bounds, two writes to one slot),
it re-runs the instance through `verifier.ir.semantics`, which raises the precise, located error.
So both paths agree by construction on every outcome, and the tests check that they do.

Nothing of the model reaches the generated source as text: integers (literals, slots, bounds,
strides) are emitted through `_num`, which accepts only a real `int`; operators and functions
only through the fixed tables below; parameters and quantified variables only as generated
identifiers (`a0`, `q1`). A model read from a file is checked by `verifier.ir.validate` first;
this is the second line of defence, should anything ever pass an unchecked model.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from verifier.ir import model as ir
from verifier.ir import semantics as sem
from verifier.ir.evaluate import EvalError, eval_expr

State = tuple[int, ...]
Fire = Callable[[State], State | None]
Pred = Callable[[State], bool]

UNROLL_LIMIT = 32  # quantifiers over larger domains become generator expressions
UNROLL_CHARS = 4000  # nor are bodies unrolled into more code than this
WIDE_STATE = 48  # above this many slots, successors are built from a list copy


_UNARY = {"not": "(not {})", "neg": "(-{})", "singleton": "(1 << {})"}
_LOGIC = {"and": "({} and {})", "or": "({} or {})", "implies": "((not {}) or {})"}
_SYMBOLS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "//",
    "mod": "%",
    "union": "|",
    "inter": "&",
}
_FUNCS = {"min": "min", "max": "max", "abs": "abs"}


def _num(value: object) -> str:
    """The source text of an int of the model; anything else is refused, never pasted."""
    if type(value) is not int:
        raise TypeError(f"refusing to generate code from a {type(value).__name__}")
    return str(value)


class _Fault(Exception):
    """Raised inside generated code; the caller re-runs the reference semantics."""


def _ix(value: int, lo: int, size: int) -> int:
    off = value - lo
    if 0 <= off < size:
        return off
    raise _Fault


@dataclass(frozen=True)
class CompiledModel:
    """Generated closures for a model: `fires[k]` steps `instances[k]`."""

    model: ir.Model
    instances: tuple[sem.Instance, ...]
    fires: tuple[Fire, ...]
    invariants: tuple[Pred, ...]  # one per model.properties entry (reachables too)
    final: Pred | None
    source: str

    def instance_index(self) -> dict[tuple[str, tuple[int, ...]], int]:
        return {(inst.name, inst.args): k for k, inst in enumerate(self.instances)}

    def live(self) -> list[int]:
        """Indices of the instances that can ever fire: those whose guards that read no
        state (only parameters) all hold, e.g. `when a != b` in `move(a, b)`."""
        return [k for k, inst in enumerate(self.instances) if not _never_enabled(inst)]


def _never_enabled(inst: sem.Instance) -> bool:
    for g in inst.transition.guards:
        if ir.reads_state(g.cond):
            continue
        try:
            if not eval_expr(g.cond, (), inst.env):
                return True
        except EvalError:
            return False
    return False


class _Gen:
    """Expression code generator for one function body."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = dict(names)  # ir Local name -> python expression
        self.counter = itertools.count()

    def expr(self, e: ir.Expr) -> str:
        match e:
            case ir.Lit(value=v):
                return _num(v)
            case ir.Var(slot=slot):
                return f"s[{_num(slot)}]"
            case ir.Local(name=name):
                return self.names[name]
            case ir.ArrayRead():
                return f"s[{self.slot_code(e)}]"
            case ir.Unary(op=op, arg=a):
                return _UNARY[op].format(self.expr(a))
            case ir.Binary():
                return self.binary(e)
            case ir.Ite(cond=c, then=t, orelse=o):
                return f"({self.expr(t)} if {self.expr(c)} else {self.expr(o)})"
            case ir.Call(func=fn, args=args):
                parts = ", ".join(self.expr(a) for a in args)
                return f"({parts}).bit_count()" if fn == "size" else f"{_FUNCS[fn]}({parts})"
            case ir.Quant():
                return self.quant(e)
        raise TypeError(f"cannot compile {e!r}")  # pragma: no cover

    def binary(self, e: ir.Binary) -> str:
        a, b = self.expr(e.left), self.expr(e.right)
        if e.op in _LOGIC:
            return _LOGIC[e.op].format(a, b)
        if e.op == "in":
            return f"(({b} >> {a}) & 1)"
        if e.op == "diff":
            return f"({a} & ~{b})"
        return f"({a} {_SYMBOLS[e.op]} {b})"

    def quant(self, e: ir.Quant) -> str:
        values = list(e.domain.values())
        var = f"q{next(self.counter)}"
        self.names[e.var] = var
        body = self.expr(e.body)
        del self.names[e.var]
        # Unrolling copies the body once per value; nested quantifiers would multiply.
        if len(values) <= UNROLL_LIMIT and len(body) * len(values) <= UNROLL_CHARS:
            parts = []
            for v in values:
                self.names[e.var] = _num(v)
                parts.append(self.expr(e.body))
            del self.names[e.var]
            if e.kind == "count":
                return "(" + " + ".join(f"(1 if {p} else 0)" for p in parts) + ")"
            joiner = " and " if e.kind == "all" else " or "
            return "(" + joiner.join(parts) + ")"
        rng = f"range({_num(values[0])}, {_num(values[-1] + 1)})"
        if e.kind == "count":
            return f"sum(1 for {var} in {rng} if {body})"
        fn = "all" if e.kind == "all" else "any"
        return f"{fn}({body} for {var} in {rng})"

    def slot_code(self, e: ir.ArrayRead | ir.Update) -> str:
        parts = [_num(e.base)]
        for dim, stride, idx in zip(e.dims, e.strides, e.indices, strict=True):
            lo = _num(dim.lo if isinstance(dim, ir.IntType) else 0)
            size = _num(dim.size())
            code = self.expr(idx)
            if code.lstrip("-").isdigit():
                off = int(code) - int(lo)
                if not 0 <= off < dim.size():
                    return f"_ix({code}, {lo}, {size})"  # faults at run time, as it must
                parts.append(_num(stride * off))
                continue
            if _statically_inside(idx.type, dim):
                term = f"({code} - {lo})" if lo != "0" else code
            else:
                term = f"_ix({code}, {lo}, {size})"
            parts.append(term if stride == 1 else f"{_num(stride)} * {term}")
        if all(p.lstrip("-").isdigit() for p in parts):
            return str(sum(int(p) for p in parts))
        return " + ".join(parts)


def _statically_inside(t: ir.Type, dim: ir.IndexType) -> bool:
    if isinstance(dim, ir.IntType):
        return isinstance(t, ir.IntType) and dim.lo <= t.lo and t.hi <= dim.hi
    return t == dim


def _range_check(t: ir.ScalarType, vt: ir.Type, var: str) -> str | None:
    if not isinstance(t, ir.IntType):
        return None
    if isinstance(vt, ir.IntType) and t.lo <= vt.lo and vt.hi <= t.hi:
        return None
    return f"not ({_num(t.lo)} <= {var} <= {_num(t.hi)})"


def _transition_source(fn: str, t: ir.Transition, width: int) -> str:
    """Source of `def fn(a0, a1, ...)` returning the per-instance closure."""
    pnames = {p.name: f"a{i}" for i, p in enumerate(t.params)}
    gen = _Gen(pnames)
    body: list[str] = []
    for g in t.guards:
        body.append(f"if not {gen.expr(g.cond)}: return None")
    slots: list[str] = []
    for i, u in enumerate(t.updates):
        value = gen.expr(u.value)
        # States hold ints only (the IR contract): a bool-valued expression becomes 0 or 1.
        body.append(
            f"v{i} = (1 if {value} else 0)"
            if isinstance(u.type, ir.BoolType)
            else f"v{i} = {value}"
        )
        check = _range_check(u.type, u.value.type, f"v{i}")
        if check:
            body.append(f"if {check}: raise _Fault")
        slots.append(gen.slot_code(u) if u.indices else _num(u.base))
    static = all(sl.isdigit() for sl in slots)
    if static and len(set(slots)) == len(slots) and width <= WIDE_STATE:
        target = {int(sl): f"v{i}" for i, sl in enumerate(slots)}
        items = [target.get(k, f"s[{k}]") for k in range(width)]
        body.append("return (" + ", ".join(items) + ("," if width == 1 else "") + ")")
    else:
        body.append("n = list(s)")
        for i, sl in enumerate(slots):
            body.append(f"k{i} = {sl}")
        for i, j in itertools.combinations(range(len(slots)), 2):
            if t.updates[i].name == t.updates[j].name:
                body.append(f"if k{i} == k{j}: raise _Fault")
        for i in range(len(slots)):
            body.append(f"n[k{i}] = v{i}")
        body.append("return tuple(n)")
    args = ", ".join(["_ref", *pnames.values()])
    lines = [f"def {fn}({args}):", "    def fire(s):", "        try:"]
    lines += [f"            {b}" for b in body]
    lines += ["        except (_Fault, IndexError):", "            return _ref(s)"]
    lines.append("    return fire")
    return "\n".join(lines)


def _pred_source(fn: str, e: ir.Expr) -> str:
    """Source of `def fn(_ref)` returning a predicate closure with the same fallback."""
    return (
        f"def {fn}(_ref):\n    def pred(s):\n        try:\n"
        f"            return bool({_Gen({}).expr(e)})\n"
        f"        except (_Fault, IndexError):\n            return _ref(s)\n    return pred"
    )


def _reference_step(inst: sem.Instance) -> Fire:
    def step(s: State) -> State | None:
        if not sem.enabled(inst, s):
            return None
        return sem.apply(inst, s)

    return step


def _reference_pred(e: ir.Expr) -> Pred:
    return lambda s: bool(eval_expr(e, s, {}))


def _compile_chunk(source: str, name: str, fn: str, namespace: dict[str, object]) -> None:
    """Define `fn` from `source`; code too deeply nested for Python uses the reference."""
    try:
        exec(compile(source, f"<compiled {name}>", "exec"), namespace)
    except (SyntaxError, RecursionError, MemoryError):
        namespace[fn] = lambda ref, *args: ref


def compile_model(model: ir.Model) -> CompiledModel:
    """Generate and compile closures for every transition instance and property."""
    width = len(model.slots)
    chunks = [
        (f"t{i}", _transition_source(f"t{i}", t, width)) for i, t in enumerate(model.transitions)
    ]
    chunks += [(f"p{i}", _pred_source(f"p{i}", p.cond)) for i, p in enumerate(model.properties)]
    if model.final is not None:
        chunks.append(("final", _pred_source("final", model.final)))
    namespace: dict[str, object] = {"_ix": _ix, "_Fault": _Fault}
    for fn, chunk in chunks:
        _compile_chunk(chunk, model.name, fn, namespace)
    source = "\n\n".join(chunk for _, chunk in chunks) + "\n"
    insts = sem.instances(model)
    makers = [namespace[f"t{i}"] for i in range(len(model.transitions))]
    position = {t.name: i for i, t in enumerate(model.transitions)}
    fires = tuple(
        makers[position[inst.name]](_reference_step(inst), *inst.args)  # type: ignore[operator]
        for inst in insts
    )
    preds = tuple(
        namespace[f"p{i}"](_reference_pred(p.cond))  # type: ignore[operator]
        for i, p in enumerate(model.properties)
    )
    final = (
        namespace["final"](_reference_pred(model.final))  # type: ignore[operator]
        if model.final is not None
        else None
    )
    return CompiledModel(model, insts, fires, preds, final, source)
