"""Text rendering of `verifier diff`: the verdict, the distinguishing traces, the space change."""

from __future__ import annotations

from verifier import ir
from verifier.check.refinement import DiffResult, Inclusion, Space
from verifier.report.text import trace_table

HEADS = {
    "equivalent": "equivalent: NEW and OLD admit the same traces",
    "restricting": "restricting: every trace of NEW is a trace of OLD",
    "widening": "widening: NEW admits a trace OLD refuses",
    "inconclusive": "inconclusive: it is not decided whether NEW only restricts OLD",
}


def render_diff(r: DiffResult, growth: str | None = None) -> str:
    """The full text report of one comparison; `growth` is a failed budget, if any."""
    lines = [f"{r.old.path} -> {r.new.path}: {HEADS[r.verdict]} [{r.engine}]"]
    lines += [f"  note: {n}" for n in r.notes]
    lines += _direction("NEW", "OLD", r.new, r.restricts)
    lines += _direction("OLD", "NEW", r.old, r.converse)
    lines.append("  " + space_line(r.old_space, r.new_space))
    if growth is not None:
        lines.append(f"  {growth}")
    lines.append(f"  observed: {', '.join(r.observed) or '(no common variables)'}")
    if r.hidden_old or r.hidden_new:
        lines.append(
            f"  hidden: OLD {', '.join(r.hidden_old) or '-'}; NEW {', '.join(r.hidden_new) or '-'}"
        )
    return "\n".join(lines) + "\n"


def _direction(a: str, b: str, model: ir.Model, inc: Inclusion) -> list[str]:
    if inc.holds is True:
        how = f" ({inc.note})" if inc.note else ""
        return [f"  every trace of {a} is a trace of {b}{how}"]
    if inc.holds is None:
        return [f"  whether every trace of {a} is a trace of {b}: inconclusive ({inc.note})"]
    assert inc.trace is not None
    n = len(inc.trace)
    out = [f"  shortest trace {a} admits and {b} refuses, {n} step{'s' if n != 1 else ''}:"]
    out += ["    " + ln for ln in trace_table(model, inc.trace).splitlines()]
    out.append(f"    {b} {inc.reason}")
    return out


def space_line(old: Space, new: Space) -> str:
    """`reachable states: 24 -> 30 (4.58 -> 4.91 bits, +0.32)`."""
    if old.states is None or new.states is None:
        why = old.note if old.states is None else new.note
        return (
            f"reachable states: {_count(old)} -> {_count(new)} ({why}); declared bits "
            f"{old.declared_bits:.2f} -> {new.declared_bits:.2f}"
        )
    assert old.bits is not None and new.bits is not None
    delta = new.bits - old.bits
    return (
        f"reachable states: {old.states:,} -> {new.states:,} "
        f"({old.bits:.2f} -> {new.bits:.2f} bits, {delta:+.2f})"
    )


def _count(s: Space) -> str:
    return f"{s.states:,}" if s.states is not None else "?"
