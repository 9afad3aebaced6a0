"""The gateway's call path in process: spans, fail-closed upstream errors, quarantine, limits."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import mcp_types as types
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.test_gateway import setup_workspace
from verifier.gateway.config import Limits, load
from verifier.gateway.server import Gateway
from verifier.gateway.telemetry import Telemetry
from verifier.guard import DenialLimit, Guard


class FakeUpstream:
    """Stands in for an MCP client: answers, raises or stalls as told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.behaviour: Any = None

    async def call_tool(self, name: str, args: dict[str, Any]) -> types.CallToolResult:
        self.calls.append((name, args))
        if isinstance(self.behaviour, Exception):
            raise self.behaviour
        if self.behaviour == "stall":
            await anyio.sleep(5)
        content = self.behaviour if isinstance(self.behaviour, dict) else {"origin": "web"}
        return types.CallToolResult(
            content=[types.TextContent(text="ok")], structured_content=content
        )


@pytest.fixture
def rig(tmp_path: Path) -> Any:
    config = load(str(setup_workspace(tmp_path)))
    config = dataclasses.replace(config, limits=Limits(max_request_bytes=200, call_timeout=0.2))
    guard = Guard.load(
        config.artifact, "memory://", str(tmp_path / "audit.jsonl"),
        public_key=config.public_key, denial_limit=DenialLimit(3, 5),
    )  # fmt: skip
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    gateway = Gateway(config, guard, Telemetry(None, None, tracer_provider=provider))
    upstream = FakeUpstream()
    for tool in gateway.binder.tools():
        gateway.routes[tool] = (config.upstreams[0], upstream)  # type: ignore[assignment]
    yield gateway, upstream, exporter
    guard.close()


def call(gateway: Gateway, name: str, args: dict[str, Any]) -> tuple[bool, str]:
    params = types.CallToolRequestParams(name=name, arguments=args)
    result = anyio.run(gateway.call_tool, None, params)
    return result.is_error, result.content[0].text


def test_one_span_per_call_with_the_decision(rig: Any) -> None:
    gateway, upstream, exporter = rig
    assert call(gateway, "read_file", {"path": "public/readme.txt"}) == (False, "ok")
    assert call(gateway, "read_file", {"path": "/etc/passwd"})[0]
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["tools/call", "tools/call"]
    assert spans[0].attributes["verifier.verdict"] == "allow"
    assert spans[0].attributes["mcp.tool"] == "read_file"
    assert str(spans[0].attributes["verifier.decision_id"]).endswith("-1")
    assert spans[1].attributes["verifier.verdict"] == "deny"
    assert upstream.calls == [("read_file", {"path": "public/readme.txt"})]


def test_upstream_failures_fail_closed(rig: Any) -> None:
    gateway, upstream, _ = rig
    upstream.behaviour = ConnectionError("down")
    assert call(gateway, "send_email", {"to": "a@corp.example", "subject": "", "body": ""}) == (
        True,
        "error: the upstream `workspace` failed (ConnectionError)",
    )
    upstream.behaviour = "stall"
    assert call(gateway, "send_email", {"to": "a@corp.example", "subject": "", "body": ""}) == (
        True,
        "error: the upstream `workspace` failed (TimeoutError)",
    )


def test_an_unbindable_result_quarantines(rig: Any) -> None:
    gateway, upstream, _ = rig
    upstream.behaviour = {"origin": 42}  # the binding declares a string
    error, text = call(gateway, "fetch_page", {"url": "https://x"})
    assert error and text.startswith("quarantine: ")
    upstream.behaviour = None
    error, text = call(gateway, "read_file", {"path": "public/readme.txt"})
    assert error and text.startswith("quarantine: ")
    assert len(upstream.calls) == 1


def test_request_size_limit(rig: Any) -> None:
    gateway, upstream, _ = rig
    big = {"to": "a@corp.example", "subject": "", "body": "x" * 500}
    assert call(gateway, "send_email", big) == (True, "deny: the arguments exceed 200 bytes")
    assert upstream.calls == []


def test_probing_agent_is_quarantined(rig: Any) -> None:
    gateway, upstream, _ = rig
    call(gateway, "fetch_page", {"url": "https://x"})  # tainted
    call(gateway, "read_file", {"path": "private/customers.csv"})  # denied by the guard
    call(gateway, "read_file", {"path": "../../etc/shadow"})  # refused by the binding
    error, text = call(gateway, "delete_all", {})  # the third denial in five
    assert error and text.startswith("quarantine: ")
    error, text = call(gateway, "read_file", {"path": "public/readme.txt"})
    assert error and text.startswith("quarantine: ")
    assert [c[0] for c in upstream.calls] == ["fetch_page"]


def test_internal_errors_fail_closed(rig: Any) -> None:
    gateway, upstream, _ = rig
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    error, text = call(gateway, "send_email", {"to": deep, "subject": "", "body": ""})
    assert error and text.startswith("deny: ")
    assert upstream.calls == []


def test_header_sessions_take_the_strict_form_only(rig: Any) -> None:
    gateway, upstream, _ = rig
    gateway.config = dataclasses.replace(
        gateway.config, listen="http", session_header="x-agent-session"
    )
    params = types.CallToolRequestParams(name="read_file", arguments={"path": "public/readme.txt"})

    def call_as(value: str | None) -> str:
        headers = {} if value is None else {"x-agent-session": value}
        ctx = SimpleNamespace(request=SimpleNamespace(headers=headers), session=None)
        return anyio.run(gateway.call_tool, ctx, params).content[0].text

    assert call_as("dl-1") == "ok"
    for look_alike in ("DL-1", "dl-1 ", "dl\u200b-1", "", None):
        assert call_as(look_alike) == "deny: the request carries no session", look_alike
    assert len(upstream.calls) == 1
