"""The guard agrees with the reference semantics on random models and random request streams.

Random specs (this file's, with approvals, and the shared `tests/strategies.py` ones, with
arrays and sets) are generated as text (so they go through the real front end) and enforced
without a proof: domain faults are possible and must quarantine. Each Hypothesis run picks a
model, then interleaves proposals (in and out of domain), observations, approvals (fresh and
stale) and releases, comparing every verdict and the state with the reference.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.strategies import cap_specs
from verifier import ir
from verifier.guard import Guard
from verifier.guard import artifact as art
from verifier.guard.store.memory import MemoryStore
from verifier.ir import semantics as sem
from verifier.ir.evaluate import EvalError
from verifier.ir.values import ValueError_, args_from_json, scalar_to_json, state_to_json
from verifier.lang.frontend import load_text

GUARDS = ["x < 3", "x > 0", "b", "not b", "p == m0", "p != m2", "x + k <= 3", "k == 1", "true"]
UPDATES = ["x := x + 1", "x := x - k", "x := 0", "b := not b", "p := m1", "p := m0", "x := k"]


@st.composite
def specs(draw) -> str:
    lines = [
        "enum P { m0, m1, m2 }",
        "state {\n  x: 0..3 = 0\n  b: bool = false\n  p: P = m0\n}",
    ]
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["action", "action", "event"]))
        body = [f"when {g}" for g in draw(st.lists(st.sampled_from(GUARDS), max_size=2))]
        targets = draw(st.lists(st.sampled_from(UPDATES), max_size=2, unique_by=lambda u: u[0]))
        if kind == "action" and draw(st.booleans()):
            body.append(draw(st.sampled_from(["needs approval", "needs approval when b"])))
        body += targets
        lines.append(f"{kind} t{i}(k: 0..2) {{\n  " + "\n  ".join(body) + "\n}")
    return "\n".join(lines) + "\n"


def _arg(p: ir.Param) -> st.SearchStrategy:
    valid = st.sampled_from([scalar_to_json(p.type, v) for v in p.type.values()])
    return st.one_of(valid, valid, st.integers(-1, 3), st.just("zzz"), st.booleans())


class GuardMachine(RuleBasedStateMachine):
    @initialize(text=st.one_of(specs(), cap_specs()))
    def load(self, text: str) -> None:
        loaded = load_text(text)
        assert loaded.model is not None, loaded.diagnostics
        self.model = loaded.model
        fake = art.Artifact({}, self.model, "sha256:" + "0" * 64, None, None)
        self.guard = Guard(fake, MemoryStore())
        self.session = self.guard.session("h")
        self.state = sem.initial_states(self.model)[0]
        self.version = 0
        self.quarantined = False
        self.tokens: list[tuple[str, int, sem.Instance, dict]] = []
        self.last: sem.Instance | None = None

    def _expect(self, name: str, args: dict, kind: str) -> str:
        t = next(t for t in self.model.transitions if t.name == name)
        if self.quarantined:
            return "quarantine"
        try:
            inst = sem.Instance(t, args_from_json(t.params, args))
            self.last = inst
        except ValueError_:
            return "deny" if kind == "action" else self._quarantine()
        if t.kind != kind:
            return "deny" if kind == "action" else self._quarantine()
        if not sem.enabled(inst, self.state):
            return "deny" if kind == "action" else self._quarantine()
        try:
            nxt = sem.apply(inst, self.state)
        except EvalError:
            return self._quarantine()
        if kind == "action" and sem.needs_approval(inst, self.state):
            return "escalate"
        self.state, self.version = nxt, self.version + 1
        return "allow"

    def _quarantine(self) -> str:
        self.quarantined = True
        return "quarantine"

    @rule(data=st.data(), event=st.booleans())
    def request(self, data, event: bool) -> None:
        t = data.draw(st.sampled_from(self.model.transitions))
        args = {p.name: data.draw(_arg(p)) for p in t.params}
        if data.draw(st.integers(0, 9)) == 0:
            args["extra"] = 1  # an unknown argument
        kind = "event" if event else "action"
        before = self.version
        expected = self._expect(t.name, args, kind)
        call = self.session.observe if event else self.session.propose
        decision = call(t.name, args)
        assert decision.verdict == expected, (decision, expected)
        if expected == "escalate":
            assert self.last is not None
            self.tokens.append((decision.approval_id, before, self.last, args))

    @rule(data=st.data())
    def approve(self, data) -> None:
        if not self.tokens:
            return
        aid, version, inst, args = self.tokens[data.draw(st.integers(0, len(self.tokens) - 1))]
        # the same proposal at the same version names the same approval: decided once
        self.tokens = [t for t in self.tokens if t[0] != aid]
        decision = self.guard.approvals.approve(aid, "h")
        if self.quarantined:
            assert decision.verdict == "quarantine"
        elif version != self.version:
            assert decision.reason.startswith("stale approval"), decision
        else:
            assert decision.verdict == "allow", decision
            retried = self.session.propose(inst.name, args)  # the approved retry commits once
            assert retried.verdict == "allow", retried
            self.state = sem.apply(inst, self.state)
            self.version += 1
        assert self.guard.approvals.approve(aid, "h").verdict != "allow"  # decided once

    @rule()
    def release(self) -> None:
        decision = self.guard.release("h", "root")
        assert decision.verdict == ("allow" if self.quarantined else "deny")
        if self.quarantined:
            self.tokens.clear()  # a release revokes every approval of the session
        self.quarantined = False

    @invariant()
    def same_state(self) -> None:
        if hasattr(self, "session"):
            seen = self.session.state()
            assert seen["state"] == state_to_json(self.model, self.state)
            assert seen["version"] == self.version
            assert (seen["quarantine"] is not None) == self.quarantined


GuardMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestGuardAgainstReference = GuardMachine.TestCase
