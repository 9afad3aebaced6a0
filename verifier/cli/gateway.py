"""`verifier gateway CONFIG`: serve the agent over MCP, guarding every tool call."""

from __future__ import annotations

import sys

import click


@click.command("gateway")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--check-config", is_flag=True, help="Validate the configuration and exit.")
def gateway(config: str, check_config: bool) -> None:
    """Run the MCP gateway described by the TOML file CONFIG (see docs/gateway.md)."""
    from verifier.gateway.config import ConfigError, load  # the `gateway` extra (cli/extras)

    try:
        cfg = load(config)
    except ConfigError as err:
        click.echo(f"error: {config}: {err}", err=True)
        sys.exit(2)
    from verifier.gateway.run import open_guard, run
    from verifier.guard import GuardError

    try:
        if check_config:
            open_guard(cfg).close()
            click.echo(f"{config}: configuration is valid")
            return
        run(cfg)
    except GuardError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    except RuntimeError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
