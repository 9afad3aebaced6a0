"""A guard over a lowered model, in memory: no artifact file, no signature, no proof needed.

The model goes through the artifact's program codec exactly as `verifier compile` writes it,
so the guard decides on the same program the live guard would load.
"""

from __future__ import annotations

import hashlib

from verifier import ir
from verifier.guard.artifact import Artifact
from verifier.guard.monitor import Guard
from verifier.guard.store.memory import MemoryStore
from verifier.ir import codec


def in_memory_guard(model: ir.Model) -> Guard:
    """A guard enforcing `model` with an in-memory store and no audit log."""
    program = codec.model_to_json(model)
    enforced = codec.model_from_json(program, model.source)
    digest = hashlib.sha256(codec.canonical(program)).hexdigest()
    document = {"capability": model.name, "program": program}
    artifact = Artifact(document, enforced, f"sha256:{digest}", None, None)
    return Guard(artifact, MemoryStore())
