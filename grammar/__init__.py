"""The capability language's grammar (`cap.lark`), installed as the package `verifier.grammar`."""
