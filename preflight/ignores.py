"""`--add-ignores`: write `# preflight: ignore[...]` comments for the current findings (to adopt
preflight on an existing code base and fix the findings over time)."""

from __future__ import annotations

import re

from preflight import classify
from preflight.findings import Edit, Finding, Fix, Location
from preflight.sourcelines import SourceLines

_DIRECTIVE = re.compile(r"#\s*preflight:\s*ignore\[(?P<codes>[^\]]*)\](?P<reason>.*)$")
_LINE_ABOVE = {classify.DOCKERFILE, classify.DOTENV}  # no trailing comments in these
_NO_COMMENTS = {"json"}


def fixes(findings: list[Finding], lines: SourceLines, reason: str = "") -> tuple[list[Fix], int]:
    """One fix per flagged line, its comment that suppresses the line's findings (preflight.fixes applies
    them); also how many findings cannot be suppressed inline."""
    by_line: dict[tuple[str, int], list[str]] = {}
    for finding in findings:
        codes = by_line.setdefault((finding.location.path, finding.location.line), [])
        if finding.code not in codes and finding.code != "PF001":
            codes.append(finding.code)
    result, skipped = [], 0
    for (path, number), codes in sorted(by_line.items()):
        text = lines.get(path, number)
        kind = classify.kind_by_path(path)
        if not codes:
            continue
        if text is None or kind in _NO_COMMENTS or text.rstrip().endswith("\\"):
            skipped += len(codes)
            continue
        existing = _DIRECTIVE.search(text)
        if existing:
            merged = [c.strip() for c in existing.group("codes").split(",") if c.strip()]
            merged += [c for c in codes if c not in merged]
            start = existing.start() + 1
            location = Location(path, number, start, number, len(text) + 1)
            replacement = f"# preflight: ignore[{', '.join(merged)}]{existing.group('reason')}"
            result.append(Fix("add the codes to the ignore comment", (Edit(location, replacement),)))
            continue
        comment = f"# preflight: ignore[{', '.join(codes)}]" + (f" {reason}" if reason else "")
        if kind in _LINE_ABOVE:
            indent = text[: len(text) - len(text.lstrip())]
            edit = Edit(Location(path, number, 1, number, 1), f"{indent}{comment}\n")
        else:
            end = len(text.rstrip()) + 1
            edit = Edit(Location(path, number, end, number, len(text) + 1), f"  {comment}")
        result.append(Fix("add an ignore comment", (edit,)))
    return result, skipped
