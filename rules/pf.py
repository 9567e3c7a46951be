"""PF: preflight's own diagnostics, about the scan rather than the project: files it cannot read (PF001) and
inline suppressions that suppress nothing (PF002)."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Severity
from preflight.model import ParseError
from preflight.project import Project
from preflight.rule import Bad, Good, Rule


class UnparsableFile(Rule):
    code = "PF001"
    name = "unparsable-file"
    severity = Severity.ERROR
    summary = "A file of a known kind cannot be read or parsed"
    why = (
        "preflight cannot check what it cannot parse, and neither can the tool that will read the file at "
        "launch: a workflow with a YAML error never starts, a training script with a syntax error dies at "
        "import, an Axolotl config that does not parse fails before any GPU work. The message says what is "
        "wrong and where; the rest of the scan goes on."
    )
    examples = [
        Bad("train.py", "import wandb\n\ndef main(:\n    wandb.init(name='x')\n", expect="train.py:3:10"),
        Bad(".github/workflows/train.yml", "on: push\njobs:\n  train:\n    steps:\n      - run: echo\n     - run: x\n",
            expect=".github/workflows/train.yml:6:6"),
        Good("train.py", "import wandb\n\ndef main():\n    wandb.init(name='baseline')\n"),
    ]

    def check(self, project: Project) -> Iterator[Finding]:
        for error in project.facts(ParseError):
            yield self.finding(error.location, f"{error.message}: fix the file so that it parses")


class UnusedSuppression(Rule):
    """Reported by the engine after suppressions are applied."""

    code = "PF002"
    name = "unused-suppression"
    severity = Severity.WARNING
    summary = "An inline `# preflight: ignore[...]` comment suppresses nothing"
    why = (
        "A suppression that no longer matches a finding hides the next real finding on that line and "
        "misleads readers into thinking a problem was reviewed. Remove it, or fix its code."
    )
    examples = [
        Bad("train.py", "import wandb\n\nrun = wandb.init(name='baseline')  # preflight: ignore[WB001]\n",
            expect="train.py:3:36", also_select=("WB001",)),
        Good("train.py", "import wandb\n\nrun = wandb.init()  # preflight: ignore[WB001] named by the sweep\n",
             also_select=("WB001",)),
    ]

    autofix = "Removes the unused codes, or the whole comment when none is left. Safe: it suppressed nothing."

    def check(self, project: Project) -> Iterator[Finding]:
        return iter(())
