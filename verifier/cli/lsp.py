"""`verifier lsp`: the language server, over standard input and output."""

from __future__ import annotations

import sys

import click


@click.command("lsp")
def lsp() -> None:
    """Serve the Language Server Protocol over stdio (for editors; needs the `lsp` extra)."""
    try:
        from verifier.lsp.server import serve
    except ImportError as err:
        sys.stderr.write(
            f"error: the language server needs pygls and lsprotocol ({err.name} is missing)\n"
            "  = help: pip install 'verifier[lsp]'\n"
        )
        sys.exit(2)
    serve()
