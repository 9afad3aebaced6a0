"""`verifier check` keeps the CI contract however it ends: signals, budgets, closed pipes.

Real subprocesses: SIGINT / SIGTERM give 130 / 143 with the partial result printed and no
process left behind (psutil), workers die with a parent killed outright, a closed stdout is
not "violated", and the time budget (given or default) gives 3.
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from verifier.check.dispatch import CheckOptions
from verifier.cli import check as cli_check

ROOT = Path(__file__).resolve().parent.parent
BIG = ["benchmarks/spin/mutex.cap", "--const", "N=20"]  # 32.5 M states: a minute of search
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def start(*args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "verifier", "check", "--progress", *args]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=ENV, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def wait_for(proc: subprocess.Popen[str], needle: str, seconds: float = 20) -> str:
    """Read stderr until a line contains `needle`; fail the test if it never comes."""
    assert proc.stderr is not None
    seen = ""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            line = proc.stderr.readline()
            seen += line
            if needle in line:
                return seen
        if proc.poll() is not None:
            break
    proc.kill()
    proc.communicate()
    pytest.fail(f"no `{needle}` on stderr within {seconds}s:\n{seen}")


def descendants(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def assert_all_gone(procs: list[psutil.Process]) -> None:
    _, alive = psutil.wait_procs(procs, timeout=5)
    for p in alive:
        p.kill()
    assert not alive, f"left behind: {[p.pid for p in alive]}"


def finish(proc: subprocess.Popen[str], seconds: float = 20) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=seconds)
    return proc.returncode, out


def workers_of(proc: subprocess.Popen[str], count: int) -> list[psutil.Process]:
    until = time.monotonic() + 20
    while time.monotonic() < until:
        kids = descendants(proc)
        if len(kids) >= count:
            return kids
        time.sleep(0.1)
    pytest.fail(f"expected {count} worker processes, saw {descendants(proc)}")


def test_sigint_during_explicit_search_exits_130_with_the_partial_result() -> None:
    proc = start("--engine", "explicit", *BIG)
    wait_for(proc, "explicit")
    proc.send_signal(signal.SIGINT)
    code, out = finish(proc)
    assert code == 130
    assert "inconclusive" in out and "interrupted after" in out
    assert_all_gone(descendants(proc))


def test_sigint_during_symbolic_search_exits_130_and_kills_the_solver() -> None:
    proc = start("--engine", "pdr", *BIG)
    wait_for(proc, "pdr")
    kids = workers_of(proc, 1)
    proc.send_signal(signal.SIGINT)
    code, out = finish(proc)
    assert code == 130
    assert "interrupted before every property was decided" in out
    assert_all_gone(kids)


def test_sigterm_under_auto_exits_143_and_stops_every_engine() -> None:
    proc = start(*BIG)
    kids = workers_of(proc, 4)  # explicit, bmc, kind, pdr
    wait_for(proc, "explicit")
    proc.send_signal(signal.SIGTERM)
    code, out = finish(proc)
    assert code == 143
    assert "benchmarks/spin/mutex.cap: inconclusive" in out
    assert_all_gone(kids)


def test_workers_exit_when_the_parent_is_killed_outright() -> None:
    proc = start(*BIG)
    kids = workers_of(proc, 4)
    proc.kill()
    assert finish(proc)[0] == -signal.SIGKILL
    assert_all_gone(kids)


def test_closed_stdout_is_not_violated() -> None:
    cmd = [sys.executable, "-m", "verifier", "check", "-v", "models/", "examples/violations/"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, text=True, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=60) == 141
    assert first.startswith("models/")


def test_timeout_runs_out_exit_3_with_what_each_engine_reached() -> None:
    proc = start("--timeout", "3", "--format", "json", *BIG)
    code, out = finish(proc, 30)
    assert code == 3
    doc = json.loads(out)["files"][0]
    assert doc["verdict"] == "inconclusive" and doc["complete"] is False
    assert doc["reached"]["explicit"]["states"] > 0
    assert set(doc["reached"]) >= {"explicit", "bmc"}
    assert any("time budget ran out" in n for n in doc["notes"])
    open_props = [p for p in doc["properties"] if p["verdict"] == "inconclusive"]
    assert open_props and all(p["message"].startswith("undecided") for p in open_props)
    assert all(p["verdict"] == "proved" for p in doc["properties"] if p not in open_props)


def test_default_budget_runs_out_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_check, "DEFAULT_BUDGET", 1.5)
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    started = time.monotonic()
    code = cli_check.check_paths(
        ["benchmarks/spin/mutex.cap"],
        CheckOptions(engine="explicit"),
        {"N": 20},
        "text",
        False,
        out,
        io.StringIO(),
    )
    assert code == 3
    assert time.monotonic() - started < 15
    assert "the time budget ran out (--timeout) after" in out.getvalue()
