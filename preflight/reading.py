"""Reading a file that preflight did not create: never block, never read without end.

A path that named a regular file a moment ago can be a FIFO, a device or a socket when it is
read: swapped during a scan, or named on purpose (`NETRC=<fifo>`, `--baseline /dev/zero`).
Opening a FIFO blocks until a writer comes, and a device can be read forever. So every reader of
preflight goes through `read_bytes`: it opens without blocking, checks what it opened (fstat:
the check and the read concern the same file, with no race between them), and stops at the size
limit its caller gives.
"""

from __future__ import annotations

import errno
import os
import stat

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class NotRegular(OSError):
    """The path is not a regular file (a FIFO, a device, a socket, a folder)."""


class TooLarge(OSError):
    """The file is larger than the reader's limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"larger than {describe_size(limit)} ({describe_size(size)})")
        self.size = size
        self.limit = limit


def describe_size(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size} bytes"


def read_bytes(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. Raises OSError (FileNotFoundError,
    PermissionError, NotRegular, TooLarge, ...) whose `strerror` says what went wrong."""
    descriptor = os.open(path, _FLAGS)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "of an unknown type")
            raise NotRegular(errno.EINVAL, f"not a regular file ({kind})")
        if info.st_size > limit:
            raise TooLarge(info.st_size, limit)
        chunks = []
        remaining = limit + 1  # a file that grows while it is read is still cut at the limit
        while remaining > 0:
            chunk = os.read(descriptor, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise TooLarge(len(data), limit)
        return data
    finally:
        os.close(descriptor)


def read_text(path: str | os.PathLike, limit: int) -> str:
    """`read_bytes` decoded as UTF-8; UnicodeDecodeError for anything else."""
    return read_bytes(path, limit).decode("utf-8")


def why(error: OSError) -> str:
    """What to tell the user about a failed read."""
    return error.strerror or type(error).__name__
