"""The pygls server: LSP requests in, analysis.py / features.py answers out, over stdio."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange

from verifier import __version__, ir
from verifier.diagnostics import Diagnostic, Span
from verifier.lang.format import FormatError, format_text
from verifier.lsp.analysis import Analysis, RenameRefused, Verdict, analyse, rename_edits
from verifier.lsp.analysis import definition as find_definition
from verifier.lsp.analysis import references as find_references
from verifier.lsp.features import completions, fixes, hover, outline

DEBOUNCE_SECONDS = 0.25
CHECK_COMMAND = "verifier.check"
CHECK_MAX_STATES = 200_000  # the editor's check stays interactive; the CLI has no such cap

_SEVERITY = {
    "error": t.DiagnosticSeverity.Error,
    "warning": t.DiagnosticSeverity.Warning,
    "note": t.DiagnosticSeverity.Information,
}
_COMPLETION_KIND = {
    "keyword": t.CompletionItemKind.Keyword,
    "variable": t.CompletionItemKind.Variable,
    "constant": t.CompletionItemKind.Constant,
    "function": t.CompletionItemKind.Function,
    "enum": t.CompletionItemKind.Enum,
    "member": t.CompletionItemKind.EnumMember,
    "type": t.CompletionItemKind.TypeParameter,
}
_SYMBOL_KIND = {
    "namespace": t.SymbolKind.Namespace,
    "variable": t.SymbolKind.Variable,
    "enum": t.SymbolKind.Enum,
    "member": t.SymbolKind.EnumMember,
    "constant": t.SymbolKind.Constant,
    "type": t.SymbolKind.TypeParameter,
    "function": t.SymbolKind.Function,
    "method": t.SymbolKind.Method,
    "event": t.SymbolKind.Event,
    "property": t.SymbolKind.Property,
    "boolean": t.SymbolKind.Boolean,
}


class CapServer(LanguageServer):
    """Keeps the latest analysis of each open document and the last parsable one."""

    def __init__(self) -> None:
        super().__init__("verifier", __version__)
        self.analyses: dict[str, Analysis] = {}
        self.good: dict[str, Analysis] = {}  # the last analysis that parsed
        self.models: dict[str, ir.Model] = {}  # the last model that lowered
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.verdicts: dict[str, dict[str, Verdict]] = {}

    def analysis(self, uri: str) -> Analysis:
        """The analysis of the document's current text (computed now if it is stale)."""
        doc = self.workspace.get_text_document(uri)
        current = self.analyses.get(uri)
        if current is None or current.text != doc.source:
            current = self.refresh(uri)
        return current

    def refresh(self, uri: str) -> Analysis:
        doc = self.workspace.get_text_document(uri)
        a = analyse(doc.source, path_of(uri))
        a.verdicts = self.verdicts.get(uri, {})
        self.analyses[uri] = a
        if a.table is not None:
            self.good[uri] = a
        if a.model is not None:
            self.models[uri] = a.model
        return a

    def client_range(self, uri: str, sp: Span) -> t.Range:
        """A span (1-based code points) as an LSP range in the client's units (UTF-16)."""
        r = to_range(sp)
        doc = self.workspace.get_text_document(uri)
        server = ServerTextRange(
            ServerTextPosition(r.start.line, r.start.character),
            ServerTextPosition(r.end.line, r.end.character),
        )
        try:
            return doc.range_to_client_units(server)
        except IndexError:  # a span past the text (a stale analysis): units cannot differ
            return r

    def cursor(self, uri: str, pos: t.Position) -> tuple[int, int]:
        """An LSP position as a 1-based (line, column) in code points."""
        doc = self.workspace.get_text_document(uri)
        try:
            server = doc.position_from_client_units(pos)
        except IndexError:
            return pos.line + 1, pos.character + 1
        return server.line + 1, server.character + 1

    def diagnostic(self, uri: str, d: Diagnostic) -> t.Diagnostic:
        lsp = to_lsp_diagnostic(d)
        lsp.range = self.client_range(uri, d.span)
        return lsp

    def publish(self, uri: str) -> None:
        a = self.refresh(uri)
        diags = [self.diagnostic(uri, d) for d in a.diagnostics]
        self.text_document_publish_diagnostics(
            t.PublishDiagnosticsParams(uri=uri, diagnostics=diags)
        )

    def schedule(self, uri: str, delay: float) -> None:
        """Publish diagnostics after `delay` seconds without another change (debounce)."""
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()

        async def later() -> None:
            await asyncio.sleep(delay)
            self.pending.pop(uri, None)
            self.publish(uri)

        self.pending[uri] = asyncio.ensure_future(later())


def path_of(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def to_range(sp: Span) -> t.Range:
    """LSP positions are 0-based; a whole-file span becomes the file's first character."""
    if sp.line <= 0:
        return t.Range(t.Position(0, 0), t.Position(0, 0))
    return t.Range(
        t.Position(sp.line - 1, max(sp.column - 1, 0)),
        t.Position(sp.end_line - 1, max(sp.end_column - 1, 0)),
    )


def to_lsp_diagnostic(d: Diagnostic) -> t.Diagnostic:
    """Code, span and severity as the CLI has them; the help follows the message."""
    message = d.message + (f"\nhelp: {d.help}" if d.help else "")
    return t.Diagnostic(
        range=to_range(d.span),
        message=message,
        severity=_SEVERITY[d.severity],
        code=d.code,
        source="verifier",
        data={"help": d.help} if d.help else None,
    )


server = CapServer()


@server.feature(t.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: CapServer, params: t.DidOpenTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: CapServer, params: t.DidChangeTextDocumentParams) -> None:
    ls.verdicts.pop(params.text_document.uri, None)  # the verdicts were of the old text
    ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)


@server.feature(t.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: CapServer, params: t.DidSaveTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: CapServer, params: t.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    for table in (ls.analyses, ls.good, ls.verdicts, ls.models):
        table.pop(uri, None)
    ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(t.TEXT_DOCUMENT_HOVER)
def on_hover(ls: CapServer, params: t.HoverParams) -> t.Hover | None:
    uri = params.text_document.uri
    found = hover(ls.analysis(uri), *ls.cursor(uri, params.position), ls.models.get(uri))
    if found is None:
        return None
    text, span = found
    content = t.MarkupContent(kind=t.MarkupKind.Markdown, value=text)
    return t.Hover(contents=content, range=ls.client_range(uri, span))


@server.feature(t.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: CapServer, params: t.DefinitionParams) -> t.Location | None:
    uri = params.text_document.uri
    span = find_definition(ls.analysis(uri), *ls.cursor(uri, params.position))
    return t.Location(uri=uri, range=ls.client_range(uri, span)) if span is not None else None


@server.feature(t.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: CapServer, params: t.ReferenceParams) -> list[t.Location]:
    uri = params.text_document.uri
    spans = find_references(
        ls.analysis(uri), *ls.cursor(uri, params.position), params.context.include_declaration
    )
    return [t.Location(uri=uri, range=ls.client_range(uri, sp)) for sp in spans]


@server.feature(t.TEXT_DOCUMENT_PREPARE_RENAME)
def on_prepare_rename(ls: CapServer, params: t.PrepareRenameParams) -> t.Range | None:
    uri = params.text_document.uri
    a = ls.analysis(uri)
    if a.table is None:
        return None
    use = a.table.at(*ls.cursor(uri, params.position))
    if use is None or use.key not in a.table.symbols:
        return None
    return ls.client_range(uri, use.span)


@server.feature(t.TEXT_DOCUMENT_RENAME)
def on_rename(ls: CapServer, params: t.RenameParams) -> t.WorkspaceEdit:
    uri = params.text_document.uri
    try:
        edits = rename_edits(ls.analysis(uri), *ls.cursor(uri, params.position), params.new_name)
    except RenameRefused as err:
        raise ValueError(str(err)) from None  # pygls answers with a JSON-RPC error
    text_edits = [t.TextEdit(range=ls.client_range(uri, sp), new_text=new) for sp, new in edits]
    return t.WorkspaceEdit(changes={uri: text_edits})


@server.feature(t.TEXT_DOCUMENT_COMPLETION, t.CompletionOptions(trigger_characters=[".", " "]))
def on_completion(ls: CapServer, params: t.CompletionParams) -> t.CompletionList:
    uri = params.text_document.uri
    items = completions(ls.analysis(uri), ls.good.get(uri), *ls.cursor(uri, params.position))
    out = [
        t.CompletionItem(
            label=c.label,
            kind=_COMPLETION_KIND.get(c.kind, t.CompletionItemKind.Text),
            detail=c.detail or None,
            sort_text=f"{k:05d}",
            preselect=c.preferred or None,
        )
        for k, c in enumerate(items)
    ]
    return t.CompletionList(is_incomplete=False, items=out)


@server.feature(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_symbols(ls: CapServer, params: t.DocumentSymbolParams) -> list[t.DocumentSymbol]:
    uri = params.text_document.uri
    return [_symbol(ls, uri, o) for o in outline(ls.analysis(uri))]


def _symbol(ls: CapServer, uri: str, o: Any) -> t.DocumentSymbol:
    return t.DocumentSymbol(
        name=o.name,
        kind=_SYMBOL_KIND[o.kind],
        range=ls.client_range(uri, o.span),
        selection_range=ls.client_range(uri, o.name_span),
        detail=o.detail or None,
        children=[_symbol(ls, uri, c) for c in o.children] or None,
    )


@server.feature(
    t.TEXT_DOCUMENT_CODE_ACTION,
    t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix]),
)
def on_code_action(ls: CapServer, params: t.CodeActionParams) -> list[t.CodeAction]:
    uri = params.text_document.uri
    a = ls.analysis(uri)
    wanted = {
        (d.range.start.line, d.range.start.character, str(d.code))
        for d in params.context.diagnostics
    }
    actions = []
    for d in a.diagnostics:
        lsp_diag = ls.diagnostic(uri, d)
        where = (lsp_diag.range.start.line, lsp_diag.range.start.character, d.code)
        if wanted and where not in wanted:
            continue
        for fix in fixes(d, a.text):
            edit = t.TextEdit(range=ls.client_range(uri, fix.span), new_text=fix.text)
            actions.append(
                t.CodeAction(
                    title=fix.title,
                    kind=t.CodeActionKind.QuickFix,
                    diagnostics=[lsp_diag],
                    edit=t.WorkspaceEdit(changes={uri: [edit]}),
                    is_preferred=True,
                )
            )
    return actions


@server.feature(t.TEXT_DOCUMENT_FORMATTING)
def on_formatting(ls: CapServer, params: t.DocumentFormattingParams) -> list[t.TextEdit] | None:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    try:
        formatted = format_text(doc.source, path_of(doc.uri))
    except (FormatError, Exception):
        return None  # not parsable (diagnostics say why) or a formatter bug: change nothing
    if formatted == doc.source:
        return []
    lines = doc.source.split("\n")
    end = t.Position(len(lines) - 1, len(lines[-1]))
    return [t.TextEdit(range=t.Range(t.Position(0, 0), end), new_text=formatted)]


@server.command(CHECK_COMMAND)
async def check_document(ls: CapServer, uri: str) -> dict[str, str]:
    """Check the document; its verdicts show in hovers until the text changes."""
    from verifier.lsp.checking import check_verdicts

    a = ls.analysis(uri)
    if a.model is None:
        return {}
    verdicts = await asyncio.to_thread(check_verdicts, a.model, CHECK_MAX_STATES)
    ls.verdicts[uri] = verdicts
    a.verdicts = verdicts
    return {name: v.verdict for name, v in verdicts.items()}


def serve() -> None:
    """Serve LSP over standard input and output until the client says exit."""
    server.start_io()
