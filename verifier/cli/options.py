"""Options shared by the commands: `--const NAME=VALUE` and `--engine`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click


def parse_consts(values: Sequence[str]) -> dict[str, int]:
    """`NAME=INT` pairs from `--const`; raise click.BadParameter on a malformed one."""
    out: dict[str, int] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = int(raw)
        except ValueError:
            raise click.BadParameter(
                f"`{item}` is not NAME=INTEGER (for example `--const MAX_SENDS=5`)",
                param_hint="--const",
            ) from None
    return out


def const_option(fn: Any) -> Any:
    """The `--const NAME=VALUE` option every command that loads a spec takes."""
    return click.option(
        "--const",
        "consts",
        multiple=True,
        metavar="NAME=VALUE",
        help="Override a `const` of the spec (repeatable).",
    )(fn)


def engine_option(engines: Sequence[str], help: str) -> Any:
    """The `--engine` option (default `auto`) of a command that decides properties."""
    return click.option(
        "--engine", type=click.Choice(engines), default="auto", show_default=True, help=help
    )
