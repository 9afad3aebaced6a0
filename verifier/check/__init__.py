"""The engines that decide a model's properties, and their results.

Owns: `results` (the report every engine returns), `explicit` (BFS over generated code),
`packed` (vectorised explicit search), `smt` (the only package that imports z3: bmc,
k-induction, pdr, certificates) and `dispatch` (which engine runs). May import `verifier.ir`
and `verifier.diagnostics`; never the front end, a report, the guard or the CLI.
"""
