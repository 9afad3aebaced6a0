"""Proof certificates: an inductive invariant with the encoding, as SMT-LIB2, and its re-check.

A certificate defines `Range`, `Init`, `Trans`, `Prop` (the conjunction of the proved
properties) and `Inv` over the model's state variables, then states three checks; each must be
unsat. With `:k 1` they are initiation (Init => Inv), consecution (Inv & Trans => Inv') and
safety (Inv => Prop). A k-induction proof gives `:k K`: initiation covers the first K states of
every path and consecution assumes Inv on K consecutive (with `:simple-path true`, pairwise
distinct) states. Re-checking never trusts the file's encoding or checks: it rebuilds both
from the spec and takes only `Inv` (and K) from the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import z3

from verifier import ir
from verifier.check.smt.encode import Encoding
from verifier.check.smt.goals import Goal, goals
from verifier.check.smt.pdr import flat

FORMAT = "verifier-certificate-1"


@dataclass(frozen=True)
class Proof:
    """One proved goal: its name and an invariant (SMT-LIB2 term over the bare state names)."""

    name: str
    invariant: str
    k: int = 1
    simple_path: bool = False


class _Vocabulary:
    """State and step variable names of the canonical (integer) encoding."""

    def __init__(self, enc: Encoding) -> None:
        self.enc = enc
        self.cur = flat(enc.state(""))
        self.nxt = flat(enc.state("next"))
        self.step = enc.step("").flat()

    def params(self, vs: Sequence[z3.ExprRef]) -> str:
        return " ".join(f"({v.sexpr()} {v.sort().sexpr()})" for v in vs)

    def names(self, vs: Sequence[z3.ExprRef], tag: str) -> list[str]:
        return [f"|{v}@{tag}|" for v in vs]

    def declare(self, vs: Sequence[z3.ExprRef], tag: str) -> list[str]:
        return [
            f"(declare-fun {n} () {v.sort().sexpr()})"
            for n, v in zip(self.names(vs, tag), vs, strict=True)
        ]


def _define(name: str, params: str, body: str) -> str:
    return f"(define-fun {name} ({params}) Bool\n  {body})"


def encoding_text(enc: Encoding, props: Sequence[Goal]) -> str:
    """The define-funs Range, Init, Trans, Same and Prop for the canonical encoding."""
    voc = _Vocabulary(enc)
    s, n = enc.state(""), enc.state("next")
    cur = voc.params(voc.cur)
    prop = z3.And(*[g.good(s) for g in props])
    same = z3.Not(enc.distinct(s, n))
    return "\n".join(
        [
            _define("Range", cur, enc.in_range(s).sexpr()),
            _define("Init", cur, enc.initial(s).sexpr()),
            _define(
                "Trans",
                f"{cur} {voc.params(voc.step)} {voc.params(voc.nxt)}",
                enc.trans(s, enc.step(""), n).sexpr(),
            ),
            _define("Same", f"{cur} {voc.params(voc.nxt)}", same.sexpr()),
            _define("Prop", cur, prop.sexpr()),
        ]
    )


def _app(fn: str, *groups: list[str]) -> str:
    return f"({fn} {' '.join(x for g in groups for x in g)})"


def obligations(enc: Encoding, k: int, simple_path: bool) -> list[tuple[str, list[str]]]:
    """The checks, each as (name, SMT-LIB2 commands declaring and asserting it)."""
    voc = _Vocabulary(enc)
    out: list[tuple[str, list[str]]] = []
    st = [voc.names(voc.cur, str(i)) for i in range(k + 1)]
    sp = [voc.names(voc.step, str(i)) for i in range(k)]

    def decl(n: int) -> list[str]:
        lines = [x for i in range(n + 1) for x in voc.declare(voc.cur, str(i))]
        return lines + [x for i in range(n) for x in voc.declare(voc.step, str(i))]

    def path(n: int) -> list[str]:
        asserts = [f"(assert {_app('Range', st[i])})" for i in range(n + 1)]
        return asserts + [f"(assert {_app('Trans', st[i], sp[i], st[i + 1])})" for i in range(n)]

    for i in range(k):
        base = [*decl(i), *path(i), f"(assert {_app('Init', st[0])})"]
        out.append((f"initiation (state {i})", [*base, f"(assert (not {_app('Inv', st[i])}))"]))
    step = [*decl(k), *path(k)]
    step += [f"(assert {_app('Inv', st[i])})" for i in range(k)]
    if simple_path:
        step += [
            f"(assert (not {_app('Same', st[i], st[j])}))" for j in range(k + 1) for i in range(j)
        ]
    out.append(("consecution", [*step, f"(assert (not {_app('Inv', st[k])}))"]))
    safety = [*decl(0), *path(0), f"(assert {_app('Inv', st[0])})"]
    out.append(("safety", [*safety, f"(assert (not {_app('Prop', st[0])}))"]))
    return out


def certificate_text(model: ir.Model, proofs: Sequence[Proof], engine: str) -> str:
    """The certificate for `proofs` (all of one model) as an SMT-LIB2 script."""
    enc = Encoding(model)
    by_name = {g.name: g for g in goals(enc, deadlock=True)}
    props = [by_name[p.name] for p in proofs]
    k = max((p.k for p in proofs), default=1)
    simple = any(p.simple_path for p in proofs)
    voc = _Vocabulary(enc)
    inv = " ".join(p.invariant for p in proofs) if proofs else "true"
    inv = f"(and {inv})" if len(proofs) > 1 else inv
    digest = hashlib.sha256(model.source.encode()).hexdigest()
    head = [
        f"; {FORMAT}: an inductive invariant for `{model.name}` ({model.path})",
        "; every check below must be unsat; `verifier certify SPEC FILE` re-checks it",
        "(set-logic ALL)",
        f"(set-info :source |{FORMAT} engine={engine}|)",
        f"(set-info :spec-sha256 |{digest}|)",
        f"(set-info :properties |{' '.join(p.name for p in proofs)}|)",
        f"(set-info :k {k})",
        f"(set-info :simple-path {'true' if simple else 'false'})",
        encoding_text(enc, props),
        _define("Inv", voc.params(voc.cur), inv),
    ]
    body = []
    for name, cmds in obligations(enc, k, simple):
        body += [f"; {name}", "(push 1)", *cmds, "(check-sat)", "(pop 1)"]
    return "\n".join(head + body) + "\n"


def write_certificate(path: str, model: ir.Model, proofs: Sequence[Proof], engine: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(certificate_text(model, proofs, engine))


# ---- reading back


@dataclass(frozen=True)
class Claims:
    """What a certificate claims: the invariant's definition, the properties, k, simple paths."""

    inv: str
    properties: tuple[str, ...]
    k: int
    simple_path: bool
    spec_sha256: str | None


class CertificateError(Exception):
    """A certificate that cannot be read."""


def _info(text: str, key: str) -> str | None:
    m = re.search(rf"\(set-info :{key} (\|[^|]*\||\S+?)\)", text)
    return m.group(1).strip("|") if m else None


def read_claims(text: str) -> Claims:
    """Take Inv, the property names and k from a certificate; CertificateError if malformed."""
    inv = _sexpr_at(text, "(define-fun Inv ")
    names = _info(text, "properties")
    k = _info(text, "k")
    if inv is None or names is None or k is None or not k.isdigit() or int(k) < 1:
        raise CertificateError("this is not a verifier certificate (no `Inv`, properties or k)")
    return Claims(
        inv,
        tuple(names.split()),
        int(k),
        _info(text, "simple-path") == "true",
        _info(text, "spec-sha256"),
    )


def _sexpr_at(text: str, start: str) -> str | None:
    """The balanced s-expression beginning with `start`, if the text has exactly one."""
    if text.count(start) != 1:
        return None
    i = text.index(start)
    depth, quoted = 0, False
    for j in range(i, len(text)):
        c = text[j]
        if c == "|":
            quoted = not quoted
        elif not quoted and c == "(":
            depth += 1
        elif not quoted and c == ")":
            depth -= 1
            if depth == 0:
                return text[i : j + 1]
    return None
