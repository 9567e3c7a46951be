"""Writing a file: all of it or none of it.

Everything preflight writes (fixed files, suppression comments, baselines, reports, the job summary, the
cache's settings) goes through `replace` or `replace_all`. Writing a file in place truncates it first: a
full disk, a file size limit or a crash midway leaves a file cut short (a 1,501-line script kept 836
lines, a baseline became invalid JSON). So the new content is written to a temporary file in the same
folder, flushed to the disk, given the original's mode (and owner, where allowed), and renamed over the
original, which a rename replaces at once. When any step fails, the temporary file is removed, the
original is as it was, and `WriteError` says why.

What is not a regular file (`-o /dev/stdout`, a FIFO a reader waits on) cannot be replaced: it is written
to directly, as the user asked, since there is no content of its own to lose. A symbolic link is written
through (its target is replaced, the link stays), except for a private file (`private=True`, the
cache's), which is never written through a link, and except where a link came with the scanned tree:
with `within` (the working directory), a path inside it that a link (the file's or a folder's on the way)
leads out of it is refused. A repository can hold `report.sarif -> ~/.bashrc`; `-o report.sarif` must
not overwrite what the link names.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class WriteError(OSError):
    """A file could not be written; the original (if any) is unchanged. `str()` says which and why."""

    def __init__(self, path: str | os.PathLike, why: str) -> None:
        from preflight import display  # the name may come from the scanned tree: shown as every report shows it

        super().__init__(f"cannot write {display.path(os.fspath(path))}: {why}; nothing was written there")
        self.path = os.fspath(path)
        self.why = why


def _shown(path: str | os.PathLike) -> str:
    from preflight import display

    return display.path(os.fspath(path))


def _why(error: OSError, path: Path) -> str:
    if isinstance(error, FileNotFoundError) and not path.parent.is_dir():
        return f"the folder {_shown(path.parent)} does not exist"
    return error.strerror or type(error).__name__


def _target(path: Path, private: bool) -> tuple[Path, os.stat_result | None]:
    """Where the content goes (a link's target unless `private`) and what is there now."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path, None
    if stat.S_ISLNK(info.st_mode) and not private:
        try:
            followed = os.stat(path)
        except FileNotFoundError:  # a link to a file still to be made
            return Path(os.path.realpath(path)), None
        if not stat.S_ISREG(followed.st_mode):  # /dev/stdout: opened through the link, written directly
            return path, followed
        return Path(os.path.realpath(path)), followed
    return path, info


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _escapes(path: Path, within: Path) -> str | None:
    """Where a link leads `path`, which lies in `within`, out of it (None when it does not)."""
    if not _inside(os.path.abspath(path), os.path.abspath(within)):
        return None  # named outside the tree: the user's own links are followed
    resolved = os.path.realpath(path)
    return None if _inside(resolved, os.path.realpath(within)) else resolved


def _stage(path: Path, data: bytes, private: bool, within: Path | None = None) -> tuple[Path, Path | None]:
    """Write `data` where it belongs: (the final path, the temporary file to rename there), or (path,
    None) when it was written directly (not a regular file). Raises WriteError, leaving nothing behind."""
    if within is not None and (elsewhere := _escapes(path, within)) is not None:
        raise WriteError(path, f"a symbolic link leads it out of {_shown(within)} (to {_shown(elsewhere)})")
    target, existing = _target(path, private)
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise WriteError(path, "it is a folder")
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        if private:
            raise WriteError(path, "it is not a regular file")
        try:  # a device or a FIFO: nothing of its own to lose, and no rename can replace it
            descriptor = os.open(target, os.O_WRONLY | _CLOEXEC)
            try:
                _write_all(descriptor, data)
            finally:
                os.close(descriptor)
        except OSError as exc:
            raise WriteError(path, _why(exc, target)) from None
        return target, None
    if existing is not None and not private and not existing.st_mode & 0o222:
        raise WriteError(path, "the file is read-only")  # a rename could replace it: it is not ours to
    temporary = target.with_name(f".{target.name}.{os.urandom(4).hex()}.preflight-tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                             0o600 if private else 0o666)
    except OSError as exc:
        raise WriteError(path, _why(exc, target)) from None
    try:
        try:
            if existing is not None and not private:
                if hasattr(os, "fchown") and (existing.st_uid, existing.st_gid) != os.fstat(descriptor)[4:6]:
                    with contextlib.suppress(OSError):  # only the owner's group, or root, may keep them
                        os.fchown(descriptor, existing.st_uid, existing.st_gid)
                if hasattr(os, "fchmod"):
                    os.fchmod(descriptor, stat.S_IMODE(existing.st_mode))
            _write_all(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise WriteError(path, _why(exc, target)) from None
    return target, temporary


def _sync_folder(folder: Path) -> None:
    """Make the renames durable (POSIX; elsewhere the rename is all there is)."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def replace_all(contents: list[tuple[Path, bytes]], private: bool = False, within: Path | None = None) -> None:
    """Write every file or none: all new contents are written to temporary files first, and only when all
    of them are on the disk are they renamed over the originals. WriteError for the first that fails
    (the others are then removed, and no original has changed)."""
    staged: list[tuple[Path, Path | None]] = []
    try:
        for path, data in contents:
            staged.append(_stage(Path(path), data, private, within))
    except WriteError:
        for _, temporary in staged:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
        raise
    for index, (target, temporary) in enumerate(staged):
        if temporary is None:
            continue
        try:
            os.replace(temporary, target)
        except OSError as exc:
            for _, later in staged[index:]:
                if later is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(later)
            raise WriteError(contents[index][0], _why(exc, target)) from None
    for folder in {target.parent for target, temporary in staged if temporary is not None}:
        _sync_folder(folder)


def replace(path: str | os.PathLike, data: bytes | str, private: bool = False, within: Path | None = None) -> None:
    """Write `data` (text is written as UTF-8) to `path`, all or nothing; with `private`, the file is the
    owner's alone (0600) and a symbolic link at `path` is refused, never written through; with `within`, a
    link in that folder that leads out of it is refused."""
    replace_all([(Path(path), data.encode("utf-8") if isinstance(data, str) else data)], private, within)


def append(path: str | os.PathLike, text: str, limit: int = 64 << 20) -> None:
    """Add `text` at the end of the file at `path` (created if absent), all or nothing: the file is read
    and replaced whole, so a failure never leaves half of `text` at its end."""
    from preflight import reading

    try:
        before = reading.read_bytes(path, limit)
    except FileNotFoundError:
        before = b""
    except reading.NotRegular:  # a FIFO or a device: written to directly by replace
        before = b""
    except OSError as exc:
        raise WriteError(path, reading.why(exc)) from None
    replace(path, before + text.encode("utf-8"))
