"""`verifier report`: check a spec and write one self-contained HTML page about it."""

from __future__ import annotations

import sys

import click

from verifier.check.dispatch import ENGINES, CheckOptions, EngineUnavailable, run_check
from verifier.check.explicit import TooManyInitialStates, explore
from verifier.check.results import CheckResult, exit_code
from verifier.cli.options import const_option, engine_option, parse_consts
from verifier.diagnostics import render
from verifier.lang.frontend import load_file
from verifier.report.html import GraphChoice, render_html
from verifier.report.projection import BadProjection, parse_variables


def parse_project(value: str | None) -> list[str] | None:
    """`phase,sends` -> ["phase", "sends"]; None when the option is absent."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",")]
    if not all(names):
        raise click.BadParameter(
            f"`{value}` is not a comma-separated list of variables (for example "
            "`--project phase,sends`)",
            param_hint="--project",
        )
    return names


def _graph(result: CheckResult, project: list[str] | None, max_states: int) -> GraphChoice:
    model = result.model
    assert model is not None
    variables = tuple(parse_variables(model, project)) if project is not None else None
    try:
        g = explore(model, max_states=max_states)
    except TooManyInitialStates:
        return GraphChoice(None, variables, "the model has too many initial states to explore")
    if not g.complete:
        why = f"more than {max_states:,} reachable states (raise --graph-states)"
        return GraphChoice(None, variables, why)
    return GraphChoice(g, variables)


@click.command("report")
@click.argument("spec", type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="The HTML file to write.",
)
@click.option(
    "--project",
    default=None,
    metavar="VAR,VAR",
    help="Draw the graph projected onto these state variables.",
)
@const_option
@engine_option(ENGINES, "The engine that decides the verdicts, as for `verifier check`.")
@click.option(
    "--graph-states",
    type=click.IntRange(min=1),
    default=1_000_000,
    show_default=True,
    help="Explore at most this many states for the graph; beyond, the report has no graph.",
)
def report(
    spec: str,
    output: str,
    project: str | None,
    consts: tuple[str, ...],
    engine: str,
    graph_states: int,
) -> None:
    """Check SPEC and write a self-contained HTML report (verdicts, traces, graph, coverage).

    Exit status as for `verifier check` (0 proved, 1 violated, 2 invalid or usage error,
    3 inconclusive); the report is written in every case but a usage error.
    """
    names = parse_project(project)
    loaded = load_file(spec, parse_consts(consts))
    if loaded.model is None:
        result = CheckResult(spec, loaded.source, None, diagnostics=loaded.diagnostics)
        for d in loaded.diagnostics:
            sys.stderr.write(render(d, loaded.source) + "\n")
        choice = GraphChoice(None, None, "the spec is invalid")
    else:
        try:
            choice = _graph(CheckResult(spec, loaded.source, loaded.model), names, graph_states)
        except BadProjection as err:
            sys.stderr.write(f"error: {err}\n  = help: {err.hint}\n")
            sys.exit(2)
        try:
            result = run_check(loaded.model, CheckOptions(engine=engine))
        except EngineUnavailable as err:
            sys.stderr.write(f"error: {err}\n")
            sys.exit(2)
        result.diagnostics[:0] = loaded.diagnostics
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(render_html(result, choice))
    except OSError as err:
        sys.stderr.write(f"error: cannot write `{output}`: {err.strerror}\n")
        sys.exit(2)
    sys.stdout.write(f"wrote {output} ({result.verdict})\n")
    sys.exit(exit_code([result]))
