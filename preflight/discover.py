"""Which files a check looks at.

Inside a git repository the candidates are the tracked files plus the untracked ones git does not
ignore; elsewhere every file below the given directories. Then `exclude`/`extend-exclude` apply,
except to the paths the user named explicitly. Symbolic links are never followed out of the
scanned tree. A file passed explicitly (as pre-commit does) is checked in the context of its whole
project, so that a workflow and the script it runs are seen together.
"""

from __future__ import annotations

import functools
import os
import posixpath
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from preflight import classify, git, globs

DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".mypy_cache", ".nox", ".pants.d", ".pytype",
    ".ruff_cache", ".svn", ".tox", ".venv", "__pypackages__", "_build", "buck-out", "build", "dist",
    "node_modules", "venv", "site-packages", ".preflight_cache", "__pycache__", ".pytest_cache",
)


class DiscoveryError(Exception):
    pass


@dataclass(slots=True)
class Discovery:
    files: list[Path]  # every file whose facts the project model needs
    reported: set[Path] | None  # files whose findings are shown (None: all of them)
    # With explicit files: the project's other Python files, as absolute paths, read only if a
    # cross-file question needs them (kept as text: thousands of them, most never opened)
    lazy_python: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=64)
def git_root(directory: Path) -> Path | None:
    """The top level of the working tree `directory` is in, or None. A top level that does not contain
    the directory (a repository whose `core.worktree` points elsewhere) is not one."""
    try:
        out = git.run(directory, "rev-parse", "--show-toplevel", timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.decode("utf-8", errors="surrogateescape").strip()
    if out.returncode != 0 or not text:
        return None
    top = Path(text).resolve()
    return top if _inside(directory.resolve(), top) else None


def _git_names(directory: Path) -> list[str] | None:
    """Tracked and untracked-but-not-ignored files below `directory`, relative to it (git's view)."""
    try:
        out = git.run(directory, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".",
                      excludes=True)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    names = out.stdout.decode("utf-8", errors="surrogateescape").split("\0")
    return [name for name in dict.fromkeys(names) if name]


def _git_ignored(directory: Path) -> bool:
    """Is the named directory itself ignored by its repository (a virtualenv inside a checkout)?"""
    try:
        out = git.run(directory, "check-ignore", "-q", ".", timeout=30, excludes=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0


def _walk(directory: Path, excluded) -> list[str]:
    """Files below `directory` outside git's view, as absolute POSIX paths; excluded folders are not entered."""
    result = []
    for current, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".git" and not excluded(Path(current) / d))
        base = current.replace(os.sep, "/").rstrip("/") + "/"
        result.extend(base + f for f in sorted(files))
    return result


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _safe(path: Path | str, boundary: Path) -> bool:
    """A regular file (or a link to one) that stays inside the scanned tree."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            target = Path(path).resolve(strict=True)
            return target.is_file() and _inside(target, boundary)
        return stat.S_ISREG(mode)
    except (OSError, RuntimeError):  # broken links, link loops, permission problems
        return False


def project_root(start: Path) -> Path:
    """The git top level, else the nearest directory with a pyproject.toml, else the start itself."""
    start = start if start.is_dir() else start.parent
    root = git_root(start)
    if root is not None:
        return root
    for candidate in [start, *start.parents]:
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return start


def discover(paths: list[str], exclude: list[str], base: Path, force_exclude: bool = False,
             context_of: list[Path] = ()) -> Discovery:
    """Expand the given paths into files. `exclude` patterns are relative to `base` (the config's folder).
    With `force_exclude`, excluded files stay excluded even when named explicitly (as pre-commit does);
    `context_of` names files (not on disk, e.g. stdin) whose project is read for context."""
    explicit_files: list[Path] = []
    directories: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise DiscoveryError(f"{raw}: no such file or directory")
        (directories if path.is_dir() else explicit_files).append(path.absolute())
    named = [p.resolve() for p in directories] + ([] if force_exclude else [p.resolve() for p in explicit_files])
    patterns = globs.pattern_set(tuple(exclude))
    base_text = base.as_posix().rstrip("/") + "/"

    def excluded(file: Path) -> bool:
        return bool(patterns) and excluded_text(file.absolute().as_posix())

    def excluded_text(absolute: str) -> bool:
        # outside the configuration's folder only unanchored patterns can match the full path
        relative = absolute[len(base_text):] if absolute.startswith(base_text) else absolute.lstrip("/")
        prefix = patterns.matching_prefix(relative)
        if prefix is None:
            return False
        matched = (base / prefix if absolute.startswith(base_text) else Path("/" + prefix)).resolve()
        return not any(_inside(n, matched) for n in named)  # never exclude what the user named

    def listing(directory: Path, lazy_python: list[str] | None = None) -> list[Path]:
        """The directory's files; with `lazy_python`, Python files go there as text instead."""
        top = git_root(directory)
        tracked = top is not None and (top == directory.resolve() or not _git_ignored(directory))
        names = _git_names(directory) if tracked else None
        prefix = directory.as_posix().rstrip("/") + "/"
        absolutes = [prefix + name for name in names] if names is not None else _walk(directory, excluded)
        boundary = directory.resolve()
        kept = []
        for absolute in absolutes:  # strings until a file is kept: thousands of paths, most of them kept
            kind = classify.kind_by_path(posixpath.basename(absolute))
            if kind is None:
                continue
            if (patterns and excluded_text(absolute)) or not _safe(absolute, boundary):
                continue
            if lazy_python is not None and kind == classify.PYTHON:
                lazy_python.append(absolute)
            else:
                kept.append(Path(absolute))
        return kept

    collected: dict[Path, None] = {}
    for directory in directories:
        collected.update(dict.fromkeys(listing(directory)))
    reported: set[Path] | None = None
    pins = [f for d in directories for f in _pin_files(project_root(d)) if f not in collected]
    if pins:  # a scanned folder below the project root still runs with the root's requirements
        reported = set(collected)
        collected.update(dict.fromkeys(pins))
    if explicit_files or context_of:
        reported = set(collected)
        for file in explicit_files:
            if not _safe(file, project_root(file).resolve()) or classify.kind_by_path(file.name) is None:
                continue
            if force_exclude and excluded(file):
                continue
            reported.add(file)
            collected[file] = None
        lazy: list[str] = []
        for root in dict.fromkeys(project_root(f) for f in [*explicit_files, *context_of]):
            collected.update(dict.fromkeys(f for f in listing(root, lazy) if f not in context_of))
        named_text = {p.as_posix() for p in [*collected, *context_of]}
        return Discovery(files=list(collected), reported=reported,
                         lazy_python=[p for p in dict.fromkeys(lazy) if p not in named_text])
    return Discovery(files=list(collected), reported=reported)


def _pin_files(root: Path) -> list[Path]:
    """The project root's declaration files (requirements*.txt, pyproject.toml, setup.py, lock files,
    environment.yml, requirements/*.txt): context for library versions when only a folder below the
    root is checked."""
    found = []
    for folder in (root, root / "requirements"):
        try:
            entries = sorted(folder.iterdir()) if folder.is_dir() else []
        except OSError:
            continue
        for entry in entries:
            if classify.kind_by_path(entry.relative_to(root).as_posix()) in classify.DECLARES_VERSIONS \
                    and _safe(entry, root.resolve()):
                found.append(entry)
    return found


def display_text(absolute: str, cwd: Path) -> str:
    """`display_path` for an absolute, normalised path given as text (no Path object needed)."""
    prefix = str(cwd).rstrip(os.sep) + os.sep
    text = absolute[len(prefix):] if absolute.startswith(prefix) else absolute
    return text.replace(os.sep, "/") if os.sep != "/" else text


def display_path(path: Path, cwd: Path) -> str:
    """Paths are shown relative to the working directory when below it, as ruff does."""
    text = os.path.abspath(path)
    prefix = str(cwd).rstrip(os.sep) + os.sep
    if text.startswith(prefix):
        text = text[len(prefix):]
    return text.replace(os.sep, "/") if os.sep != "/" else text
