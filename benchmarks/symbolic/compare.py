"""Compare the explicit, bmc, kind and pdr engines (and auto) on models scaled with --const.

Each run is `verifier check --engine E --const K=V --format json` in a fresh process with a
wall-clock limit; a row shows the verdict and seconds, or "limit" when the run was stopped.

    .venv/bin/python benchmarks/symbolic/compare.py                      # the README table
    .venv/bin/python benchmarks/symbolic/compare.py --spec models/fleet_budget.cap \
        --const AGENTS --values 1,2,4,8 --engines explicit,pdr,auto
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = str(ROOT / ".venv" / "bin" / "verifier")

DEFAULT_RUNS = [
    ("benchmarks/models/fleet.cap", "N", [4, 8, 12, 16, 24]),
    ("models/fleet_budget.cap", "AGENTS", [1, 2, 3, 6, 12]),
]
ENGINES = ["explicit", "bmc", "kind", "pdr", "auto"]


def run(spec: str, const: str, value: int, engine: str, limit: float, depth: int) -> str:
    cmd = [VERIFIER, "check", spec, "--engine", engine, "--const", f"{const}={value}"]
    cmd += ["--format", "json", "--timeout", str(limit)]  # the time budget of the whole check
    if engine == "bmc":
        cmd += ["--depth", str(depth)]
    started = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=limit + 30, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return "limit"
    seconds = time.perf_counter() - started
    try:
        verdict = json.loads(out.stdout)["files"][0]["verdict"]
    except (ValueError, KeyError, IndexError):
        return f"error ({out.stderr.strip()[:40]})"
    return f"{verdict} {seconds:.1f}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec")
    parser.add_argument("--const")
    parser.add_argument("--values")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--limit", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--depth", type=int, default=20, help="bmc bound")
    args = parser.parse_args()
    runs = DEFAULT_RUNS
    if args.spec:
        runs = [(args.spec, args.const, [int(v) for v in args.values.split(",")])]
    engines = args.engines.split(",")
    print("| spec | const | " + " | ".join(engines) + " |")
    print("|---|---:|" + "---|" * len(engines))
    for spec, const, values in runs:
        for v in values:
            cells = [run(spec, const, v, e, args.limit, args.depth) for e in engines]
            print(f"| `{Path(spec).name}` | {const}={v} | " + " | ".join(cells) + " |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
