"""JUnit XML: one test suite per file with findings, one failing test case per finding."""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree

from preflight.findings import Finding


def render(findings: list[Finding], files: int) -> str:
    root = ElementTree.Element("testsuites", name="preflight", tests=str(max(len(findings), 1)),
                               failures=str(len(findings)), errors="0")
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_path[finding.location.path].append(finding)
    if not findings:
        suite = ElementTree.SubElement(root, "testsuite", name="preflight", tests="1", failures="0", errors="0")
        ElementTree.SubElement(suite, "testcase", name=f"No findings in {files} files", classname="preflight")
    for path, items in by_path.items():
        suite = ElementTree.SubElement(root, "testsuite", name=path, tests=str(len(items)), failures=str(len(items)),
                                       errors="0")
        for finding in items:
            loc = finding.location
            case = ElementTree.SubElement(suite, "testcase", name=f"{finding.code} {finding.name} at line {loc.line}",
                                          classname=path, file=path, line=str(loc.line))
            failure = ElementTree.SubElement(case, "failure", message=finding.message, type=finding.code)
            failure.text = f"{loc.path}:{loc.line}:{loc.column}: {finding.code} [{finding.severity.value}] " \
                           f"{finding.message}"
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
