"""The gateway: an MCP server for the agent, an MCP client of the upstreams, the guard between.

Every `tools/call` is bound (the spec's `tool` declarations), decided by the guard, and
forwarded only on allow; the upstream's outcome is observed as the binding's event. Deny and
quarantine come back as an MCP tool error whose text is the decision's reason; escalate as an
error naming the pending approval. Every failure (an unbound call, an upstream that is down
or slow, a malformed message, a store or audit log that fails) is a refusal, never a forward.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import AsyncExitStack
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.server.lowlevel import Server

from verifier.gateway.config import Config, Upstream
from verifier.gateway.telemetry import Telemetry
from verifier.guard import Decision, Guard
from verifier.guard.binding import Binder, Bound, Refused
from verifier.guard.boundary import bad_id

# Names no spec can declare (a hyphen is not allowed in a name). Proposing REFUSED_CALL records a
# refused call in the audit log and counts it against the denial limit; observing
# UNBOUND_RESULT quarantines the session (the world left the model).
REFUSED_CALL = "tool-call-refused"
UNBOUND_RESULT = "tool-result-unbound"


def refusal(text: str) -> types.CallToolResult:
    """An MCP tool error the agent can read."""
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def pending_approval(decision: Decision) -> str:
    """The id an operator approves (`verifier approve ID`); the agent never sees an authority."""
    return decision.approval_id or "unknown"


def escalation_text(decision: Decision) -> str:
    """What the agent is told about an escalated call: the pending approval, never a token."""
    return (
        f"escalate: {decision.reason or 'this call needs approval'}; pending approval "
        f"`{pending_approval(decision)}`: an operator must approve it, then call the tool again"
    )


class Gateway:
    """The running gateway: guard, binder, upstream connections, telemetry."""

    def __init__(self, config: Config, guard: Guard, telemetry: Telemetry) -> None:
        self.config = config
        self.guard = guard
        self.binder = Binder(guard.program.model, dict(config.roots))
        self.telemetry = telemetry
        self.routes: dict[str, tuple[Upstream, Client]] = {}
        self.tools: list[types.Tool] = []
        self._stdio_session = config.session or f"stdio-{uuid.uuid4().hex}"

    async def connect(self, stack: AsyncExitStack) -> None:
        """Connect to every upstream and route the tools the spec binds."""
        bound = set(self.binder.tools())
        for up in self.config.upstreams:
            client = await stack.enter_async_context(
                _client(up, self.config.limits.call_timeout, self.config.workdir)
            )
            listing = await client.list_tools()
            for tool in listing.tools:
                if tool.name in bound and tool.name not in self.routes:
                    self.routes[tool.name] = (up, client)
                    self.tools.append(tool)
        missing = sorted(bound - set(self.routes))
        if missing:
            raise RuntimeError(f"no upstream offers the bound tool `{missing[0]}`")

    def session_id(self, ctx: Any) -> str | None:
        """The guard session of a request, from the trusted side only (None: refuse it)."""
        header = self.config.session_header
        if header is not None:
            request = getattr(ctx, "request", None)
            value = request.headers.get(header) if request is not None else None
            return _valid(f"hdr-{value}") if isinstance(value, str) and value else None
        if self.config.listen == "stdio":
            # One agent per stdio pipe: the pipe is the session. (The SDK makes a new session
            # and connection object per request in the 2026 protocol era, so keying by them
            # would give every call a fresh guard session -- tests/test_gateway.py holds that.)
            return self._stdio_session
        conn = getattr(ctx.session, "_connection", None)
        transport_id = getattr(conn, "session_id", None)
        if isinstance(transport_id, str):
            return _valid(f"mcp-{transport_id}")
        return None  # HTTP without an MCP session id: configure `session.header`

    async def list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tools)

    async def call_tool(
        self, ctx: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        name = params.name
        with self.telemetry.span(name) as span:
            start = time.perf_counter()
            try:
                return await self._call(ctx, name, params.arguments or {}, span, start)
            except Exception as err:  # fail closed: nothing was forwarded
                span.set_attribute("verifier.verdict", "deny")
                return refusal(f"deny: the gateway could not decide ({type(err).__name__})")

    async def _call(
        self, ctx: Any, name: str, args: dict[str, Any], span: Any, start: float
    ) -> types.CallToolResult:
        sid = self.session_id(ctx)
        if sid is None:
            self.telemetry.decisions.labels("deny", name).inc()
            span.set_attribute("verifier.verdict", "deny")
            return refusal("deny: the request carries no session")
        session = self.guard.session(sid)
        size = len(json.dumps(args, default=str))
        limit = self.config.limits.max_request_bytes
        bound = (
            self.binder.bind_call(name, args)
            if size <= limit
            else Refused(f"the arguments exceed {limit} bytes")
        )
        if isinstance(bound, Refused):
            return self._refused(session, name, bound.reason, span)
        decision = session.propose(bound.name, bound.args)
        self.telemetry.decision_seconds.observe(time.perf_counter() - start)
        self.telemetry.decisions.labels(decision.verdict, name).inc()
        span.set_attribute("verifier.verdict", decision.verdict)
        span.set_attribute("verifier.decision_id", decision.decision_id)
        if decision.verdict == "escalate":
            return refusal(escalation_text(decision))
        if not decision.allowed:
            return refusal(f"{decision.verdict}: {_readable(decision.reason)}")
        return await self._forward(session, name, args)

    def _refused(self, session: Any, name: str, reason: str, span: Any) -> types.CallToolResult:
        """A call the binding refuses: audited, counted against the denial limit, denied."""
        decision = session.propose(REFUSED_CALL, {"tool": name[:128], "reason": reason[:1000]})
        verdict = "quarantine" if decision.verdict == "quarantine" else "deny"
        self.telemetry.decisions.labels(verdict, name).inc()
        span.set_attribute("verifier.verdict", verdict)
        span.set_attribute("verifier.decision_id", decision.decision_id)
        if verdict == "quarantine":
            why = (decision.reason or "").replace(f"unknown action `{REFUSED_CALL}`", reason)
            return refusal(f"quarantine: {why}")
        return refusal(f"deny: {reason}")

    async def _forward(self, session: Any, name: str, args: dict[str, Any]) -> types.CallToolResult:
        up, client = self.routes[name]
        start = time.perf_counter()
        try:
            with anyio.fail_after(self.config.limits.call_timeout):
                result = await client.call_tool(name, args)
        except Exception as err:  # the upstream is down, slow or broken: the call failed
            self._observe(session, name, "error", None)
            return refusal(f"error: the upstream `{up.name}` failed ({type(err).__name__})")
        finally:
            self.telemetry.upstream_seconds.labels(up.name).observe(time.perf_counter() - start)
        outcome = "error" if result.is_error else "success"
        observed = self._observe(session, name, outcome, result.structured_content)
        if observed is not None and observed.verdict == "quarantine":
            return refusal(f"quarantine: {observed.reason}")
        return result

    def _observe(self, session: Any, name: str, outcome: str, content: Any) -> Decision | None:
        event = self.binder.bind_result(name, outcome, content)
        if event is None:
            return None
        if isinstance(event, Bound):
            return session.observe(event.name, event.args)
        return session.observe(UNBOUND_RESULT, {"reason": event.reason})


def _readable(reason: str | None) -> str:
    """A reason with the gateway's placeholder for refused calls spelled out."""
    return (reason or "").replace(f"unknown action `{REFUSED_CALL}`", "a call the binding refused")


def _valid(sid: str) -> str | None:
    """`sid` if it is a session id in the guard's one strict form (no look-alikes), else None."""
    return sid if bad_id("session id", sid) is None else None


def _client(up: Upstream, timeout: float, workdir: str) -> Client:
    if up.url is not None:
        return Client(up.url, read_timeout_seconds=timeout)
    params = StdioServerParameters(
        command=up.command[0], args=list(up.command[1:]), env=dict(up.env) or None, cwd=workdir
    )
    return Client(params, read_timeout_seconds=timeout)


def build_server(gateway: Gateway) -> Server[Any]:
    """The lowlevel MCP server the agent talks to: upstream schemas pass through unchanged."""
    return Server(
        "verifier-gateway",
        on_list_tools=gateway.list_tools,
        on_call_tool=gateway.call_tool,
    )
