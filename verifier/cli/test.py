"""`verifier test`: run the scenarios of specs and recorded traces through the guard's code."""

from __future__ import annotations

import json
import sys

import click

from verifier.cli.check import const_option, parse_consts
from verifier.testing import run_paths
from verifier.testing.render import exit_code, render_json, render_junit, render_text


@click.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
)
@click.option("--spec", type=click.Path(), help="The spec recorded traces are replayed against.")
@click.option("--no-coverage", is_flag=True, help="Leave coverage out of the text report.")
@const_option
def test_cmd(
    paths: tuple[str, ...], fmt: str, spec: str | None, no_coverage: bool, consts: tuple[str, ...]
) -> None:
    """Run scenarios (and recorded traces) through the live guard's decision code."""
    results = run_paths(paths, spec, parse_consts(consts))
    if fmt == "json":
        click.echo(json.dumps(render_json(results), indent=2))
    elif fmt == "junit":
        click.echo(render_junit(results), nl=False)
    else:
        click.echo(render_text(results, coverage=not no_coverage), nl=False)
    sys.exit(exit_code(results))
