"""The library's guarantees through the gateway: concurrent gateways, kill -9, the audit chain."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.test_gateway import VERIFIER, committed, setup_workspace
from tests.test_gateway_http import free_port, http_config, wait_for_port


def verifies(folder: Path) -> bool:
    run = [VERIFIER, "audit", "verify", str(folder / "audit.jsonl")]
    run += ["--secret", str(folder / "guard.secret")]
    return subprocess.run(run, capture_output=True, timeout=60).returncode == 0


async def mailer(config: Path, name: str, out: list[tuple[str, bool]]) -> None:
    # the gateway's standard error goes to a file, so a failed start shows its reason
    log = config.parent / f"gateway-{name}.err"
    command = f"exec {shlex.quote(VERIFIER)} gateway {shlex.quote(str(config))} 2>>{log}"
    params = StdioServerParameters(command="sh", args=["-c", command], cwd=str(config.parent))
    try:
        async with Client(params) as client:
            for k in range(4):
                mail = {"to": "bob@corp.example", "subject": f"{name}-{k}", "body": ""}
                result = await client.call_tool("send_email", mail)
                out.append((f"{name}-{k}", not result.is_error))
    except Exception as err:
        stderr = log.read_text() if log.exists() else ""
        raise AssertionError(f"gateway {name} failed: {err!r}; its stderr: {stderr}") from err


def test_two_gateways_share_one_budget(tmp_path: Path) -> None:
    config = setup_workspace(tmp_path)
    config.write_text(config.read_text() + '\n[session]\nid = "shared-ticket"\n')
    out: list[tuple[str, bool]] = []

    async def both() -> None:
        with anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                tg.start_soon(mailer, config, "a", out)
                tg.start_soon(mailer, config, "b", out)

    anyio.run(both)
    allowed = [s for s, ok in out if ok]
    assert len(allowed) == 3  # `sends: 0..3`: three sends in total, whichever gateway
    outbox = [
        json.loads(x)["subject"]
        for x in (tmp_path / "ws" / "outbox.jsonl").read_text().splitlines()
    ]
    assert sorted(outbox) == sorted(allowed)
    sends = committed(tmp_path, "send")
    assert len(sends) == 3 and {r["session"] for r in sends} == {"shared-ticket"}
    assert verifies(tmp_path)


async def writer(url: str, done: list[str], stop_after: float) -> None:
    headers = {"x-agent-session": "crash"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(
            streamable_http_client(url, http_client=http),  # type: ignore[arg-type]
            mode="legacy",
        ) as client,
    ):
        k = 0
        with anyio.move_on_after(stop_after):
            while True:
                path = f"public/w{len(done)}-{k}.txt"
                result = await client.call_tool("write_file", {"path": path, "text": "x"})
                if not result.is_error:
                    done.append(path)
                k += 1


def test_kill_9_loses_no_allowed_call_and_forwards_none_unrecorded(tmp_path: Path) -> None:
    up, gw, metrics = free_port(), free_port(), free_port()
    config = http_config(tmp_path, up, gw, metrics, '[session]\nheader = "x-agent-session"\n\n')
    upstream = subprocess.Popen(
        [sys.executable, "upstream.py", "ws", "http", str(up)], cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    gateways: list[subprocess.Popen[bytes]] = []
    try:
        wait_for_port(up, upstream)
        done: list[str] = []
        for round_ in range(2):
            gateway = subprocess.Popen(
                [VERIFIER, "gateway", str(config)], cwd=tmp_path,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            gateways.append(gateway)
            wait_for_port(gw, gateway)

            async def run_and_kill(gateway: subprocess.Popen[bytes] = gateway) -> None:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_guarded_writer, f"http://127.0.0.1:{gw}/mcp", done)
                    await anyio.sleep(1.0)
                    os.kill(gateway.pid, signal.SIGKILL)  # mid-stream, no shutdown at all

            anyio.run(run_and_kill)
            gateway.wait(timeout=10)
            assert round_ == 0 or done
        written = sorted(p.name for p in (tmp_path / "ws" / "public").glob("w*.txt"))
        allows = committed(tmp_path, "write")
        # every call the agent saw succeed happened; nothing reached the upstream unrecorded
        assert {Path(p).name for p in done} <= set(written)
        assert len(written) <= len(allows)
        assert len(done) >= 2
        assert verifies(tmp_path)
    finally:
        for proc in [*gateways, upstream]:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


async def _guarded_writer(url: str, done: list[str]) -> None:
    with contextlib.suppress(Exception):  # the gateway is killed under the client
        await writer(url, done, 30)
