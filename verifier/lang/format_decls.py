"""The canonical layout of each declaration and statement, written through format_writer."""

from __future__ import annotations

from verifier.diagnostics import Span
from verifier.lang import syntax as s
from verifier.lang.format_expr import (
    WIDTH,
    doc_text,
    expr_text,
    hang,
    head_alone,
    params_text,
    quoted,
    type_text,
)
from verifier.lang.format_writer import Writer, end_of, start_of


def write_spec(w: Writer, spec: s.Spec) -> None:
    """Every declaration of `spec`, in order, at the left margin."""
    if spec.header is not None:
        h = spec.header
        w.leaf(h.span, [f"capability {h.name.name}{doc_text(h.doc)}"], 0)
    previous_block = False
    for decl in spec.decls:
        is_block = isinstance(decl, (s.StateBlock, s.TransitionDecl, s.ScenarioDecl, s.ToolDecl))
        w.force_blank = is_block or previous_block
        write_decl(w, decl)
        previous_block = is_block


def write_decl(w: Writer, d: s.Decl) -> None:
    """One top-level declaration."""
    if isinstance(d, s.StateBlock):
        w.block(d.span, ["state"], 0, lambda: _vars(w, d.vars), w.braces_ending(end_of(d.span)))
    elif isinstance(d, s.TransitionDecl):
        head = f"{d.kind} {d.name.name}{params_text(d.params)}{doc_text(d.doc)}"
        braces = w.braces_ending(end_of(d.span))
        w.block(d.span, [head], 0, lambda: write_stmts(w, d.body, 2), braces)
    elif isinstance(d, s.ScenarioDecl):
        head = f"scenario {d.name.name}{doc_text(d.doc)}"
        braces = w.braces_ending(end_of(d.span))
        w.block(d.span, [head], 0, lambda: _scenario_items(w, d.items), braces)
    elif isinstance(d, s.ToolDecl):  # a binding is kept as written: no canonical layout yet
        w.leading(start_of(d.span), 0)
        w.blank_before(d.span.line)
        w.leaf_verbatim(d.span, 0)
    else:
        w.leaf(d.span, _simple_decl(d), 0)


def _simple_decl(d: s.Decl) -> list[str]:
    if isinstance(d, s.ConstDecl):
        return head_alone(f"const {d.name.name} =", d.value)
    if isinstance(d, s.EnumDecl):
        return _enum(d)
    if isinstance(d, s.TypeDecl):
        return [f"type {d.name.name} = {type_text(d.type)}"]
    if isinstance(d, s.DefDecl):
        return head_alone(f"def {d.name.name}{params_text(d.params)} =", d.body)
    if isinstance(d, s.InitDecl):
        return head_alone("init when", d.cond)
    if isinstance(d, s.FinalDecl):
        return head_alone("final when", d.cond)
    if isinstance(d, s.PropertyDecl):
        return head_alone(f"{d.kind} {d.name.name}{doc_text(d.doc)}:", d.cond)
    if isinstance(d, s.ScenariosFor):
        return [f"scenarios for {quoted(d.spec)}"]
    raise TypeError(f"no layout for {type(d).__name__}")  # pragma: no cover - AST is closed


def _enum(d: s.EnumDecl) -> list[str]:
    names = [m.name for m in d.members]
    flat = f"enum {d.name.name} {{ {', '.join(names)} }}"
    if len(flat) <= WIDTH:
        return [flat]
    return [f"enum {d.name.name} {{", *(f"  {n}," for n in names), "}"]


def _scenario_items(w: Writer, items: tuple[s.ScenarioStep | s.ScenarioState, ...]) -> None:
    """One step or state check per line, two spaces in."""
    for item in items:
        if isinstance(item, s.ScenarioState):
            w.leaf(item.span, hang(f"{item.kind}:", item.cond, 2), 2)
            continue
        args = ", ".join(f"{a.name.name}: {expr_text(a.value)}" for a in item.args)
        line = f"  {item.name.name}{f'({args})' if item.args else ''} -> {item.verdict.name}"
        if item.clause is not None:
            line += f" {quoted(item.clause)}"
        if item.then is not None:
            line += f" then {item.then.name}"
        w.leaf(item.span, [line], 2)


def _vars(w: Writer, vs: tuple[s.VarDecl, ...]) -> None:
    for v in vs:
        head = f"{v.name.name}: {type_text(v.type)}"
        if v.init is None:
            lines = [f"  {head}"]
        elif isinstance(v.init, s.AnyValue):
            lines = [f"  {head} = any"]
        else:
            lines = hang(f"{head} =", v.init, 2)
        w.leaf(v.span, lines, 2)


def write_stmts(w: Writer, body: tuple[s.Stmt, ...], indent: int) -> None:
    """The statements of a transition or a branch, one per line."""
    for st in body:
        if isinstance(st, s.If):
            _if(w, st, indent)
        elif isinstance(st, s.Guard):
            w.leaf(st.span, hang("when", st.cond, indent), indent)
        elif isinstance(st, s.Approval):
            lines = (
                [" " * indent + "needs approval"]
                if st.cond is None
                else hang("needs approval when", st.cond, indent)
            )
            w.leaf(st.span, lines, indent)
        else:
            target = st.target.var.name + "".join(f"[{expr_text(i)}]" for i in st.target.indices)
            w.leaf(st.span, hang(f"{target} :=", st.value, indent), indent)


def _if(w: Writer, st: s.If, indent: int) -> None:
    """`if c { } else if d { } else { }`; an `else { if ... }` stays as written."""
    then = w.braces_after(end_of(st.cond.span))
    if not w.open_block(st.span, hang("if", st.cond, indent), indent, then, allow_empty=False):
        return
    current = st
    while True:
        write_stmts(w, current.then, indent + 2)
        w.leading(start_of(Span(then.end_line, then.end_column - 1, 0, 0)), indent + 2)
        nxt = w.next_token(end_of(then))
        if nxt is None or nxt.kind != "ELSE" or not current.orelse:
            w.close_block(then, indent, "}")
            return
        after = w.next_token(end_of(nxt.span))
        if after is not None and after.kind == "IF" and isinstance(current.orelse[0], s.If):
            current = current.orelse[0]
            new = w.braces_after(end_of(current.cond.span))
            w.continue_block(then, new, hang("} else if", current.cond, indent), indent)
            then = new
            continue
        orelse = w.braces_after(end_of(nxt.span))
        w.continue_block(then, orelse, [" " * indent + "} else"], indent)
        write_stmts(w, current.orelse, indent + 2)
        w.leading(start_of(Span(orelse.end_line, orelse.end_column - 1, 0, 0)), indent + 2)
        w.close_block(orelse, indent, "}")
        return
