"""JUnit XML, laid out for the readers CI systems use: GitLab's unit test reports and Jenkins' JUnit plugin.

One failing test case per rule and file: `classname` is the file's path (GitLab shows it as the suite, Jenkins
as the class), `name` the rule's code and name, `file` the path again (GitLab links it), `line` the first
finding's line. The failure's `message` is the first finding, with its position (Jenkins shows it as the
error message), and its text lists every finding of that rule in that file as `path:line:column: CODE
[severity] message`, one a line (GitLab shows the text as the test's details, Jenkins as its stack trace).

Why not one case per finding: GitLab keys a test case by classname and name and ignores every later case with
the same key, and both readers follow a test across pipelines by its name (GitLab's merge request widget
compares the head's failures with the base's; Jenkins counts how long a test has failed). A name holding a
line number would make every finding of a file "newly failed" when a line is added above them; a rule and a
file name stay put while the file is edited. A test case's name is unique in its class by construction.

Jenkins splits `classname` at its last dot into a package and a class (`configs/train.yaml` shows as class
`yaml` of package `configs/train`); the full name it lists failures by (`classname.name`) still reads as the
path and the rule. With no findings there is one passing test case, so that both readers show a report.

Every name and message goes through preflight.display, which escapes each character XML 1.0 does not
allow (an ESC from a step name, a byte of a file name that is not UTF-8): the report stays a document a
CI's XML parser reads.
"""

from __future__ import annotations

from xml.etree import ElementTree

from preflight import display
from preflight.findings import Finding
from preflight.plural import counted


def _line(finding: Finding, path: str) -> str:
    location = finding.location
    return (f"{path}:{location.line}:{location.column}: {finding.code} [{finding.severity.value}] "
            f"{display.text(finding.message)}")


def render(findings: list[Finding], files: int) -> str:
    """The report of `findings`; `files` is the number of files checked (named on the command line, or all)."""
    groups: dict[str, dict[tuple[str, str], list[Finding]]] = {}
    for finding in sorted(findings, key=lambda f: f.sort_key):
        groups.setdefault(finding.location.path, {}).setdefault((finding.code, finding.name), []).append(finding)
    cases = sum(len(rules) for rules in groups.values())
    root = ElementTree.Element("testsuites", name="preflight", tests=str(max(cases, 1)), failures=str(cases),
                               errors="0")
    if not findings:
        suite = ElementTree.SubElement(root, "testsuite", name="preflight", tests="1", failures="0", errors="0",
                                       skipped="0")
        ElementTree.SubElement(suite, "testcase", name=f"no findings in {counted(files, 'file')} checked",
                               classname="preflight", time="0")
    for raw_path, rules in groups.items():
        path = display.path(raw_path)
        suite = ElementTree.SubElement(root, "testsuite", name=path, tests=str(len(rules)),
                                       failures=str(len(rules)), errors="0", skipped="0")
        for (code, name), items in rules.items():
            first = items[0].location
            case = ElementTree.SubElement(suite, "testcase", name=f"{code} {name}", classname=path, file=path,
                                          line=str(first.line), time="0")
            summary = f"line {first.line}, column {first.column}: {display.text(items[0].message)}"
            if len(items) > 1:
                summary = f"{counted(len(items), 'finding')}; the first at {summary}"
            failure = ElementTree.SubElement(case, "failure", message=summary, type=code)
            failure.text = "\n".join(_line(item, path) for item in items)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
