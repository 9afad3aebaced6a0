"""`verifier graph`: the reachable state graph of a small spec, or its projection."""

from __future__ import annotations

import sys

import click

from verifier.cli.options import const_option, parse_consts
from verifier.lang.frontend import load_or_report
from verifier.report.projection import BadProjection, parse_variables

SMALL = 2000  # default --max-states for the whole graph
PROJECTED = 1_000_000  # default --max-states when projecting


@click.command()
@click.argument("spec", type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dot", "mermaid", "json", "svg"]),
    default="dot",
    show_default=True,
    help="svg runs graphviz's `dot` (which must be installed).",
)
@const_option
@click.option(
    "--project",
    default=None,
    metavar="VAR,VAR",
    help="One node per combination of these state variables' values.",
)
@click.option(
    "--max-states",
    type=click.IntRange(min=1),
    default=None,
    help=f"Refuse models with more reachable states [default: {SMALL}, {PROJECTED} with "
    "--project].",
)
def graph(
    spec: str, fmt: str, consts: tuple[str, ...], project: str | None, max_states: int | None
) -> None:
    """Render the reachable state graph of SPEC (small), or its projection (--project)."""
    from verifier.cli.report import parse_project
    from verifier.report.graph import render_graph

    names = parse_project(project)
    model = load_or_report(spec, parse_consts(consts), sys.stderr)
    if model is None:
        sys.exit(2)
    variables = None
    if names is not None:
        try:
            variables = parse_variables(model, names)
        except BadProjection as err:
            sys.stderr.write(f"error: {err}\n  = help: {err.hint}\n")
            sys.exit(2)
    limit = max_states or (PROJECTED if variables else SMALL)
    sys.exit(render_graph(model, fmt, limit, sys.stdout, sys.stderr, variables))
