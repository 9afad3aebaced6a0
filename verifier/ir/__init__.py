"""The typed, immutable model every later stage reads, and what it means.

Owns: the IR (`model`), its canonical JSON form (`codec`), value conversions (`values`), the
expression evaluator (`evaluate`), the reference step function (`semantics`) and the code
generated from it (`compiled`). May import only `verifier.diagnostics` (for spans). Every
engine and the runtime guard are tested against `semantics`.

`from verifier import ir` gives the model's types (`ir.Model`, `ir.Expr`, ...).
"""

from verifier.ir.model import *  # noqa: F403  (the package is the model's namespace)
from verifier.ir.model import __all__  # noqa: F401
