"""JUnit XML: one test suite per file with findings, one failing test case per finding.

Every name and message goes through preflight.display, which escapes each character XML 1.0 does not
allow (an ESC from a step name, a byte of a file name that is not UTF-8): the report stays a document a
CI's XML parser reads.
"""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree

from preflight import display
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
    for raw_path, items in by_path.items():
        path = display.path(raw_path)
        suite = ElementTree.SubElement(root, "testsuite", name=path, tests=str(len(items)), failures=str(len(items)),
                                       errors="0")
        for finding in items:
            loc = finding.location
            message = display.text(finding.message)
            case = ElementTree.SubElement(suite, "testcase", name=f"{finding.code} {finding.name} at line {loc.line}",
                                          classname=path, file=path, line=str(loc.line))
            failure = ElementTree.SubElement(case, "failure", message=message, type=finding.code)
            failure.text = f"{path}:{loc.line}:{loc.column}: {finding.code} [{finding.severity.value}] {message}"
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
