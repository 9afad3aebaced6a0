"""Canonical text of expressions and types: the fewest parentheses that keep the parse.

Levels follow grammar/cap.lark from the loosest binding up. `all`/`some` and `if-then-else`
extend as far right as possible, so they are parenthesised unless nothing follows them.
"""

from __future__ import annotations

from verifier.lang import syntax as s

WIDTH = 100

ITE, IMPLIES, OR, AND, NOT, CMP, ADD, MUL, NEG, POST = range(10)

_BINARY_LEVEL = {
    "implies": IMPLIES,
    "or": OR,
    "and": AND,
    "+": ADD,
    "-": ADD,
    "*": MUL,
    "/": MUL,
    "mod": MUL,
}
_CHAINS = ("and", "or", "implies")


def _level(e: s.Expr) -> int:
    if isinstance(e, s.Binary):
        return _BINARY_LEVEL.get(e.op, CMP)
    if isinstance(e, s.Unary):
        return NOT if e.op == "not" else NEG
    if isinstance(e, s.Ite):
        return ITE
    if isinstance(e, s.Quant) and e.kind != "count":
        return NOT
    if isinstance(e, s.IntLit) and e.value < 0:
        return NEG
    return POST


def _open_ended(e: s.Expr) -> bool:
    return isinstance(e, s.Ite) or (isinstance(e, s.Quant) and e.kind != "count")


def _needs_parens(e: s.Expr, need: int, right_open: bool) -> bool:
    return _level(e) < need or (_open_ended(e) and not right_open)


def expr_text(e: s.Expr, need: int = ITE, right_open: bool = True) -> str:
    """`e` on one line, parenthesised if its context (binding `need`) requires."""
    if _needs_parens(e, need, right_open):
        return "(" + _bare(e, True) + ")"
    return _bare(e, right_open)


def _operand_need(e: s.Binary, left: bool) -> int:
    level = _BINARY_LEVEL.get(e.op, CMP)
    if level == CMP:
        return ADD
    if e.op == "implies":
        return level + 1 if left else level
    return level if left else level + 1


def _bracketed_for_reader(parent_op: str, child: s.Expr) -> bool:
    """`(a and b) or c`, `(a or b) implies c`: brackets the grammar does not need."""
    if not isinstance(child, s.Binary):
        return False
    if parent_op == "or":
        return child.op == "and"
    return parent_op == "implies" and child.op in ("and", "or")


def _operand(parent: s.Binary, child: s.Expr, left: bool, right_open: bool) -> str:
    if _bracketed_for_reader(parent.op, child):
        return "(" + _bare(child, True) + ")"
    return expr_text(child, _operand_need(parent, left), right_open and not left)


def _op_text(op: str) -> str:
    return "not in" if op == "notin" else op


def _bare(e: s.Expr, right_open: bool) -> str:
    if isinstance(e, s.Binary):
        left = _operand(e, e.left, True, right_open)
        right = _operand(e, e.right, False, right_open)
        return f"{left} {_op_text(e.op)} {right}"
    if isinstance(e, s.Unary):
        if e.op == "not":
            return "not " + expr_text(e.arg, NOT, right_open)
        return "-" + expr_text(e.arg, NEG, right_open)
    if isinstance(e, s.Ite):
        return (
            f"if {expr_text(e.cond, IMPLIES)} then {expr_text(e.then, IMPLIES)} "
            f"else {expr_text(e.orelse, ITE, right_open)}"
        )
    if isinstance(e, s.Quant):
        head = f"{e.var.name} in {type_text(e.domain)}: {expr_text(e.body, ITE, right_open)}"
        return f"count({head})" if e.kind == "count" else f"{e.kind} {head}"
    return _atom(e)


def _atom(e: s.Expr) -> str:
    if isinstance(e, s.IntLit):
        return str(e.value)
    if isinstance(e, s.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, s.Name):
        return e.name
    if isinstance(e, s.Member):
        return f"{e.enum}.{e.member}"
    if isinstance(e, s.Call):
        return f"{e.func.name}({', '.join(expr_text(a) for a in e.args)})"
    if isinstance(e, s.Index):
        return f"{expr_text(e.base, POST, False)}[{expr_text(e.index)}]"
    if isinstance(e, s.SetLit):
        return "{" + ", ".join(expr_text(a) for a in e.elems) + "}"
    if isinstance(e, s.ListLit):
        return "[" + ", ".join(expr_text(a) for a in e.elems) + "]"
    if isinstance(e, s.ArrayComp):
        return f"[for {e.var.name} in {type_text(e.domain)}: {expr_text(e.body)}]"
    raise TypeError(f"no text for {type(e).__name__}")  # pragma: no cover - AST is closed


def type_text(t: s.TypeExpr) -> str:
    """The canonical text of a type."""
    if isinstance(t, s.BoolT):
        return "bool"
    if isinstance(t, s.RangeT):
        text = f"{expr_text(t.lo, ADD, False)}..{expr_text(t.hi, ADD, False)}"
        return text + " saturating" if t.saturating else text
    if isinstance(t, s.EnumT):
        return "enum { " + ", ".join(m.name for m in t.members) + " }"
    if isinstance(t, s.SetT):
        return f"set of {type_text(t.elem)}"
    if isinstance(t, s.ArrayT):
        return f"array[{type_text(t.index)}] of {type_text(t.elem)}"
    return t.name


# ---- breaking long expressions over lines


def expr_lines(e: s.Expr, indent: int, need: int = ITE, right_open: bool = True) -> list[str]:
    """`e` as indented lines: one line if it fits in WIDTH, else broken at `and`/`or`/..."""
    flat = expr_text(e, need, right_open)
    pad = " " * indent
    if indent + len(flat) <= WIDTH:
        return [pad + flat]
    if _needs_parens(e, need, right_open):
        inner = expr_lines(e, indent + 1)
        inner[0] = pad + "(" + inner[0].lstrip()
        inner[-1] += ")"
        return inner
    if isinstance(e, s.Binary) and e.op in _CHAINS:
        return _chain_lines(e, indent, right_open)
    if isinstance(e, s.Quant) and e.kind != "count":
        head = f"{pad}{e.kind} {e.var.name} in {type_text(e.domain)}:"
        body = expr_lines(e.body, indent + 2, ITE, right_open)
        if len(head) + 1 + len(body[0].lstrip()) <= WIDTH:
            return [f"{head} {body[0].lstrip()}", *body[1:]]
        return [head, *body]
    if isinstance(e, s.Ite):
        lines = [pad + "if " + expr_text(e.cond, IMPLIES)]
        lines += _prefixed("then ", expr_lines(e.then, indent + 5, IMPLIES), indent)
        lines += _prefixed("else ", expr_lines(e.orelse, indent + 5, ITE, right_open), indent)
        return lines
    return [pad + flat]


def _prefixed(word: str, lines: list[str], indent: int) -> list[str]:
    return [" " * indent + word + lines[0].lstrip(), *lines[1:]]


def _chain(e: s.Expr, op: str) -> list[s.Expr]:
    """The operands of an unbracketed chain `a op b op c`."""
    if not (isinstance(e, s.Binary) and e.op == op):
        return [e]
    if op == "implies":
        return [e.left, *_chain(e.right, op)]
    return [*_chain(e.left, op), e.right]


def _chain_lines(e: s.Binary, indent: int, right_open: bool) -> list[str]:
    """Operands packed greedily: `a and b` on a line while they fit, then `and c` below."""
    parts = _chain(e, e.op)
    lines: list[str] = []
    current: str | None = None
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        need = _chain_need(e.op, first=i == 0, last=last)
        word = "" if i == 0 else _op_text(e.op) + " "
        sub = _part_lines(e.op, part, indent + len(word), need, right_open and last)
        text = word + sub[0].lstrip()
        if len(sub) == 1 and current is not None and len(current) + 1 + len(text) <= WIDTH:
            current += " " + text
            continue
        if current is not None:
            lines.append(current)
        if len(sub) == 1:
            current = " " * indent + text
        else:
            lines += _prefixed(word, sub, indent)
            current = None
    if current is not None:
        lines.append(current)
    return lines


def _chain_need(op: str, first: bool, last: bool) -> int:
    level = _BINARY_LEVEL[op]
    if op == "implies":
        return level if last else level + 1
    return level if first else level + 1


def _part_lines(op: str, part: s.Expr, indent: int, need: int, right_open: bool) -> list[str]:
    if _bracketed_for_reader(op, part):
        need = POST  # bracketed for the reader, as in one-line form
    return expr_lines(part, indent, need, right_open)


# ---- pieces of declarations


def quoted(doc: str) -> str:
    out = []
    for ch in doc:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif not ch.isprintable():
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def doc_text(doc: str | None) -> str:
    return f" {quoted(doc)}" if doc is not None else ""


def params_text(params: tuple[s.Param, ...]) -> str:
    if not params:
        return ""
    return "(" + ", ".join(f"{p.name.name}: {type_text(p.type)}" for p in params) + ")"


def hang(head: str, e: s.Expr, indent: int) -> list[str]:
    """`head expr`, the expression continuing on indented lines when it is long."""
    pad = " " * indent
    flat = expr_text(e)
    if indent + len(head) + 1 + len(flat) <= WIDTH:
        return [f"{pad}{head} {flat}"]
    sub = expr_lines(e, indent + 2)
    return [f"{pad}{head} {sub[0].lstrip()}", *sub[1:]]


def head_alone(head: str, e: s.Expr, indent: int = 0) -> list[str]:
    """`head expr` on one line, or `head` then the expression indented below it."""
    flat = expr_text(e)
    if indent + len(head) + 1 + len(flat) <= WIDTH:
        return [f"{' ' * indent}{head} {flat}"]
    return [" " * indent + head, *expr_lines(e, indent + 2)]
