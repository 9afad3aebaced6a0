"""`verifier certify SPEC FILE`: re-check a proof certificate from scratch."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

import click

from verifier.cli.options import const_option, parse_consts
from verifier.lang.frontend import load_or_report


def certify_paths(
    spec: str,
    cert: str,
    consts: dict[str, int],
    *,
    timeout: float | None,
    use_cvc5: bool,
    fmt: str,
    stdout: TextIO,
) -> int:
    """Print the re-check of `cert` against `spec`; 0 accepted, 1 rejected, 2 unusable input."""
    model = load_or_report(spec, consts, stdout)
    if model is None:
        return 2
    try:
        with open(cert, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        stdout.write(f"error: cannot read `{cert}`: {reason}\n")
        return 2
    from verifier.check.smt.recheck import cvc5_available, recheck

    got = recheck(model, text, timeout=timeout, use_cvc5=use_cvc5)
    if use_cvc5 and not cvc5_available():
        got.notes.append("cvc5 is not installed (pip install 'verifier[cvc5]'); z3 only")
    if fmt == "json":
        stdout.write(json.dumps(_json(spec, cert, got), indent=2) + "\n")
    else:
        stdout.write(_text(spec, cert, got))
    return 0 if got.accepted else 1


def _text(spec: str, cert: str, got: Any) -> str:
    verdict = "accepted" if got.accepted else "rejected"
    lines = [f"{cert}: certificate {verdict} for {spec}"]
    if got.properties:
        kind = f"{got.k}-inductive" + (" over simple paths" if got.simple_path else "")
        lines.append(f"  proves {', '.join(got.properties)} ({kind})")
    lines += [f"  note: {n}" for n in got.notes]
    lines += [f"  error: {p}" for p in got.problems]
    for o in got.obligations:
        mark = "ok" if o.holds else "FAILED"
        lines.append(f"  {o.name}: {o.solver} {o.answer} ({mark})")
    return "\n".join(lines) + "\n"


def _json(spec: str, cert: str, got: Any) -> dict[str, Any]:
    return {
        "spec": spec,
        "certificate": cert,
        "accepted": got.accepted,
        "properties": list(got.properties),
        "k": got.k,
        "simple_path": got.simple_path,
        "checks": [
            {"name": o.name, "solver": o.solver, "answer": o.answer} for o in got.obligations
        ],
        "problems": list(got.problems),
        "notes": list(got.notes),
    }


@click.command()
@click.argument("spec", type=click.Path())
@click.argument("certificate", type=click.Path())
@const_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds per check and solver.",
)
@click.option("--no-cvc5", is_flag=True, help="Check with z3 only, even if cvc5 is installed.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def certify(
    spec: str, certificate: str, consts: tuple[str, ...], timeout: float, no_cvc5: bool, fmt: str
) -> None:
    """Re-check CERTIFICATE (from `check --certificate`) against SPEC from scratch.

    The encoding is rebuilt from SPEC; only the invariant is taken from the file. Initiation,
    consecution and safety must all be unsat, with z3 and, when installed, cvc5.
    Exit status: 0 accepted, 1 rejected, 2 unreadable spec or certificate.
    """
    sys.exit(
        certify_paths(
            spec,
            certificate,
            parse_consts(consts),
            timeout=timeout,
            use_cvc5=not no_cvc5,
            fmt=fmt,
            stdout=sys.stdout,
        )
    )
