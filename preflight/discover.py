"""Which files a check looks at.

Inside a git repository the candidates are the tracked files plus the untracked ones git does not
ignore; elsewhere every file below the given directories. Then `exclude`/`extend-exclude` apply,
except to the paths the user named explicitly. Symbolic links are never followed out of the
scanned tree. A file passed explicitly (as pre-commit does) is checked in the context of its whole
project, so that a workflow and the script it runs are seen together.
"""

from __future__ import annotations

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


# The environment variables that change where git's discovery of a repository stops or starts.
_DISCOVERY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM")
_roots: dict[str, Path | None] = {}  # an absolute folder -> the top level git gave for it


def git_root(directory: Path) -> Path | None:
    """The top level of the working tree `directory` is in, or None. A top level that does not contain
    the directory (a repository whose `core.worktree` points elsewhere) is not one.

    git is asked once per repository, not once per folder (a commit can name files in a thousand
    folders). Its discovery walks up from the real folder to the first `.git` it accepts, without
    crossing into another file system; so a folder that is not a link, holds no `.git` and lies on
    its parent's file system has its parent's answer."""
    if ".." in Path(directory).parts or any(name in os.environ for name in _DISCOVERY_VARIABLES):
        return _ask_git_root(directory)
    walked: list[str] = []
    current, device = os.path.abspath(directory), None
    while True:
        if current in _roots:
            answer = _roots[current]
            break
        try:
            info = os.lstat(current)
        except OSError:
            answer = _ask_git_root(directory)
            break
        if device is not None and info.st_dev != device:  # git stops below a mount point
            answer = _ask_git_root(directory)
            break
        device = info.st_dev
        walked.append(current)
        parent = os.path.dirname(current)
        if stat.S_ISLNK(info.st_mode) or os.path.lexists(os.path.join(current, ".git")) or parent == current:
            answer = _ask_git_root(directory)
            break
        current = parent
    _roots.update(dict.fromkeys(walked, answer))
    return answer


def _ask_git_root(directory: Path) -> Path | None:
    directory = directory.resolve()
    try:
        out = git.run(directory, "rev-parse", "--show-toplevel", timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.decode("utf-8", errors="surrogateescape").strip()
    if out.returncode != 0 or not text:
        return None
    top = Path(text).resolve()
    return top if _inside(directory, top) else None


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
        dirs[:] = sorted(d for d in dirs if d != ".git" and not excluded(Path(current) / d, True))
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
    explicit_files: list[str] = []  # absolute POSIX paths: a commit can name thousands of files
    directories: list[Path] = []
    for raw in paths:
        try:
            is_dir = stat.S_ISDIR(os.stat(raw).st_mode)
        except OSError:
            if not os.path.islink(raw):
                raise DiscoveryError(f"{raw}: no such file or directory") from None
            is_dir = False
        path = Path(raw)
        path = path if path.is_absolute() else path.absolute()
        if is_dir:
            directories.append(path)
        else:
            explicit_files.append(path.as_posix())
    patterns = globs.pattern_set(tuple(exclude))
    base_text = base.as_posix().rstrip("/") + "/"
    holds_named: set[Path] = set()  # the named paths and every folder above them, built when first needed

    def excluded(path: Path, is_dir: bool = False) -> bool:
        return bool(patterns) and excluded_text(path.absolute().as_posix(), is_dir)

    def excluded_text(absolute: str, is_dir: bool = False) -> bool:
        # outside the configuration's folder only unanchored patterns can match the full path
        relative = absolute[len(base_text):] if absolute.startswith(base_text) else absolute.lstrip("/")
        prefix = patterns.matching_prefix(relative, is_dir)
        if prefix is None:
            return False
        matched = (base / prefix if absolute.startswith(base_text) else Path("/" + prefix)).resolve()
        if not holds_named:
            named = [*directories, *([] if force_exclude else map(Path, explicit_files))]
            holds_named.update(folder for path in named for folder in (path.resolve(), *path.resolve().parents))
        return matched not in holds_named  # never exclude what the user named, nor a folder holding it

    def listing(directory: Path, lazy_python: list[str] | None = None) -> list[str]:
        """The directory's files as absolute POSIX paths; with `lazy_python`, Python files go there instead."""
        top = git_root(directory)
        tracked = top is not None and (top == directory.resolve() or not _git_ignored(directory))
        names = _git_names(directory) if tracked else None
        prefix = directory.as_posix().rstrip("/") + "/"
        absolutes = [prefix + name for name in names] if names is not None else _walk(directory, excluded)
        boundary = directory.resolve()
        kept = []
        for absolute in absolutes:
            kind = classify.kind_by_path(posixpath.basename(absolute))
            if kind is None:
                continue
            if (patterns and excluded_text(absolute)) or not _safe(absolute, boundary):
                continue
            if lazy_python is not None and kind == classify.PYTHON:
                lazy_python.append(absolute)
            else:
                kept.append(absolute)
        return kept

    collected: dict[str, None] = {}
    for directory in directories:
        collected.update(dict.fromkeys(listing(directory)))
    reported: set[str] | None = None
    pins = [f.as_posix() for d in directories for f in _pin_files(project_root(d))]
    if any(pin not in collected for pin in pins):  # a folder below the project root runs with the root's pins
        reported = set(collected)
        collected.update(dict.fromkeys(pins))
    if not explicit_files and not context_of:
        return _discovery(collected, reported)
    roots: dict[str, tuple[Path, Path]] = {}  # a folder -> its project root, and that resolved
    resolved: dict[Path, Path] = {}

    def root_of(file: str) -> tuple[Path, Path]:
        folder = posixpath.dirname(file)
        if folder not in roots:  # once per folder
            root = project_root(Path(file))
            if root not in resolved:
                resolved[root] = root.resolve()
            roots[folder] = (root, resolved[root])
        return roots[folder]

    lazy: list[str] = []
    context = {p.as_posix() for p in context_of}
    listed: dict[str, None] = {}
    for root in dict.fromkeys(root_of(f)[0] for f in [*explicit_files, *context]):
        listed.update(dict.fromkeys(f for f in listing(root, lazy) if f not in context))
    vetted = {*listed, *lazy}  # the listing kept these: a known kind, safe, not excluded (or named)
    reported = set(collected)
    for file in explicit_files:
        if file not in vetted:
            if classify.kind_by_path(posixpath.basename(file)) is None or not _safe(file, root_of(file)[1]):
                continue
            if force_exclude and patterns and excluded_text(file):
                continue
        reported.add(file)
        collected[file] = None
    collected.update(listed)
    return _discovery(collected, reported, [p for p in dict.fromkeys(lazy) if p not in collected and p not in context])


def _discovery(collected: dict[str, None], reported: set[str] | None, lazy_python: list[str] = ()) -> Discovery:
    files = {text: Path(text) for text in collected}
    return Discovery(list(files.values()), None if reported is None else {files[text] for text in reported},
                     list(lazy_python))


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
