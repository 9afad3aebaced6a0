"""`check_model`: re-derive and check every node of a model read from outside, before any use.

Expressions are re-typed bottom-up with the rules lowering applies (exact integer intervals),
and each node's recorded type must equal the derived one; so a document cannot make a value
look narrower than it is (which would let generated code skip a range check), nor smuggle a
string, float or bool where an int belongs. See `verifier.ir.wellformed` for the leaf checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from verifier.ir import model as ir
from verifier.ir import wellformed as wf
from verifier.ir.wellformed import IRFormatError, fail

__all__ = ["IRFormatError", "check_expr", "check_model"]

Env = Mapping[str, ir.Type]


def check_model(model: Any) -> ir.Model:
    """`model` itself, if every node of it is well formed; IRFormatError naming the first fault."""
    if type(model) is not ir.Model:
        raise fail("the document is not a model")
    wf.text(model.name, "the capability name")
    wf.text(model.doc, "the capability's doc", optional=True)
    wf.text(model.path, "the spec path")
    for pair in wf.tuple_(model.consts, "the constants"):
        if type(pair) is not tuple or len(pair) != 2:
            raise fail("a constant is malformed")
        wf.name(pair[0], "a constant's name")
        wf.int_(pair[1], f"constant `{pair[0]}`")
    wf.check_vars(model)
    checker = _Checker(model)
    for e in wf.tuple_(model.init, "the `init when` conditions"):
        checker.boolean(e, {}, "an `init when` condition")
    names: set[str] = set()
    for t in wf.tuple_(model.transitions, "the transitions"):
        _transition(checker, t, names)
    total = sum(math.prod(p.type.size() for p in t.params) for t in model.transitions)
    if total > wf.MAX_ENUMERATION:
        raise fail(f"the program has {total} transition instances, more than the guard builds")
    for p in wf.tuple_(model.properties, "the properties"):
        _property(checker, p)
    if model.final is not None:
        checker.boolean(model.final, {}, "`final when`")
    return model


def check_expr(model: ir.Model, e: Any, env: Env) -> ir.Type:
    """The derived type of `e` in a well-formed `model`; IRFormatError if `e` is malformed."""
    return _Checker(model).expr(e, env)


def _transition(checker: _Checker, t: Any, names: set[str]) -> None:
    if type(t) is not ir.Transition:
        raise fail("a transition is malformed")
    name = wf.name(t.name, "a transition's name")
    if name in names:
        raise fail(f"transition `{name}` is declared twice")
    names.add(name)
    if t.kind not in ("action", "event"):
        raise fail(f"transition `{name}` is neither an action nor an event")
    wf.text(t.doc, f"the doc of `{name}`", optional=True)
    wf.span(t.span)
    env: dict[str, ir.Type] = {}
    for p in wf.tuple_(t.params, f"the parameters of `{name}`"):
        if type(p) is not ir.Param:
            raise fail(f"a parameter of `{name}` is malformed")
        pname = wf.name(p.name, f"a parameter of `{name}`")
        if pname in env:
            raise fail(f"parameter `{pname}` of `{name}` is declared twice")
        env[pname] = wf.scalar(p.type, f"the type of parameter `{pname}`")
        wf.span(p.span)
    if math.prod(ty.size() for ty in env.values()) > wf.MAX_ENUMERATION:
        raise fail(f"`{name}` has too many parameter combinations")
    for g in wf.tuple_(t.guards, f"the guards of `{name}`"):
        if type(g) is not ir.Guard:
            raise fail(f"a guard of `{name}` is malformed")
        checker.boolean(g.cond, env, f"a guard of `{name}`")
        wf.text(g.text, f"a guard text of `{name}`")
        wf.span(g.span)
    if t.approval is not None:
        if t.kind == "event":
            raise fail(f"event `{name}` needs approval, which an event cannot")
        checker.boolean(t.approval, env, f"the approval condition of `{name}`")
    for u in wf.tuple_(t.updates, f"the updates of `{name}`"):
        checker.update(u, env, name)


def _property(checker: _Checker, p: Any) -> None:
    if type(p) is not ir.Property:
        raise fail("a property is malformed")
    wf.name(p.name, "a property's name")
    if p.kind not in ("invariant", "reachable"):
        raise fail(f"property `{p.name}` is neither an invariant nor reachable")
    checker.boolean(p.cond, {}, f"property `{p.name}`")
    wf.text(p.text, f"the text of `{p.name}`")
    wf.text(p.doc, f"the doc of `{p.name}`", optional=True)
    wf.span(p.span)


class _Checker:
    """Derives expression types against one model's declarations."""

    def __init__(self, model: ir.Model) -> None:
        self.vars = {v.name: v for v in model.vars}
        self.slots = model.slots

    def boolean(self, e: Any, env: Env, what: str) -> None:
        if type(self.expr(e, env)) is not ir.BoolType:
            raise fail(f"{what} is not a bool")

    def expr(self, e: Any, env: Env) -> ir.Type:
        """The type of `e`, derived from its children; it must equal the recorded one."""
        derived = self._derive(e, env)
        if e.type != derived:
            raise fail(f"an expression records type `{e.type}` but has type `{derived}`")
        wf.span(e.span)
        return derived

    def _derive(self, e: Any, env: Env) -> ir.Type:
        kind = type(e)
        if kind is ir.Lit:
            return self._lit(e)
        if kind is ir.Var:
            return self._var(e)
        if kind is ir.Local:
            local = wf.name(e.name, "a local name", wf.LOCAL)
            if local not in env:
                raise fail(f"`{local}` is not a parameter or quantified variable in scope")
            return env[local]
        if kind is ir.ArrayRead:
            return self._access(e, env)
        if kind is ir.Unary:
            return self._unary(e, env)
        if kind is ir.Binary:
            return self._binary(e, env)
        if kind is ir.Ite:
            self.boolean(e.cond, env, "an `if` condition")
            then, orelse = self.expr(e.then, env), self.expr(e.orelse, env)
            if not wf.same_kind(then, orelse):
                raise fail("the branches of an `if` have different types")
            return wf.join_types(then, orelse)
        if kind is ir.Call:
            return self._call(e, env)
        if kind is ir.Quant:
            return self._quant(e, env)
        raise fail("an expression is malformed")

    def _lit(self, e: ir.Lit) -> ir.Type:
        value = wf.int_(e.value, "a literal")
        t = wf.scalar(e.type, "a literal's type")
        if type(t) is ir.IntType:
            return ir.IntType(value, value)
        if value not in t.values():
            raise fail(f"literal {value} is outside its type")
        return t

    def _var(self, e: ir.Var) -> ir.Type:
        var = self.vars.get(wf.name(e.name, "a variable name"))
        slot = wf.int_(e.slot, "a slot")
        if var is None or isinstance(var.type, ir.ArrayType) or var.slot != slot:
            raise fail(f"`{e.name}` is not a scalar state variable at slot {slot}")
        return var.type

    def _access(self, e: ir.ArrayRead | ir.Update, env: Env) -> ir.Type:
        var = self.vars.get(wf.name(e.name, "a variable name"))
        indices = wf.tuple_(e.indices, "array indices")
        if var is None or not isinstance(var.type, ir.ArrayType) or not indices:
            raise fail(f"`{e.name}` is not an array state variable")
        dims, strides = wf.array_layout(var.type, len(indices))
        if e.base != var.slot or e.dims != dims or e.strides != strides:
            raise fail(f"the layout of an access to `{e.name}` does not match its declaration")
        elem: ir.Type = var.type
        for dim, index in zip(dims, indices, strict=True):
            got = self.expr(index, env)
            if not wf.same_kind(got, dim):
                raise fail(f"an index of `{e.name}` has the wrong type")
            assert isinstance(elem, ir.ArrayType)
            elem = elem.elem
        if isinstance(elem, ir.ArrayType):
            raise fail(f"an access to `{e.name}` does not index every dimension")
        return elem

    def _unary(self, e: ir.Unary, env: Env) -> ir.Type:
        arg = self.expr(e.arg, env)
        if e.op == "not" and type(arg) is ir.BoolType:
            return ir.BOOL
        if e.op == "neg" and type(arg) is ir.IntType:
            return ir.IntType(-arg.hi, -arg.lo)
        if e.op == "singleton" and type(arg) is ir.EnumType:
            return ir.SetType(arg)
        raise fail("a unary operator is unknown or has the wrong operand")

    def _binary(self, e: ir.Binary, env: Env) -> ir.Type:
        left, right = self.expr(e.left, env), self.expr(e.right, env)
        op = e.op
        if op in wf.LOGIC and type(left) is type(right) is ir.BoolType:
            return ir.BOOL
        if op in ("eq", "ne") and wf.same_kind(left, right):
            return ir.BOOL
        if op in wf.COMPARE and type(left) is ir.EnumType and left == right:
            return ir.BOOL  # members of one enum are ordered as declared
        if type(left) is type(right) is ir.IntType:
            assert isinstance(left, ir.IntType) and isinstance(right, ir.IntType)
            if op in wf.COMPARE:
                return ir.BOOL
            if op in ("div", "mod") and right.lo <= 0:
                raise fail(f"the divisor of `{op}` may be zero or negative")
            if op in wf.ARITH:
                return wf.arith_interval(op, left, right)
        if op in wf.SETS and type(left) is ir.SetType and left == right:
            return left
        if op == "in" and type(right) is ir.SetType and left == right.elem:
            return ir.BOOL
        raise fail("a binary operator is unknown or has the wrong operands")

    def _call(self, e: ir.Call, env: Env) -> ir.Type:
        args = [self.expr(a, env) for a in wf.tuple_(e.args, "a call's arguments")]
        if e.func == "size" and len(args) == 1 and type(args[0]) is ir.SetType:
            return ir.IntType(0, args[0].elem.size())
        ints = [a for a in args if type(a) is ir.IntType]
        if len(ints) != len(args) or not ints:
            raise fail("a function is unknown or has the wrong arguments")
        los, his = [t.lo for t in ints], [t.hi for t in ints]
        if e.func == "min" and len(ints) >= 2:
            return ir.IntType(min(los), min(his))
        if e.func == "max" and len(ints) >= 2:
            return ir.IntType(max(los), max(his))
        if e.func == "abs" and len(ints) == 1:
            lo, hi = los[0], his[0]
            return ir.IntType(0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi)))
        raise fail("a function is unknown or has the wrong arguments")

    def _quant(self, e: ir.Quant, env: Env) -> ir.Type:
        var = wf.name(e.var, "a quantified variable", wf.LOCAL)
        if var in env:
            raise fail(f"quantified variable `{var}` shadows another")
        domain = wf.index_type(e.domain, "a quantifier's domain")
        if domain.size() > wf.MAX_ENUMERATION:
            raise fail("a quantifier ranges over too many values")
        if e.kind not in wf.QUANTS:
            raise fail("a quantifier is unknown")
        self.boolean(e.body, {**env, var: domain}, "a quantifier's body")
        return ir.BOOL if e.kind != "count" else ir.IntType(0, domain.size())

    def update(self, u: Any, env: Env, transition: str) -> None:
        if type(u) is not ir.Update:
            raise fail(f"an update of `{transition}` is malformed")
        wf.text(u.text, f"an update text of `{transition}`")
        wf.span(u.span)
        if wf.tuple_(u.indices, "update indices"):
            target = self._access(u, env)
        else:
            var = self.vars.get(wf.name(u.name, "a variable name"))
            if var is None or isinstance(var.type, ir.ArrayType) or u.base != var.slot:
                raise fail(f"`{transition}` assigns `{u.name}`, which is not a scalar variable")
            if u.dims != () or u.strides != ():
                raise fail(f"the layout of an assignment to `{u.name}` is malformed")
            target = var.type
        if u.type != target:
            raise fail(f"an assignment to `{u.name}` records the wrong target type")
        if not wf.same_kind(self.expr(u.value, env), target):
            raise fail(f"the value assigned to `{u.name}` has the wrong type")
