"""`--add-ignores`: write `# preflight: ignore[...]` comments for the current findings (to adopt
preflight on an existing code base and fix the findings over time).

A comment goes where the file's syntax lets it stand without changing what the file says: at the end
of the flagged line, or alone on the line above it (which suppresses the next line). In YAML a comment
ends a plain scalar and is content inside a quoted one, so a line a multi-line scalar continues past
gets its comment on the line above, and a line inside such a scalar gets none (it is counted as not
suppressible inline). preflight.fixes still refuses a comment that would change the parse.
"""

from __future__ import annotations

import re

from preflight import classify, linebreaks
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
    spans: dict[str, list[tuple[int, int]]] = {}
    for (path, number), codes in sorted(by_line.items()):
        text = lines.get(path, number)
        kind = classify.kind_by_path(path)
        if not codes:
            continue
        if text is None or kind in _NO_COMMENTS or text.rstrip().endswith("\\") or _lone_return(path, text):
            skipped += len(codes)
            continue
        if path not in spans:
            spans[path] = _scalar_spans(path, lines)
        inside = [(start, end) for start, end in spans[path] if start <= number <= end]
        trailing = not any(start <= number < end for start, end in inside)
        above = not any(start < number <= end for start, end in inside)
        if not trailing and not above:
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
        if kind in _LINE_ABOVE or not trailing:
            indent = text[: len(text) - len(text.lstrip())]
            edit = Edit(Location(path, number, 1, number, 1), f"{indent}{comment}\n")
        else:
            end = len(text.rstrip()) + 1
            edit = Edit(Location(path, number, end, number, len(text) + 1), f"  {comment}")
        result.append(Fix("add an ignore comment", (edit,)))
    return result, skipped


def _lone_return(path: str, text: str) -> bool:
    """A line of a file whose syntax breaks lines at \\n only (shell, Makefiles, .env) that holds a lone
    \\r: an editor shows the \\r as a line break, so a comment at the end of the line the syntax reads
    (a file of \\r line ends is one line) lands after what the reader sees as another line."""
    return "\r" in text and linebreaks.of_path(path) == linebreaks.NEWLINE


def _scalar_spans(path: str, lines: SourceLines) -> list[tuple[int, int]]:
    """(first line, last line), 1-based, of each plain or quoted YAML scalar written over several lines;
    none for a file of another syntax, or YAML that does not parse (preflight.fixes refuses it)."""
    if linebreaks.of_path(path) != linebreaks.YAML:
        return []
    read = lines.text(path)
    if read is None:
        return []
    from preflight.sources import yamltree

    try:
        documents = yamltree.compose_documents(read[0])
    except ValueError:
        return []
    found, seen, stack = [], set(), list(documents)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.value, list):
            for item in node.value:
                stack.extend(item if isinstance(item, tuple) else (item,))
        elif getattr(node, "style", None) not in ("|", ">") and node.end_mark.line > node.start_mark.line:
            found.append((node.start_mark.line + 1, node.end_mark.line + 1))
    return found
