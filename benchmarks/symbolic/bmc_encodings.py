"""BMC solver and integer encoding: the general SMT core versus the finite-domain solver.

Unrolls Peterson's Mutex (it holds, so every depth is an unsat query) to --depth steps in one
incremental solver and prints the cumulative seconds per configuration:

    .venv/bin/python benchmarks/symbolic/bmc_encodings.py --depth 25
"""

from __future__ import annotations

import argparse
import time

import z3

from verifier.check.smt.encode import Encoding
from verifier.check.smt.goals import goals
from verifier.check.smt.terms import Numbers
from verifier.check.smt.width import bit_width
from verifier.lang.frontend import load_model


def unroll(enc: Encoding, logic: str | None, depth: int) -> float:
    goal = goals(enc, deadlock=True)[0]
    solver = z3.SolverFor(logic) if logic else z3.Solver()
    states = [enc.state("0")]
    solver.add(enc.initial(states[0]))
    started = time.perf_counter()
    for k in range(depth + 1):
        solver.push()
        solver.add(z3.Not(goal.good(states[-1])))
        assert solver.check() == z3.unsat
        solver.pop()
        nxt = enc.state(str(k + 1))
        solver.add(enc.trans(states[-1], enc.step(str(k)), nxt), enc.in_range(nxt))
        states.append(nxt)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="models/reference/peterson.cap")
    parser.add_argument("--depth", type=int, default=25)
    args = parser.parse_args()
    model = load_model(args.spec)
    bv = Numbers(bit_width(model))
    for name, nums, logic in [
        ("SMT core, Int", Numbers(), None),
        ("SMT core, bit-vectors", bv, None),
        ("QF_FD, Int", Numbers(), "QF_FD"),
        ("QF_FD, bit-vectors", bv, "QF_FD"),
    ]:
        seconds = unroll(Encoding(model, nums), logic, args.depth)
        print(f"{name:24} depth {args.depth}: {seconds:6.2f}s", flush=True)


if __name__ == "__main__":
    main()
