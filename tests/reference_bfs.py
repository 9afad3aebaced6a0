"""A deliberately naive BFS over the reference semantics, to test the engines against."""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier import ir
from verifier.ir import semantics as sem
from verifier.ir.evaluate import EvalError


@dataclass
class NaiveResult:
    states: list[tuple[int, ...]]
    level: dict[tuple[int, ...], int]
    edges: set[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=set)
    generated: int = 0
    domain_errors: int = 0
    deadlocks: list[tuple[int, ...]] = field(default_factory=list)


def naive_bfs(model: ir.Model) -> NaiveResult:
    init = list(dict.fromkeys(sem.initial_states(model)))
    level = {s: 0 for s in init}
    res = NaiveResult(list(init), level, generated=len(init))
    frontier = init
    insts = sem.instances(model)
    while frontier:
        nxt = []
        for s in frontier:
            enabled = False
            for _inst, t in sem.successors(model, s, insts):
                enabled = True
                if isinstance(t, EvalError):
                    res.domain_errors += 1
                    continue
                res.generated += 1
                res.edges.add((s, t))
                if t not in level:
                    level[t] = level[s] + 1
                    res.states.append(t)
                    nxt.append(t)
            if not enabled and not sem.is_final(model, s):
                res.deadlocks.append(s)
        frontier = nxt
    return res
