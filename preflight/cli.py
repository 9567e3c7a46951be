"""The command line: `preflight check`, `preflight rules`, `preflight explain`.

Exit codes: 0 nothing found, 1 findings, 2 usage, configuration or internal error.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap

import click

from preflight import __version__, examples
from preflight.findings import Severity
from preflight.rule import Rule, all_rules, rule_by_key


def _split(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _use_colour(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="preflight")
def main() -> None:
    """preflight: find what would crash or corrupt an ML training run, before it is launched."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, help="Rule codes, prefixes or names to enable (comma-separated). "
                                              "Replaces the configured `select`.")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to enable in addition.")
@click.option("--ignore", multiple=True, help="Codes or prefixes to disable.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="A pyproject.toml or preflight.toml.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--statistics", is_flag=True, help="Show the number of findings per rule instead of each finding.")
@click.option("--no-show-source", is_flag=True, help="Do not print the code frame under each finding.")
def check(paths, select, extend_select, ignore, output_format, config_path, exit_zero, statistics, no_show_source):
    """Check training scripts, configs and their launchers under PATHS (default: .)."""
    from preflight import engine
    from preflight.report import json as json_report
    from preflight.report import text as text_report

    try:
        result = engine.check(
            list(paths) or ["."],
            config_path=config_path,
            select=_split(select) or None,
            extend_select=_split(extend_select),
            ignore=_split(ignore),
        )
    except engine.UsageError as exc:
        click.echo(f"preflight: error: {exc}", err=True)
        sys.exit(2)
    findings = result.findings
    if output_format == "json":
        click.echo(json_report.render(findings, result.files), nl=False)
    elif statistics:
        click.echo(text_report.statistics(findings), nl=False)
        click.echo(text_report.summary(findings, result.files))
    else:
        colour = _use_colour(sys.stdout)
        click.echo(text_report.render(findings, result.files, colour=colour, show_source=not no_show_source),
                   nl=False, color=colour)
    if result.internal_errors:
        sys.exit(2)
    sys.exit(0 if exit_zero or not findings else 1)


def _rule_dict(rule: type[Rule]) -> dict:
    options = rule.Options.model_json_schema().get("properties", {})
    return {
        "code": rule.code,
        "name": rule.name,
        "severity": rule.severity.value,
        "default": rule.severity is not Severity.INFO,
        "summary": rule.summary,
        "why": rule.why,
        "options": {name: {"type": spec.get("type"), "default": spec.get("default"),
                           "description": spec.get("description", "")} for name, spec in options.items()},
    }


@main.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_command(output_format):
    """List every rule."""
    rules = all_rules()
    if output_format == "json":
        click.echo(json.dumps([_rule_dict(r) for r in rules], indent=2))
        return
    width = max(len(r.name) for r in rules)
    for rule in rules:
        flag = "" if rule.severity is not Severity.INFO else "  (off by default)"
        click.echo(f"{rule.code:<7} {rule.severity.letter}  {rule.name:<{width}}  {rule.summary}{flag}")


@main.command()
@click.argument("code")
def explain(code):
    """Explain a rule: what it finds, why it matters, examples, options."""
    rule = rule_by_key(code)
    if rule is None:
        click.echo(f"preflight: error: unknown rule {code!r} (see `preflight rules`)", err=True)
        sys.exit(2)
    click.echo(explanation(rule), nl=False)


def explanation(rule: type[Rule]) -> str:
    wrap = lambda text: textwrap.fill(text, width=88)  # noqa: E731
    out = [f"{rule.code} {rule.name} ({rule.severity.value})", "", rule.summary, "", "Why it matters", wrap(rule.why)]
    for example in rule.examples:
        out += ["", ("Bad" if example.bad else "Good") + (f": {example.note}" if example.note else "")]
        for path, content in example.files.items():
            out.append(f"  # {path}")
            out += ["  " + line if line else "" for line in content.rstrip("\n").splitlines()]
        if example.options:
            out.append(f"  (with options {example.options})")
        if example.bad:
            for finding in examples.run(rule, example):
                loc = finding.location
                out += textwrap.wrap(f"{loc.path}:{loc.line}:{loc.column}: {rule.code} {finding.message}", width=86,
                                     initial_indent="  -> ", subsequent_indent="     ")
    options = _rule_dict(rule)["options"]
    out += ["", "Options"]
    if options:
        for name, spec in options.items():
            out.append(f"  {name} (default {json.dumps(spec['default'])}): {spec['description']}")
        out.append(f"  Set them in pyproject.toml under [tool.preflight.rules.{rule.code}].")
    else:
        out.append("  None.")
    out += ["", "Suppress one finding with `# preflight: ignore[" + rule.code + "]` on its line or the line above."]
    return "\n".join(out) + "\n"
