"""The front end: `.cap` text to a checked `ir.Model`, or located diagnostics.

Owns: the parser (lark trees never leave it), the AST (`syntax`), type helpers, lowering
(names, types, constants, slot layout) and `frontend`, the one entry point that turns a file
into a model. May import `verifier.ir` and `verifier.diagnostics`; never an engine, a report
or the guard.
"""
