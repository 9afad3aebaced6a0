"""The `verifier` command line. Commands only render, route and exit; work happens below."""

from __future__ import annotations

import click

from verifier import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="verifier")
def main() -> None:
    """Prove capability specs for AI agents, then guard every action they propose."""


def _register() -> None:
    # Each command lives in its own module; one line each here.
    from verifier.cli.check import check, graph
    from verifier.cli.guard import audit, compile_cmd, keygen, replay

    main.add_command(check)
    main.add_command(graph)
    main.add_command(compile_cmd)
    main.add_command(keygen)
    main.add_command(audit)
    main.add_command(replay)
    main.add_command(__import__("verifier.cli.certify", fromlist=["certify"]).certify)
    main.add_command(__import__("verifier.cli.test", fromlist=["test_cmd"]).test_cmd)
    main.add_command(__import__("verifier.cli.diff", fromlist=["diff"]).diff)


_register()
