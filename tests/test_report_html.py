"""`verifier report`: a self-contained HTML page, rendered in headless Chromium and looked at.

Chromium is a Debian package (`python3 tasks.py test` installs it). Without it the rendering
tests skip and say so; under CI=true a missing Chromium is a failure (tests/services.py).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tests.services import require
from verifier.cli import main

ROOT = Path(__file__).resolve().parent.parent
EMAIL = ROOT / "examples/violations/email_label_bug.cap"
CHANGED = (255, 213, 79)  # table.trace td.changed
PATH_RED = (214, 39, 40)  # the counterexample path in the graph


def chromium() -> str:
    return require("chromium")["chromium"]


def headless(page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp / 'profile'}",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def write_report(tmp: Path, *args: str) -> tuple[int, Path]:
    out = tmp / "report.html"
    result = CliRunner().invoke(main, ["report", *args, "-o", str(out)])
    assert out.exists(), result.output
    return result.exit_code, out


@pytest.fixture(scope="module")
def email_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    code, page = write_report(tmp_path_factory.mktemp("email"), str(EMAIL))
    assert code == 1  # violated, as `verifier check` says
    return page


def test_report_is_self_contained(email_report: Path) -> None:
    html = email_report.read_text()
    assert "<link" not in html and "src=" not in html and "@import" not in html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched
    assert re.findall(r"url\(([^)]*)\)", html) and all(
        u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", html)
    )


def test_rendered_dom_has_the_trace_the_explanation_and_the_path(
    email_report: Path, tmp_path: Path
) -> None:
    dom = headless(email_report, tmp_path, "--dump-dom").stdout
    assert 'data-interactive="yes"' in dom  # the inline script ran
    assert dom.count('class="step"') == 6  # initial state + 5 steps
    # step 5 changes draft_ready, sends, sent_external and leaked
    last = dom.split('class="step"')[-1].split("</tr>")[0]
    assert last.count('class="changed"') == 4
    assert "send(external=true)" in last and "needs approval: external" in last
    assert "<code>not leaked</code> is false: <code>leaked</code> is true" in dom
    # projected onto the variables the trace changes (small first: `seen` is left out), the
    # two `read` steps stay inside one node: 4 nodes and 3 edges are red
    assert "projected onto <code>draft_ready</code>, <code>leaked</code>" in dom
    assert dom.count('class="edge on-path"') == 3
    assert dom.count('class="node on-path"') == 4
    assert '<span class="badge violated">violated</span>' in dom


def test_screenshot_shows_highlighted_changes_above_the_red_path(
    email_report: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "report.png"
    headless(email_report, tmp_path, f"--screenshot={shot}", "--window-size=1400,2600")
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    changed = np.all(pixels == CHANGED, axis=2)
    red = np.all(np.abs(pixels - PATH_RED) <= 12, axis=2)
    assert changed.sum() > 6000, "no highlighted trace cells on screen"
    assert red.sum() > 1200, "no red counterexample path in the graph"
    # the step table (yellow cells) is drawn above the graph (red path)
    assert np.median(np.nonzero(changed)[0]) < np.median(np.nonzero(red)[0])


def test_projection_of_a_model_with_a_hundred_thousand_states_is_readable(
    tmp_path: Path,
) -> None:
    spec = ROOT / "examples/violations/tool_pinning_bug.cap"
    consts = ["--const", "MAX_CALLS=9", "--const", "MAX_FAILURES=4"]
    code, page = write_report(tmp_path, str(spec), *consts, "--project", "calls,called_unpinned")
    assert code == 1
    html = page.read_text()
    states = int(re.search(r"The ([\d,]+) reachable states", html).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert states == 124_881
    svg = re.search(r'<svg [^>]*width="(\d+)" height="(\d+)"', html)
    assert svg is not None and int(svg.group(1)) < 1400 and int(svg.group(2)) < 2000
    assert html.count('<g class="node') == 20  # calls 0..9 x called_unpinned
    assert html.count('class="edge on-path"') == 1  # only the last step changes these
    dom = headless(page, tmp_path, "--dump-dom").stdout
    assert "calls=9" in dom and "called_unpinned=true" in dom


def test_bad_projection_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["report", str(EMAIL), "--project", "phase,sned", "-o", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2
    assert "`sned` is not a state variable of `email_label_bug`" in result.output
    assert "did you mean `sends`?" in result.output
    bad = CliRunner().invoke(main, ["report", str(EMAIL), "--project", "a,,b", "-o", "x.html"])
    assert bad.exit_code == 2 and "comma-separated list" in bad.output


def test_small_proved_spec_gets_its_whole_graph(tmp_path: Path) -> None:
    code, page = write_report(tmp_path, str(ROOT / "models/reference/diehard.cap"))
    html = page.read_text()
    assert code == 0
    assert "The reachable graph: 16 states." in html
    assert html.count('<g class="node') == 16 and "on-path" not in html
    assert '<span class="badge proved">proved</span>' in html
    assert "<h2>Coverage</h2>" in html and "<code>fill_big</code>" in html


def test_invalid_spec_report_shows_the_diagnostics(tmp_path: Path) -> None:
    spec = tmp_path / "bad.cap"
    spec.write_text("state {\n  amount: 0..3 = 0\n}\naction a {\n  when amout < 3\n}\n")
    code, page = write_report(tmp_path, str(spec))
    html = page.read_text()
    assert code == 2
    assert "error[unknown-name]: unknown name `amout`" in html.replace("&#x60;", "`")
    assert "did you mean" in html and "No graph" not in html
