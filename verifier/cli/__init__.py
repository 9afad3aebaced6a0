"""The `verifier` command line. Commands only render, route and exit; work happens below."""

from __future__ import annotations

import importlib

import click

from verifier import __version__
from verifier.cli.extras import missing, unavailable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="verifier")
def main() -> None:
    """Prove capability specs for AI agents, then guard every action they propose."""


def _add(module: str, *commands: str, extra: str | None = None) -> None:
    """Register `commands` (attribute names of `module`), or stand-ins if `extra` is missing."""
    if extra is not None and missing(extra):
        for name in commands:
            main.add_command(unavailable(name.removesuffix("_cmd"), extra))
        return
    loaded = importlib.import_module(module)
    for name in commands:
        main.add_command(getattr(loaded, name))


def _register() -> None:
    # Each command lives in its own module; one line each here. A command that needs an
    # optional extra (verifier/cli/extras.py) names it when it is not installed.
    _add("verifier.cli.check", "check", extra="check")
    _add("verifier.cli.graph", "graph", extra="check")
    _add("verifier.cli.fmt", "fmt", extra="check")
    _add("verifier.cli.report", "report", extra="check")
    _add("verifier.cli.lsp", "lsp", extra="lsp")
    _add("verifier.cli.guard", "compile_cmd", "keygen", "audit", "replay")
    _add("verifier.cli.certify", "certify", extra="check")
    _add("verifier.cli.operator", "approvals", "approve", "reject", "release")
    _add("verifier.cli.test", "test_cmd", extra="check")
    _add("verifier.cli.diff", "diff", extra="check")
    _add("verifier.cli.gateway", "gateway", extra="gateway")


_register()
