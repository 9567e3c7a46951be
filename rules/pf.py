"""PF: preflight's own diagnostics, about the scan rather than the project: files it cannot read (PF001) and
inline suppressions that suppress nothing (PF002)."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.findings import Finding, Fix, Severity
from preflight.model import ParseError, ParseProblem
from preflight.project import Project
from preflight.rule import Bad, Good, Rule, rule_by_key
from preflight.suppress import Suppression


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
            yield self.finding(error.location, f"{error.message}: {_REMEDIES[error.problem]}")


_REMEDIES = {
    ParseProblem.SYNTAX: "fix the file so that it parses",
    ParseProblem.UNREADABLE: "make it readable to the user who runs preflight, or exclude it",
    ParseProblem.TOO_LARGE: "exclude it (extend-exclude) if it is generated, or split it",
}


class UnusedSuppression(Rule):
    """Judges the inline suppressions, not the project: which of them suppressed nothing can only be known after
    every other rule has run and its findings were matched against the suppressions. So `check` finds nothing,
    and the filter stage calls `unused` for each suppression at its end (preflight/filtering.py), after
    applying the per-file ignores to PF002 there. A PF002 finding cannot itself be suppressed inline."""

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
            expect="train.py:3:36", also_select=("WB001",),
            fixed="import wandb\n\nrun = wandb.init(name='baseline')\n"),
        Good("train.py", "import wandb\n\nrun = wandb.init()  # preflight: ignore[WB001] named by the sweep\n",
             also_select=("WB001",)),
    ]

    autofix = "Removes the unused codes, or the whole comment when none is left."
    fixes = ("safe",)
    fix_safety = "Safe: the codes removed suppressed nothing, so every run reports what it did before."

    def check(self, project: Project) -> Iterator[Finding]:
        return iter(())  # see the class docstring: the engine calls `unused` after filtering

    def unused(self, suppression: Suppression, used: set[tuple[Suppression, str]],
               enabled_codes: set[str]) -> list[Finding]:
        """The findings for one suppression, given `used`, the (suppression, code or name) pairs that suppressed a
        finding of the enabled rules (`enabled_codes`): a code-less one that matched nothing, and each listed code
        that is no rule or that matched no finding of its rule (when that rule ran)."""
        if suppression.codes is None:
            if any(s is suppression for s, _ in used):
                return []
            fix = Fix("remove the unused suppression", (suppression.without(set()),))
            return [self.finding(suppression.location, "`# preflight: ignore` suppresses nothing on line "
                                 f"{suppression.target_line}: remove it", fix=fix)]
        messages: list[tuple[str, str]] = []
        for code in suppression.codes:
            target = rule_by_key(code)
            if target is None:
                messages.append((code, f"`{code}` in this suppression is not a preflight rule: fix the code or "
                                       "remove it"))
            elif target.code in enabled_codes and (suppression, code) not in used:
                messages.append((code, f"the suppression of {target.code} ({target.name}) matches no finding on "
                                       f"line {suppression.target_line}: remove it"))
        if not messages:
            return []
        fix = Fix("remove the unused codes", (suppression.without({code for code, _ in messages}),))
        return [self.finding(suppression.location, message, fix=fix if index == 0 else None)
                for index, (_, message) in enumerate(messages)]
