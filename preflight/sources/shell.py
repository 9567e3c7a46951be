"""A small model of shell command lines: enough to see which program a launcher runs and with what env.

It understands what training launchers actually contain: backslash continuations, `&&`/`;`/`|`
lists, `VAR=x cmd` prefixes, `export`, `cd`, redirections (`>> $GITHUB_ENV`), heredocs (skipped),
comments, and the keywords of `if`/`for`/`while` blocks. It never runs anything.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
_SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", ";;", "|&"}
_REDIRECTS = {">", ">>", "<", ">&", "&>", "<<", "<<<", ">|", "&>>"}
_LEADING_KEYWORDS = {"then", "else", "do", "{", "!", "if", "while", "until", "elif"}
_SKIPPED_KEYWORDS = {"for", "case", "fi", "done", "esac", "}", "function", "select"}


@dataclass(slots=True)
class SimpleCommand:
    argv: list[str]
    offset: int  # where the command's first word is written in the script
    env: dict[str, str] = field(default_factory=dict)  # `VAR=x cmd` prefixes
    redirects: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""  # the logical line it comes from, for messages
    in_loop: bool = False  # inside a `for`/`while`/`until` body: it may run several times
    env_offsets: dict[str, int] = field(default_factory=dict)  # where each `VAR=x` prefix is written
    word_offsets: list[int | None] = field(default_factory=list)  # where each word of argv is written


def _logical_lines(script: str) -> list[tuple[int, str]]:
    """(offset, text) of each logical line: continuations joined, heredoc bodies dropped."""
    result: list[tuple[int, str]] = []
    physical = script.split("\n")
    offset = 0
    index = 0
    pending_start: int | None = None
    pending: list[str] = []
    heredoc_end: str | None = None
    while index < len(physical):
        line = physical[index]
        line_offset = offset
        offset += len(line) + 1
        index += 1
        if heredoc_end is not None:
            if line.strip() == heredoc_end:
                heredoc_end = None
            continue
        if pending_start is None:
            pending_start = line_offset
        stripped = line.rstrip()
        if stripped.endswith("\\") and not stripped.endswith("\\\\"):
            # the backslash, any trailing blanks and the newline become blanks: offsets in the joined
            # line stay offsets in the script
            pending.append(stripped[:-1] + " " * (len(line) - len(stripped) + 2))
            continue
        pending.append(line)
        text = "".join(pending)
        result.append((pending_start, text))
        pending, pending_start = [], None
        match = _HEREDOC.search(text)
        if match:
            heredoc_end = match.group(2)
    if pending:
        result.append((pending_start or 0, "".join(pending)))
    return result


def _tokens(text: str) -> list[str] | None:
    masked, hidden = _hide_substitutions(text)
    lexer = shlex.shlex(masked, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: not something we can read
        return None
    if hidden:  # each run of one mask character becomes its substitution again, in one pass over each token
        originals = {mask[0]: original for mask, original in hidden}
        restore = _MASKED_RUN.sub
        tokens = [restore(lambda run: originals.get(run.group(1), run.group(0)), token)
                  if _MASKED_RUN.search(token) else token for token in tokens]
    return tokens


_MASK = 0xE000  # private-use characters: a `$( ... )` stands in the line as one run of them, same length
_MASKED_RUN = re.compile("([\ue000-\ue0ff])\\1*")


def _hide_substitutions(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Command substitutions (`$(pwd)`, `$(dirname "$0")`) hidden from the lexer, which would split them at
    their parentheses: each becomes a run of one private-use character of its own length, so offsets in the
    line stay offsets in the script; the tokens get the original text back."""
    hidden: list[tuple[str, str]] = []
    out: list[str] = []
    index = 0
    while index < len(text):
        start = text.find("$(", index)
        if start < 0 or len(hidden) >= 256:
            out.append(text[index:])
            break
        depth, end = 0, start + 1
        while end < len(text):
            if text[end] == "(":
                depth += 1
            elif text[end] == ")":
                depth -= 1
                if depth == 0:
                    break
            end += 1
        if end >= len(text):  # unbalanced: leave it to the lexer
            out.append(text[index:])
            break
        original = text[start:end + 1]
        mask = chr(_MASK + len(hidden)) * len(original)
        hidden.append((mask, original))
        out.append(text[index:start] + mask)
        index = end + 1
    return "".join(out), hidden


class _Loops:
    """Tracks `for/while/until ... do ... done` nesting across lines."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending = 0

    def see(self, words: list[str]) -> None:
        for index, word in enumerate(words):
            if index == 0 or words[index - 1] in ("do", "then", "else", "{"):
                if word in ("for", "while", "until", "select"):
                    self.pending += 1
                elif word == "do" and self.pending:
                    self.pending -= 1
                    self.depth += 1
                elif word == "done" and self.depth:
                    self.depth -= 1


def parse(script: str, limit: int | None = None) -> list[SimpleCommand]:
    """The script's simple commands; with `limit`, parsing stops once there are more than that many."""
    commands: list[SimpleCommand] = []
    loops = _Loops()
    for line_offset, text in _logical_lines(script):
        if limit is not None and len(commands) > limit:
            break
        tokens = _tokens(text)
        if not tokens:
            continue
        stripped = text.strip()  # once per line: one line can hold thousands of commands
        search_from = 0
        current: list[str] = []
        redirects: list[tuple[str, str]] = []
        expect_target: str | None = None

        def flush() -> None:
            nonlocal current, redirects, search_from
            if current:
                command = _simple_command(current, redirects, text, line_offset, search_from, stripped)
                if command is not None:
                    command.in_loop = loops.depth > 0 or (loops.pending > 0 and current[0] == "do")
                    search_from = command.offset - line_offset + 1
                    commands.append(command)
                loops.see(current)
            current, redirects = [], []

        for token in tokens:
            if expect_target is not None:
                redirects.append((expect_target, token))
                expect_target = None
            elif token in _REDIRECTS:
                expect_target = token
            elif token in _SEPARATORS:
                flush()
            else:
                current.append(token)
        flush()
    return commands


# How far past the cursor a word is looked for in its line. A word written without quotes is found where
# it is; one that is not (quoted, escaped) would otherwise cost a scan of the rest of the line, and a line
# of thousands of commands would cost their square.
_SEARCH_WINDOW = 64 << 10


def _find(text: str, word: str, start: int) -> int:
    return text.find(word, start, start + 4 * len(word) + _SEARCH_WINDOW)


def _simple_command(words: list[str], redirects, text: str, line_offset: int, search_from: int,
                    stripped: str) -> SimpleCommand | None:
    start = 0
    while start < len(words) and words[start] in _LEADING_KEYWORDS:
        start += 1
    if start == len(words) or words[start] in _SKIPPED_KEYWORDS:
        return None
    env: dict[str, str] = {}
    env_offsets: dict[str, int] = {}
    while start < len(words) - 1 and _ASSIGNMENT.match(words[start]):
        name, _, value = words[start].partition("=")
        env[name] = value
        found = _find(text, name + "=", search_from)
        if found >= 0:
            env_offsets[name] = line_offset + found
            search_from = found + len(name) + 1
        start += 1
    words = words[start:]
    first = words[0] if not (len(words) == 1 and _ASSIGNMENT.match(words[0])) else words[0].split("=")[0]
    found = _find(text, first, search_from)
    if found < 0:
        found = _find(text, first.split("/")[-1], search_from)
    offset = line_offset + (found if found >= 0 else len(text) - len(text.lstrip()))
    word_offsets: list[int | None] = []
    cursor = found if found >= 0 else search_from
    for word in words:  # words written without quotes are found as they are; others get no offset
        position = _find(text, word, cursor) if word else -1
        word_offsets.append(line_offset + position if position >= 0 else None)
        if position >= 0:
            cursor = position + len(word)
    return SimpleCommand(argv=words, offset=offset, env=env, redirects=list(redirects), text=stripped,
                         env_offsets=env_offsets, word_offsets=word_offsets)


def assignments(command: SimpleCommand) -> dict[str, str]:
    """Variables set by `export A=b C=d`, `declare -x A=b` or a bare `A=b` line."""
    argv = command.argv
    if argv and argv[0] in ("export", "declare", "typeset", "readonly", "local"):
        values = [w for w in argv[1:] if not w.startswith("-")]
    elif len(argv) == 1 and _ASSIGNMENT.match(argv[0]):
        values = argv
    else:
        return {}
    result = {}
    for word in values:
        if _ASSIGNMENT.match(word):
            name, _, value = word.partition("=")
            result[name] = value
    return result
