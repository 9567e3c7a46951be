"""Shared test helpers: write a small project to a temporary folder and check it for real."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from preflight import engine


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content) if content.startswith("\n") else content, encoding="utf-8")


def run_check(root: Path, select: list[str] | None = None, paths: list[str] | None = None, **kwargs) -> list[str]:
    """Findings as `path:line:col: CODE` strings, paths relative to the project folder."""
    result = engine.check(paths or ["."], select=select, cwd=root, **kwargs)
    return [f"{f.location.path}:{f.location.line}:{f.location.column}: {f.code}" for f in result.findings]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A factory: project(files, select=[...]) -> findings, with the working directory in the project."""
    monkeypatch.chdir(tmp_path)

    def make(files: dict[str, str], select: list[str] | None = None, **kwargs) -> list[str]:
        write_files(tmp_path, files)
        return run_check(tmp_path, select=select, **kwargs)

    make.root = tmp_path
    return make
