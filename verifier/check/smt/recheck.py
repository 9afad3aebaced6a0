"""Re-check a certificate from scratch against a spec, with Z3 and (if installed) cvc5."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import z3

from verifier import ir
from verifier.check.smt.certificate import (
    CertificateError,
    encoding_text,
    obligations,
    read_claims,
)
from verifier.check.smt.encode import Encoding
from verifier.check.smt.goals import goals


@dataclass(frozen=True)
class Obligation:
    """One check of one solver: `unsat` means it holds."""

    name: str
    solver: str
    answer: str  # "unsat" | "sat" | "unknown" | "error: ..."

    @property
    def holds(self) -> bool:
        return self.answer == "unsat"


@dataclass
class Recheck:
    """The outcome of re-checking a certificate."""

    properties: tuple[str, ...] = ()
    k: int = 1
    simple_path: bool = False
    obligations: list[Obligation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.problems and all(o.holds for o in self.obligations)


def cvc5_available() -> bool:
    try:
        import cvc5  # noqa: F401
    except ImportError:
        return False
    return True


def recheck(
    model: ir.Model, text: str, *, timeout: float | None = 60.0, use_cvc5: bool = True
) -> Recheck:
    """Rebuild the encoding from `model`, take only Inv from `text`, and discharge every check."""
    out = Recheck()
    try:
        claims = read_claims(text)
    except CertificateError as err:
        out.problems.append(str(err))
        return out
    out.properties, out.k, out.simple_path = claims.properties, claims.k, claims.simple_path
    enc = Encoding(model)
    by_name = {g.name: g for g in goals(enc, deadlock=True)}
    unknown = [n for n in claims.properties if n not in by_name]
    if unknown or not claims.properties:
        out.problems.append(
            f"the spec has no property `{unknown[0]}`"
            if unknown
            else "the certificate proves no property"
        )
        return out
    if claims.spec_sha256 != hashlib.sha256(model.source.encode()).hexdigest():
        out.notes.append("the certificate was made for a different text of this spec")
    prelude = [
        "(set-logic ALL)",
        encoding_text(enc, [by_name[n] for n in claims.properties]),
        claims.inv,
    ]
    solvers = [("z3", _z3)] + ([("cvc5", _cvc5)] if use_cvc5 and cvc5_available() else [])
    for name, cmds in obligations(enc, claims.k, claims.simple_path):
        script = "\n".join([*prelude, *cmds])
        for solver, run in solvers:
            out.obligations.append(Obligation(name, solver, run(script, timeout)))
    return out


def _z3(script: str, timeout: float | None) -> str:
    s = z3.Solver()
    if timeout is not None:
        s.set("timeout", int(timeout * 1000))
    try:
        s.from_string(script)
    except z3.Z3Exception as err:
        return f"error: {_first_line(err)}"
    return str(s.check())


def _cvc5(script: str, timeout: float | None) -> str:
    import cvc5

    s = cvc5.Solver()
    if timeout is not None:
        s.setOption("tlimit-per", str(int(timeout * 1000)))
    parser = cvc5.InputParser(s)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, script + "\n(check-sat)\n", "cert")
    sm = parser.getSymbolManager()
    answer = "unknown"
    try:
        while True:
            cmd = parser.nextCommand()
            if cmd.isNull():
                break
            got = cmd.invoke(s, sm).strip()
            if got:
                answer = got
    except RuntimeError as err:
        return f"error: {_first_line(err)}"
    return answer if answer in ("sat", "unsat", "unknown") else f"error: {_first_line(answer)}"


def _first_line(err: object) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else "unreadable"
