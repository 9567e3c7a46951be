"""The GitHub Action's scan (action.yml), run by the Python of the Action's own environment.

One `preflight check` writes the annotations, the job summary and, when asked, the SARIF report. The
`paths` and `args` inputs are split as a POSIX shell splits words, and nothing is expanded, so that a
quoted value (`--ignore "HF001"`, a path with a space) stays one argument and no input is run as a
command. On pull-request events the cache is off unless the `cache` input says otherwise: a restored
cache there comes from the pull request, which is untrusted input. The step's outputs are the number
of findings and the SARIF file; its exit code is preflight's.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment")
# Reports the Action writes itself: the annotations (stdout) and the SARIF file.
OWN_OPTIONS = ("--format", "--output-file", "-o", "--sarif-output")


def _fail(message: str) -> int:
    """One annotation, whatever the inputs it quotes hold (a newline would start a workflow command)."""
    from preflight.report.github import escape_data

    print(f"::error title=preflight action::{escape_data(message)}")
    return 2


def command(environ: dict[str, str]) -> list[str] | str:
    """preflight's command line for the inputs, or the message saying why the inputs are wrong."""
    try:
        paths = shlex.split(environ.get("PREFLIGHT_PATHS", "")) or ["."]
        args = shlex.split(environ.get("PREFLIGHT_ARGS", ""))
    except ValueError as exc:
        return f"the paths or args input cannot be split into words: {exc}"
    own = [arg for arg in args if arg.split("=", 1)[0] in OWN_OPTIONS or (arg.startswith("-o") and arg != "-")]
    if own:
        return f"args must not set {own[0].split('=', 1)[0]}: the Action writes the annotations and the SARIF itself"
    if "\n" in environ.get("PREFLIGHT_SARIF", ""):
        return "the sarif input must be one file name"
    cache = environ.get("PREFLIGHT_CACHE", "auto").strip() or "auto"
    if cache not in ("auto", "true", "false"):
        return f"cache must be auto, true or false, not {cache!r}"
    line = [sys.executable, "-m", "preflight", "check", "--format", "github", *args]
    if cache == "false" or (cache == "auto" and environ.get("GITHUB_EVENT_NAME", "") in PULL_REQUEST_EVENTS):
        line.append("--no-cache")
    if environ.get("PREFLIGHT_SARIF"):
        line += ["--sarif-output", environ["PREFLIGHT_SARIF"]]
    return [*line, "--", *paths]


def main() -> int:
    line = command(dict(os.environ))
    if isinstance(line, str):
        return _fail(line)
    completed = subprocess.run(line, stdout=subprocess.PIPE, text=True, encoding="utf-8", check=False)
    sys.stdout.write(completed.stdout)
    findings = sum(1 for row in completed.stdout.splitlines() if row.startswith(("::error ", "::warning ",
                                                                                  "::notice ")))
    sarif = os.environ.get("PREFLIGHT_SARIF", "")
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as outputs:
            outputs.write(f"findings={findings}\n")
            outputs.write(f"sarif-file={sarif if sarif and os.path.isfile(sarif) else ''}\n")
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
