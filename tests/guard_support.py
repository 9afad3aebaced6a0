"""Shared helpers for the guard tests: compile artifacts in-process, run a real redis-server."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.services import require
from verifier.check.dispatch import CheckOptions, run_check
from verifier.check.explicit import explore
from verifier.guard import artifact as art
from verifier.lang.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent
COUNTER = ROOT / "tests" / "data" / "guard" / "counter.cap"
AGENT_SPECS = sorted((ROOT / "models").glob("*.cap"))
ALL_SPECS = sorted((ROOT / "models").rglob("*.cap"))


# Specs too large for an explicit proof in CI are compiled at a smaller scale here (their full
# size is proved symbolically by `verifier check`, which takes minutes).
SCALED = {"fleet_budget": {"AGENTS": 1}}


def build_document(spec: Path, with_graph: bool = True) -> dict[str, Any]:
    """The artifact document of a spec (which must be proved), from an explicit proof."""
    model = load_model(str(spec), SCALED.get(spec.stem))
    result = run_check(model, CheckOptions(engine="explicit"))
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
    binary = require("redis-server")["redis-server"]
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


def drive_counter(artifact: str, store: str, audit: str | None, session: str, count: int) -> int:
    """Propose `inc` `count` times (a worker process); returns how many were allowed."""
    from verifier.guard import Guard

    guard = Guard.load(artifact, store=store, audit=audit)
    s = guard.session(session)
    allowed = 0
    for _ in range(count):
        d = s.propose("inc", {})
        if d.verdict == "allow":
            allowed += 1
        else:
            assert d.reason.startswith("the session advanced concurrently"), d
    guard.close()
    return allowed


def drive_forever(artifact: str, store: str, audit: str, crash_after: int | None) -> None:
    """Propose `inc` until killed; with `crash_after`, die right after the audit record of
    that many-th commit and before its store write (the worst moment for a crash)."""
    import os

    from verifier.guard import Guard
    from verifier.guard.store import open_store

    real = open_store(store)
    commits = 0

    class Dying:
        persistent = real.persistent
        url = real.url

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def cas(self, *a: Any) -> bool:
            nonlocal commits
            commits += 1
            if crash_after is not None and commits == crash_after:
                os._exit(9)
            return real.cas(*a)

    guard = Guard.load(artifact, store=Dying(), audit=audit)  # type: ignore[arg-type]
    s = guard.session("crash")
    while True:
        s.propose("inc", {})


def committed(records: list[dict[str, Any]], session: str) -> list[dict[str, Any]]:
    """The allow records of a session whose outcome record says the store took the change."""
    done = {r.get("of") for r in records if r.get("kind") == "outcome" and r.get("commit")}
    return [
        r
        for r in records
        if r.get("session") == session
        and r.get("verdict") == "allow"
        and r.get("decision_id") in done
    ]


def write_secret(path: Path) -> str:
    """A fresh guard secret file (64 hex digits, mode 600); returns its path."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(os.urandom(32).hex() + "\n")
    return str(path)
