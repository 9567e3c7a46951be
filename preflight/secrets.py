"""Recognising and masking credentials. preflight never prints a secret it found: every output
passes through `scrub`, and findings carry only `mask`ed values (all but the last 4 characters)."""

from __future__ import annotations

import re

# Tracking and hub credentials that must never be baked into images or written literally.
TRACKING_KEYS = frozenset({
    "WANDB_API_KEY", "NEPTUNE_API_TOKEN", "COMET_API_KEY", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_TOKEN", "CLEARML_API_SECRET_KEY",
})

_NEW_WANDB_KEY = re.compile(r"\bwandb_v1_[A-Za-z0-9_]{30,}")
_HEX_KEY = r"(?P<key>(?:[a-z]+-)?[0-9a-f]{40,})\b"
_WANDB_CONTEXT = [
    # `WANDB_API_KEY=`, `wandb_token:`, a Hydra override `logging.wandb_key_api=` (words may follow the key's)
    re.compile(r"(?i)\bwandb[\w.-]*?(?:key|token|secret)[\w.-]*[\"']?\s*[:=]\s*[\"']?" + _HEX_KEY),
    re.compile(r"(?i)\bwandb\.login\([^)]*\bkey\s*=\s*[\"']" + _HEX_KEY),
    re.compile(r"(?i)\bwandb\s+login\s+(?:--?[\w-]+\s+)*[\"']?" + _HEX_KEY),
    re.compile(r"(?is)machine\s+api\.wandb\.ai\b.{0,200}?\bpassword\s+" + _HEX_KEY),
]
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")
_PASSWORD = re.compile(r"(?i)(\bpassword\s+)(\S{16,})")
_ASSIGNED = re.compile(
    r"(?P<name>(?i:\b[\w.-]*(?:api[_-]?key|_key|token|secret|password)))"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\s\"'`,;)}]+)"
)
_PLACEHOLDER = re.compile(
    r"(?i)^(?:<.*>|\{.*\}|\[.*\]|x+|\.+|\*+|your[\w-]*|changeme|change[_-]?me|dummy|placeholder|replace[\w-]*|todo|"
    r"none|null|secret|redacted|example|test|fake|my[_-]?key|api[_-]?key|token|key|\$.*|%.*%)$"
)


def mask(value: str) -> str:
    """All but the last 4 characters hidden, and the length not revealed."""
    value = value.strip()
    return "****" + value[-4:] if len(value) > 8 else "****"


def is_placeholder(value: str) -> bool:
    value = value.strip().strip("'\"")
    return len(value) < 8 or bool(_PLACEHOLDER.match(value)) or len(set(value.lower())) < 5


def find_wandb_keys(text: str) -> list[tuple[int, int]]:
    """(start, end) of every literal W&B API key: the `wandb_v1_` form anywhere; a 40-hex key only
    where W&B context says it is one (a bare 40-hex string is usually a git SHA)."""
    spans: dict[int, int] = {}
    for match in _NEW_WANDB_KEY.finditer(text):
        spans[match.start()] = match.end()
    for pattern in _WANDB_CONTEXT:
        for match in pattern.finditer(text):
            key = match.group("key")
            if len(set(key)) >= 6:
                spans.setdefault(match.start("key"), match.end("key"))
    return sorted(spans.items())


def scrub(text: str) -> str:
    """Mask anything in an output line that looks like a credential."""
    if not text:
        return text
    for start, end in reversed(find_wandb_keys(text)):
        text = text[:start] + mask(text[start:end]) + text[end:]
    text = _HF_TOKEN.sub(lambda m: mask(m.group(0)), text)
    text = _PASSWORD.sub(lambda m: m.group(1) + mask(m.group(2)), text)

    def assigned(match: re.Match) -> str:
        value = match.group("value")
        if value.startswith("****") or value.startswith(("$", "${")) or is_placeholder(value):
            return match.group(0)
        return match.group("name") + match.group("sep") + mask(value)

    return _ASSIGNED.sub(assigned, text)
