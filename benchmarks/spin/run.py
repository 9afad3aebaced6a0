"""Our packed explicit engine against SPIN on the same models, in the same run.

For every model and size: both tools explore the full state space; the state counts must be
equal (the script stops with an error otherwise); it prints states, seconds, states/s, peak
RSS for each tool and the ratio ours/SPIN of states per second.

    .venv/bin/python benchmarks/spin/run.py                 # small and medium sizes
    .venv/bin/python benchmarks/spin/run.py --sizes large   # the 3*10^7-state runs
    .venv/bin/python benchmarks/spin/run.py --models mutex --sizes all --json out.json

SPIN (Debian package `spin`, needs gcc) is compiled with the exact-match recipe of
shared/REFERENCE_MODELS.md section 19: `-DSAFETY -DNOREDUCE -DNOCLAIM`, with its default
depth-first search plus `-DSC` (stack cycling: the search stack beyond `-m` levels goes to
disk, since the philosophers' DFS stack is nearly as deep as the state space is large);
`--spin-mode bfs` compiles `-DBFS` instead, `--spin-mode dfs-stack` keeps the whole stack in
memory (`-m` = the state count, no `-DSC`). The hash table gets `-w` = the bit length of the
state count (one to two slots per state; SPIN chains collisions). SPIN's time is the run of
`pan` only, not `spin -a` and gcc; ours is the whole check (parse, vectorised compilation,
search) in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# model -> size class -> consts (the .pml files take the same names as -D macros).
MODELS: dict[str, dict[str, list[dict[str, int]]]] = {
    "mutex": {
        "small": [{"N": 13}],  # 167,936 states
        "medium": [{"N": 17}],  # 3,473,408
        "large": [{"N": 20}],  # 32,505,856
    },
    "philosophers": {
        "small": [{"N": 10}],  # 328,393
        "medium": [{"N": 12}],  # 4,165,553
        "large": [{"N": 13}],  # 14,8xx,xxx; N=14 (~5.3e7) needs ~7 GB in SPIN
    },
    "two_phase": {
        "small": [{"RM": 7}],  # 296,448
        "medium": [{"RM": 8}],  # 1,745,408
        "large": [{"RM": 10}],
    },
    "fleet": {
        "small": [{"N": 7, "B": 8}],  # 268,360
        "medium": [{"N": 8, "B": 10}],  # 1,801,248
        "large": [{"N": 10, "B": 10}],  # 30,445,440
    },
    # States wider than 64 bits (the packed engine's multi-word layout), same graphs as above.
    "mutex_wide": {
        "small": [{"N": 13}],  # 167,936 states, 170 bits
        "medium": [{"N": 17}],  # 3,473,408 states, 222 bits
        "large": [{"N": 19}],  # 15,466,496 states, 248 bits
    },
    "two_phase_wide": {
        "small": [{"RM": 7}],  # 296,448 states, 102 bits
        "medium": [{"RM": 8}],  # 1,745,408 states, 116 bits
        "large": [{"RM": 9}],  # 130 bits
    },
}


@dataclass
class Run:
    """One tool on one model and size."""

    states: int
    transitions: int
    seconds: float
    rss_mb: float
    extra: str = ""

    @property
    def rate(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else math.inf


def run_ours(model: str, consts: dict[str, int], workers: int) -> Run:
    """Our engine in a fresh process (so that its peak RSS is its own)."""
    args = [f"{k}={v}" for k, v in consts.items()]
    cmd = [sys.executable, str(Path(__file__)), "--one", model, "--workers", str(workers), *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return Run(data["states"], data["generated"], data["seconds"], data["rss_mb"], data["engine"])


def one(model: str, consts: dict[str, int], workers: int) -> None:
    """Child process: check one model with the packed engine and print a JSON line."""
    sys.path.insert(0, str(ROOT))
    from verifier.check.packed import check_packed
    from verifier.lang.frontend import load_model

    started = time.perf_counter()
    m = load_model(str(HERE / f"{model}.cap"), consts)
    r = check_packed(m, workers=workers)
    seconds = time.perf_counter() - started
    assert r is not None, "the benchmark models must pack"
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "states": r.states,
        "generated": r.generated,
        "seconds": seconds,
        "rss_mb": rss_mb,
        "engine": r.engine,
    }
    print(json.dumps(out))


def run_spin(model: str, consts: dict[str, int], expected: int, mode: str) -> Run:
    """Generate, compile and run SPIN's verifier for one model and size."""
    defines = [f"-D{k}={v}" for k, v in consts.items()]
    with tempfile.TemporaryDirectory(prefix="spin-") as tmp:
        subprocess.run(
            ["spin", "-a", *defines, str(HERE / f"{model}.pml")],
            cwd=tmp,
            check=True,
            capture_output=True,
        )
        flags = ["-O2", "-DSAFETY", "-DNOREDUCE", "-DNOCLAIM", "-DMEMLIM=16000"]
        flags += {"bfs": ["-DBFS"], "dfs": ["-DSC"], "dfs-stack": []}[mode]
        compiled = time.perf_counter()
        subprocess.run(["gcc", *flags, "-o", "pan", "pan.c"], cwd=tmp, check=True)
        compile_s = time.perf_counter() - compiled
        hash_bits = max(18, max(expected, 1).bit_length())
        pan = ["./pan", "-E", "-n", f"-w{hash_bits}"]
        if mode == "dfs-stack":
            pan.append(f"-m{expected + 10}")  # the whole DFS stack in memory
        text, seconds, rss_mb = _timed(pan, tmp)
    return _parse_pan(text, seconds, rss_mb, f"compile {compile_s:.1f}s, {mode}")


def _timed(cmd: list[str], cwd: str) -> tuple[str, float, float]:
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return text, seconds, usage.ru_maxrss / 1024


def _parse_pan(text: str, seconds: float, rss_mb: float, extra: str) -> Run:
    stored = re.search(r"(\d+) states, stored", text)
    trans = re.search(r"([\d.e+]+) transitions \(= stored\+matched\)", text)
    errors = re.search(r"errors: (\d+)", text)
    if not stored or not trans or not errors:
        raise SystemExit(f"could not read SPIN's output:\n{text}")
    if int(errors.group(1)) or "max search depth too small" in text:
        raise SystemExit(f"SPIN reported errors or a truncated search:\n{text}")
    ulp = f"; transitions printed to {_ulp(trans.group(1))}"
    return Run(int(stored.group(1)), int(float(trans.group(1))), seconds, rss_mb, extra + ulp)


def _ulp(printed: str) -> int:
    """The unit in the last place of a count SPIN printed (with %g above 10^8)."""
    if "e" not in printed:
        return 1
    mantissa, exponent = printed.split("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10 ** max(0, int(exponent) - decimals)


def row(model: str, consts: dict[str, int], ours: Run, spin: Run) -> dict[str, object]:
    if ours.states != spin.states:
        raise SystemExit(
            f"STATE COUNTS DIFFER on {model} {consts}: ours {ours.states}, SPIN {spin.states}"
        )
    return {
        "model": model,
        "consts": consts,
        "states": ours.states,
        "ours": asdict(ours) | {"rate": ours.rate},
        "spin": asdict(spin) | {"rate": spin.rate},
        "ratio": ours.rate / spin.rate,
        "transitions_agree": abs(ours.transitions - spin.transitions) <= _ulp_of(spin.extra),
    }


HEADER = (
    f"{'model':<13}{'size':<12}{'states':>12} | {'ours s':>8}{'ours st/s':>11}{'RSS MB':>8} | "
    f"{'SPIN s':>8}{'SPIN st/s':>11}{'RSS MB':>8} | {'ours/SPIN':>9}"
)


def _ulp_of(extra: str) -> int:
    return int(extra.rsplit(" ", 1)[-1]) if "printed to" in extra else 1


def render(r: dict[str, object]) -> str:
    o, s = r["ours"], r["spin"]
    assert isinstance(o, dict) and isinstance(s, dict) and isinstance(r["consts"], dict)
    size = ",".join(f"{k}={v}" for k, v in r["consts"].items())
    return (
        f"{r['model']:<13}{size:<12}{r['states']:>12,} | {o['seconds']:>8.1f}{o['rate']:>11,.0f}"
        f"{o['rss_mb']:>8.0f} | {s['seconds']:>8.1f}{s['rate']:>11,.0f}{s['rss_mb']:>8.0f} | "
        f"{r['ratio']:>9.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--sizes", default="small,medium", help="small, medium, large or all")
    ap.add_argument("--spin-mode", choices=("bfs", "dfs", "dfs-stack"), default="dfs")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("consts", nargs="*", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        one(a.one, {k: int(v) for k, v in (c.split("=") for c in a.consts)}, a.workers)
        return
    classes = ("small", "medium", "large") if a.sizes == "all" else a.sizes.split(",")
    print(f"SPIN mode: {a.spin_mode}; ours: {a.workers} worker(s); {os.cpu_count()} cores")
    print(HEADER)
    rows = []
    for cls in classes:
        for model in a.models:
            for consts in MODELS[model][cls]:
                ours = run_ours(model, consts, a.workers)
                spin = run_spin(model, consts, ours.states, a.spin_mode)
                r = row(model, consts, ours, spin)
                rows.append(r)
                print(render(r), flush=True)
                if a.json:
                    Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
