"""Scenarios: named sequences of steps with the verdict the guard must give at each.

A scenario is lowered against a lowered model: step names must be transitions, arguments
constants of their parameters' types, an expected failed clause the text of one of the
transition's guards, and `state:` / `init:` conditions boolean expressions over the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verifier import ir
from verifier.diagnostics import NOWHERE, Span
from verifier.ir.evaluate import EvalError, eval_expr
from verifier.ir.values import args_to_json
from verifier.lang import syntax as s
from verifier.lang.scope import Context, Poison, Scope

VERDICTS = ("allow", "deny", "escalate", "quarantine")
FOLLOW_UPS = ("approve", "reject")


@dataclass(frozen=True)
class Step:
    """One proposal (an action) or observation (an event) and the verdict it must get."""

    kind: str  # "action" | "event"
    name: str
    args: tuple[tuple[str, Any], ...]  # JSON values, in parameter order
    verdict: str
    clause: str | None = None  # the failed guard's text a deny/quarantine must name
    then: str | None = None  # "approve" | "reject" after an escalation
    span: Span = field(default=NOWHERE, compare=False)

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.args)

    def call_text(self) -> str:
        """`send(external: true)` as written in a scenario."""
        if not self.args:
            return self.name
        shown = ", ".join(f"{k}: {_json_text(v)}" for k, v in self.args)
        return f"{self.name}({shown})"


@dataclass(frozen=True)
class StateCheck:
    """`state: expr`: a condition the session's state must satisfy at this point."""

    cond: ir.Expr
    text: str
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Scenario:
    """A named scenario of one spec."""

    name: str
    doc: str | None
    init: ir.Expr | None  # picks the initial state when the spec has several
    items: tuple[Step | StateCheck, ...]
    path: str
    span: Span = field(default=NOWHERE, compare=False)


def _json_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "{" + ", ".join(str(x) for x in v) + "}"
    return str(v)


def lower_scenarios(lw: Context, model: ir.Model, decls: tuple[s.Decl, ...]) -> list[Scenario]:
    """Lower every `scenario` declaration in `decls`; errors go to `lw.sink`."""
    out: list[Scenario] = []
    seen: dict[str, Span] = {}
    transitions = {t.name: t for t in model.transitions}
    for d in decls:
        if not isinstance(d, s.ScenarioDecl):
            continue
        if d.name.name in seen:
            lw.sink.error(
                "duplicate",
                f"scenario `{d.name.name}` is declared twice",
                d.name.span,
                f"the first is on line {seen[d.name.name].line}",
            )
            continue
        seen[d.name.name] = d.name.span
        out.append(_scenario(lw, transitions, d))
    return out


def _scenario(lw: Context, transitions: dict[str, ir.Transition], d: s.ScenarioDecl) -> Scenario:
    init: ir.Expr | None = None
    items: list[Step | StateCheck] = []
    for k, item in enumerate(d.items):
        if isinstance(item, s.ScenarioStep):
            step = _step(lw, transitions, item)
            if step is not None:
                items.append(step)
        elif item.kind == "init":
            if k != 0:
                lw.sink.error(
                    "bad-scenario",
                    "`init:` must be the first line of a scenario",
                    item.span,
                    "move it above the first step",
                )
            init = _condition(lw, item.cond)
        else:
            cond = _condition(lw, item.cond)
            if cond is not None:
                items.append(StateCheck(cond, lw.text(item.cond.span), item.span))
    return Scenario(d.name.name, d.doc, init, tuple(items), lw.sink.path, d.name.span)


def _condition(lw: Context, e: s.Expr) -> ir.Expr | None:
    got = lw.bool_expr(e, Scope())
    return got[0] if got else None


def _step(lw: Context, transitions: dict[str, ir.Transition], st: s.ScenarioStep) -> Step | None:
    t = transitions.get(st.name.name)
    if t is None:
        lw.sink.error(
            "unknown-name",
            f"unknown action or event `{st.name.name}`",
            st.name.span,
            lw.suggest(st.name.name, transitions) or "a step names an action or an event",
        )
        return None
    args = _args(lw, t, st)
    verdict = _verdict(lw, t, st)
    clause = _clause(lw, t, st, verdict)
    then = _then(lw, st, verdict)
    if args is None or verdict is None:
        return None
    return Step(t.kind, t.name, args, verdict, clause, then, st.span)


def _verdict(lw: Context, t: ir.Transition, st: s.ScenarioStep) -> str | None:
    verdict = st.verdict.name
    if verdict not in VERDICTS:
        lw.sink.error(
            "bad-scenario",
            f"unknown verdict `{verdict}`",
            st.verdict.span,
            lw.suggest(verdict, list(VERDICTS))
            or "a verdict is allow, deny, escalate or quarantine",
        )
        return None
    if t.kind == "event" and verdict in ("deny", "escalate"):
        lw.sink.error(
            "bad-scenario",
            f"the event `{t.name}` cannot be answered `{verdict}`",
            st.verdict.span,
            "the guard allows a possible event and quarantines an impossible one",
        )
        return None
    return verdict


def _clause(lw: Context, t: ir.Transition, st: s.ScenarioStep, verdict: str | None) -> str | None:
    if st.clause is None:
        return None
    if verdict not in ("deny", "quarantine"):
        lw.sink.error(
            "bad-scenario",
            f"only `deny` and `quarantine` name a failed clause, not `{verdict}`",
            st.verdict.span,
            "remove the quoted clause",
        )
        return None
    wanted = " ".join(st.clause.split())
    texts = [" ".join(g.text.split()) for g in t.guards]
    if wanted not in texts:
        shown = ", ".join(f"`{x}`" for x in texts) or "none"
        lw.sink.error(
            "bad-scenario",
            f"`{wanted}` is not a guard of `{t.name}`",
            st.span,
            f"its guards are: {shown}",
        )
        return None
    return wanted


def _then(lw: Context, st: s.ScenarioStep, verdict: str | None) -> str | None:
    if st.then is None:
        return None
    if verdict != "escalate":
        lw.sink.error(
            "bad-scenario",
            "`then approve` and `then reject` follow only `escalate`",
            st.then.span,
            "write `-> escalate then approve`",
        )
        return None
    if st.then.name not in FOLLOW_UPS:
        lw.sink.error(
            "bad-scenario",
            f"unknown follow-up `{st.then.name}`",
            st.then.span,
            "an escalation is followed by `then approve` or `then reject`",
        )
        return None
    return st.then.name


def _args(lw: Context, t: ir.Transition, st: s.ScenarioStep) -> tuple[tuple[str, Any], ...] | None:
    given: dict[str, s.StepArg] = {}
    ok = True
    params = {p.name: p for p in t.params}
    for a in st.args:
        if a.name.name not in params:
            lw.sink.error(
                "unknown-name",
                f"`{t.name}` has no parameter `{a.name.name}`",
                a.name.span,
                lw.suggest(a.name.name, params) or _param_help(t),
            )
            ok = False
        elif a.name.name in given:
            lw.sink.error(
                "duplicate", f"argument `{a.name.name}` is given twice", a.name.span, None
            )
            ok = False
        given[a.name.name] = a
    values: list[int] = []
    for p in t.params:
        if p.name not in given and ok:
            lw.sink.error(
                "bad-scenario",
                f"`{t.name}` needs the argument `{p.name}`",
                st.name.span,
                _param_help(t),
            )
            ok = False
            continue
        if p.name not in given:
            continue
        value = _constant(lw, given[p.name].value, p)
        ok = ok and value is not None
        values.append(value if value is not None else 0)
    if not ok:
        return None
    return tuple(args_to_json(t.params, values).items())


def _param_help(t: ir.Transition) -> str:
    shown = ", ".join(f"{p.name}: {p.type}" for p in t.params)
    return f"`{t.name}` takes ({shown})" if shown else f"`{t.name}` takes no arguments"


def _constant(lw: Context, e: s.Expr, p: ir.Param) -> int | None:
    try:
        lowered = lw.expr(e, Scope(), expected=p.type)
    except Poison:
        return None
    if not lw.compatible(lowered, p.type, e.span, what=f"the argument `{p.name}`"):
        return None
    if ir.reads_state(lowered):
        lw.sink.error(
            "not-constant",
            f"the argument `{p.name}` must be a constant",
            e.span,
            "use numbers, constants and enum members only",
        )
        return None
    try:
        value = int(eval_expr(lowered, (), {}))
    except EvalError as err:
        lw.sink.error("out-of-range", err.message, err.span, None)
        return None
    if value not in p.type.values():
        lw.sink.error(
            "out-of-range",
            f"the argument `{p.name}` = {value} is outside `{p.type}`",
            e.span,
            None,
        )
        return None
    return value
