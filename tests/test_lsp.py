"""`verifier lsp`: a real client (pygls) drives the real server over stdio.

The first tests run one editing session end to end; the rest call analysis.py / features.py
directly, which is what the server answers with.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as t
from pygls.lsp.client import LanguageClient

from verifier.lsp.analysis import RenameRefused, analyse, references, rename_edits
from verifier.lsp.features import completions, fixes, hover, outline

ROOT = Path(__file__).resolve().parent.parent
URI = "file:///work/spec/refund.cap"
TYPO = """\
capability refund
enum Phase { open, closed }
state {
  amount: 0..3 = 0   # requested so far
  phase: Phase = open
}
action request {
  when amout < 3 and phase == open
  amount := amount + 1
}
invariant bounded: amount <= 3
reachable closes: phase == closed
"""


def apply_edits(text: str, edits: Sequence[t.TextEdit]) -> str:
    """Apply LSP text edits (0-based lines and characters), last first."""
    lines = text.split("\n")

    def offset(p: t.Position) -> int:
        return sum(len(ln) + 1 for ln in lines[: p.line]) + p.character

    ordered = sorted(edits, key=lambda e: offset(e.range.start), reverse=True)
    for e in ordered:
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end) :]
    return text


class Session:
    """A client with a queue of published diagnostics."""

    def __init__(self) -> None:
        self.client = LanguageClient("verifier-tests", "1")
        self.diagnostics: asyncio.Queue[t.PublishDiagnosticsParams] = asyncio.Queue()

        @self.client.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: t.PublishDiagnosticsParams) -> None:
            self.diagnostics.put_nowait(params)

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "verifier", "lsp", cwd=str(ROOT))
        caps = t.ClientCapabilities()
        await self.client.initialize_async(t.InitializeParams(capabilities=caps))
        self.client.initialized(t.InitializedParams())

    async def next_diagnostics(self) -> tuple[t.Diagnostic, ...]:
        return (await asyncio.wait_for(self.diagnostics.get(), 20)).diagnostics

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


WIDE_URI = "file:///work/spec/wide.cap"
WIDE = 'state { amount: 0..3 = 0 }\naction a "\U0001f642" { when amout < 3 }\n'


def doc() -> t.TextDocumentIdentifier:
    return t.TextDocumentIdentifier(uri=URI)


async def typo_session() -> dict[str, Any]:
    s = Session()
    await s.start()
    seen: dict[str, Any] = {}
    try:
        item = t.TextDocumentItem(uri=URI, language_id="cap", version=1, text=TYPO)
        s.client.text_document_did_open(t.DidOpenTextDocumentParams(text_document=item))
        first = await s.next_diagnostics()
        seen["first"] = first
        context = t.CodeActionContext(diagnostics=list(first))
        params = t.CodeActionParams(text_document=doc(), range=first[0].range, context=context)
        actions = await s.client.text_document_code_action_async(params)
        seen["actions"] = actions
        assert actions and isinstance(actions[0], t.CodeAction) and actions[0].edit
        fixed = apply_edits(TYPO, actions[0].edit.changes[URI])  # type: ignore[index]
        seen["fixed"] = fixed
        change = t.TextDocumentContentChangeWholeDocument(text=fixed)
        versioned = t.VersionedTextDocumentIdentifier(uri=URI, version=2)
        s.client.text_document_did_change(
            t.DidChangeTextDocumentParams(text_document=versioned, content_changes=[change])
        )
        seen["after"] = await s.next_diagnostics()
        for version, text in ((3, TYPO), (4, fixed)):  # typed quickly: one publish, the last
            s.client.text_document_did_change(
                t.DidChangeTextDocumentParams(
                    text_document=t.VersionedTextDocumentIdentifier(uri=URI, version=version),
                    content_changes=[t.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )
        seen["debounced"] = await s.next_diagnostics()
        await asyncio.sleep(0.6)
        seen["extra"] = s.diagnostics.qsize()
        where = t.Position(line=8, character=4)  # `amount` in `amount := amount + 1`
        seen["hover"] = await s.client.text_document_hover_async(
            t.HoverParams(text_document=doc(), position=where)
        )
        seen["definition"] = await s.client.text_document_definition_async(
            t.DefinitionParams(text_document=doc(), position=where)
        )
        seen["references"] = await s.client.text_document_references_async(
            t.ReferenceParams(
                text_document=doc(),
                position=where,
                context=t.ReferenceContext(include_declaration=True),
            )
        )
        seen["symbols"] = await s.client.text_document_document_symbol_async(
            t.DocumentSymbolParams(text_document=doc())
        )
        seen["completion"] = await s.client.text_document_completion_async(
            t.CompletionParams(text_document=doc(), position=t.Position(line=11, character=27))
        )
        seen["formatting"] = await s.client.text_document_formatting_async(
            t.DocumentFormattingParams(
                text_document=doc(), options=t.FormattingOptions(tab_size=2, insert_spaces=True)
            )
        )
        run = t.ExecuteCommandParams(command="verifier.check", arguments=[URI])
        seen["check"] = await s.client.workspace_execute_command_async(run)
        seen["verdict_hover"] = await s.client.text_document_hover_async(
            t.HoverParams(text_document=doc(), position=t.Position(line=11, character=12))
        )
        rename = t.RenameParams(text_document=doc(), position=where, new_name="requested")
        seen["rename"] = await s.client.text_document_rename_async(rename)
        wide = t.TextDocumentItem(uri=WIDE_URI, language_id="cap", version=1, text=WIDE)
        s.client.text_document_did_open(t.DidOpenTextDocumentParams(text_document=wide))
        seen["wide"] = await s.next_diagnostics()
    finally:
        await s.stop()
    return seen


@pytest.fixture(scope="module")
def session() -> dict[str, Any]:
    return asyncio.run(typo_session())


def test_typo_is_reported_with_its_hint_and_fixed_by_the_code_action(
    session: dict[str, Any],
) -> None:
    (diag,) = session["first"]
    assert diag.code == "unknown-name"
    assert diag.severity == t.DiagnosticSeverity.Error
    assert diag.message == "unknown name `amout`\nhelp: did you mean `amount`?"
    assert (diag.range.start.line, diag.range.start.character) == (7, 7)
    assert (diag.range.end.line, diag.range.end.character) == (7, 12)
    assert session["actions"][0].title == "replace with `amount`"
    assert "  when amount < 3 and phase == open\n" in session["fixed"]
    assert session["after"] == ()
    assert session["debounced"] == () and session["extra"] == 0


def test_hover_and_definition_of_a_state_variable(session: dict[str, Any]) -> None:
    hover_text = session["hover"].contents.value
    assert "amount: 0..3 = 0" in hover_text
    assert "type `0..3`: the integers 0 to 3 (4 values)" in hover_text
    assert "declared at line 4" in hover_text
    assert "requested so far" in hover_text  # the comment at the end of the declaration
    loc = session["definition"]
    assert loc.uri == URI
    assert (loc.range.start.line, loc.range.start.character) == (3, 2)
    assert (loc.range.end.line, loc.range.end.character) == (3, 8)


def test_positions_are_in_utf16_units(session: dict[str, Any]) -> None:
    (diag,) = session["wide"]
    # `action a "🙂" { when ` is 20 code points but 21 UTF-16 units (the emoji is two)
    assert (diag.range.start.line, diag.range.start.character) == (1, 21)
    assert diag.range.end.character == 26


def test_references_outline_completion_and_formatting_over_the_wire(
    session: dict[str, Any],
) -> None:
    lines = sorted(loc.range.start.line for loc in session["references"])
    assert lines == [3, 7, 8, 8, 10]  # declaration, guard, both sides of :=, invariant
    names = [sym.name for sym in session["symbols"]]
    assert names == ["Phase", "state", "request", "bounded", "closes"]
    assert [c.name for c in session["symbols"][1].children] == ["amount", "phase"]
    labels = [item.label for item in session["completion"].items]
    assert labels[:2] == ["open", "closed"] or labels[:2] == ["closed", "open"]
    (edit,) = session["formatting"]
    assert edit.new_text.startswith("capability refund\nenum Phase { open, closed }\n\nstate {\n")
    assert "  amount: 0..3 = 0  # requested so far\n" in edit.new_text


def test_check_command_verdicts_show_in_hover(session: dict[str, Any]) -> None:
    assert session["check"] == {"bounded": "proved", "closes": "violated"}
    assert "last check: **violated**" in session["verdict_hover"].contents.value


def test_rename_edits_every_use(session: dict[str, Any]) -> None:
    edits = session["rename"].changes[URI]
    renamed = apply_edits(session["fixed"], edits)
    assert "amount" not in renamed and renamed.count("requested") == 6  # 5 names + comment
    assert len(edits) == 5


# ---- features, called directly

SHARED = """\
enum Door { open, shut }
enum Valve { open, closed }
state {
  d: Door = Door.open
  v: Valve = closed
  n: 0..2 = 0
}
action go(k: 0..2) {
  when d == shut and all i in 0..2: i <= n
  n := k
}
"""


def test_shared_enum_member_rename_is_refused_until_qualified() -> None:
    bare = analyse(SHARED.replace("v: Valve = closed", "v: Valve = open"), "s.cap")
    with pytest.raises(RenameRefused, match="member of `Door`, `Valve`: qualify"):
        rename_edits(bare, 1, 15, "ajar")  # `open` of enum Door
    a = analyse(SHARED, "s.cap")  # `open` is only used as `Door.open`
    edits = rename_edits(a, 1, 15, "ajar")
    assert sorted((sp.line, sp.column) for sp, _ in edits) == [(1, 13), (4, 18)]
    with pytest.raises(RenameRefused, match="already declared"):
        rename_edits(a, 6, 3, "d")
    with pytest.raises(RenameRefused, match="not a name"):
        rename_edits(a, 6, 3, "when")


def test_references_respect_scopes() -> None:
    a = analyse(SHARED, "s.cap")
    # `i` bound by the quantifier: its binder and one use; `n`: declaration and two uses
    assert [(sp.line, sp.column) for sp in references(a, 9, 26, True)] == [(9, 26), (9, 37)]
    assert [(sp.line, sp.column) for sp in references(a, 6, 3, False)] == [(9, 42), (10, 3)]


def test_completion_prefers_the_members_of_the_expected_enum() -> None:
    text = SHARED.replace("when d == shut", "when d == ")
    broken = analyse(text, "s.cap")
    good = analyse(SHARED, "s.cap")
    items = completions(broken, good, 9, 13)
    assert [c.label for c in items[:2]] == ["open", "shut"] and items[0].preferred
    assert {"n", "d", "v", "k", "when", "go"} - {"go"} <= {c.label for c in items}
    after_dot = completions(good, good, 4, 18)  # `Door.` then the member
    assert {c.label for c in after_dot} == {"open", "shut"}


def test_outline_nests_variables_and_members() -> None:
    entries = outline(analyse(SHARED, "s.cap"))
    assert [(o.name, o.kind) for o in entries] == [
        ("Door", "enum"),
        ("Valve", "enum"),
        ("state", "namespace"),
        ("go", "method"),
    ]
    assert [c.name for c in entries[2].children] == ["d", "v", "n"]


def test_hover_on_a_parameter_and_a_member() -> None:
    a = analyse(SHARED, "s.cap")
    param = hover(a, 10, 9)
    assert param is not None and "k: 0..2, a parameter of `action go`" in param[0]
    member = hover(a, 9, 14)
    assert member is not None and "shut, a member of `Door`" in member[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("state { x: bool = true }\ninvariant i: x && x\n", "invariant i: x and x\n"),
        ("state { x: bool = true }\naction a { x = false }\n", "action a { x := false }\n"),
        ("state { x: bool = true }\ninvariant i: x = x\n", "invariant i: x == x\n"),
    ],
)
def test_syntax_hints_become_fixes(text: str, expected: str) -> None:
    a = analyse(text, "s.cap")
    (diag,) = a.diagnostics
    (fix,) = fixes(diag, text)
    line = text.split("\n")[fix.span.line - 1]
    new = line[: fix.span.column - 1] + fix.text + line[fix.span.end_column - 1 :]
    assert new + "\n" == expected
    assert analyse(text.replace(line, new), "s.cap").diagnostics == []


def test_without_the_lsp_extra_the_command_says_what_to_install() -> None:
    hide = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "def find_spec(name, package=None):\n"
        "    if name.split('.')[0] in ('pygls', 'lsprotocol'):\n"
        "        return None\n"
        "    return real(name, package)\n"
        "importlib.util.find_spec = find_spec\n"
        "from verifier.cli import main\n"
        "main(['lsp'])\n"
    )
    done = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == (
        "error: `verifier lsp` needs the language server, which is not installed"
        " (missing: pygls, lsprotocol)\nhint: pip install 'verifier[lsp]'\n"
    )
