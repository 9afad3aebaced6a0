"""`verifier check` and `verifier graph`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

import click

from verifier.check.control import DEFAULT_BUDGET
from verifier.check.dispatch import ENGINES, CheckOptions, EngineUnavailable, run_check
from verifier.check.results import CheckResult, exit_code
from verifier.cli.options import const_option, engine_option, parse_consts
from verifier.cli.progress import Interrupts, ProgressPrinter, catching_signals
from verifier.diagnostics import WHOLE_FILE, Diagnostic
from verifier.lang.frontend import load_file, specs_under
from verifier.report.annotations import github_annotations
from verifier.report.formats import FORMATS, WRITERS
from verifier.report.itf import trace_to_itf
from verifier.report.text import render_result


def find_specs(paths: Iterable[str]) -> tuple[list[str], list[CheckResult]]:
    """Expand folders into their `.cap` specs (sorted, scenario files `*.test.cap` skipped)."""
    files: list[str] = []
    problems: list[CheckResult] = []
    for path in paths:
        if os.path.isdir(path):
            found = specs_under(path)
            if not found:
                problems.append(_problem(path, "empty", f"no `.cap` files under `{path}`"))
            files.extend(found)
        elif os.path.exists(path):
            files.append(path)
        else:
            problems.append(_problem(path, "io", f"`{path}` does not exist"))
    return files, problems


def _problem(path: str, code: str, message: str) -> CheckResult:
    diag = Diagnostic(code, "error", message, WHOLE_FILE, None, path)
    return CheckResult(path=path, source="", model=None, diagnostics=[diag])


def check_paths(
    paths: Sequence[str],
    options: CheckOptions,
    consts: dict[str, int],
    fmt: str,
    verbose: bool,
    stdout: TextIO,
    stderr: TextIO,
    itf_dir: str | None = None,
    *,
    progress: bool = False,
    interrupts: Interrupts | None = None,
) -> int:
    """Check every spec under `paths`, print the report, return the exit code.

    Progress goes to `stderr` when it is a terminal, or always with `progress`. After a
    signal (see `Interrupts`) the file being checked is reported as far as it got, the rest
    are skipped, and the exit code is 128 + the signal number.
    """
    files, results = find_specs(paths)
    if fmt == "text":
        for problem in results:
            stdout.write(render_result(problem, verbose) + "\n")
    live = stderr.isatty()
    intr = interrupts or Interrupts()
    budget = options.timeout if options.timeout is not None else DEFAULT_BUDGET
    for path in files:
        if intr.signal:
            break
        stop = intr.stop_within(budget)
        loaded = load_file(path, consts)
        if loaded.model is None:
            result = CheckResult(path, loaded.source, None, diagnostics=loaded.diagnostics)
        else:
            shown = ProgressPrinter(stderr, path, live)
            listener = shown.listener() if live or progress else None
            try:
                result = run_check(loaded.model, options, listener, stop)
            except EngineUnavailable as err:
                result = _problem(path, "engine", str(err))
            shown.clear()
            result.diagnostics[:0] = loaded.diagnostics
            result.diagnostics.sort(key=Diagnostic.sort_key)
        results.append(result)
        if itf_dir is not None:
            write_itf(result, itf_dir, stderr)
        if fmt == "text":
            stdout.write(render_result(result, verbose) + "\n")
            stdout.flush()
    if fmt in WRITERS:
        stdout.write(WRITERS[fmt](results))
    if os.environ.get("GITHUB_ACTIONS") == "true":
        stderr.write(github_annotations(results))
    return intr.exit_code if intr.signal else exit_code(results)


def write_itf(result: CheckResult, folder: str, stderr: TextIO) -> None:
    """Write `<spec>.<property>.itf.json` for every property that has a trace."""
    if result.model is None:
        return
    os.makedirs(folder, exist_ok=True)
    stem = os.path.splitext(os.path.basename(result.path))[0]
    for p in result.properties:
        if p.trace is None:
            continue
        what = "witness" if p.verdict == "proved" else "counterexample"
        doc = trace_to_itf(result.model, p.trace, f"{what} of {p.kind} `{p.name}`")
        target = os.path.join(folder, f"{stem}.{p.name}.itf.json")
        try:
            with open(target, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
        except OSError as err:
            stderr.write(f"cannot write `{target}`: {err.strerror}\n")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Report as text for people, or JSON, SARIF 2.1.0 or JUnit XML for tools.",
)
@const_option
@engine_option(
    ENGINES, "auto: explicit search and the symbolic engines race; the first answer wins."
)
@click.option("--no-deadlock", is_flag=True, help="Do not report deadlocks.")
@click.option(
    "--max-states",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after this many states; the result is then inconclusive (exit 3).",
)
@click.option("--depth", type=click.IntRange(min=0), default=None, help="Bound for the bmc engine.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help=f"Time budget per file, all engines together (default {DEFAULT_BUDGET:.0f}); "
    "past it the open properties are inconclusive (exit 3).",
)
@click.option(
    "--certificate",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the proof certificate (SMT-LIB2) of a symbolic proof here.",
)
@click.option(
    "--no-simple-path",
    is_flag=True,
    help="k-induction without simple-path constraints (the textbook k; may find no k).",
)
@click.option(
    "--itf",
    "itf_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Also write every counterexample and witness as an ITF trace into this folder.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes for packed explicit search (--engine explicit); results do not change.",
)
@click.option(
    "--progress",
    "show_progress",
    is_flag=True,
    help="Print progress to stderr even when it is not a terminal (CI logs).",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also print witnesses, proved properties and tool bindings.",
)
def check(
    paths: tuple[str, ...],
    fmt: str,
    consts: tuple[str, ...],
    engine: str,
    no_deadlock: bool,
    max_states: int | None,
    depth: int | None,
    timeout: float | None,
    certificate: str | None,
    no_simple_path: bool,
    itf_dir: str | None,
    workers: int,
    show_progress: bool,
    verbose: bool,
) -> None:
    """Prove every property of the specs in PATHS (files, or folders searched for .cap).

    Exit status: 0 all proved, 1 a property is violated, 2 usage error or invalid spec,
    3 inconclusive (a bound or timeout stopped the check; never a pass), 130 / 143
    interrupted by SIGINT / SIGTERM, 141 standard output closed (a broken pipe).
    """
    options = CheckOptions(
        engine=engine,
        deadlock=not no_deadlock,
        max_states=max_states,
        depth=depth,
        timeout=timeout,
        certificate=certificate,
        simple_path=not no_simple_path,
        workers=workers,
    )
    values = parse_consts(consts)
    intr = Interrupts()
    try:
        with catching_signals(intr):
            code = check_paths(
                paths,
                options,
                values,
                fmt,
                verbose,
                sys.stdout,
                sys.stderr,
                itf_dir,
                progress=show_progress,
                interrupts=intr,
            )
    except KeyboardInterrupt:  # a second signal: give up at once
        code = intr.exit_code if intr.signal else 130
    except BrokenPipeError:
        code = closed_stdout()
    sys.exit(code)


BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away


def closed_stdout() -> int:
    """The reader of stdout went away (`| head -1`): stop quietly, never as "violated"."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail too
    os.close(devnull)
    return BROKEN_PIPE
