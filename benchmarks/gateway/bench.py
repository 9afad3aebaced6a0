"""Latency the gateway adds per tool call: the same client, upstream direct vs through it.

    .venv/bin/python benchmarks/gateway/bench.py -n 2000 --store sqlite-normal

Two MCP client sessions are open side by side in one run: one to the upstream
(examples/gateway/upstream.py over stdio), one to `verifier gateway` over stdio, which talks to
its own copy of the same upstream over stdio. Calls alternate between the two, so machine noise
falls on both alike. Each call is `read_file("public/readme.txt")`: bound, allowed (a state
change committed with compare-and-set and an audit record), forwarded. Prints p50/p99 of each
and the p50/p99 overhead.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "gateway"
VERIFIER = str(Path(sys.executable).parent / "verifier")
PROFILE = ""  # --profile FILE: run the gateway under cProfile
STORES = {
    "memory": "memory://",
    "sqlite-normal": "sqlite:///guard.db?synchronous=normal",
    "sqlite-full": "sqlite:///guard.db",
}


def prepare(folder: Path, store: str) -> Path:
    (folder / "ws" / "public").mkdir(parents=True)
    (folder / "ws" / "public" / "readme.txt").write_text("hello\n")
    shutil.copy(EXAMPLE / "upstream.py", folder / "upstream.py")
    subprocess.run([VERIFIER, "keygen", "ci"], cwd=folder, check=True, capture_output=True)
    spec = str(EXAMPLE / "workspace.cap")
    cmd = [VERIFIER, "compile", spec, "-o", "w.artifact.json", "--sign-key", "ci.key"]
    subprocess.run(cmd, cwd=folder, check=True, capture_output=True)
    config = folder / "gateway.toml"
    config.write_text(
        f'artifact = "w.artifact.json"\npublic_key = "ci.pub"\nstore = "{store}"\n'
        f'audit = "audit.jsonl"\n\n[[upstream]]\nname = "ws"\n'
        f'command = [{json.dumps(sys.executable)}, "upstream.py", "ws"]\n\n'
        f'[roots]\nworkspace = "ws"\n'
    )
    return config


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def measure(folder: Path, config: Path, n: int, warmup: int) -> dict[str, list[float]]:
    upstream = StdioServerParameters(
        command=sys.executable, args=["upstream.py", "ws"], cwd=str(folder)
    )
    command = [VERIFIER, "gateway", str(config)]
    if PROFILE:
        command = [sys.executable, "-m", "cProfile", "-o", PROFILE, "-m", "verifier", *command[1:]]
    gateway = StdioServerParameters(command=command[0], args=command[1:], cwd=str(folder))
    args = {"path": "public/readme.txt"}
    times: dict[str, list[float]] = {"direct": [], "gateway": []}
    async with Client(upstream) as direct, Client(gateway) as guarded:
        clients = {"direct": direct, "gateway": guarded}
        for k in range(warmup + n):
            for name in ("direct", "gateway") if k % 2 else ("gateway", "direct"):
                start = time.perf_counter()
                result = await clients[name].call_tool("read_file", args)
                elapsed = time.perf_counter() - start
                if result.is_error:
                    raise SystemExit(f"{name}: {result.content[0].text}")
                if k >= warmup:
                    times[name].append(elapsed)
    return times


def in_process(folder: Path, store: str, n: int) -> list[float]:
    """Bind and decide the same call in this process: the guard's share of the overhead."""
    from verifier.gateway.config import load
    from verifier.guard import Guard
    from verifier.guard.binding import Binder

    config = load(str(folder / "gateway.toml"))
    guard = Guard.load(
        config.artifact, store.replace("guard.db", str(folder / "inproc.db")),
        str(folder / "inproc.jsonl"), public_key=config.public_key,
    )  # fmt: skip
    binder = Binder(guard.program.model, dict(config.roots))
    session = guard.session("bench")
    out = []
    for _ in range(n):
        start = time.perf_counter()
        bound = binder.bind_call("read_file", {"path": "public/readme.txt"})
        decision = session.propose(bound.name, bound.args)  # type: ignore[union-attr]
        out.append(time.perf_counter() - start)
        assert decision.allowed, decision
    guard.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--store", choices=sorted(STORES), default="sqlite-normal")
    parser.add_argument("--profile", default="", help="write the gateway's cProfile here")
    opts = parser.parse_args()
    global PROFILE
    PROFILE = str(Path(opts.profile).resolve()) if opts.profile else ""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = prepare(folder, STORES[opts.store])
        times = anyio.run(measure, folder, config, opts.n, opts.warmup)
        times["bind + decide (in process)"] = in_process(folder, STORES[opts.store], opts.n)
    ms = {k: [t * 1000 for t in v] for k, v in times.items()}
    print(f"store {opts.store}, {opts.n} calls each after {opts.warmup} warm-up, alternating")
    print("| path | p50 ms | p99 ms | mean ms |")
    print("|---|---:|---:|---:|")
    for name, xs in ms.items():
        print(f"| {name} | {pct(xs, 0.5):.3f} | {pct(xs, 0.99):.3f} | {statistics.mean(xs):.3f} |")
    d50 = pct(ms["gateway"], 0.5) - pct(ms["direct"], 0.5)
    d99 = pct(ms["gateway"], 0.99) - pct(ms["direct"], 0.99)
    print(f"| overhead | {d50:.3f} | {d99:.3f} | |")


if __name__ == "__main__":
    main()
