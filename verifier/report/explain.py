"""Why a counterexample is one: the guard clauses that admitted each step, and the part of
the property that is false at the violating state.

Sub-expressions are shown as the spec wrote them (their source text, found by span) with the
values they had; everything is evaluated with the reference evaluator (`ir.evaluate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from verifier import ir
from verifier.check.results import CheckResult, PropertyResult, Step, Trace
from verifier.diagnostics import Span, source_lines
from verifier.ir import semantics as sem
from verifier.ir.evaluate import Env, EvalError, eval_expr
from verifier.ir.values import scalar_text

MAX_REASONS = 6


@dataclass(frozen=True)
class Admission:
    """Why one step could be taken: each guard that held (and, for `a or b`, which parts)."""

    guards: tuple[str, ...]
    approval: str | None  # the approval condition that held, if the step needed approval


def source_of(model: ir.Model, span: Span) -> str:
    """The source text of a span (one line per source line, joined by spaces)."""
    lines = source_lines(model.source)
    if span.line < 1 or span.end_line > len(lines):
        return "?"
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    parts = [lines[span.line - 1][span.column - 1 :]]
    parts += [ln.strip() for ln in lines[span.line : span.end_line - 1]]
    parts.append(lines[span.end_line - 1][: span.end_column - 1].strip())
    return " ".join(p.strip() for p in parts)


def _chain(e: ir.Expr, op: str) -> list[ir.Expr]:
    if isinstance(e, ir.Binary) and e.op == op:
        return [*_chain(e.left, op), *_chain(e.right, op)]
    return [e]


def _true(e: ir.Expr, state: Sequence[int], env: Env) -> bool:
    try:
        return bool(eval_expr(e, state, env))
    except EvalError:
        return False


def admission(model: ir.Model, step: Step, before: Sequence[int]) -> Admission:
    """The guard clauses of `step`'s transition that held in the state `before` it."""
    t = step.transition
    if t is None:
        return Admission((), None)
    env = {p.name: a for p, a in zip(t.params, step.args, strict=True)}
    shown = []
    for g in t.guards:
        parts = _chain(g.cond, "or")
        if len(parts) > 1:
            held = [source_of(model, p.span) for p in parts if _true(p, before, env)]
            shown.append(f"{' or '.join(held)} (of {g.text})")
        else:
            shown.append(g.text)
    approval = None
    if t.approval is not None and _true(t.approval, before, env):
        approval = source_of(model, t.approval.span) or "always"
    return Admission(tuple(shown), approval)


def admissions(model: ir.Model, trace: Trace) -> list[Admission]:
    """One admission per step after the initial state (a failed last step included)."""
    out = []
    for prev, step in zip(trace.steps, trace.steps[1:], strict=False):
        out.append(admission(model, step, prev.state))
    return out


def _value(e: ir.Expr, state: Sequence[int], env: Env) -> str:
    try:
        v = eval_expr(e, state, env)
    except EvalError as err:
        return f"undefined ({err.message})"
    t = e.type
    if isinstance(t, ir.ArrayType):
        return str(v)
    return scalar_text(t, v)


def _is_leaf(e: ir.Expr) -> bool:
    return isinstance(e, ir.Var | ir.ArrayRead | ir.Local | ir.Lit)


def why_false(model: ir.Model, e: ir.Expr, state: Sequence[int], env: Env) -> list[str]:
    """Sentences saying which sub-expressions make `e` false in `state`."""
    text = source_of(model, e.span)
    if isinstance(e, ir.Binary) and e.op == "and":
        out = []
        for part in _chain(e, "and"):
            if not _true(part, state, env):
                out += why_false(model, part, state, env)
        return out[:MAX_REASONS]
    if isinstance(e, ir.Binary) and e.op == "or":
        return [r for part in _chain(e, "or") for r in why_false(model, part, state, env)][
            :MAX_REASONS
        ]
    if isinstance(e, ir.Binary) and e.op == "implies":
        premise = source_of(model, e.left.span)
        return [f"`{premise}` holds", *why_false(model, e.right, state, env)]
    if isinstance(e, ir.Unary) and e.op == "not":
        return [f"`{text}` is false: {_why_true(model, e.arg, state, env)}"]
    if isinstance(e, ir.Quant) and e.kind == "all":
        return _all_false(model, e, state, env)
    if isinstance(e, ir.Quant) and e.kind == "some":
        return [f"`{text}` is false: no `{_local_name(e.var)}` satisfies it"]
    return [f"`{text}` is false{_operands(model, e, state, env)}"]


def _why_true(model: ir.Model, e: ir.Expr, state: Sequence[int], env: Env) -> str:
    text = source_of(model, e.span)
    if isinstance(e, ir.Binary) and e.op == "and":
        return " and ".join(f"`{source_of(model, p.span)}`" for p in _chain(e, "and")) + " hold"
    if isinstance(e, ir.Binary) and e.op == "or":
        held = [p for p in _chain(e, "or") if _true(p, state, env)]
        return " and ".join(f"`{source_of(model, p.span)}`" for p in held) + " held"
    return f"`{text}` is true{_operands(model, e, state, env)}"


def _all_false(model: ir.Model, e: ir.Quant, state: Sequence[int], env: Env) -> list[str]:
    for v in e.domain.values():
        inner = {**env, e.var: v}
        if not _true(e.body, state, inner):
            shown = f"`{_local_name(e.var)}` = {scalar_text(e.domain, v)}"
            return [f"for {shown}: " + r for r in why_false(model, e.body, state, inner)]
    return [f"`{source_of(model, e.span)}` is false"]


def _local_name(name: str) -> str:
    """A bound variable as written (lowering renames `i` to `i#0` to keep scopes apart)."""
    return name.split("#", 1)[0]


def _operands(model: ir.Model, e: ir.Expr, state: Sequence[int], env: Env) -> str:
    """`: x = 3, y = 2` for the non-constant operands of a comparison or a variable."""
    if _is_leaf(e) and not isinstance(e, ir.Lit):
        return ""
    parts = []
    for sub in (e.left, e.right) if isinstance(e, ir.Binary) else ():
        if isinstance(sub, ir.Lit):
            continue
        parts.append(f"`{source_of(model, sub.span)}` = {_value(sub, state, env)}")
    return (" (" + ", ".join(parts) + ")") if parts else ""


def violation(model: ir.Model, p: PropertyResult) -> list[str]:
    """Why the trace's last state violates an invariant, or why nothing is enabled there."""
    if p.verdict != "violated" or p.trace is None:
        return []
    if p.kind == "deadlock":
        return disabled(model, p.trace.steps[-1].state)
    if p.kind != "invariant":
        return []
    prop = next((q for q in model.properties if q.name == p.name), None)
    if prop is None:
        return []
    return why_false(model, prop.cond, p.trace.steps[-1].state, {})


def disabled(model: ir.Model, state: Sequence[int]) -> list[str]:
    """For each transition, the guard that stops it in `state` (the first instance's)."""
    out: list[str] = []
    for inst in sem.instances(model):
        if any(line.startswith(f"`{inst.name}`") for line in out):
            continue
        g = sem.failed_guard(inst, tuple(state))
        if g is not None:
            why = why_false(model, g.cond, state, inst.env)
            out.append(f"`{inst.name}` is disabled: {why[0] if why else g.text}")
    return out


def admission_text(a: Admission) -> str:
    """`g1; g2; needs approval: c` (or `no guard`)."""
    parts = list(a.guards) or ["no guard"]
    if a.approval is not None:
        parts.append(f"needs approval: {a.approval}")
    return "; ".join(parts)


def explanation_json(model: ir.Model, p: PropertyResult) -> dict[str, object]:
    """The explanation fields of a property's JSON report."""
    out: dict[str, object] = {}
    if p.trace is not None and p.verdict == "violated":
        out["admitted_by"] = [
            {"guards": list(a.guards), "approval": a.approval} for a in admissions(model, p.trace)
        ]
    why = violation(model, p)
    if why:
        out["why"] = why
    return out


def annotate_report(results: Sequence[CheckResult], data: dict[str, Any]) -> dict[str, Any]:
    """Add `admitted_by` and `why` to each violated property of a `report_json` document."""
    for result, file in zip(results, data["files"], strict=True):
        if result.model is None:
            continue
        for p, out in zip(result.properties, file["properties"], strict=True):
            out.update(explanation_json(result.model, p))
    return data
