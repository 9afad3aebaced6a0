"""`verifier diff OLD NEW`: what a policy change allows that it did not before."""

from __future__ import annotations

import json
import math
import sys

import click

from verifier.check.diff import ENGINES, DiffOptions, growth_bits, run_diff
from verifier.check.refinement import DiffError, DiffResult, renaming_from
from verifier.cli.options import const_option, engine_option, parse_consts
from verifier.lang.frontend import load_or_report
from verifier.report.diff import render_diff

EXIT = {"equivalent": 0, "restricting": 0, "widening": 1, "inconclusive": 3}


def parse_renames(values: tuple[str, ...]) -> dict[str, str]:
    """`OLD=NEW` pairs from `--rename`; click.BadParameter on a malformed or repeated one."""
    out: dict[str, str] = {}
    for item in values:
        a, sep, b = item.partition("=")
        a, b = a.strip(), b.strip()
        if not sep or not a.isidentifier() or not b.isidentifier():
            raise click.BadParameter(
                f"`{item}` is not OLD_NAME=NEW_NAME (for example `--rename sends=mails`)",
                param_hint="--rename",
            )
        if a in out:
            raise click.BadParameter(f"`{a}` is renamed twice", param_hint="--rename")
        out[a] = b
    return out


def parse_growth(value: str | None) -> float | None:
    """A budget in bits (a finite number >= 0)."""
    if value is None:
        return None
    try:
        bits = float(value)
    except ValueError:
        bits = math.nan
    if not math.isfinite(bits) or bits < 0:
        raise click.BadParameter(
            f"`{value}` is not a number of bits >= 0 (for example `--max-growth 1.5`)",
            param_hint="--max-growth",
        )
    return bits


def growth_verdict(result: DiffResult, budget: float | None) -> tuple[int, str | None]:
    """The exit status the growth budget imposes (0 within it), and the line saying why."""
    if budget is None:
        return 0, None
    bits = growth_bits(result)
    if bits is None:
        return 3, "growth budget: not measured (a reachable space was not counted)"
    if bits > budget + 1e-9:
        return 1, f"growth budget exceeded: +{bits:.2f} bits > --max-growth {budget:g}"
    return 0, f"growth {bits:+.2f} bits within --max-growth {budget:g}"


@click.command("diff")
@click.argument("old_path", metavar="OLD", type=click.Path())
@click.argument("new_path", metavar="NEW", type=click.Path())
@click.option(
    "--rename",
    "renames",
    multiple=True,
    metavar="OLD=NEW",
    help="OLD's name of a variable or transition and NEW's (repeatable).",
)
@engine_option(
    ENGINES, "explicit product search, the symbolic check, or auto (by the specs' size)."
)
@click.option(
    "--max-growth",
    "max_growth",
    metavar="BITS",
    help="Fail when the reachable space grows by more than BITS bits.",
)
@click.option(
    "--max-states",
    type=click.IntRange(min=1),
    default=1_000_000,
    show_default=True,
    help="State pairs the explicit search explores before it gives up.",
)
@click.option("--depth", type=click.IntRange(min=1), help="Symbolic: the largest k of k-induction.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Symbolic: seconds per solver run.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@const_option
def diff(
    old_path: str, new_path: str, renames: tuple[str, ...], engine: str,
    max_growth: str | None, max_states: int, depth: int | None, timeout: float | None,
    fmt: str, consts: tuple[str, ...],
) -> None:  # fmt: skip
    """Compare two specs: equivalent, NEW only restricts OLD, or the trace NEW newly admits."""
    budget = parse_growth(max_growth)
    names = renaming_from(parse_renames(renames))
    overrides = parse_consts(consts)
    old = load_or_report(old_path, overrides, sys.stderr)
    new = load_or_report(new_path, overrides, sys.stderr)
    if old is None or new is None:
        sys.exit(2)
    options = DiffOptions(engine, names, max_states, depth, timeout)
    try:
        result = run_diff(old, new, options)
    except DiffError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    code, line = growth_verdict(result, budget)
    if fmt == "json":
        doc = result.to_json()
        doc["growth_bits"] = growth_bits(result)
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(render_diff(result, line), nl=False)
    sys.exit(_worst(EXIT[result.verdict], code))


def _worst(*codes: int) -> int:
    """1 (a widening) before 3 (undecided) before 0, as `check` orders its verdicts."""
    for code in (1, 3):
        if code in codes:
            return code
    return 0
