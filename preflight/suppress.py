"""Inline suppressions: `# preflight: ignore[CODE, CODE2] optional reason`.

A comment on a line with code suppresses findings on that line; a comment alone on its line
suppresses findings on the next line (several such comments may stack). `# preflight: ignore`
without codes suppresses every code. A suppression that suppresses nothing is reported (PF002).
"""

from __future__ import annotations

import re
import tokenize
from dataclasses import dataclass

from preflight import linebreaks
from preflight.findings import Edit, Finding, Location

_DIRECTIVE = re.compile(r"#\s*preflight:\s*ignore(?:\[(?P<codes>[^\]]*)\])?(?P<reason>.*)$", re.IGNORECASE)
_YAML_COMMENT = re.compile(r"(?:^|\s)(#.*)$")


@dataclass(frozen=True, slots=True)
class Suppression:
    location: Location  # the comment
    target_line: int
    codes: tuple[str, ...] | None  # None: every code
    reason: str = ""
    alone: bool = False  # the comment is the only thing on its line
    gap: int = 0  # whitespace between the code and a trailing comment

    def without(self, unused: set[str]) -> Edit:
        """The edit that drops `unused` codes: the whole comment (or line) when nothing is left."""
        loc = self.location
        kept = [c for c in self.codes or () if c not in unused]
        if kept:
            reason = f" {self.reason}" if self.reason else ""
            return Edit(loc, f"# preflight: ignore[{', '.join(kept)}]{reason}")
        if self.alone:
            return Edit(Location(loc.path, loc.line, 1, loc.line + 1, 1), "")
        return Edit(Location(loc.path, loc.line, loc.column - self.gap, loc.line, loc.end_column), "")

    def matches(self, finding: Finding) -> bool:
        return finding.location.line == self.target_line and (
            self.codes is None or any(finding.code == c or finding.name == c for c in self.codes)
        )


def _parse(comment: str) -> tuple[tuple[str, ...] | None, str] | None:
    match = _DIRECTIVE.search(comment)
    if not match:
        return None
    codes = match.group("codes")
    parsed = None if codes is None else tuple(c.strip().upper() if c.strip()[:1].isalpha() and c.strip()[-1:].isdigit()
                                              else c.strip() for c in codes.split(",") if c.strip())
    return parsed, match.group("reason").strip(" :-")


def _comments_python(text: str) -> list[tuple[int, int, str, bool]]:
    """(line, column, comment, alone_on_line) for every comment token. The tokenizer is given the lines as
    Python breaks them (a lone \\r too, which a readline of the text would not break at)."""
    result = []
    lines = [line.rstrip("\r\n") + "\n" for line in linebreaks.split(text, linebreaks.PYTHON, keepends=True)]
    try:
        for token in tokenize.generate_tokens(iter(lines).__next__):
            if token.type == tokenize.COMMENT:
                alone = not token.line[: token.start[1]].strip()
                result.append((token.start[0], token.start[1] + 1, token.string, alone))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return result


def _comments_hash(text: str, syntax: str) -> list[tuple[int, int, str, bool]]:
    """Comments of YAML, shell and Dockerfiles: a `#` at line start or after whitespace."""
    result = []
    for number, line in enumerate(linebreaks.split(text, syntax), start=1):
        if "#" not in line:
            continue
        match = _YAML_COMMENT.search(line)
        if match:
            start = match.start(1)
            result.append((number, start + 1, match.group(1), not line[:start].strip()))
    return result


def find(path: str, text: str, language: str) -> list[Suppression]:
    if "preflight" not in text:
        return []
    """`language`: "python", "yaml" or "hash" (shell, Makefiles, Dockerfiles, .env: lines break at \\n only)."""
    syntax = {"python": linebreaks.PYTHON, "yaml": linebreaks.YAML}.get(language, linebreaks.NEWLINE)
    comments = _comments_python(text) if language == "python" else _comments_hash(text, syntax)
    result: list[Suppression] = []
    lines = linebreaks.split(text, syntax)
    standalone_lines = {line for line, _, _, alone in comments if alone}
    for line, column, comment, alone in comments:
        parsed = _parse(comment)
        if parsed is None:
            continue
        codes, reason = parsed
        location = Location(path, line, column, line, column + len(comment.rstrip()))
        if not alone:
            before = lines[line - 1][: column - 1] if line <= len(lines) else ""
            gap = len(before) - len(before.rstrip())
            result.append(Suppression(location, line, codes, reason, False, gap))
            continue
        target = line + 1  # the next line that is not itself a comment
        while target in standalone_lines:
            target += 1
        result.append(Suppression(location, target, codes, reason, True))
    return result
