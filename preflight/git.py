"""git, run on a scanned repository so that nothing the repository configures can run.

A repository checked out from a pull request or unpacked from an archive brings its own `.git/config`,
and git obeys it: `core.fsmonitor` names a program that `git ls-files` and `git check-ignore` start,
hooks run when an index is written, `core.worktree` points the listing at another folder, and a
partial clone fetches missing objects through the remote's transport. So every command here
overrides those keys on the command line (which outranks every configuration file), reads no
system or global configuration (git then knows no program to start: no pager, no credential helper,
no external diff), runs with every transport disallowed, and accepts a repository only where git
discovers a working tree. The user's own global ignore file still applies, passed by name, so that
the files git ignores for the user stay ignored.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

# Keys whose values git runs, or that make it read or fetch outside the working tree, neutralised.
_OVERRIDES = (
    "core.fsmonitor=false",
    f"core.hooksPath={os.devnull}",
    "core.sshCommand=false",
    "core.gitProxy=",
    "credential.helper=",
    "diff.external=",
    # a repository owned by another user (a CI container's checkout) is read too: nothing it
    # configures can run, which is what git's ownership check protects against
    "safe.directory=*",
    "safe.bareRepository=explicit",
    "protocol.allow=never",
    *(f"protocol.{name}.allow=never" for name in ("file", "git", "ssh", "http", "https", "ext")),
)


def _environment() -> dict[str, str]:
    return {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "HOME": os.devnull,
            "XDG_CONFIG_HOME": os.devnull, "GIT_TERMINAL_PROMPT": "0", "GIT_NO_LAZY_FETCH": "1",
            "GIT_OPTIONAL_LOCKS": "0"}


def _global_excludes() -> tuple[str, ...]:
    return _excludes_file(os.environ.get("HOME"), os.environ.get("XDG_CONFIG_HOME"))


@functools.lru_cache(maxsize=4)
def _excludes_file(home: str | None, xdg_config_home: str | None) -> tuple[str, ...]:
    """`-c core.excludesFile=...` for the user's global ignore file, when there is one (git's default
    place, or the one the user's global configuration names)."""
    home = home or os.path.expanduser("~")
    xdg = xdg_config_home or os.path.join(home, ".config")
    configured = ""
    if os.path.isfile(os.path.join(home, ".gitconfig")) or os.path.isfile(os.path.join(xdg, "git", "config")):
        try:  # the user's own file, read outside any repository
            out = subprocess.run(["git", "--no-pager", "config", "--global", "--path", "--get", "core.excludesFile"],
                                 cwd=os.path.abspath(os.sep), capture_output=True, text=True, timeout=30,
                                 check=False, env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"})
            configured = out.stdout.strip() if out.returncode == 0 else ""
        except (OSError, subprocess.SubprocessError):
            pass
    configured = configured or os.path.join(xdg, "git", "ignore")
    return ("-c", f"core.excludesFile={configured}") if os.path.isfile(configured) else ()


def run(directory: Path, *args: str, timeout: float = 120, excludes: bool = False) -> subprocess.CompletedProcess:
    """`git -C directory ARGS`, with the overrides above; `excludes` adds the user's global ignore file.
    Raises OSError or subprocess.SubprocessError when git cannot be run."""
    command = ["git", "--no-pager", "-C", str(directory)]
    for override in _OVERRIDES:
        command += ["-c", override]
    if excludes:
        command += _global_excludes()
    return subprocess.run([*command, *args], capture_output=True, timeout=timeout, check=False, env=_environment(),
                          stdin=subprocess.DEVNULL)
