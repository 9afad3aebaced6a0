"""Explicit engine throughput and memory on a model scaled with --const (run on purpose).

    .venv/bin/python benchmarks/explicit_scale.py [--sizes N:B,N:B,...]

Each size runs `verifier check --format json` in a fresh process; peak RSS is that
process's maximum resident set (from wait4), so sizes do not share memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "benchmarks/models/fleet.cap"


def run_one(n: int, b: int) -> dict[str, float]:
    cmd = [
        sys.executable,
        "-m",
        "verifier",
        "check",
        "--format",
        "json",
        "--const",
        f"N={n}",
        "--const",
        f"B={b}",
        str(MODEL),
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"N={n} B={b}: verifier exited {status}")
    (f,) = json.loads(out)["files"]
    return {
        "states": f["states"],
        "edges": f["transitions"],
        "engine_s": f["seconds"],
        "wall_s": wall,
        "rss_mib": usage.ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="6:10,8:20,10:20,10:30")
    args = parser.parse_args()
    print(
        f"{'N':>3} {'B':>3} {'states':>10} {'edges':>11} {'engine s':>9} {'states/s':>10} "
        f"{'peak RSS MiB':>12} {'bytes/state':>11}"
    )
    for item in args.sizes.split(","):
        n, b = (int(x) for x in item.split(":"))
        r = run_one(n, b)
        rate = r["states"] / r["engine_s"]
        per_state = r["rss_mib"] * 2**20 / r["states"]
        print(
            f"{n:>3} {b:>3} {r['states']:>10,} {r['edges']:>11,} {r['engine_s']:>9.2f} "
            f"{rate:>10,.0f} {r['rss_mib']:>12.0f} {per_state:>11.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
