"""Recognising and masking credentials. preflight never prints or stores a secret it found.

One question, `spans(text, declared)`: where in a file's text are its secrets? The answer joins what the
text says by its form (a `wandb_v1_` key anywhere, a 40-hex key in W&B context, even on the next line of
its `WANDB_API_KEY:`, an `hf_` token, a netrc password, a value after a key-named flag) with what the
extractors parsed (`declared`: the literal values of credential variables, which only a parser can delimit:
a YAML flow map, an `.env` value holding `;`, a space or a backtick). Everything else follows from it:

- the facts of a file keep only masked values (`mask_facts`), so the cache and every output built from
  facts (JSON, SARIF, messages, a reused run) hold none;
- code frames and `--diff` show a file's lines through `mask_line`/`redact` with every span of the file;
- `scrub` masks what looks like a credential in any other line of text (messages, errors, a command line).

A masked value is `****` and its last 4 characters (`mask`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

# Tracking and hub credentials that must never be baked into images or written literally.
TRACKING_KEYS = frozenset({
    "WANDB_API_KEY", "NEPTUNE_API_TOKEN", "COMET_API_KEY", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_TOKEN", "CLEARML_API_SECRET_KEY",
})

_NEW_WANDB_KEY = re.compile(r"\bwandb_v1_[A-Za-z0-9_]{30,}")
_HEX_KEY = r"(?P<key>(?:[a-z]+-)?[0-9a-f]{40,})\b"
# The W&B contexts of a 40-hex key, under the word each starts with: tried only where that word stands
_WANDB_CONTEXT = {
    re.compile(r"(?i)wandb"): [
        # `WANDB_API_KEY=`, `wandb_token:`, a Hydra override `logging.wandb_key_api=` (words may follow the
        # key's); the key may stand on the next line (`WANDB_API_KEY:` then the value, in YAML)
        re.compile(r"(?i)\bwandb[\w.-]{0,64}?(?:key|token|secret)[\w.-]{0,64}[\"']?\s*[:=]\s*[\"']?" + _HEX_KEY),
        re.compile(r"(?i)\bwandb\.login\([^)]{0,500}\bkey\s*=\s*[\"']" + _HEX_KEY),
        re.compile(r"(?i)\bwandb\s+login\s+(?:--?[\w-]+\s+)*[\"']?" + _HEX_KEY),
    ],
    re.compile(r"(?i)machine"): [re.compile(r"(?is)machine\s+api\.wandb\.ai\b.{0,200}?\bpassword\s+" + _HEX_KEY)],
}
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")
_PASSWORD = re.compile(r"(?i)\bpassword[ \t]+(?P<value>[^\s\"'`]{16,})")
_NAME = r"[\w.-]{0,64}(?:api[_-]?key|[_.-]key|token|secret|password|passwd)"
_VALUE = r"(?P<value>[^\s\"'`,;(){}\[\]$<-][^\s\"'`,;)}\]]*)"
# A value given to a key-named flag or name on one line: `--wandb_key VALUE`, `api_key = "VALUE"`,
# `TOKEN=VALUE`, `os.environ["HF_TOKEN"] = "VALUE"`, and the key of a tracker's login call
_FLAG = re.compile(r"(?i)(?<![\w-])--?" + _NAME + r"\b(?:[ \t]+|=)[\"']?" + _VALUE)
_ASSIGNED = re.compile(r"(?i)\b" + _NAME + r"\b(?:[\"']\]?)?[ \t]*[:=][ \t]*[\"']?" + _VALUE)
_LOGIN = re.compile(r"(?is)\b(?:wandb|comet_ml|neptune|mlflow|huggingface_hub|hf)[\w.]*\.login\([^)]{0,500}?"
                    r"\b(?:key|api_key|token|password)\s*=\s*[\"'](?P<value>[^\"'\s]{8,})")
# The key `wandb login` takes as its argument (`wandb login [OPTIONS] [KEY]`), whatever its form.
_CLI_LOGIN = re.compile(r"(?i)\bwandb[ \t]+login(?:[ \t]+--?[\w-]+(?:=[^\s\"'`;&|]*|[ \t]+https?://[^\s\"'`;&|]*)?)*"
                        r"[ \t]+[\"']?"
                        r"(?P<value>[^\s\"'`;&|<>()$-][^\s\"'`;&|<>()]{7,})")
_SECRET_NAME = re.compile(r"(?i)(?:api[_-]?key|token|secret|password|passwd)")
_PLACEHOLDER = re.compile(
    r"(?i)^(?:<.*>|\{.*\}|\[.*\]|x+|\.+|\*+|your[\w-]*|changeme|change[_-]?me|dummy|placeholder|replace[\w-]*|todo|"
    r"none|null|secret|redacted|example|test|fake|my[_-]?key|api[_-]?key|token|key|\$.*|%.*%)$"
)
_MASKED = re.compile(r"^\*{4}.{0,4}$", re.S)

Span = tuple[int, int]
# Every pattern above bounds its repetitions (the words of a name, a call's arguments): a 10 MB line costs
# linear time.


def mask(value: str) -> str:
    """All but the last 4 characters hidden, and the length not revealed. A masked value stays as it is."""
    value = value.strip()
    if _MASKED.match(value):
        return value
    return "****" + value[-4:] if len(value) > 8 else "****"


def is_placeholder(value: str) -> bool:
    """Not a real credential: empty, short, a template, a reference. A masked value is a real one (it was
    masked because it is)."""
    value = value.strip().strip("'\"")
    if _MASKED.match(value) and len(value) > 4:
        return False
    return len(value) < 8 or bool(_PLACEHOLDER.match(value)) or len(set(value.lower())) < 5


def is_secret_name(name: str) -> bool:
    """A variable whose value is a credential: the trackers' keys, and any `*_API_KEY`, `*TOKEN`, `*SECRET*`."""
    return name in TRACKING_KEYS or bool(_SECRET_NAME.search(name))


def find_wandb_keys(text: str) -> list[Span]:
    """(start, end) of every literal W&B API key: the `wandb_v1_` form anywhere; a 40-hex key only
    where W&B context says it is one (a bare 40-hex string is usually a git SHA)."""
    spans: dict[int, int] = {}
    for match in _NEW_WANDB_KEY.finditer(text):
        spans[match.start()] = match.end()
    for word, patterns in _WANDB_CONTEXT.items():
        for found in word.finditer(text):
            for pattern in patterns:
                match = pattern.match(text, found.start())
                if match is not None and len(set(match.group("key"))) >= 6:
                    spans.setdefault(match.start("key"), match.end("key"))
    return sorted(spans.items())


def _real(value: str) -> bool:
    return not value.startswith(("****", "$")) and not is_placeholder(value)


def _by_form(text: str) -> list[Span]:
    """Credentials recognised by their form alone (no parser needed). Each pattern runs only where the
    words it needs are in the text: most files of a tree hold none, and the named patterns try a match at
    every word."""
    lowered = text.lower()
    found = list(find_wandb_keys(text)) if "wandb" in lowered else []
    if "hf_" in text:
        found += [m.span() for m in _HF_TOKEN.finditer(text)]
    if "passw" in lowered:
        found += [m.span("value") for m in _PASSWORD.finditer(text)]
    patterns = [_FLAG, _ASSIGNED] if any(word in lowered for word in _NAME_WORDS) else []
    patterns += [_LOGIN] if ".login(" in lowered else []
    for pattern in patterns:
        found += [m.span("value") for m in pattern.finditer(text) if _real(m.group("value"))]
    if "login" in lowered and "wandb" in lowered:
        found += [m.span("value") for m in _CLI_LOGIN.finditer(text) if _real(m.group("value"))
                  and "://" not in m.group("value")]  # `--host https://...` is followed by the key, not one
    return found


# Every name _NAME matches holds one of these (lower case)
_NAME_WORDS = ("apikey", "api_key", "api-key", "_key", ".key", "-key", "token", "secret", "passw")


def spans(text: str, declared: Iterable[str] = ()) -> list[Span]:
    """Every secret of a file: what its text shows by form, and every place a `declared` value (a credential
    the extractors parsed, see `declared_values`) is written. Sorted, overlaps merged."""
    found = _by_form(text)
    for value in {v for v in declared if v}:
        start = text.find(value)
        while start != -1:
            found.append((start, start + len(value)))
            start = text.find(value, start + len(value))
    merged: list[Span] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def declared_values(facts: Iterable) -> set[str]:
    """The literal values the facts give credential variables (an env map, an `.env` file, a config key):
    exact strings only a parser could delimit."""
    from preflight.model import EnvBinding

    values: set[str] = set()

    def visit(value) -> None:
        if isinstance(value, EnvBinding):
            literal = (value.value or "").strip()
            if not value.reference and literal and is_secret_name(value.name) and _real(literal):
                values.add(literal)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                visit(getattr(value, field.name))
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)

    visit(list(facts))
    return values


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each of `secrets` (exact strings, a line's piece each) masked."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, mask(secret))
    return text


def pieces(text: str, found: Iterable[Span]) -> set[str]:
    """The strings at `found` in `text`, one per line they cross (a multi-line value is masked line by line)."""
    result = set()
    for start, end in found:
        for piece in re.split(r"[\r\n\f\v\x1c-\x1e\x85\u2028\u2029]+", text[start:end]):
            if piece.strip():
                result.add(piece)
    return result


def mask_facts(facts, secrets: set[str]):
    """The facts with every string holding one of `secrets`, or a credential by its form, masked (positions
    and paths left as they are):
    what the cache stores and every rule reads. The decisions a raw value needs (is it a key? a placeholder?)
    were made by the extractors before."""
    from preflight.findings import Location

    if not secrets:
        return facts
    ordered = sorted(secrets, key=len, reverse=True)

    def masked(value):
        if isinstance(value, str):
            if any(s in value for s in ordered):
                for secret in ordered:
                    value = value.replace(secret, mask(secret))
            return scrub(value)  # a fact may hold a piece of a line cut differently (a command without its end)
        if isinstance(value, Location) or isinstance(value, type):
            return value
        if dataclasses.is_dataclass(value):
            changes = {}
            for field in dataclasses.fields(value):
                old = getattr(value, field.name)
                new = masked(old)
                if new is not old:
                    changes[field.name] = new
            return dataclasses.replace(value, **changes) if changes else value
        if isinstance(value, (list, tuple)):
            items = [masked(item) for item in value]
            if all(a is b for a, b in zip(items, value)):
                return value
            return type(value)(items) if isinstance(value, list) else tuple(items)
        if isinstance(value, dict):
            items = {masked(k): masked(v) for k, v in value.items()}
            return items if any(a is not b for a, b in zip(items.values(), value.values())) or \
                any(a is not b for a, b in zip(items, value)) else value
        return value

    return masked(facts)


def mask_line(line: str, ranges: Iterable[Span]) -> tuple[str, list[int]]:
    """`line` with the characters of `ranges` (0-based, end exclusive) masked, and where each original
    column (0-based, plus the end) stands in the masked line: a code frame's marker stays under its text."""
    ranges = sorted((max(0, s), min(len(line), e)) for s, e in ranges if e > s)
    merged: list[Span] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        elif start < end:
            merged.append((start, end))
    out: list[str] = []
    positions: list[int] = []
    cursor = 0
    length = 0
    for start, end in merged:
        out.append(line[cursor:start])
        positions.extend(range(length, length + start - cursor))
        length += start - cursor
        hidden = mask(line[start:end]) if line[start:end].strip() else line[start:end]
        positions.extend([length] * (end - start))
        out.append(hidden)
        length += len(hidden)
        cursor = end
    out.append(line[cursor:])
    positions.extend(range(length, length + len(line) - cursor + 1))
    return "".join(out), positions


def line_ranges(line: str) -> list[Span]:
    """What a line shows of a credential by its form (the line alone)."""
    return _by_form(line)


_KEY_FLAG = re.compile(r"(?i)^--?" + _NAME + r"$")


def mask_argv(argv: list[str]) -> list[str]:
    """A command line as it may be shown: the word after a key-named flag (`--wandb_key KEY`) and every
    credential in a word (`--hf_token=KEY`, `WANDB_API_KEY=KEY`, a key by its form) masked."""
    shown = []
    for index, word in enumerate(argv):
        after_flag = index > 0 and _KEY_FLAG.match(argv[index - 1]) and _real(word) and not word.startswith("-")
        shown.append(mask(word) if after_flag else scrub(word))
    return shown


def scrub(text: str) -> str:
    """Mask anything in a line of text that looks like a credential."""
    if not text:
        return text
    return mask_line(text, _by_form(text))[0]
