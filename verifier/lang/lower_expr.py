"""Lowering of expressions: names resolved, types checked, integer intervals computed."""

from __future__ import annotations

import dataclasses

from verifier import ir
from verifier.diagnostics import Span
from verifier.lang import syntax as s
from verifier.lang.lower_array import compare as compare_arrays
from verifier.lang.lower_array import is_array_valued
from verifier.lang.scope import MAX_ENUMERATION, Context, Def, Poison, Scope, layout
from verifier.lang.types import arith_interval, describe, join_types, mismatch_help, same_kind

_ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div", "mod": "mod"}
_COMPARE = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


def lower_expr(lw: Context, e: s.Expr, scope: Scope, expected: ir.Type | None) -> ir.Expr:
    """Lower one expression; report and raise `Poison` when it is wrong."""
    return _ExprLowerer(lw, scope).lower(e, expected)


class _ExprLowerer:
    def __init__(self, lw: Context, scope: Scope) -> None:
        self.lw = lw
        self.scope = scope

    def poison(self) -> Exception:
        """The exception that abandons an expression already reported as wrong."""
        return Poison()

    def fail(self, code: str, message: str, span: Span, help: str | None = None) -> ir.Expr:
        self.lw.sink.error(code, message, span, help)
        raise Poison

    def lower(self, e: s.Expr, expected: ir.Type | None = None) -> ir.Expr:
        match e:
            case s.IntLit(value=v):
                return ir.Lit(v, ir.IntType(v, v), e.span)
            case s.BoolLit(value=v):
                return ir.Lit(int(v), ir.BOOL, e.span)
            case s.Name():
                return self.name(e, expected)
            case s.Member():
                return self.member(e)
            case s.Unary():
                return self.unary(e)
            case s.Binary():
                return self.binary(e, expected)
            case s.Ite():
                return self.ite(e, expected)
            case s.Quant():
                return self.quant(e)
            case s.Call():
                return self.call(e, expected)
            case s.Index():
                return self.index(e)
            case s.SetLit():
                return self.set_lit(e, expected)
            case s.ListLit() | s.ArrayComp():
                what = "a list" if isinstance(e, s.ListLit) else "an array comprehension"
                return self.fail(
                    "type-mismatch",
                    f"{what} is an array value, not a single value",
                    e.span,
                    "assign it to an array or compare it with one (`a == [...]`); "
                    "use a set `{...}` for several enum members",
                )
        return self.fail("syntax", "unsupported expression", e.span)  # pragma: no cover

    # ---- names
    def name(self, e: s.Name, expected: ir.Type | None) -> ir.Expr:
        lw, n = self.lw, e.name
        if n in self.scope.hidden:
            raise self.poison()
        shadowed = self.shadowed_member(n, expected, e.span)
        if shadowed is not None:
            return shadowed
        if n in self.scope.names:
            bound = self.scope.names[n]
            return (
                bound
                if not isinstance(bound, ir.Local)
                else ir.Local(bound.name, bound.type, e.span)
            )
        if n in lw.broken and n not in lw.vars:
            raise self.poison()
        if n in lw.vars:
            var = lw.vars[n]
            if isinstance(var.type, ir.ArrayType):
                return self.fail(
                    "type-mismatch", f"`{n}` is an array; index it", e.span, f"write `{n}[i]`"
                )
            return ir.Var(n, var.slot, var.type, e.span)
        if n in lw.consts:
            v = lw.consts[n]
            return ir.Lit(v, ir.IntType(v, v), e.span)
        if n in lw.defs:
            return self.expand(lw.defs[n], (), e.span)
        if n in lw.members:
            return self.enum_member(n, lw.members[n], expected, e.span)
        if n in lw.types:
            return self.fail(
                "type-mismatch",
                f"`{n}` is a type, not a value",
                e.span,
                self.type_help(n),
            )
        known = [*self.scope.names, *lw.vars, *lw.consts, *lw.defs, *lw.members]
        known = [k for k in known if "#" not in k]
        return self.fail(
            "unknown-name",
            f"unknown name `{n}`",
            e.span,
            lw.suggest(n, known)
            or "declare it as a constant, a definition, a state variable or an enum member",
        )

    def shadowed_member(self, n: str, expected: ir.Type | None, span: Span) -> ir.Expr | None:
        """A diagnostic when `n` names a member of the expected enum but resolves to a value
        of another type (a parameter, quantifier variable, state variable or constant)."""
        enum = expected.elem if isinstance(expected, ir.SetType) else expected
        if not isinstance(enum, ir.EnumType) or n not in enum.members:
            return None
        bound = self.scope.names.get(n)
        if bound is not None and bound.type != enum:
            quantified = isinstance(bound, ir.Local) and "#" in bound.name  # fresh_quant_name
            kind = "a quantifier variable" if quantified else "a parameter"
            got: ir.Type | None = bound.type
        elif bound is None and n in self.lw.vars and self.lw.vars[n].type != enum:
            kind, got = "a state variable", self.lw.vars[n].type
        elif bound is None and n not in self.lw.vars and n in self.lw.consts:
            kind, got = "a constant", None
        else:
            return None
        what = f" ({describe(got)})" if got is not None else ""
        qualified = f"{enum.name}.{n}" if enum.name in self.lw.types else None
        return self.fail(
            "type-mismatch",
            f"`{n}` here is {kind}{what}, not the member `{n}` of `{enum.name}`",
            span,
            f"write `{qualified}` for the member"
            if qualified
            else f"rename {kind} `{n}`: it hides the member `{n}`",
        )

    def type_help(self, n: str) -> str:
        t = self.lw.types[n]
        if isinstance(t, ir.EnumType) and t.members:
            return f"write a member, such as `{n}.{t.members[0]}`"
        return "use a value of the type, or quantify over it with `all`, `some` or `count`"

    def enum_member(
        self, n: str, enums: list[ir.EnumType], expected: ir.Type | None, span: Span
    ) -> ir.Expr:
        if isinstance(expected, ir.EnumType) and expected in enums:
            return ir.Lit(expected.members.index(n), expected, span)
        if len(enums) == 1:
            return ir.Lit(enums[0].members.index(n), enums[0], span)
        names = ", ".join(f"`{t.name}.{n}`" for t in enums)
        return self.fail(
            "type-mismatch", f"`{n}` is a member of several enums", span, f"write one of {names}"
        )

    def member(self, e: s.Member) -> ir.Expr:
        t = self.lw.types.get(e.enum)
        if not isinstance(t, ir.EnumType):
            enums = [k for k, v in self.lw.types.items() if isinstance(v, ir.EnumType)]
            var = self.lw.vars.get(e.enum)
            kind = "a state variable" if var is not None else self.lw.kind_of(e.enum, self.scope)
            if kind is not None:
                members = var.type.members if var and isinstance(var.type, ir.EnumType) else ()
                return self.fail(
                    "unknown-name",
                    f"`{e.enum}` is {kind}, not an enum",
                    e.span,
                    f"compare it with a member: `{e.enum} == {e.member}`"
                    if e.member in members
                    else "`Enum.member` names a member of an enum declared with `enum`",
                )
            return self.fail(
                "unknown-name",
                f"unknown enum `{e.enum}`",
                e.span,
                self.lw.suggest(e.enum, enums)
                or ("declared enums: " + ", ".join(f"`{k}`" for k in enums) if enums else None)
                or "declare it with `enum Name { ... }`",
            )
        if e.member not in t.members:
            return self.fail(
                "unknown-name",
                f"`{e.member}` is not a member of `{e.enum}`",
                e.span,
                self.lw.suggest(e.member, list(t.members))
                or f"the members of `{e.enum}` are " + ", ".join(f"`{m}`" for m in t.members),
            )
        return ir.Lit(t.members.index(e.member), t, e.span)

    def is_vague(self, e: s.Expr) -> bool:
        """An expression whose type comes from its context (enum member name, set literal)."""
        if isinstance(e, s.SetLit):
            return True
        if isinstance(e, s.Name):
            lw, n = self.lw, e.name
            taken = n in self.scope.names or n in lw.vars or n in lw.consts or n in lw.defs
            return not taken and n in lw.members
        return False

    def pair(
        self, left: s.Expr, right: s.Expr, expected: ir.Type | None = None
    ) -> tuple[ir.Expr, ir.Expr]:
        if self.is_vague(left) and not self.is_vague(right):
            r = self.lower(right, expected)
            return self.lower(left, r.type), r
        lo = self.lower(left, expected)
        return lo, self.lower(right, lo.type)

    # ---- operators
    def want(self, e: ir.Expr, kind: type, what: str, span: Span) -> ir.Expr:
        if not isinstance(e.type, kind):
            want: ir.Type = ir.BOOL if kind is ir.BoolType else ir.IntType(0, 0)
            return self.fail(
                "type-mismatch",
                f"{what} must be {describe(want)}, but it is {describe(e.type)}",
                span,
                mismatch_help(want, e.type) or self.operand_help(e.type),
            )
        return e

    def operand_help(self, t: ir.Type) -> str | None:
        if isinstance(t, ir.EnumType):
            return "enum members are not numbers; `ord(x)` is a member's position"
        if isinstance(t, ir.SetType):
            return "sets support `+`, `-`, `*`, `in`, `==`, `!=` and `size(s)`"
        return None

    def unary(self, e: s.Unary) -> ir.Expr:
        arg = self.lower(e.arg, ir.BOOL if e.op == "not" else None)
        if e.op == "not":
            self.want(arg, ir.BoolType, "the operand of `not`", e.arg.span)
            return ir.Unary("not", arg, ir.BOOL, e.span)
        self.want(arg, ir.IntType, "the operand of `-`", e.arg.span)
        assert isinstance(arg.type, ir.IntType)
        return ir.Unary("neg", arg, ir.IntType(-arg.type.hi, -arg.type.lo), e.span)

    def binary(self, e: s.Binary, expected: ir.Type | None) -> ir.Expr:
        op = e.op
        if op in ("and", "or", "implies"):
            left = self.want(
                self.lower(e.left, ir.BOOL), ir.BoolType, f"`{op}`'s left side", e.left.span
            )
            right = self.want(
                self.lower(e.right, ir.BOOL), ir.BoolType, f"`{op}`'s right side", e.right.span
            )
            return ir.Binary(op, left, right, ir.BOOL, e.span)
        if op in ("in", "notin"):
            got = self.membership(e)
            return got if op == "in" else ir.Unary("not", got, ir.BOOL, e.span)
        if op in _COMPARE:
            return self.compare(e)
        return self.arith(e, expected)

    def compare(self, e: s.Binary) -> ir.Expr:
        if e.op in ("==", "!=") and (
            is_array_valued(self.lw, e.left, self.scope)
            or is_array_valued(self.lw, e.right, self.scope)
        ):
            return compare_arrays(self.lw, e, self.scope)
        left, right = self.pair(e.left, e.right)
        op = _COMPARE[e.op]
        if op in ("eq", "ne"):
            if not same_kind(left.type, right.type):
                return self.fail(
                    "type-mismatch",
                    f"cannot compare {describe(left.type)} with {describe(right.type)}",
                    e.span,
                    "both sides of `==` and `!=` must have the same type",
                )
            if isinstance(left.type, ir.ArrayType):
                return self.fail(
                    "type-mismatch",
                    "arrays cannot be compared whole",
                    e.span,
                    "compare elements, e.g. `all i in I: a[i] == b[i]`",
                )
        elif isinstance(left.type, ir.EnumType) or isinstance(right.type, ir.EnumType):
            if left.type != right.type:
                return self.fail(
                    "type-mismatch",
                    f"cannot order {describe(left.type)} and {describe(right.type)}",
                    e.span,
                    "`<`, `<=`, `>`, `>=` compare two numbers, or two members of one enum "
                    "in their declared order",
                )
        else:
            self.want(left, ir.IntType, f"`{e.op}`'s left side", e.left.span)
            self.want(right, ir.IntType, f"`{e.op}`'s right side", e.right.span)
        return ir.Binary(op, left, right, ir.BOOL, e.span)

    def arith(self, e: s.Binary, expected: ir.Type | None) -> ir.Expr:
        op = _ARITH[e.op]
        set_ctx = expected if isinstance(expected, ir.SetType) else None
        left, right = self.pair(e.left, e.right, set_ctx)
        if isinstance(left.type, ir.SetType) or isinstance(right.type, ir.SetType):
            if op not in ("add", "sub", "mul") or left.type != right.type:
                return self.fail(
                    "type-mismatch",
                    f"`{e.op}` cannot combine {describe(left.type)} and {describe(right.type)}",
                    e.span,
                    "sets support `+` (union), `-` (difference) and `*` (intersection)",
                )
            set_op = {"add": "union", "sub": "diff", "mul": "inter"}[op]
            return ir.Binary(set_op, left, right, left.type, e.span)
        self.want(left, ir.IntType, f"`{e.op}`'s left side", e.left.span)
        self.want(right, ir.IntType, f"`{e.op}`'s right side", e.right.span)
        assert isinstance(left.type, ir.IntType) and isinstance(right.type, ir.IntType)
        if op in ("div", "mod") and right.type.lo <= 0:
            return self.fail(
                "type-mismatch",
                f"the divisor of `{e.op}` may be zero or negative",
                e.right.span,
                "divide only by expressions whose range is positive",
            )
        return ir.Binary(op, left, right, arith_interval(op, left.type, right.type), e.span)

    def membership(self, e: s.Binary) -> ir.Expr:
        if isinstance(e.right, s.SetLit):
            left = self.lower(e.left)
            if isinstance(left.type, ir.EnumType):
                right = self.set_lit(e.right, ir.SetType(left.type))
                return ir.Binary("in", left, right, ir.BOOL, e.span)
            if not e.right.elems:
                return ir.Lit(0, ir.BOOL, e.span)
            options = [self.lower(x, left.type) for x in e.right.elems]
            out: ir.Expr | None = None
            for opt, src in zip(options, e.right.elems, strict=True):
                if not same_kind(opt.type, left.type):
                    return self.fail(
                        "type-mismatch",
                        f"{describe(opt.type)} cannot be in a set with {describe(left.type)}",
                        src.span,
                        "every value in `{...}` must have the type of the left side",
                    )
                eq = ir.Binary("eq", left, opt, ir.BOOL, src.span)
                out = eq if out is None else ir.Binary("or", out, eq, ir.BOOL, e.span)
            assert out is not None
            return out
        right = self.lower(e.right)
        if not isinstance(right.type, ir.SetType):
            return self.fail(
                "type-mismatch",
                f"`in` needs a set on its right, not {describe(right.type)}",
                e.right.span,
                "write a set variable or a literal such as `{a, b}`",
            )
        left = self.lower(e.left, right.type.elem)
        if left.type != right.type.elem:
            return self.fail(
                "type-mismatch",
                f"{describe(left.type)} cannot be a member of {describe(right.type)}",
                e.span,
                f"the members of `{right.type.elem.name}` are "
                + ", ".join(f"`{m}`" for m in right.type.elem.members),
            )
        return ir.Binary("in", left, right, ir.BOOL, e.span)

    def ite(self, e: s.Ite, expected: ir.Type | None) -> ir.Expr:
        cond = self.want(self.lower(e.cond, ir.BOOL), ir.BoolType, "an `if` condition", e.cond.span)
        then, orelse = self.pair(e.then, e.orelse, expected)
        if not same_kind(then.type, orelse.type):
            return self.fail(
                "type-mismatch",
                f"the branches of `if` differ: {describe(then.type)} and {describe(orelse.type)}",
                e.span,
                "`then` and `else` must have the same type",
            )
        return ir.Ite(cond, then, orelse, join_types(then.type, orelse.type), e.span)

    def quant(self, e: s.Quant) -> ir.Expr:
        over = self.set_domain(e.domain)
        if over is not None:
            return self.quant_over_set(e, over)
        domain = self.lw.lower_type(e.domain, scope=self.scope)
        if domain is None:
            raise Poison
        if not isinstance(domain, ir.BoolType | ir.IntType | ir.EnumType):
            return self.fail(
                "type-mismatch",
                f"`{e.kind}` ranges over a range, an enum or `bool`, not `{domain}`",
                e.domain.span,
                "to range over a set's members, write `all x in E: x in s implies ...`",
            )
        if domain.size() > MAX_ENUMERATION:
            return self.fail(
                "too-large",
                f"`{e.kind}` ranges over {domain.size()} values",
                e.domain.span,
                f"at most {MAX_ENUMERATION:,} values are enumerated; narrow the range",
            )
        fresh = self.lw.fresh_quant_name(e.var.name)
        inner = _ExprLowerer(self.lw, self.scope.bind(e.var.name, ir.Local(fresh, domain, e.span)))
        body = inner.want(
            inner.lower(e.body, ir.BOOL), ir.BoolType, f"the body of `{e.kind}`", e.body.span
        )
        rtype: ir.Type = ir.BOOL if e.kind != "count" else ir.IntType(0, domain.size())
        return ir.Quant(e.kind, fresh, domain, body, rtype, e.span)

    def set_domain(self, domain: s.TypeExpr) -> ir.Expr | None:
        """The set a quantifier ranges over, when its domain names a set-valued variable."""
        if not isinstance(domain, s.NamedT):
            return None
        bound = self.scope.names.get(domain.name)
        target = bound if bound is not None else self.lw.vars.get(domain.name)
        if target is None or not isinstance(target.type, ir.SetType):
            return None
        return self.lower(s.Name(domain.name, domain.span))

    def quant_over_set(self, e: s.Quant, over: ir.Expr) -> ir.Expr:
        """`all x in S: p` is `all x in E: x in S implies p` for a set S of enum E (`some`
        and `count` conjoin instead)."""
        assert isinstance(over.type, ir.SetType)
        elem = over.type.elem
        fresh = self.lw.fresh_quant_name(e.var.name)
        x = ir.Local(fresh, elem, e.span)
        inner = _ExprLowerer(self.lw, self.scope.bind(e.var.name, x))
        body = inner.want(
            inner.lower(e.body, ir.BOOL), ir.BoolType, f"the body of `{e.kind}`", e.body.span
        )
        member = ir.Binary("in", x, over, ir.BOOL, e.domain.span)
        joined = ir.Binary("implies" if e.kind == "all" else "and", member, body, ir.BOOL, e.span)
        rtype: ir.Type = ir.BOOL if e.kind != "count" else ir.IntType(0, elem.size())
        return ir.Quant(e.kind, fresh, elem, joined, rtype, e.span)

    def call(self, e: s.Call, expected: ir.Type | None) -> ir.Expr:
        fn = e.func.name
        if fn in self.lw.defs:
            return self.expand(self.lw.defs[fn], e.args, e.span)
        args = [self.lower(a) for a in e.args]
        if fn in ("min", "max", "abs"):
            want = 1 if fn == "abs" else None
            if (want and len(args) != want) or (not want and len(args) < 2):
                need = "one argument" if want else "two or more arguments"
                return self.fail(
                    "type-mismatch",
                    f"`{fn}` takes {need}, not {len(args)}",
                    e.span,
                    "write `abs(x)`" if want else f"write `{fn}(a, b)`",
                )
            for a, src in zip(args, e.args, strict=True):
                self.want(a, ir.IntType, f"an argument of `{fn}`", src.span)
            ts = [a.type for a in args]
            assert all(isinstance(t, ir.IntType) for t in ts)
            los = [t.lo for t in ts]  # type: ignore[union-attr]
            his = [t.hi for t in ts]  # type: ignore[union-attr]
            if fn == "min":
                rt = ir.IntType(min(los), min(his))
            elif fn == "max":
                rt = ir.IntType(max(los), max(his))
            else:
                t0 = ts[0]
                assert isinstance(t0, ir.IntType)
                hi = max(abs(t0.lo), abs(t0.hi))
                rt = ir.IntType(0 if t0.lo <= 0 <= t0.hi else min(abs(t0.lo), abs(t0.hi)), hi)
            return ir.Call(fn, tuple(args), rt, e.span)
        if fn == "size":
            if len(args) != 1 or not isinstance(args[0].type, ir.SetType):
                return self.fail(
                    "type-mismatch",
                    "`size` takes one set",
                    e.span,
                    "write `size(s)` for a set `s`; `count(x in T: p)` counts values",
                )
            return ir.Call("size", tuple(args), ir.IntType(0, args[0].type.elem.size()), e.span)
        if fn == "ord":
            return self.ord(args, e)
        known = [*self.lw.defs, "min", "max", "abs", "size", "ord", "count"]
        return self.fail(
            "unknown-name",
            f"unknown function `{fn}`",
            e.func.span,
            self.lw.suggest(fn, known)
            or "the built-in functions are `min`, `max`, `abs`, `size`, `ord` and `count`; "
            "declare others with `def`",
        )

    def ord(self, args: list[ir.Expr], e: s.Call) -> ir.Expr:
        """`ord(m)`: a member's position in its enum's declaration, from 0."""
        if len(args) != 1 or not isinstance(args[0].type, ir.EnumType):
            return self.fail(
                "type-mismatch",
                "`ord` takes one enum value",
                e.span,
                "write `ord(x)` for a value `x` of an enum; it counts from 0",
            )
        x, enum = args[0], args[0].type
        n = len(enum.members)
        out: ir.Expr = ir.Lit(n - 1, ir.IntType(n - 1, n - 1), e.span)
        for k in range(n - 2, -1, -1):  # an if-chain keeps the IR free of casts
            is_k = ir.Binary("eq", x, ir.Lit(k, enum, e.span), ir.BOOL, e.span)
            out = ir.Ite(
                is_k, ir.Lit(k, ir.IntType(k, k), e.span), out, ir.IntType(k, n - 1), e.span
            )
        return out

    def expand(self, d: object, args: tuple[s.Expr, ...], span: Span) -> ir.Expr:
        assert isinstance(d, Def)
        name = d.decl.name.name
        if len(args) != len(d.params):
            n = len(d.params)
            return self.fail(
                "type-mismatch",
                f"`{name}` takes {n} argument{'s' if n != 1 else ''}, not {len(args)}",
                span,
                f"call it as `{name}({', '.join(p for p, _ in d.params)})`"
                if n
                else f"write `{name}` without parentheses",
            )
        if name in self.lw.expanding:
            chain = [*self.lw.expanding[self.lw.expanding.index(name) :], name]
            return self.fail(
                "type-mismatch",
                f"`{name}` is defined in terms of itself",
                span,
                f"definitions are inlined, so they cannot recurse: {' -> '.join(chain)}",
            )
        bound: dict[str, ir.Expr] = {}
        for (pname, ptype), src in zip(d.params, args, strict=True):
            value = self.lower(src, ptype)
            if not same_kind(value.type, ptype):
                return self.fail(
                    "type-mismatch",
                    f"argument `{pname}` of `{name}` must be {describe(ptype)}, "
                    f"but it is {describe(value.type)}",
                    src.span,
                    mismatch_help(ptype, value.type),
                )
            bound[pname] = value
        self.lw.expanding.append(name)
        self.lw.expanded.add(name)
        try:
            body = _ExprLowerer(self.lw, Scope(bound)).lower(d.decl.body)
        finally:
            self.lw.expanding.pop()
        # The inlined body is located at the call, so explanations quote `in_cs(1)`, not `pc[p]`.
        return dataclasses.replace(body, span=span)

    def index(self, e: s.Index) -> ir.Expr:
        exprs: list[s.Expr] = []
        base: s.Expr = e
        while isinstance(base, s.Index):
            exprs.append(base.index)
            base = base.base
        exprs.reverse()
        if isinstance(base, s.Name) and (
            base.name in self.lw.broken or base.name in self.scope.hidden
        ):
            raise self.poison()
        if not isinstance(base, s.Name) or base.name not in self.lw.vars:
            what = f"`{base.name}`" if isinstance(base, s.Name) else "this expression"
            if (
                isinstance(base, s.Name)
                and base.name not in self.scope.names
                and not (base.name in self.lw.consts or base.name in self.lw.members)
            ):
                return self.fail(
                    "unknown-name",
                    f"unknown state variable `{base.name}`",
                    base.span,
                    self.lw.suggest(base.name, self.lw.vars)
                    or "declare it in a `state { ... }` block",
                )
            return self.fail(
                "type-mismatch",
                f"{what} is not an array",
                base.span,
                "only state variables declared as `array[I] of T` can be indexed",
            )
        var = self.lw.vars[base.name]
        indices = self.lw.indices(var, tuple(exprs), self.scope, e.span)
        if indices is None:
            raise Poison
        t = var.type
        for _ in indices:
            assert isinstance(t, ir.ArrayType)
            t = t.elem
        if isinstance(t, ir.ArrayType):
            return self.fail(
                "type-mismatch",
                f"`{var.name}` needs more indices",
                e.span,
                f"`{var.name}` is `{var.type}`; index every dimension",
            )
        dims, strides = layout(var.type, len(indices))
        return ir.ArrayRead(var.name, var.slot, dims, strides, indices, t, e.span)

    def set_lit(self, e: s.SetLit, expected: ir.Type | None) -> ir.Expr:
        if isinstance(expected, ir.SetType):
            st = expected
        else:
            first = next((self.lower(x) for x in e.elems), None)
            if first is None or not isinstance(first.type, ir.EnumType):
                return self.fail(
                    "type-mismatch",
                    "the type of this set is unclear",
                    e.span,
                    "sets hold enum members; compare or combine it with a typed set",
                )
            st = ir.SetType(first.type)
        mask = 0
        parts: list[ir.Expr] = []
        for x in e.elems:
            el = self.lower(x, st.elem)
            if el.type != st.elem:
                return self.fail(
                    "type-mismatch",
                    f"{describe(el.type)} cannot be in {describe(st)}",
                    x.span,
                    f"the members of `{st.elem.name}` are "
                    + ", ".join(f"`{m}`" for m in st.elem.members),
                )
            if isinstance(el, ir.Lit):
                mask |= 1 << el.value
            else:
                parts.append(ir.Unary("singleton", el, st, x.span))
        out: ir.Expr = ir.Lit(mask, st, e.span)
        for p in parts:
            out = (
                p
                if (isinstance(out, ir.Lit) and out.value == 0)
                else ir.Binary("union", out, p, st, e.span)
            )
        return out
