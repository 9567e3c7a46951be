"""Headless Neovim, with its built-in LSP client and the configuration the README gives (docs/editors/neovim.lua),
opens a project's script and reads preflight's diagnostics: the server works in a real editor."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_files

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "docs" / "editors" / "neovim.lua"
NVIM = shutil.which("nvim")

# Waits for the server's diagnostics on the opened buffer, then writes them as JSON and quits.
_READ = """
vim.wait(60000, function() return #vim.diagnostic.get(0) > 0 end, 50)
local out = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  local lsp = d.user_data and d.user_data.lsp or {}
  table.insert(out, { line = d.lnum, col = d.col, code = d.code or lsp.code, source = d.source,
                      severity = d.severity, message = d.message })
end
vim.fn.writefile({ vim.fn.json_encode(out) }, os.getenv("PREFLIGHT_NVIM_OUT"))
vim.cmd("qa!")
"""


@pytest.mark.skipif(NVIM is None, reason="Neovim is not installed (apt-get install neovim; .ci/run installs it "
                                         "where apt-get is)")
def test_neovim_shows_the_diagnostics(tmp_path):
    write_files(tmp_path, {"train.py": "import wandb\n\nwandb.init(project='p')\n", "pyproject.toml": "[tool.preflight]\n"})
    (tmp_path / "read.lua").write_text(_READ)
    out = tmp_path / "diagnostics.json"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PREFLIGHT_NVIM_OUT": str(out), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    subprocess.run([NVIM, "--headless", "-n", "-i", "NONE", "-u", str(CONFIG), "-c", "luafile read.lua", "train.py"],
                   cwd=tmp_path, env=env, timeout=120, check=True, stdin=subprocess.DEVNULL, capture_output=True)
    found = json.loads(out.read_text())
    assert [(d["line"], d["col"], d["code"], d["source"]) for d in found] == [(2, 0, "WB001", "preflight")]
    assert found[0]["message"].startswith("wandb.init() starts a run")
    assert found[0]["severity"] == 2  # vim.diagnostic.severity.WARN


def test_the_readme_gives_the_tested_configuration():
    assert CONFIG.read_text().strip() in (ROOT / "README.md").read_text()
