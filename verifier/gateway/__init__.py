"""The MCP gateway: the agent's only way to its tools, deciding every call with the guard.

Imports `guard`, `ir` and `diagnostics` (and the `mcp` SDK, prometheus-client and
OpenTelemetry from the `gateway` extra); nothing imports it but `cli`.
"""
