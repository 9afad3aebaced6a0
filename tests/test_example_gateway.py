"""examples/gateway/demo.py runs as documented: real processes, real side effects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_gateway_demo() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "gateway" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "[honest] read_file" in out and "-> ok: " in out
    assert '[honest] send_email({"to": "bob@corp.example"' in out
    assert "-> REFUSED: escalate: `send` needs approval (line 28); pending approval `ap-" in out
    assert "[operator] verifier approve ap-" in out and "exit 0: approved ap-" in out
    assert '"carol@partner.example", "subject": "plan", "body": "summary"}) -> ok: sent to' in out
    assert (
        "[injected] read_file(" in out
        and "-> REFUSED: deny: `read` requires `not (area == private and tainted)` (line 17)" in out
    )
    assert "-> REFUSED: deny: `send` requires `not (external and (tainted or read_private))`" in out
    assert (
        "-> REFUSED: quarantine: denial rate: 3 of the last 4 proposals denied (tool "
        "`send_email`: `to` is not a plain e-mail address" in out
    )
    assert (
        "-> REFUSED: quarantine: the session is quarantined: denial rate: 3 of the last 4 "
        "proposals denied (a call the binding refused)" in out
    )
    assert "Mail that reached the upstream: ['bob@corp.example', 'carol@partner.example']" in out
    assert "verifier audit verify audit.jsonl -> exit 0: ok: " in out
