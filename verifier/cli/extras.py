"""Which optional extra a command needs, and a clean refusal when it is not installed.

`pip install verifier` is the runtime (the guard and this command line); the checker's heavy
dependencies come with `verifier[check]`. A command whose extra is missing exits 2 naming
the extra, never with a traceback.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass

import click


@dataclass(frozen=True)
class Extra:
    """An optional-dependency group of pyproject.toml: what it is for and what it imports."""

    name: str
    purpose: str
    modules: tuple[str, ...]
    packages: tuple[str, ...]


EXTRAS: dict[str, Extra] = {
    "check": Extra(
        "check",
        "the checker",
        ("lark", "z3", "networkx", "numpy"),
        ("lark", "z3-solver", "networkx", "numpy"),
    ),
    # `verifier lsp`; the extra pulls in `check` as well (the server runs the front end)
    "lsp": Extra(
        "lsp",
        "the language server",
        ("pygls", "lsprotocol", "lark", "z3", "networkx", "numpy"),
        ("pygls", "lsprotocol", "lark", "z3-solver", "networkx", "numpy"),
    ),
}


def missing(extra: str) -> list[str]:
    """The distribution names of `extra` whose modules cannot be imported here."""
    spec = EXTRAS[extra]
    return [
        package
        for module, package in zip(spec.modules, spec.packages, strict=True)
        if importlib.util.find_spec(module) is None
    ]


def refusal(command: str, extra: str) -> str:
    """The message for `verifier COMMAND` run without `extra`."""
    spec = EXTRAS[extra]
    absent = ", ".join(missing(extra)) or "some of its dependencies"
    return (
        f"error: `verifier {command}` needs {spec.purpose}, which is not installed"
        f" (missing: {absent})\nhint: pip install 'verifier[{extra}]'"
    )


def require(command: str, extra: str) -> None:
    """Exit 2 with the refusal unless every module of `extra` is importable."""
    if missing(extra):
        click.echo(refusal(command, extra), err=True)
        sys.exit(2)


def unavailable(command: str, extra: str) -> click.Command:
    """A stand-in for a command whose extra is missing: any invocation prints the refusal."""

    def refuse(args: tuple[str, ...]) -> None:
        require(command, extra)

    return click.Command(
        command,
        callback=refuse,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        context_settings={"ignore_unknown_options": True, "help_option_names": []},
        help=f"(not installed: pip install 'verifier[{extra}]')",
        short_help=f"(needs pip install 'verifier[{extra}]')",
    )
