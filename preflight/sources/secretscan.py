"""Literal credentials in any scanned file, comments included (rule SEC001)."""

from __future__ import annotations

from preflight import secrets
from preflight.model import SecretLiteral
from preflight.sources.text import SourceText


def might_contain(data: bytes) -> bool:
    lowered = data.lower()
    return b"wandb" in lowered


def scan(source: SourceText) -> list[SecretLiteral]:
    return [
        SecretLiteral(source.location(start, end), "a W&B API key", secrets.mask(source.text[start:end]))
        for start, end in secrets.find_wandb_keys(source.text)
    ]
