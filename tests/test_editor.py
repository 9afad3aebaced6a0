"""The VS Code extension: its TextMate grammar classifies every token; vsce packages it.

The grammar runs in vscode-textmate + vscode-oniguruma (what VS Code uses), driven by
editors/vscode/test/tokenize.js; `npm ci` installs them into the extension's node_modules.
Without node the tests skip and say so; under CI=true a missing node is a failure
(tests/services.py; `python3 tasks.py test` installs node and npm).
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.services import require
from verifier.lang.parser import KEYWORDS, lex_tokens

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "editors" / "vscode"
SPECS = sorted(
    [*ROOT.glob("models/**/*.cap"), *ROOT.glob("examples/**/*.cap")], key=lambda p: str(p)
)

# The scope every kind of lark token must get (the innermost scope starts with one of these).
EXPECTED = {
    "COMMENT": ("comment.line.",),
    "STRING": ("string.quoted.double.",),
    "INT": ("constant.numeric.",),
    "NAME": ("variable.", "entity.name."),
    "COMPOP": ("keyword.operator.comparison.",),
    "ADDOP": ("keyword.operator.arithmetic.",),
    "MINUS": ("keyword.operator.arithmetic.",),
    "MULOP": ("keyword.operator.arithmetic.",),
}
KEYWORD_SCOPES = (
    "keyword.",
    "storage.",
    "constant.language.",
)
PUNCTUATION = ("punctuation.", "keyword.operator.")


def node_or_skip() -> str:
    return require("node", "npm")["node"]


@cache
def installed() -> Path:
    """The extension's node_modules, installed from package-lock.json if absent."""
    if not (EXT / "node_modules" / "vscode-textmate").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=EXT, check=True, capture_output=True
        )
    return EXT / "node_modules"


@cache
def tokenized() -> dict[str, Any]:
    node = node_or_skip()
    installed()
    out = subprocess.run(
        [node, str(EXT / "test" / "tokenize.js"), *map(str, SPECS)],
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def classify(tm_line: list[dict[str, Any]], column: int) -> tuple[int, str]:
    """The start and innermost scope of the TextMate token covering a 0-based column."""
    for tok in tm_line:
        if tok["start"] <= column < tok["end"]:
            return tok["start"], tok["scopes"][-1]
    return -1, "source.cap"


def expected_scopes(kind: str, text: str) -> tuple[str, ...]:
    if text in KEYWORDS:
        return KEYWORD_SCOPES
    return EXPECTED.get(kind, PUNCTUATION)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_token_is_classified(spec: Path) -> None:
    lines = tokenized()[str(spec)]
    wrong = []
    for tok in lex_tokens(spec.read_text()):
        if tok.kind == "WS":
            continue
        start, scope = classify(lines[tok.span.line - 1], tok.span.column - 1)
        ok = scope.startswith(expected_scopes(tok.kind, tok.text))
        whole_token = tok.kind in ("STRING", "COMMENT") or start == tok.span.column - 1
        if not (ok and whole_token):
            wrong.append(f"{tok.span.line}:{tok.span.column} `{tok.text}` ({tok.kind}) -> {scope}")
    assert not wrong, wrong


def test_every_keyword_of_the_parser_is_in_the_grammar() -> None:
    grammar = (EXT / "syntaxes" / "cap.tmLanguage.json").read_text()
    keyword_rules = json.loads(grammar)["repository"]["keyword"]["patterns"]
    listed = set()
    for rule in keyword_rules:
        listed |= set(rule["match"].removeprefix("\\b(").removesuffix(")\\b").split("|"))
    assert listed == set(KEYWORDS)


def test_declared_names_and_members_get_their_own_scopes() -> None:
    lines = tokenized()[str(ROOT / "examples/violations/email_label_bug.cap")]
    text = (ROOT / "examples/violations/email_label_bug.cap").read_text().split("\n")
    row = next(i for i, ln in enumerate(text) if ln.startswith("action send"))
    assert classify(lines[row], 0)[1] == "storage.type.function.cap"
    assert classify(lines[row], len("action "))[1] == "entity.name.function.cap"
    row = next(i for i, ln in enumerate(text) if ln.startswith("invariant"))
    assert classify(lines[row], len("invariant "))[1] == "entity.name.tag.property.cap"


def test_vsce_packages_the_extension(tmp_path: Path) -> None:
    node_or_skip()
    modules = installed()
    target = tmp_path / "verifier-cap.vsix"
    subprocess.run(
        [str(modules / ".bin" / "vsce"), "package", "--allow-missing-repository", "--out", target],
        cwd=EXT,
        check=True,
        capture_output=True,
    )
    names = set(zipfile.ZipFile(target).namelist())
    for needed in (
        "extension/package.json",
        "extension/extension.js",
        "extension/language-configuration.json",
        "extension/syntaxes/cap.tmLanguage.json",
        "extension/node_modules/vscode-languageclient/package.json",
    ):
        assert needed in names
    assert not any(n.startswith("extension/node_modules/vscode-textmate/") for n in names)
    manifest = json.loads(zipfile.ZipFile(target).read("extension/package.json"))
    assert manifest["contributes"]["languages"][0]["extensions"] == [".cap"]
