"""Where preflight's caches live (`.preflight_cache`: the facts database, remembered settings), and the
rules that keep writing there from writing anywhere else.

The folder comes with the scanned tree, which may be anyone's: a `.preflight_cache` that is a symbolic
link, or holds one, would send the cache's writes (SQLite creates and rewrites files) out of the tree,
into a database or a file the link names. So a cache folder is used only when it is a real folder of the
user running preflight that holds nothing but that user's regular files, none of them linked from
elsewhere; otherwise the run goes on without a cache and says why. What preflight creates there is
private: the folder 0700, its files 0600 (they describe the project's code).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _owner() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def _escape(directory: Path) -> str | None:
    """Where a link on the way leads `directory`, named inside the working directory (the tree preflight
    runs in), out of that tree: `--cache-dir build/cache` with a `build` link the tree holds. None when it
    stays inside, or was named outside the tree (the user's own choice, links and all)."""
    here = os.getcwd()
    named = os.path.abspath(directory)
    if not (named == here or named.startswith(here.rstrip(os.sep) + os.sep)):
        return None
    resolved = os.path.realpath(named)
    real_here = os.path.realpath(here)
    return None if resolved == real_here or resolved.startswith(real_here.rstrip(os.sep) + os.sep) else resolved


def refusal(directory: Path) -> str | None:
    """Why the cache must not be used in `directory`, or None (a folder that does not exist yet is fine:
    it is created private)."""
    elsewhere = _escape(directory)
    if elsewhere is not None:
        return f"a symbolic link leads it out of the working directory (to {elsewhere})"
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"it cannot be examined ({exc.strerror or type(exc).__name__})"
    if stat.S_ISLNK(info.st_mode):
        with contextlib.suppress(OSError):
            return f"it is a symbolic link (to {os.readlink(directory)})"
        return "it is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a folder"
    owner = _owner()
    if owner is not None and info.st_uid != owner:
        return f"it belongs to another user (uid {info.st_uid})"
    try:
        entries = list(os.scandir(directory))
    except OSError as exc:
        return f"it cannot be listed ({exc.strerror or type(exc).__name__})"
    for entry in entries:
        try:
            found = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # removed meanwhile (a concurrent run's temporary file)
        if stat.S_ISLNK(found.st_mode):
            return f"it holds a symbolic link ({entry.name})"
        if not stat.S_ISREG(found.st_mode):
            return f"it holds {entry.name}, which is not a regular file"
        if owner is not None and found.st_uid != owner:
            return f"it holds a file of another user ({entry.name})"
        if found.st_nlink > 1:
            return f"it holds a file linked from elsewhere ({entry.name})"
    return None


def prepare(directory: Path) -> None:
    """Create the folder (private) with its .gitignore, or make an existing one and its files private (an
    earlier version left them readable by everyone). OSError if it cannot be done."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(os.stat(directory).st_mode) != 0o700:
        os.chmod(directory, 0o700)
    for entry in os.scandir(directory):
        with contextlib.suppress(FileNotFoundError):  # a concurrent run's temporary file, gone meanwhile
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISREG(mode) and stat.S_IMODE(mode) != 0o600:
                os.chmod(entry.path, 0o600)
    ignore = directory / ".gitignore"
    if not os.path.lexists(ignore):
        with contextlib.suppress(FileExistsError):  # another run made it meanwhile
            write_private(ignore, "# created by preflight\n*\n", replace=False)


def private_file(path: Path) -> None:
    """Make sure `path` exists as a file only its owner can read (created empty if absent)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600))
    except FileExistsError:
        if stat.S_IMODE(os.lstat(path).st_mode) != 0o600:
            os.chmod(path, 0o600)


def write_private(path: Path, text: str, replace: bool = True) -> None:
    """Write `text` to `path`, readable by its owner only; with `replace`, all or nothing through
    preflight.writing (readers never see half of it), else as a new file (FileExistsError if there is
    one). OSError if it cannot be written."""
    if replace:
        from preflight import writing

        writing.replace(path, text, private=True)
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        with contextlib.suppress(OSError):  # a file cut short is no file: the next run makes it again
            os.unlink(path)
        raise
