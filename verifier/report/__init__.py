"""What users and tools read: results rendered as text, ITF traces and graphs.

May import `verifier.ir`, `verifier.check` and `verifier.diagnostics`; never the front end,
the guard or the CLI.
"""
