"""Tracker hosts named in launcher configuration (network policies, proxy settings, URLs).

Read from the text, outside comments: an allow-list is data wherever it sits in the document.
"""

from __future__ import annotations

import re

from preflight.model import Fact, HostMention
from preflight.sources.text import SourceText

_HOSTS = re.compile(r"(?<![\w.-])(api\.wandb\.ai|api\.forge\.coreweave\.com)(?![\w-])")


def mentions(source: SourceText) -> list[Fact]:
    text = source.text
    if "wandb.ai" not in text and "coreweave" not in text:
        return []
    found: list[Fact] = []
    for match in _HOSTS.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if "#" in text[line_start:match.start()]:
            continue  # a comment (or a URL fragment, which names no host to allow)
        found.append(HostMention(source.location(match.start(), match.end()), match.group(1)))
    return found
