"""`preflight server` driven by a real LSP client (pytest-lsp) over the real server process's stdio: diagnostics
on open and change, cross-file updates, code actions for fixes and ignore comments, settings reloads."""

from __future__ import annotations

import asyncio
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from conftest import write_files

pytestmark = pytest.mark.asyncio

FILES = {
    "train.py": "import wandb\n\nwandb.init(project='p')\n",
    "launch.py": "import os\nimport wandb\n\nwandb.init(project='p', name=os.environ['RUN'])\n",
    ".github/workflows/train.yml": "on: push\njobs:\n  train:\n    runs-on: ubuntu-latest\n    steps:\n"
                                   "      - run: python launch.py\n",
    "run.sh": "docker run -e \"WANDB_API_KEY=$KEY\" -e WANDB_PROJECT=p img\n",
}


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "preflight", "server"]))
async def client(lsp_client: LanguageClient, tmp_path):
    write_files(tmp_path, FILES)
    lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)(lambda params: None)  # the server watches its settings
    (tmp_path / "pyproject.toml").write_text("[tool.preflight]\n")
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=tmp_path.as_uri(),
        initialization_options={"debounce": 0}))
    lsp_client.root = tmp_path
    yield
    await lsp_client.shutdown_session()


def uri(client, path: str) -> str:
    return (client.root / path).as_uri()


async def diagnostics(client, path: str, until=lambda found: True, timeout: float = 20.0):
    """The file's diagnostics once the server has published ones that satisfy `until`."""
    async def wait():
        while uri(client, path) not in client.diagnostics or not until(client.diagnostics[uri(client, path)]):
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return client.diagnostics[uri(client, path)]
    return await asyncio.wait_for(wait(), timeout)


def codes(found) -> list[str]:
    return sorted(str(d.code) for d in found)


def open_file(client, path: str) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri(client, path), "python", 1, (client.root / path).read_text())))


def change(client, path: str, text: str, version: int = 2) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(version=version, uri=uri(client, path)),
        [types.TextDocumentContentChangeWholeDocument(text=text)]))


async def test_the_project_is_checked_on_start_and_a_diagnostic_says_what_and_where(client):
    found = await diagnostics(client, "train.py")
    [wb001] = [d for d in found if d.code == "WB001"]
    assert wb001.range.start == types.Position(2, 0)
    assert wb001.severity == types.DiagnosticSeverity.Warning and wb001.source == "preflight"
    assert wb001.code_description.href.endswith("docs/rules.md#wb001")


async def test_an_edit_republishes_the_buffer_not_the_file_on_disk(client):
    await diagnostics(client, "train.py")
    open_file(client, "train.py")
    change(client, "train.py", "import wandb\n\nwandb.init(project='p', name='base')\n")
    assert codes(await diagnostics(client, "train.py", lambda found: not found)) == []
    change(client, "train.py", "import wandb\n\n\nwandb.init(project='p')\n", version=3)
    found = await diagnostics(client, "train.py", lambda found: bool(found))
    assert [(d.code, d.range.start.line) for d in found] == [("WB001", 3)]
    assert (client.root / "train.py").read_text() == FILES["train.py"]


async def test_a_changed_script_updates_the_workflow_that_runs_it(client):
    found = await diagnostics(client, ".github/workflows/train.yml", lambda found: bool(found))
    assert "ENV001" in codes(found)
    [env001] = [d for d in found if d.code == "ENV001"]
    assert any(info.location.uri == uri(client, "launch.py") for info in env001.related_information or [])
    open_file(client, "launch.py")
    change(client, "launch.py", "x = 1\n")
    assert codes(await diagnostics(client, ".github/workflows/train.yml", lambda found: not found)) == []


async def test_code_actions_apply_the_fix_or_write_the_ignore_comment(client):
    await diagnostics(client, "run.sh", lambda found: bool(found))
    whole = types.Range(types.Position(0, 0), types.Position(1, 0))
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri(client, "run.sh")), whole, types.CodeActionContext(diagnostics=[])))
    fix = next(a for a in actions if not a.title.startswith("Ignore"))
    [edit] = fix.edit.changes[uri(client, "run.sh")]
    line = FILES["run.sh"]
    start, end = edit.range.start.character, edit.range.end.character
    assert line[:start] + edit.new_text + line[end:] == "docker run -e \"WANDB_API_KEY\" -e WANDB_PROJECT=p img\n"
    await diagnostics(client, "train.py")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri(client, "train.py")), types.Range(types.Position(2, 0), types.Position(2, 1)),
        types.CodeActionContext(diagnostics=[])))
    [ignore] = [a for a in actions if "WB001" in a.title and a.title.startswith("Ignore")]
    [edit] = ignore.edit.changes[uri(client, "train.py")]
    assert edit.range.start == types.Position(2, 23) and edit.new_text == "  # preflight: ignore[WB001]"


async def test_a_changed_configuration_reloads_the_settings(client):
    assert "WB001" in codes(await diagnostics(client, "train.py", lambda found: bool(found)))
    (client.root / "pyproject.toml").write_text("[tool.preflight]\nignore = [\"WB001\"]\n")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        [types.FileEvent(uri(client, "pyproject.toml"), types.FileChangeType.Changed)]))
    assert "WB001" not in codes(await diagnostics(client, "train.py", lambda found: "WB001" not in codes(found)))
    (client.root / "pyproject.toml").write_text("[tool.preflight]\n")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    assert "WB001" in codes(await diagnostics(client, "train.py", lambda found: "WB001" in codes(found)))


async def test_a_file_changed_on_disk_and_a_saved_configuration_are_read_again(client):
    assert "WB001" in codes(await diagnostics(client, "train.py", lambda found: bool(found)))
    (client.root / "train.py").write_text("import wandb\n\nwandb.init(project='p', name='fixed')\n")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        [types.FileEvent(uri(client, "train.py"), types.FileChangeType.Changed)]))
    assert codes(await diagnostics(client, "train.py", lambda found: not found)) == []
    (client.root / "pyproject.toml").write_text("[tool.preflight]\nignore = [\"SEC005\"]\n")
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(
        uri(client, "pyproject.toml"))))
    assert codes(await diagnostics(client, "run.sh", lambda found: not found)) == []
