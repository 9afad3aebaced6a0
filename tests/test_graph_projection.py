"""`verifier graph --project VARS` and `--format svg` (through graphviz's `dot`)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from verifier.check.explicit import explore
from verifier.cli import main
from verifier.lang.frontend import load_model
from verifier.report import graph as graph_module
from verifier.report.projection import BadProjection, parse_variables, project

EMAIL = "examples/violations/email_label_bug.cap"


def test_projection_counts_states_and_edges() -> None:
    g = explore(load_model(EMAIL))
    p = project(g, ["phase", "sends"])
    labels = sorted(p.label(n) for n in range(len(p.nodes)))
    assert labels[:3] == ["phase=closed, sends=0", "phase=closed, sends=1", "phase=closed, sends=2"]
    assert len(p.nodes) == 9  # idle with 0 sends; working and closed with 0..3
    assert sum(p.states.values()) == len(g.states) == 497
    inside = sum(p.loops.values())
    between = sum(sum(c.values()) for c in p.edges.values())
    assert inside + between == len(g.edges)
    idle = p.node_of(g.states[0])
    assert idle is not None and idle in p.initial and p.states[idle] == 1


def test_unknown_variables_are_refused_with_a_suggestion() -> None:
    model = load_model(EMAIL)
    with pytest.raises(BadProjection, match="`sned` is not a state variable") as err:
        parse_variables(model, ["phase", "sned"])
    assert err.value.hint == "did you mean `sends`?"
    assert parse_variables(model, ["sends", "phase", "sends"]) == ("sends", "phase")


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "json"])
def test_cli_formats_draw_the_projection(fmt: str) -> None:
    result = CliRunner().invoke(main, ["graph", EMAIL, "--project", "phase,sends", "--format", fmt])
    assert result.exit_code == 0, result.output
    if fmt == "json":
        data = json.loads(result.output)
        assert data["graph"]["projected_on"] == ["phase", "sends"]
        assert sum(n["states"] for n in data["nodes"]) == 497
        assert len(data["nodes"]) == 9
    elif fmt == "dot":
        assert 'label="phase=idle, sends=0 (1 state)", style="bold"' in result.output
        assert 'label="user_opens_session"' in result.output
    else:
        assert "s0 : phase=idle, sends=0 (1 state)" in result.output


def test_projected_json_keeps_set_values_whole() -> None:
    result = CliRunner().invoke(
        main, ["graph", EMAIL, "--project", "seen,phase", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    states = [n["state"] for n in json.loads(result.output)["nodes"]]
    assert {"seen": ["confidential", "untrusted"], "phase": "working"} in states


def test_projection_lifts_the_state_limit_and_the_error_says_so() -> None:
    whole = CliRunner().invoke(main, ["graph", "models/tool_gateway.cap"])
    assert whole.exit_code == 3 and "--project" in whole.output
    projected = CliRunner().invoke(
        main, ["graph", "models/tool_gateway.cap", "--project", "busy,calls"]
    )
    assert projected.exit_code == 0 and projected.output.count("[label=") > 6


def test_svg_without_graphviz_is_a_clear_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    result = CliRunner().invoke(main, ["graph", EMAIL, "--project", "phase", "--format", "svg"])
    assert result.exit_code == 2
    assert "`--format svg` needs graphviz's `dot` program, which is not installed" in result.output
    assert "apt-get install graphviz" in result.output


def test_svg_pipes_dot_through_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "dot"  # stands in for graphviz: checks its arguments, wraps its input
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$1" = "-Tsvg" ] || { echo "bad args" >&2; exit 1; }\n'
        'read -r first; printf "<svg>%s</svg>\\n" "$first"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    result = CliRunner().invoke(main, ["graph", EMAIL, "--project", "phase", "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert result.output == '<svg>digraph "email_label_bug" {</svg>\n'
