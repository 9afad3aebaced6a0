"""`verifier fmt`: rewrite `.cap` files in the canonical layout, or check that they are."""

from __future__ import annotations

import difflib
import sys
from typing import TextIO

import click

from verifier.cli.check import find_specs
from verifier.diagnostics import SpecError, render
from verifier.lang.format import FormatError, format_text


def _read(path: str, stderr: TextIO) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        stderr.write(f"{path}: error[io]: cannot read `{path}`: {reason}\n")
        return None


def _format(path: str, text: str, stderr: TextIO) -> str | None:
    try:
        return format_text(text, path)
    except SpecError as err:
        for d in err.diagnostics:
            stderr.write(render(d, text) + "\n")
    except FormatError as err:
        stderr.write(
            f"{path}: error[format]: cannot format `{path}`: {err}\n"
            "  = help: the file was left unchanged; please report this with the file attached\n"
        )
    return None


def _diff(path: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"{path} (original)",
        tofile=f"{path} (formatted)",
    )
    return "".join(lines)


def format_paths(
    paths: tuple[str, ...], check: bool, diff: bool, stdout: TextIO, stderr: TextIO
) -> int:
    """Format (or with check/diff only inspect) every spec; return the exit code."""
    if paths == ("-",):
        return _format_stream(sys.stdin.read(), stdout, stderr)
    files, problems = find_specs(paths)
    failed = len(problems)
    for problem in problems:
        for d in problem.diagnostics:
            stderr.write(render(d, None) + "\n")
    changed: list[str] = []
    for path in files:
        text = _read(path, stderr)
        result = None if text is None else _format(path, text, stderr)
        if text is None or result is None:
            failed += 1
            continue
        if result == text:
            continue
        changed.append(path)
        if diff:
            stdout.write(_diff(path, text, result))
        if check or diff:
            continue
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(result)
    _summary(
        len(files) - failed + len(problems), changed, check or diff, stdout if not diff else stderr
    )
    if failed:
        return 2
    return 1 if changed and check else 0


def _format_stream(text: str, stdout: TextIO, stderr: TextIO) -> int:
    result = _format("<stdin>", text, stderr)
    if result is None:
        return 2
    stdout.write(result)
    return 0


def _summary(formatted: int, changed: list[str], dry: bool, out: TextIO) -> None:
    verb = "would reformat" if dry else "reformatted"
    for path in changed:
        out.write(f"{verb} {path}\n")
    same = formatted - len(changed)
    out.write(f"{len(changed)} {verb}, {same} already formatted\n")


@click.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a file is not formatted.")
@click.option("--diff", is_flag=True, help="Change nothing; print what formatting would change.")
def fmt(paths: tuple[str, ...], check: bool, diff: bool) -> None:
    """Rewrite the specs in PATHS (files, folders, or - for stdin) in the canonical layout.

    Exit status: 0 formatted (or already formatted), 1 with --check when a file would change,
    2 when a file cannot be read or does not parse (it is left unchanged).
    """
    sys.exit(format_paths(paths, check, diff, sys.stdout, sys.stderr))
