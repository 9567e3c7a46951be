"""`preflight server`: a Language Server (LSP over standard input and output) for editors.

One warm process per workspace (preflight.workspace): the project is collected once, an edited buffer is
extracted again from its text, the project is linked again on the kept facts, and only the rules that read
something the edit changed run again (preflight.dependencies), so a changed script updates the diagnostics of
the workflow that runs it and the other way. Only files whose findings changed are republished. Edits are
coalesced: an isolated edit is checked at once, a burst of keystrokes at most once per `debounce` seconds
(initializationOptions {"debounce": 0.15}).

Diagnostics carry the rule's code, its documentation (codeDescription) and the finding's related places
(relatedInformation); code actions apply a finding's fix (unsafe ones are marked so and never preferred) or
write the inline suppression comment `--add-ignores` writes. A changed configuration (pyproject.toml,
preflight.toml, workspace/didChangeConfiguration) reloads the settings.
"""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path

from preflight import __version__
from preflight.findings import Edit, Finding, Fix, Severity
from preflight.report.sarif import INFORMATION_URI
from preflight.api import Workspace, ignore_comments, resolve_fix

SOURCE = "preflight"
CONFIG_FILES = ("pyproject.toml", "preflight.toml", ".preflight.toml")
_SEVERITY = {Severity.ERROR: types.DiagnosticSeverity.Error, Severity.WARNING: types.DiagnosticSeverity.Warning,
             Severity.INFO: types.DiagnosticSeverity.Information}


def docs_url(code: str) -> str:
    return f"{INFORMATION_URI}/blob/main/docs/rules.md#{code.lower()}"


class PreflightServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("preflight", __version__)
        self.project: Workspace | None = None
        self.debounce = 0.15
        self._pending: asyncio.TimerHandle | None = None
        self._last_check = 0.0
        self._edited: set[str] = set()  # URIs changed since the last check
        self.config_path: str | None = None

    # -- paths ----------------------------------------------------------------------------------

    def display(self, uri: str) -> str | None:
        """The workspace-relative path of a file: URI, or None for a file outside the workspace."""
        parsed = urlparse(uri)
        if parsed.scheme != "file" or self.project is None:
            return None
        path = Path(unquote(parsed.path))
        try:
            path.absolute().relative_to(self.project.root)
        except ValueError:
            return None
        return self.project.display(path)

    def uri(self, display: str) -> str:
        path = Path(display)
        return from_fs_path(str(path if path.is_absolute() else self.project.root / path))

    def lines(self, display: str) -> list[str]:
        return self.project.sources().lines(display)

    # -- checking -------------------------------------------------------------------------------

    def load(self) -> None:
        """Read the settings and the project (again): every file whose diagnostics change is republished."""
        if self.project is None:
            self.project = Workspace(Path(self.workspace.root_path or "."))
        self.project.config_path = self.config_path
        gc.unfreeze()  # what the last load kept may be garbage now
        try:
            self.project.load()
        except Exception as exc:  # a bad configuration: said, and the last good settings stay
            self.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"preflight: {exc}"))
            return
        finally:
            # The project's facts live as long as the process: the collector need not walk them again at every
            # check (its full collections over them were a large share of a re-check's time).
            gc.collect()
            gc.freeze()
        self.recheck()

    def schedule(self, uri: str) -> None:
        """Check soon: at once after a quiet period, else when `debounce` has passed since the last check."""
        self._edited.add(uri)
        if self._pending is not None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._last_check + self.debounce - time.monotonic())
        self._pending = loop.call_later(delay, self._run_pending)

    def _run_pending(self) -> None:
        self._pending = None
        if self.project is None:
            return
        for uri in self._edited:
            display = self.display(uri)
            if display is None:
                continue
            document = self.workspace.text_documents.get(uri)
            self.project.set_buffer(display, document.source if document is not None else None)
        self._edited.clear()
        self.recheck()

    def recheck(self) -> None:
        if self.project is None:
            return
        try:
            changed = self.project.check()
        finally:
            self._last_check = time.monotonic()
        for message in self.project.errors:
            self.window_log_message(types.LogMessageParams(types.MessageType.Error, f"preflight: {message}"))
        for display, findings in sorted(changed.items()):
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=self.uri(display), diagnostics=[self.diagnostic(f) for f in findings]))

    # -- conversions ----------------------------------------------------------------------------

    def position(self, display: str, line: int, column: int) -> types.Position:
        """A 1-based line and character column as the client counts (UTF-16 units unless negotiated)."""
        lines = self.lines(display)
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        prefix = text[: max(0, column - 1)] + " " * max(0, column - 1 - len(text))
        return types.Position(line - 1, self.workspace.position_codec.client_num_units(prefix))

    def range(self, location) -> types.Range:
        start = self.position(location.path, location.line, location.column)
        end = self.position(location.path, location.end_line, location.end_column)
        if end == start:  # a point: mark one character, or the rest of the line
            lines = self.lines(location.path)
            text = lines[location.line - 1] if 0 < location.line <= len(lines) else ""
            end = self.position(location.path, location.line, min(len(text) + 1, location.column + 1))
        return types.Range(start, end)

    def diagnostic(self, finding: Finding) -> types.Diagnostic:
        related = [types.DiagnosticRelatedInformation(types.Location(self.uri(r.location.path), self.range(r.location)),
                                                      r.message) for r in finding.related]
        return types.Diagnostic(
            range=self.range(finding.location), message=finding.message, severity=_SEVERITY[finding.severity],
            code=finding.code, code_description=types.CodeDescription(href=docs_url(finding.code)), source=SOURCE,
            related_information=related or None, data={"name": finding.name})

    def workspace_edit(self, edits: tuple[Edit, ...]) -> types.WorkspaceEdit:
        changes: dict[str, list[types.TextEdit]] = {}
        for edit in edits:
            loc = edit.location
            start = self.position(loc.path, loc.line, loc.column)
            end = self.position(loc.path, loc.end_line, loc.end_column)
            changes.setdefault(self.uri(loc.path), []).append(types.TextEdit(types.Range(start, end), edit.replacement))
        return types.WorkspaceEdit(changes=changes)

    def code_actions(self, uri: str, wanted: types.Range) -> list[types.CodeAction]:
        display = self.display(uri)
        if display is None or self.project is None:
            return []
        actions: list[types.CodeAction] = []
        for finding in self.project.findings(display):
            where = self.range(finding.location)
            if where.end.line < wanted.start.line or where.start.line > wanted.end.line:
                continue
            diagnostic = self.diagnostic(finding)
            fix = resolve_fix(finding.fix, self.project.sources()) if finding.fix is not None else None
            if fix is not None:
                actions.append(self._fix_action(fix, diagnostic))
            comments, _ = ignore_comments([finding], self.project.sources())
            for comment in comments:
                actions.append(types.CodeAction(
                    title=f"Ignore {finding.code} on this line (# preflight: ignore[{finding.code}])",
                    kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                    edit=self.workspace_edit(comment.edits)))
        return actions

    def _fix_action(self, fix: Fix, diagnostic: types.Diagnostic) -> types.CodeAction:
        safe = getattr(fix, "safe", True)
        title = fix.description[:1].upper() + fix.description[1:]
        return types.CodeAction(title=title if safe else f"{title} (unsafe fix: review it)",
                                kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic], is_preferred=safe,
                                edit=self.workspace_edit(fix.edits))


server = PreflightServer()


@server.feature(types.INITIALIZE)
def _initialize(ls: PreflightServer, params: types.InitializeParams) -> None:
    options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
    if isinstance(options.get("debounce"), (int, float)) and options["debounce"] >= 0:
        ls.debounce = float(options["debounce"])
    if isinstance(options.get("config"), str):
        ls.config_path = options["config"]


@server.feature(types.INITIALIZED)
def _initialized(ls: PreflightServer, params: types.InitializedParams) -> None:
    watched = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
    if watched and watched.dynamic_registration:  # the client tells when a configuration changes on disk
        ls.client_register_capability(types.RegistrationParams([types.Registration(
            id="preflight-config", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                [types.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_FILES]))]))
    ls.load()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def _did_open(ls: PreflightServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def _did_change(ls: PreflightServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def _did_save(ls: PreflightServer, params: types.DidSaveTextDocumentParams) -> None:
    if Path(unquote(urlparse(params.text_document.uri).path)).name in CONFIG_FILES:
        ls.load()
        return
    ls.schedule(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def _did_close(ls: PreflightServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)  # the file on disk counts again


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def _did_change_watched(ls: PreflightServer, params: types.DidChangeWatchedFilesParams) -> None:
    if any(Path(unquote(urlparse(change.uri).path)).name in CONFIG_FILES for change in params.changes):
        ls.load()
        return
    if ls.project is None:
        return
    for change in params.changes:
        display = ls.display(change.uri)
        if display is not None:
            ls.project.file_changed(display)
    ls.recheck()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def _did_change_configuration(ls: PreflightServer, params: types.DidChangeConfigurationParams) -> None:
    settings = params.settings.get("preflight") if isinstance(params.settings, dict) else None
    if isinstance(settings, dict) and (settings.get("config") is None or isinstance(settings.get("config"), str)):
        ls.config_path = settings.get("config")
    ls.load()


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
def _code_action(ls: PreflightServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    return ls.code_actions(params.text_document.uri, params.range)


def main() -> None:
    server.start_io()
