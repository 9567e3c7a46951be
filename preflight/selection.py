"""Rule selection with ruff's semantics: codes and prefixes (`WB`, `WB0`, `WB001`), `ALL`, and
rule names; the most specific selector wins, and at equal specificity `ignore` wins."""

from __future__ import annotations

from preflight import globs
from preflight.findings import Severity
from preflight.rule import Rule


class UnknownSelector(ValueError):
    pass


def _specificity(selector: str, rule: type[Rule]) -> int | None:
    token = selector.strip()
    if token.upper() == "ALL":
        return 0
    if token.lower() == rule.name:
        return 100
    if rule.code.startswith(token.upper()) and token:
        return len(token)
    return None


def suggestion(key: str) -> str:
    """" (did you mean 'HF008'?)" for the rule code or name closest to a misspelt `key`, else ""."""
    import difflib

    from preflight.rule import all_rules

    candidates = [name for rule in all_rules() for name in (rule.code, rule.name)]
    token = key.strip().upper() if key[:1].isalpha() and any(c.isdigit() for c in key) else key.strip().lower()
    close = difflib.get_close_matches(token, candidates, n=len(candidates), cutoff=0.6)
    if not close:
        return ""
    # Codes tie often (WB0O1 is as close to WB014 as to WB001): the one with more characters in place wins.
    ratio = difflib.SequenceMatcher(None, token, close[0]).ratio()
    tied = [c for c in close if difflib.SequenceMatcher(None, token, c).ratio() == ratio]
    best = min(tied, key=lambda c: (-sum(a == b for a, b in zip(token, c)), c))
    return f" (did you mean {best!r}?)"


def not_one_rule(key: str) -> str:
    """Why `key` names no rule, for a table keyed by one rule ([tool.preflight.severity], [tool.preflight.rules]):
    a prefix or ALL selects several (said, with the codes), anything else gets the closest code or name."""
    from preflight.rule import all_rules

    selected = [rule.code for rule in all_rules() if _specificity(key, rule) is not None]
    if selected:
        shown = ", ".join(selected[:5]) + (", ..." if len(selected) > 5 else "")
        return f" ({key!r} selects {len(selected)} rules, {shown}: this table takes one rule's code or name)"
    return suggestion(key)


def validate(selectors: list[str], rules: tuple[type[Rule], ...], what: str) -> None:
    for selector in selectors:
        if not any(_specificity(selector, r) is not None for r in rules):
            raise UnknownSelector(f"{what}: unknown rule selector {selector!r}{suggestion(selector)} "
                                  f"(see `preflight rules`)")


def enabled_rules(
    rules: tuple[type[Rule], ...], select: list[str] | None, extend_select: list[str], ignore: list[str],
) -> list[type[Rule]]:
    for what, selectors in (("select", select or []), ("extend-select", extend_select), ("ignore", ignore)):
        validate(selectors, rules, what)
    result = []
    for rule in rules:
        best, enabled = -1, (select is None and rule.severity is not Severity.INFO)
        for selectors, state in ((select or []) + extend_select, True), (ignore, False):
            for selector in selectors:
                spec = _specificity(selector, rule)
                if spec is not None and (spec > best or (spec == best and not state)):
                    best, enabled = spec, state
        if enabled:
            result.append(rule)
    return result


def explicitly_selected(rules: tuple[type[Rule], ...], select: list[str] | None, extend_select: list[str]) -> set[str]:
    """Codes a selector names on purpose (not the default set): their info-level findings are shown."""
    chosen = set()
    for rule in rules:
        if any(_specificity(s, rule) is not None for s in [*(select or []), *extend_select]):
            chosen.add(rule.code)
    return chosen


def ignored_by_path(code: str, name: str, relative_path: str | None, per_file_ignores: dict[str, list[str]]) -> bool:
    if relative_path is None:
        return False
    for pattern, selectors in per_file_ignores.items():
        if globs.matches(pattern, relative_path):
            for selector in selectors:
                token = selector.strip()
                if token.upper() == "ALL" or token.lower() == name or (token and code.startswith(token.upper())):
                    return True
    return False
