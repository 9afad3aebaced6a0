"""Text rendering of check results: one line per file, then each failure with its trace."""

from __future__ import annotations

from verifier import ir
from verifier.check.results import CheckResult, PropertyResult, Step, Trace
from verifier.diagnostics import render as render_diagnostic
from verifier.ir.values import scalar_text, slot_text


def summary_line(r: CheckResult) -> str:
    """`path: verdict (N states, E edges, depth D, B bits, T s) [engine]`."""
    if r.model is None:
        n = sum(1 for d in r.diagnostics if d.severity == "error")
        return f"{r.path}: invalid ({n} error{'s' if n != 1 else ''})"
    parts = []
    if r.states is not None:
        parts.append(f"{r.states:,} state{'s' if r.states != 1 else ''}")
    if r.transitions is not None:
        parts.append(f"{r.transitions:,} edge{'s' if r.transitions != 1 else ''}")
    if r.depth is not None:
        parts.append(f"depth {r.depth}")
    bits = r.state_space_bits
    declared = r.model.declared_bits()
    parts.append(
        f"{bits:.1f} of {declared:.1f} bits"
        if bits is not None
        else f"{declared:.1f} declared bits"
    )
    parts.append(f"{r.seconds:.2f}s")
    return f"{r.path}: {r.verdict} ({', '.join(parts)}) [{r.engine}]"


def render_result(r: CheckResult, verbose: bool = False) -> str:
    """The full text report of one file."""
    lines = [summary_line(r)]
    for d in r.diagnostics:
        lines.append(_indent(render_diagnostic(d, r.source)))
    if r.model is None:
        return "\n".join(lines)
    for note in r.notes:
        lines.append(f"  note: {note}")
    for p in r.properties:
        block = _property_block(r.model, p, verbose)
        if block:
            lines.append(_indent(block))
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + ln if ln else ln for ln in text.splitlines())


def _where(model: ir.Model, p: PropertyResult) -> str:
    if p.span is None:
        return ""
    return f" ({model.path}:{p.span.line})"


def render_property(model: ir.Model, p: PropertyResult, verbose: bool = False) -> str | None:
    """The text block of one property (a failure with its counterexample), or None if quiet."""
    return _property_block(model, p, verbose)


def _property_block(model: ir.Model, p: PropertyResult, verbose: bool) -> str | None:
    decided = f" [{p.engine}{', ' + p.detail if p.detail else ''}]" if p.detail else ""
    if p.verdict == "violated":
        head = {
            "invariant": f"invariant `{p.name}` is violated{_where(model, p)}",
            "reachable": f"reachable `{p.name}` can never be reached{_where(model, p)}",
            "deadlock": "deadlock: a reachable state that is not final has nothing enabled",
            "domain": f"domain violation: {p.message}",
        }[p.kind]
        lines = [head + decided]
        if p.text and p.kind in ("invariant", "reachable"):
            lines.append(f"  {p.text}")
        if p.trace is not None:
            lines.append(f"shortest counterexample, {_steps(len(p.trace))}:")
            lines.append(_indent(trace_table(model, p.trace)))
            lines += explanation_lines(model, p)
        return "\n".join(lines)
    if p.verdict == "inconclusive":
        why = f": {p.message}" if p.message else ""
        return f"{p.kind} `{p.name}` is inconclusive{why}{decided}"
    if p.kind == "reachable" and verbose and p.trace is not None:
        lines = [f"reachable `{p.name}` is reached in {_steps(len(p.trace))}{decided}:"]
        lines.append(_indent(trace_table(model, p.trace)))
        return "\n".join(lines)
    if verbose:
        what = {"deadlock": "no deadlock", "domain": "no domain violation"}.get(
            p.kind, f"{p.kind} `{p.name}`"
        )
        return f"{what}: {p.verdict}{decided}"
    return None


def explanation_lines(model: ir.Model, p: PropertyResult) -> list[str]:
    """The guards that admitted each step, then why the last state is a violation."""
    from verifier.report.explain import admission_text, admissions, violation

    assert p.trace is not None
    rows = admissions(model, p.trace)
    lines = []
    if rows:
        width = max(len("step"), len(str(len(rows))))
        lines.append("why each step could be taken (its guards held):")
        lines += [f"  {k:>{width}}  {admission_text(a)}" for k, a in enumerate(rows, 1)]
    why = violation(model, p)
    if why:
        last = len(p.trace)
        head = (
            f"why nothing can happen after step {last}:"
            if p.kind == "deadlock"
            else f"why step {last} violates `{p.name}`:"
        )
        lines += [head, *(f"  {w}" for w in why)]
    return lines


def _steps(n: int) -> str:
    return f"{n} step{'s' if n != 1 else ''}"


def step_label(step: Step) -> str:
    t = step.transition
    if t is None:
        return "(initial)"
    args = ", ".join(
        f"{p.name}={scalar_text(p.type, a)}" for p, a in zip(t.params, step.args, strict=True)
    )
    return f"{t.name}({args})"


def _changes(model: ir.Model, before: tuple[int, ...] | None, after: tuple[int, ...]) -> str:
    out = []
    for k, slot in enumerate(model.slots):
        if before is None or before[k] != after[k]:
            out.append(f"{slot_text(model, k)}={scalar_text(slot.type, after[k])}")
    return ", ".join(out) if out else "(no change)"


def trace_rows(model: ir.Model, trace: Trace) -> list[tuple[str, str, str]]:
    """(step index, transition with arguments, the variables that changed) for each step."""
    rows: list[tuple[str, str, str]] = []
    prev: tuple[int, ...] | None = None
    last = len(trace.steps) - 1
    for i, step in enumerate(trace.steps):
        if i == last and trace.failure is not None:
            rows.append((str(i), step_label(step), f"fails: {trace.failure}"))
            break
        rows.append((str(i), step_label(step), _changes(model, prev, step.state)))
        prev = step.state
    return rows


def trace_table(model: ir.Model, trace: Trace) -> str:
    """One row per step: index, transition with arguments, the variables that changed."""
    rows = trace_rows(model, trace)
    w0 = max(len("step"), *(len(r[0]) for r in rows))
    w1 = max(len("transition"), *(len(r[1]) for r in rows))
    lines = [f"{'step':>{w0}}  {'transition':<{w1}}  changes"]
    lines += [f"{a:>{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    return "\n".join(lines)
