"""Shared helpers for the guard tests: compile artifacts in-process, run a real redis-server."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from verifier import artifact as art
from verifier.engines import run_check
from verifier.explicit import explore
from verifier.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent
COUNTER = ROOT / "tests" / "data" / "guard" / "counter.cap"
AGENT_SPECS = sorted((ROOT / "models").glob("*.cap"))
ALL_SPECS = sorted((ROOT / "models").rglob("*.cap"))


def build_document(spec: Path, with_graph: bool = True) -> dict[str, Any]:
    """The artifact document of a spec (which must be proved)."""
    model = load_model(str(spec))
    result = run_check(model)
    graph = None
    if with_graph and result.states is not None and result.states <= art.GRAPH_LIMIT:
        g = explore(model)
        graph = art.graph_json(g.states, g.initial, g.edges)
    return art.build(result, graph)


def write_artifact(spec: Path, out: Path, key: Any = None, with_graph: bool = True) -> Path:
    document = build_document(spec, with_graph)
    if key is not None:
        document = art.sign(document, key)
    out.write_bytes(art.dumps(document))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """Start redis-server on a free port in `tmp`, yield its URL, stop it."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (.ci/run installs it)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp), "--save", "",
         "--appendonly", "no", "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        import redis

        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
