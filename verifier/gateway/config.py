"""The gateway's one configuration file (TOML), validated strictly before anything starts."""

from __future__ import annotations

import importlib.util
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verifier.guard.boundary import ID_RULE, bad_id


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the key and the fix."""


@dataclass(frozen=True)
class Upstream:
    """One upstream MCP server: a command run over stdio, or a streamable HTTP URL."""

    name: str
    command: tuple[str, ...] = ()
    url: str | None = None
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int = 1_000_000
    call_timeout: float = 30.0
    denials: int | None = None  # quarantine after `denials` of the last `window` proposals
    window: int | None = None


@dataclass(frozen=True)
class Config:
    artifact: str
    public_key: str | None
    store: str
    audit: str
    upstreams: tuple[Upstream, ...]
    listen: str = "stdio"  # "stdio" | "http"
    host: str = "127.0.0.1"
    port: int = 8765
    session_header: str | None = None
    session: str | None = None  # stdio: a fixed guard session id (else one per connection)
    limits: Limits = field(default_factory=Limits)
    roots: tuple[tuple[str, str], ...] = ()
    metrics_port: int | None = None
    otel: str | None = None  # None | "console"
    secret: str | None = None  # the guard's secret: keys the audit chain and store digests
    workdir: str = "."  # the configuration file's folder: upstream commands run there


_TOP = {
    "artifact", "public_key", "secret", "store", "audit", "upstream", "listen", "session",
    "limits", "roots", "metrics", "otel",
}  # fmt: skip


def _fail(key: str, problem: str, hint: str) -> ConfigError:
    return ConfigError(f"`{key}` {problem}; {hint}")


def _str(data: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(f"{where}{key}", "must be a non-empty string", "see docs/gateway.md")
    return value


def _int(data: dict[str, Any], key: str, where: str, lo: int, hi: int, default: int) -> int:
    value = data.get(key, default)
    if type(value) is not int or not lo <= value <= hi:
        raise _fail(f"{where}{key}", f"must be an integer from {lo} to {hi}", f"got {value!r}")
    return value


def _keys(data: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(where or "the file", "must be a table", "see docs/gateway.md")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(
            f"{where}{unknown[0]}", "is not a setting", f"known: {', '.join(sorted(allowed))}"
        )
    return data


def _upstream(data: Any, k: int) -> Upstream:
    where = f"upstream[{k}]."
    d = _keys(data, {"name", "command", "url", "env"}, where)
    name = _str(d, "name", where)
    assert name is not None
    command, url = d.get("command"), d.get("url")
    if (command is None) == (url is None):
        raise _fail(
            f"{where}command", "or `url` must be given (exactly one)", "see docs/gateway.md"
        )
    if command is not None and (
        not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command)
    ):
        raise _fail(
            f"{where}command", "must be a non-empty list of strings", '["python", "srv.py"]'
        )
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise _fail(f"{where}url", "must be an http(s) URL", "http://127.0.0.1:8000/mcp")
    env = d.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise _fail(f"{where}env", "must be a table of strings", "credentials for this upstream")
    return Upstream(name, tuple(command or ()), url, tuple(sorted(env.items())))


def parse(data: dict[str, Any], base: Path) -> Config:
    """A validated Config from parsed TOML; relative paths are relative to the file."""
    d = _keys(data, _TOP, "")

    def path(key: str, required: bool = True) -> str | None:
        value = _str(d, key, "", required)
        return None if value is None else str((base / value).resolve())

    artifact, public_key, audit = path("artifact"), path("public_key", False), path("audit")
    secret = path("secret", False)
    store = _str(d, "store", "")
    assert artifact is not None and audit is not None and store is not None
    if store.startswith("sqlite:///") and not store.startswith("sqlite:////"):
        store = "sqlite:///" + str((base / store.removeprefix("sqlite:///")).resolve())
    ups = d.get("upstream")
    if not isinstance(ups, list) or not ups:
        raise _fail("upstream", "must list at least one [[upstream]]", "see docs/gateway.md")
    upstreams = tuple(_upstream(u, k) for k, u in enumerate(ups))
    if len({u.name for u in upstreams}) != len(upstreams):
        raise _fail("upstream", "names must be unique", "rename one")
    listen = _keys(d.get("listen", {}), {"transport", "host", "port"}, "listen.")
    transport = listen.get("transport", "stdio")
    if transport not in ("stdio", "http"):
        raise _fail("listen.transport", "must be `stdio` or `http`", f"got {transport!r}")
    host = _str(listen, "host", "listen.", False) or "127.0.0.1"
    session = _keys(d.get("session", {}), {"header", "id"}, "session.")
    if "header" in session and transport != "http":
        raise _fail("session.header", 'applies to `listen.transport = "http"` only', "use `id`")
    if "id" in session and transport != "stdio":
        raise _fail("session.id", "applies to stdio only", "over HTTP use `header`")
    header, sid = _str(session, "header", "session.", False), _str(session, "id", "session.", False)
    if header is not None and not re.fullmatch(r"[A-Za-z0-9-]{1,64}", header):
        raise _fail("session.header", "is not an HTTP header name", "letters, digits and `-`")
    if sid is not None and bad_id("session id", sid) is not None:
        raise _fail("session.id", "is not a session id", ID_RULE)
    limits = _keys(
        d.get("limits", {}), {"max_request_bytes", "call_timeout", "denials", "window"}, "limits."
    )
    denials = window = None
    if "denials" in limits or "window" in limits:
        window = _int(limits, "window", "limits.", 1, 10_000, 0)
        denials = _int(limits, "denials", "limits.", 1, window, 0)
    timeout = limits.get("call_timeout", 30.0)
    if type(timeout) not in (int, float) or not math.isfinite(timeout) or not 0 < timeout <= 3600:
        raise _fail("limits.call_timeout", "must be seconds from 0 to 3600", f"got {timeout!r}")
    raw_roots = _keys(d.get("roots", {}), set(d.get("roots", {}) or {}), "roots.")
    if not all(isinstance(v, str) for v in raw_roots.values()):
        raise _fail("roots", "must map names to directories", "see docs/gateway.md")
    roots = {k: str((base / v).resolve()) for k, v in raw_roots.items()}
    if not all(Path(v).is_dir() for v in roots.values()):
        raise _fail("roots", "must map names to existing directories", "see docs/gateway.md")
    metrics = _keys(d.get("metrics", {}), {"port"}, "metrics.")
    otel = d.get("otel")
    if otel not in (None, "console", "none"):
        raise _fail("otel", "must be `console` or `none`", "or configure an SDK exporter")
    if otel == "console" and importlib.util.find_spec("opentelemetry.sdk") is None:
        raise _fail("otel", "needs the OpenTelemetry SDK", "pip install opentelemetry-sdk")
    return Config(
        artifact=artifact,
        public_key=public_key,
        store=store,
        audit=audit,
        upstreams=upstreams,
        listen=transport,
        host=host,
        port=_int(listen, "port", "listen.", 1, 65535, 8765),
        session_header=header.lower() if header else None,
        session=sid,
        limits=Limits(
            _int(limits, "max_request_bytes", "limits.", 1, 100_000_000, 1_000_000),
            float(timeout),
            denials,
            window,
        ),
        roots=tuple(sorted(roots.items())),
        workdir=str(base),
        metrics_port=_int(metrics, "port", "metrics.", 1, 65535, 1) if "port" in metrics else None,
        otel=None if otel in (None, "none") else otel,
        secret=secret,
    )


def load(path: str) -> Config:
    """Read and validate a configuration file; ConfigError on any problem."""
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read `{path}`: {err.strerror or err}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"`{path}` is not valid TOML: {err}") from None
    return parse(data, Path(path).resolve().parent)
