"""Run a rule's documented example for real: the tests assert on it, `preflight explain` and the
rules reference show the messages it produces, so documentation and behaviour cannot drift."""

from __future__ import annotations

import tempfile
from pathlib import Path

from preflight.findings import Finding
from preflight.rule import Example, Rule


def write(example: Example, rule: type[Rule], root: Path) -> None:
    files = dict(example.files)
    if example.options:
        values = "".join(f"{key} = {str(value).lower() if isinstance(value, bool) else repr(value)}\n"
                         for key, value in example.options.items())
        files["pyproject.toml"] = f"[tool.preflight.rules.{rule.code}]\n{values}"
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def run(rule: type[Rule], example: Example) -> list[Finding]:
    """The findings of `rule` on the example's files, checked in a fresh temporary folder."""
    from preflight import engine

    with tempfile.TemporaryDirectory(prefix="preflight-example-") as folder:
        root = Path(folder)
        write(example, rule, root)
        result = engine.check(["."], select=[rule.code, *example.also_select], cwd=root)
        return [f for f in result.findings if f.code == rule.code]


def fixed(rule: type[Rule], example: Example, *, unsafe: bool = False, rounds: int = 1) -> dict[str, str]:
    """The example's files after its fixes were applied `rounds` times (`--fix`, or `--unsafe-fixes` with
    `unsafe`), each round a fresh check of the files as the last one left them; also, under the key "", the
    findings of `rule` that remain (`path:line:col`, one a line)."""
    from preflight import api, engine

    with tempfile.TemporaryDirectory(prefix="preflight-example-") as folder:
        root = Path(folder)
        write(example, rule, root)
        select = [rule.code, *example.also_select]
        for _ in range(rounds):
            result = engine.check(["."], select=select, cwd=root)
            api.write_changes([c for c in api.plan_fixes(result, unsafe=unsafe) if c.after != c.before], root)
        result = engine.check(["."], select=select, cwd=root)
        left = [f"{f.location.path}:{f.location.line}:{f.location.column}" for f in result.findings
                if f.code == rule.code]
        texts = {relative: (root / relative).read_text(encoding="utf-8") for relative in example.files}
        return {**texts, "": "\n".join(left)}
