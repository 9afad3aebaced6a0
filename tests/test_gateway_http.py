"""The gateway over streamable HTTP on both sides, with metrics, header sessions and spans."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.test_gateway import VERIFIER, decisions, setup_workspace


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"process exited early: {proc.stderr.read() if proc.stderr else ''}"
            )
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


@contextmanager
def started(cmd: list[str], cwd: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def http_config(tmp: Path, upstream: int, listen: int, metrics: int, extra: str = "") -> Path:
    config = setup_workspace(tmp)
    text = config.read_text()
    start = text.index("[[upstream]]")
    end = text.index("[roots]")
    text = (
        text[:start]
        + f'[[upstream]]\nname = "workspace"\nurl = "http://127.0.0.1:{upstream}/mcp"\n\n'
        + f'[listen]\ntransport = "http"\nport = {listen}\n\n[metrics]\nport = {metrics}\n\n'
        + extra
        + text[end:]
    )
    config.write_text(text)
    return config


CALLS = [
    ("fetch_page", {"url": "https://example.com"}),
    ("read_file", {"path": "private/customers.csv"}),
    ("send_email", {"to": "bob@corp.example", "subject": "s", "body": "b"}),
]


async def schemas(url: str) -> dict[str, dict]:
    async with (
        httpx2.AsyncClient() as http,
        Client(
            streamable_http_client(url, http_client=http),  # type: ignore[arg-type]
            mode="legacy",
        ) as client,
    ):
        return {t.name: t.input_schema for t in (await client.list_tools()).tools}


async def agent(url: str, mode: str, headers: dict[str, str] | None) -> list[tuple[bool, str]]:
    out = []
    with anyio.fail_after(60):
        async with httpx2.AsyncClient(headers=headers or {}) as http:
            transport = streamable_http_client(url, http_client=http)
            async with Client(transport, mode=mode) as client:  # type: ignore[arg-type]
                for name, args in CALLS:
                    result = await client.call_tool(name, args)
                    out.append((result.is_error, result.content[0].text))
    return out


def test_http_on_both_sides_with_metrics(tmp_path: Path) -> None:
    up, gw, metrics = free_port(), free_port(), free_port()
    config = http_config(tmp_path, up, gw, metrics)
    upstream_cmd = [sys.executable, "upstream.py", "ws", "http", str(up)]
    with (
        started(upstream_cmd, tmp_path, up),
        started([VERIFIER, "gateway", str(config)], tmp_path, gw),
    ):
        url = f"http://127.0.0.1:{gw}/mcp"
        # tools/list: the bound tools, with the upstream's own schemas, unchanged
        direct = anyio.run(schemas, f"http://127.0.0.1:{up}/mcp")
        assert "delete_file" in direct  # offered by the upstream, bound by no `tool`
        del direct["delete_file"]
        assert anyio.run(schemas, url) == direct
        out = anyio.run(agent, url, "legacy", None)  # legacy: the MCP session id is the session
        assert not out[0][0]
        assert out[1] == (
            True,
            "deny: `read` requires `not (area == private and tainted)` (line 17)",
        )
        assert out[2] == (False, "sent to bob@corp.example")
        # a modern-era client without a session header carries no session: refused
        modern = anyio.run(agent, url, "auto", None)
        assert modern == [(True, "deny: the request carries no session")] * 3
        text = (
            urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=10)
            .read()
            .decode()
        )
    assert 'verifier_gateway_decisions_total{tool="read_file",verdict="deny"} 2.0' in text
    assert 'verifier_gateway_decisions_total{tool="send_email",verdict="allow"} 1.0' in text
    assert 'verifier_gateway_decisions_total{tool="fetch_page",verdict="deny"} 1.0' in text
    assert 'verifier_gateway_upstream_seconds_count{upstream="workspace"} 2.0' in text
    assert "verifier_gateway_decision_seconds_bucket" in text
    outbox = (tmp_path / "ws" / "outbox.jsonl").read_text().splitlines()
    assert [json.loads(x)["to"] for x in outbox] == ["bob@corp.example"]
    # stopped with SIGTERM: every decision is in the log and the chain verifies
    records = decisions(tmp_path)
    assert [(r["name"], r["verdict"]) for r in records] == [
        ("fetch", "allow"),
        ("fetched", "allow"),
        ("read", "deny"),
        ("send", "allow"),
    ]
    verify = [VERIFIER, "audit", "verify", str(tmp_path / "audit.jsonl")]
    verify += ["--secret", str(tmp_path / "guard.secret")]
    assert subprocess.run(verify, capture_output=True, timeout=60).returncode == 0


def test_session_from_a_configured_header(tmp_path: Path) -> None:
    up, gw, metrics = free_port(), free_port(), free_port()
    extra = '[session]\nheader = "x-agent-session"\n\n'
    config = http_config(tmp_path, up, gw, metrics, extra)
    upstream_cmd = [sys.executable, "upstream.py", "ws", "http", str(up)]
    with (
        started(upstream_cmd, tmp_path, up),
        started([VERIFIER, "gateway", str(config)], tmp_path, gw),
    ):
        url = f"http://127.0.0.1:{gw}/mcp"
        first = anyio.run(agent, url, "auto", {"x-agent-session": "ticket-1"})
        again = anyio.run(agent, url, "auto", {"x-agent-session": "ticket-1"})
        other = anyio.run(agent, url, "auto", {"x-agent-session": "ticket-2"})
    # per-request connections of the modern protocol share the header's session: the taint
    # from fetch_page carries over to the next request and the next connection
    assert first[1][1].startswith("deny: `read` requires")
    assert again[1][1].startswith("deny: `read` requires")
    assert other[1][1].startswith("deny: `read` requires")
    records = decisions(tmp_path)
    assert {r["session"] for r in records} == {"hdr-ticket-1", "hdr-ticket-2"}
