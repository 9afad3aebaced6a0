"""Start the gateway from a validated configuration and serve until the transport closes."""

from __future__ import annotations

from contextlib import AsyncExitStack

import anyio
from mcp.server.stdio import stdio_server

from verifier.gateway.config import Config
from verifier.gateway.server import Gateway, build_server
from verifier.gateway.telemetry import Telemetry
from verifier.guard import DenialLimit, Guard


def open_guard(config: Config) -> Guard:
    """The guard over the configured artifact, store and audit log (GuardError if unusable)."""
    limits = config.limits
    denial_limit = None
    if limits.denials is not None and limits.window is not None:
        denial_limit = DenialLimit(limits.denials, limits.window)
    return Guard.load(
        config.artifact,
        config.store,
        config.audit,
        public_key=config.public_key,
        secret=config.secret,
        denial_limit=denial_limit,
    )


async def serve(config: Config, guard: Guard) -> None:
    """Connect the upstreams, then serve the agent over stdio or streamable HTTP."""
    telemetry = Telemetry(config.metrics_port, config.otel, config.host)
    gateway = Gateway(config, guard, telemetry)
    async with AsyncExitStack() as stack:
        await gateway.connect(stack)
        server = build_server(gateway)
        if config.listen == "stdio":
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())
        else:
            import uvicorn

            app = server.streamable_http_app(
                host=config.host, max_request_body_size=config.limits.max_request_bytes
            )
            uv = uvicorn.Server(
                uvicorn.Config(app, host=config.host, port=config.port, log_level="warning")
            )
            await uv.serve()


def run(config: Config) -> None:
    """Run the gateway; the guard is closed (its audit log flushed) on every exit."""
    guard = open_guard(config)
    try:
        anyio.run(serve, config, guard)
    finally:
        guard.close()
