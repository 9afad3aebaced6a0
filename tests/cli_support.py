"""Running the CLI in-process, for tests of user-visible commands (see the `in_root` fixture)."""

from __future__ import annotations

from click.testing import CliRunner

from verifier.cli import main


def cli(*args: str) -> tuple[int, str]:
    """Exit code and output of `verifier ARGS`; a Python exception fails the test."""
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output
