"""The rule API: metadata that documents the rule, examples that test it, and `check()`.

A rule reads the project model (facts), never raw text. Its examples are the user documentation
(`preflight explain`) and, run by the test suite, the proof that the rule does what it says, at
the exact positions it says.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

from preflight.findings import Finding, Fix, Location, Related, Severity
from preflight.options import NoOptions

if TYPE_CHECKING:
    from preflight.project import Project


@dataclass(frozen=True)
class Example:
    """Files that show a rule: a bad example lists where its findings are (`path:line:col`)."""

    bad: bool
    files: dict[str, str]
    expect: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)
    note: str = ""
    also_select: tuple[str, ...] = ()  # other rules the example needs enabled (PF002 needs the one it suppresses)
    # The files a fix changes, as they read after `--fix` and after `--unsafe-fixes` (when that differs);
    # the tests apply the fixes for real and compare (tests/test_rule_examples.py).
    fixed: dict[str, str] = field(default_factory=dict)
    unsafe_fixed: dict[str, str] = field(default_factory=dict)


def Bad(path: str, content: str, *, expect: list[str] | str, files: dict[str, str] | None = None,
        options: dict | None = None, note: str = "", also_select: tuple[str, ...] = (),
        fixed: dict[str, str] | str | None = None, unsafe_fixed: dict[str, str] | str | None = None) -> Example:
    """`fixed` / `unsafe_fixed`: the example's files after `--fix` / `--unsafe-fixes` (a string: the text of
    `path`); `unsafe_fixed` only where it differs from `fixed`."""
    expected = [expect] if isinstance(expect, str) else expect
    after = {path: fixed} if isinstance(fixed, str) else dict(fixed or {})
    after_unsafe = {path: unsafe_fixed} if isinstance(unsafe_fixed, str) else dict(unsafe_fixed or {})
    return Example(True, {path: content, **(files or {})}, tuple(expected), options or {}, note, also_select,
                   after, after_unsafe)


def Good(path: str, content: str, *, files: dict[str, str] | None = None, options: dict | None = None,
         note: str = "", also_select: tuple[str, ...] = ()) -> Example:
    return Example(False, {path: content, **(files or {})}, (), options or {}, note, also_select)


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    why: ClassVar[str]
    examples: ClassVar[list[Example]] = []
    Options: ClassVar[type] = NoOptions  # a frozen dataclass; fields carry metadata={"description": ...}
    autofix: ClassVar[str | None] = None  # what a fix does; None: no automatic fix
    # Why each of its fixes is safe (applied by `--fix`: behaviour kept, or strictly the rule's documented
    # intent) or unsafe (only with `--unsafe-fixes`: a choice the user must review). Required with `autofix`.
    fix_safety: ClassVar[str | None] = None
    # Which kinds its fixes are, "safe" and/or "unsafe" (the examples show each: tests/test_rule_examples.py).
    fixes: ClassVar[tuple[str, ...]] = ()
    # More specific rules this one yields to: a finding of this rule is dropped when one of theirs about
    # the same subject is reported (and only then: `--ignore` of the specific rule brings this one back).
    yields_to: ClassVar[tuple[str, ...]] = ()
    # The consequence is about experiment records (curves, run names, reproducibility): test code, which
    # produces none, is not judged (Project.in_tests). Rules whose consequence is a crash keep False.
    skips_test_code: ClassVar[bool] = False

    def __init__(self, options: object | None = None) -> None:
        self.options = options if options is not None else self.Options()

    def check(self, project: "Project") -> Iterator[Finding]:
        raise NotImplementedError

    @classmethod
    def docs_url(cls) -> str:
        """The rule's section of docs/rules.md, as SARIF's helpUri and the language server link it."""
        from preflight.report.sarif import INFORMATION_URI

        return f"{INFORMATION_URI}/blob/main/docs/rules.md#{cls.code.lower()}"

    def finding(self, location: Location, message: str, *, severity: Severity | None = None,
                related: tuple[Related, ...] | list[Related] = (), fix: Fix | None = None,
                subject: str | None = None) -> Finding:
        return Finding(self.code, self.name, severity or self.severity, message, location, tuple(related), fix,
                       subject)


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule in the rule pack (`preflight.rules`), ordered by code."""
    import preflight.rules as pack

    for module in pkgutil.iter_modules(pack.__path__):
        importlib.import_module(f"{pack.__name__}.{module.name}")
    found: dict[str, type[Rule]] = {}
    stack = list(Rule.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if not cls.__module__.startswith(pack.__name__ + "."):
            continue  # the same files imported under another name (`import rules.wb` from the checkout)
        if "code" in cls.__dict__:
            if cls.code in found and found[cls.code] is not cls:
                raise RuntimeError(f"two rules claim the code {cls.code}")
            found[cls.code] = cls
    return tuple(found[c] for c in sorted(found))


def rule_by_key(key: str) -> type[Rule] | None:
    """A rule by code (`hf001` too) or kebab-case name."""
    key = key.strip()
    for cls in all_rules():
        if cls.code == key.upper() or cls.name == key.lower():
            return cls
    return None
