"""The guard's public API under its earlier name: `from verifier.monitor import Guard`.

The guard lives in `verifier.guard`; this module only re-exports it so that code written
against the first release keeps working.
"""

from verifier.guard import *  # noqa: F403
from verifier.guard import __all__  # noqa: F401
