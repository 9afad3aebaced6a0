"""Guard decision latency and throughput per store, side by side with cedarpy on the same policy.

    .venv/bin/python benchmarks/guard/bench.py [--spec models/email_assistant.cap] [-n 20000]

The workload is the email assistant in a drafting session: "allow" alternates `draft` and
`discard_draft` (both admissible, so the stream cycles forever), "deny" proposes
`send(external: false)` without a draft (a false guard). Cedar decides the same policy: one
`permit` per action whose `when` clause is the action's guards translated to Cedar over
`context.state` and `context.args`; the request carries the current state and arguments as
context, and the caller's state update (the same compiled step the guard runs) is inside the
timed region, as the guard's compare-and-set is.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.guard_support import redis_server, write_artifact  # noqa: E402
from verifier import ir  # noqa: E402
from verifier.guard import AuditLog, Guard  # noqa: E402
from verifier.guard.program import Entry  # noqa: E402
from verifier.ir.values import scalar_to_json, state_to_json  # noqa: E402

ALLOW = [("draft", {}), ("discard_draft", {})]
DENY = [("send", {"external": False})]

_OPS = {"and": "&&", "or": "||", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">"}
_OPS |= {"ge": ">=", "add": "+", "sub": "-", "mul": "*"}


def cedar_expr(e: ir.Expr) -> str:
    """An IR guard as a Cedar expression over context.state and context.args."""
    match e:
        case ir.Lit(value=v, type=t) if not isinstance(t, ir.ArrayType):
            value = scalar_to_json(t, v)
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, list):
                return "[" + ", ".join(f'"{m}"' for m in value) + "]"
            return f'"{value}"' if isinstance(value, str) else str(value)
        case ir.Var(name=name):
            return f"context.state.{name}"
        case ir.Local(name=name):
            return f"context.args.{name}"
        case ir.Unary(op="not", arg=a):
            return f"!({cedar_expr(a)})"
        case ir.Unary(op="singleton", arg=a):
            return f"[{cedar_expr(a)}]"
        case ir.Binary(op="in", left=elem, right=coll):
            return f"({cedar_expr(coll)}).contains({cedar_expr(elem)})"
        case ir.Binary(op="implies", left=a, right=b):
            return f"(!({cedar_expr(a)}) || ({cedar_expr(b)}))"
        case ir.Binary(op=op, left=a, right=b) if op in _OPS:
            return f"({cedar_expr(a)} {_OPS[op]} {cedar_expr(b)})"
        case ir.Ite(cond=c, then=t, orelse=o):
            return f"(if {cedar_expr(c)} then {cedar_expr(t)} else {cedar_expr(o)})"
    raise ValueError(f"no Cedar translation for {type(e).__name__}")


def cedar_policies(model: ir.Model) -> str:
    out = []
    for t in model.transitions:
        if t.kind != "action":
            continue
        cond = " && ".join(f"({cedar_expr(g.cond)})" for g in t.guards) or "true"
        out.append(f'permit(principal, action == Action::"{t.name}", resource) when {{ {cond} }};')
    return "\n".join(out)


def percentile(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(len(sorted_ns) * q))] / 1000.0


def measure(decide: Callable[[str, dict[str, Any]], str], ops: list, n: int, want: str) -> dict:
    clock = time.perf_counter_ns
    samples = []
    for i in range(n // 10):  # warm up caches
        decide(*ops[i % len(ops)])
    start = clock()
    for i in range(n):
        action, args = ops[i % len(ops)]
        t0 = clock()
        verdict = decide(action, args)
        samples.append(clock() - t0)
        if verdict != want:
            raise SystemExit(f"unexpected {verdict} for {action}")
    total = (clock() - start) / 1e9
    samples.sort()
    return {"p50": percentile(samples, 0.5), "p99": percentile(samples, 0.99), "rate": n / total}


def guard_decider(guard: Guard, sid: str) -> Callable[[str, dict[str, Any]], str]:
    session = guard.session(sid)
    session.observe("user_opens_session")

    def decide(action: str, args: dict[str, Any]) -> str:
        return session.propose(action, args).verdict

    return decide


def cedar_decider(guard: Guard) -> Callable[[str, dict[str, Any]], str]:
    import cedarpy

    model = guard.program.model
    policies = cedarpy.PolicySet.from_str(cedar_policies(model))
    entities = cedarpy.Entities.from_json_str("[]")
    contexts: dict[tuple[int, ...], dict[str, Any]] = {}
    entries = {(e.name, tuple(sorted(e.args.items()))): e for e in guard.program.entries}
    opened = next(e for e in guard.program.entries if e.name == "user_opens_session")
    state = opened.fire(guard.ledger.initial[0])
    assert state is not None

    def decide(action: str, args: dict[str, Any]) -> str:
        nonlocal state
        ctx = contexts.get(state)  # type: ignore[arg-type]
        if ctx is None:
            ctx = contexts[state] = state_to_json(model, state)  # type: ignore[arg-type]
        request = {
            "principal": 'Agent::"a"',
            "action": f'Action::"{action}"',
            "resource": 'Tool::"t"',
            "context": {"state": ctx, "args": args},
        }
        if not cedarpy.is_authorized(request, policies, entities).allowed:
            return "deny"
        entry: Entry = entries[(action, tuple(sorted(args.items())))]
        state = entry.fire(state)  # type: ignore[arg-type]
        return "allow"

    return decide


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "models" / "email_assistant.cap"))
    parser.add_argument("-n", type=int, default=20000, help="decisions per in-process row")
    parser.add_argument("--slow-n", type=int, default=2000, help="decisions per durable row")
    opts = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="guard-bench-"))
    artifact = str(write_artifact(Path(opts.spec), tmp / "policy.json"))
    rows: list[tuple[str, str, dict]] = []

    def run(label: str, make: Callable[[], Any], n: int) -> None:
        for workload, ops, want in (("allow", ALLOW, "allow"), ("deny", DENY, "deny")):
            decide = make()
            rows.append((label, workload, measure(decide, ops, n, want)))

    memory = Guard.load(artifact)
    run("cedarpy (pre-parsed PolicySet)", lambda: cedar_decider(memory), opts.n)
    counter = iter(range(10**9))
    run("guard, memory://", lambda: guard_decider(memory, f"m{next(counter)}"), opts.n)
    audited = Guard.load(artifact, audit=AuditLog(str(tmp / "audit.jsonl")))
    run("guard, memory:// + audit log", lambda: guard_decider(audited, f"a{next(counter)}"), opts.n)
    for sync in ("normal", "full"):
        g = Guard.load(artifact, store=f"sqlite:///{tmp / sync}.db?synchronous={sync}")
        run(
            f"guard, sqlite (synchronous={sync})",
            lambda g=g: guard_decider(g, f"s{next(counter)}"),
            opts.slow_n,
        )  # type: ignore[misc]
    with redis_server(tmp) as url:
        g = Guard.load(artifact, store=url)
        run("guard, redis (local)", lambda: guard_decider(g, f"r{next(counter)}"), opts.slow_n)
    report(rows)


def report(rows: list[tuple[str, str, dict]]) -> None:
    cedar = {w: r for label, w, r in rows if label.startswith("cedarpy")}
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    print("| decider | workload | p50 us | p99 us | decisions/s | cedarpy p50 / this p50 |")
    print("|---|---|---:|---:|---:|---:|")
    for label, workload, r in rows:
        ratio = cedar[workload]["p50"] / r["p50"]
        print(
            f"| {label} | {workload} | {r['p50']:.1f} | {r['p99']:.1f} | "
            f"{r['rate']:,.0f} | {ratio:.1f}x |"
        )
    mem = [cedar[w]["p50"] / r["p50"] for label, w, r in rows if label == "guard, memory://"]
    print(f"guard (memory://) vs cedarpy at p50: {min(mem):.1f}x to {max(mem):.1f}x faster")


if __name__ == "__main__":
    main()
