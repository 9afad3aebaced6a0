"""`verifier lsp`: the language server editors talk to over stdio (pygls, lsprotocol).

May import `verifier.lang`, `verifier.ir`, `verifier.check`, `verifier.report` and
`verifier.diagnostics`; never the guard or the CLI.
"""
