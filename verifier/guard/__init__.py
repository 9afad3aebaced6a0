"""The runtime guard: enforce a verified artifact on every action an agent proposes.

Imports only the standard library, `cryptography` and the verifier's IR, evaluator,
semantics, values, compiled program, IR JSON and stores: no parser, no solver, no graph
library (tests/test_layering.py holds this).
"""

from verifier.guard.artifact_shape import Pin
from verifier.guard.audit import AuditLog, ChainReport, verify_file
from verifier.guard.decision import ALLOW, DENY, ESCALATE, QUARANTINE, Decision
from verifier.guard.monitor import DenialLimit, Guard, GuardError
from verifier.guard.options import RequestLimits
from verifier.guard.session import Session
from verifier.guard.tools import ToolDenied, guarded, guarded_call

__all__ = [
    "ALLOW",
    "DENY",
    "ESCALATE",
    "QUARANTINE",
    "AuditLog",
    "ChainReport",
    "Decision",
    "DenialLimit",
    "Guard",
    "GuardError",
    "Pin",
    "RequestLimits",
    "Session",
    "ToolDenied",
    "guarded",
    "guarded_call",
    "verify_file",
]
