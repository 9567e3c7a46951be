"""The command line: `preflight check`, `preflight rules`, `preflight explain`.

Exit codes: 0 nothing found, 1 findings, 2 usage, configuration or internal error.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import textwrap
from pathlib import Path

import click

from preflight import __version__, display
from preflight.plural import counted
from preflight.findings import Severity
from preflight.report import FORMATS
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
@click.option("--format", "output_format", type=click.Choice(list(FORMATS)), default="text", show_default=True)
@click.option("--output-file", "-o", type=click.Path(dir_okay=False), help="Write the report to a file.")
@click.option("--sarif-output", type=click.Path(dir_okay=False),
              help="Also write a SARIF report to this file, from the same scan (as the GitHub Action does).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="A pyproject.toml or preflight.toml.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Exit 1 only for findings of this severity or a more serious one (default: the `fail-on` "
                   "setting, else info: any reported finding fails).")
@click.option("--statistics", is_flag=True, help="Show the number of findings per rule instead of each finding.")
@click.option("--no-show-source", is_flag=True, help="Do not print the code frame under each finding.")
@click.option("--all-findings", is_flag=True, help="Print every finding: the text format otherwise summarises a "
                                                    "rule's repeated findings of one cause after the first few.")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False),
              help="Report only findings that are not in this baseline file.")
@click.option("--write-baseline", "write_baseline", type=click.Path(dir_okay=False),
              help="Record the current findings in a baseline file and exit 0.")
@click.option("--add-ignores", "add_ignores", is_flag=False, flag_value="", default=None, metavar="[REASON]",
              help="Write `# preflight: ignore[...]` comments (with an optional reason) for the current findings.")
@click.option("--fix", is_flag=True, help="Apply the safe automatic fixes.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (or, with --diff, show) the unsafe fixes: changes "
                                                    "of behaviour each rule's Fix safety text describes.")
@click.option("--diff", "show_diff", is_flag=True, help="Show the fixes as a diff instead of applying them.")
@click.option("--force-exclude", is_flag=True, help="Apply `exclude` even to paths named on the command line.")
@click.option("--stdin-filename", type=click.Path(), help="The name of the file read from stdin (`-`).")
@click.option("--show-settings", is_flag=True, help="Print the settings the check would run with, where each came "
                                                     "from, the library versions the rules assume and why; check "
                                                     "nothing.")
@click.option("--verbose", "-v", is_flag=True, help="Also list the files that were not analysed, and why.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the facts cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False),
              help="Where the facts cache lives (default: .preflight_cache beside the configuration).")
def check(paths, select, extend_select, ignore, output_format, output_file, sarif_output, config_path, exit_zero,
          fail_on, statistics, no_show_source, all_findings, baseline_path, write_baseline, add_ignores, fix,
          unsafe_fixes, show_diff, force_exclude, stdin_filename, show_settings, verbose, no_cache, cache_dir):
    """Check training scripts, configs and their launchers under PATHS (default: .)."""
    from preflight import api

    stdin = None
    if "-" in paths:
        if not stdin_filename:
            _usage("reading from stdin (`-`) needs --stdin-filename")
        from preflight.collect import READ_LIMIT
        from preflight.reading import describe_size

        with click.open_file("-", "rb") as handle:  # `< /dev/zero` must not be read without end
            data = handle.read(READ_LIMIT + 1)
        if len(data) > READ_LIMIT:
            _usage(f"the standard input is larger than {describe_size(READ_LIMIT)}: no file preflight analyses is")
        stdin = (stdin_filename, data.decode("utf-8", errors="replace"))
    options = dict(config_path=config_path, select=_split(select) or None, extend_select=_split(extend_select),
                   ignore=_split(ignore), force_exclude=force_exclude, buffer=stdin, use_cache=not no_cache,
                   cache_dir=Path(cache_dir) if cache_dir else None)
    # Standard input is one buffer checked in its project's context (what an editor asks): only its findings
    # are reported, as ruff does; other paths named with `-` are not checked.
    targets = [] if stdin else list(paths) or ["."]
    for other in (p for p in paths if p != "-") if stdin else ():
        click.echo(f"preflight: warning: {display.path(other)} is not checked: reading the standard input (-) checks "
                   f"{display.path(stdin_filename)} alone", err=True)
    if stdin and add_ignores is not None:
        _usage("--add-ignores writes files: it cannot write to the standard input (`-`)")
    if show_settings:
        _show_settings(targets, options, fail_on, output_format)
        return
    result = _run(targets, options)
    if fix or show_diff or unsafe_fixes:
        planned = api.plan_fixes(result, unsafe=unsafe_fixes)
        _say_refused(planned)
        changes = [c for c in planned if c.after != c.before]
        if show_diff or stdin:  # nothing is written: every round is worked out in memory
            changes, fixed, settled = _fix_rounds(targets, options, changes, unsafe_fixes)
            if not show_diff:
                _print_fixed_buffer(stdin, changes, fixed, settled, result, options, fail_on, exit_zero)
            for change in changes:
                click.echo(change.diff(), nl=False)
            click.echo(f"Would fix {counted(fixed, 'finding')} in {counted(len(changes), 'file')}.", err=True)
            sys.exit(1 if changes else 0)
        with _writing("; no file was changed"):
            changes = _written(api.write_changes(changes, result.cwd), changes)
        fixed = sum(c.fixed for c in changes)
        touched = {c.path for c in changes}
        result = _run(targets, options)
        for _ in range(FIX_ROUNDS - 1 if changes else 0):
            # a fix whose lines another fix changed in the same round applies to the text that one left
            planned = api.plan_fixes(result, unsafe=unsafe_fixes)
            _say_refused(planned)
            changes = [c for c in planned if c.after != c.before]
            if not changes:
                break
            with _writing("; the files fixed before were written"):
                changes = _written(api.write_changes(changes, result.cwd), changes)
            fixed += sum(c.fixed for c in changes)
            touched |= {c.path for c in changes}
            result = _run(targets, options)
        if fixed:
            click.echo(f"preflight: fixed {counted(fixed, 'finding')} in {counted(len(touched), 'file')}", err=True)
    if add_ignores is not None:
        plan = api.plan_ignores(result, add_ignores)
        _say_refused(plan.changes)
        plan.changes[:] = [c for c in plan.changes if c.after != c.before]
        with _writing("; no file was changed"):
            plan.changes[:] = _written(api.write_changes(plan.changes, result.cwd), plan.changes)
        skipped = f"; {counted(plan.skipped, 'finding')} cannot be suppressed inline" if plan.skipped else ""
        added = sum(change.fixed for change in plan.changes)  # not those refused (said above)
        click.echo(f"preflight: added {counted(added, 'ignore comment')} in "
                   f"{counted(len(plan.changes), 'file')}{skipped}", err=True)
        result = _run(targets, options)
    if verbose:
        for path, why in result.skipped:
            click.echo(f"preflight: skipped {display.path(path)}: {display.text(why)}", err=True)
        for note in api.undecided(result):
            click.echo(f"preflight: undecided: {display.text(note)}", err=True)
    if write_baseline:
        with _writing():
            count = api.write_baseline(result, Path(write_baseline))
        click.echo(f"preflight: wrote {counted(count, 'finding')} to {write_baseline}", err=True)
        sys.exit(0)
    findings = result.findings
    if baseline_path:
        from preflight.baseline import BaselineError

        try:
            applied = api.apply_baseline(result, Path(baseline_path))
        except BaselineError as exc:
            _usage(str(exc))
        findings = applied.kept
        if applied.hidden or applied.stale:
            click.echo(f"preflight: {counted(applied.hidden, 'finding')} hidden by the baseline", err=True)
        for entry in applied.stale:
            click.echo(f"preflight: stale baseline entry: {display.text(entry.code)} in {display.text(entry.path)} no "
                       f"longer matches a finding "
                       f"(fixed or changed); refresh it with --write-baseline", err=True)
    with _writing():
        _report(result, findings, output_format, output_file, statistics, no_show_source, not all_findings)
        if sarif_output:
            _report(result, findings, "sarif", sarif_output, False, True, False)
    if result.internal_errors:
        sys.exit(2)
    sys.exit(0 if exit_zero or not api.failing(findings, fail_on or result.fail_on) else 1)


@contextlib.contextmanager
def _writing(consequence: str = ""):
    """A file preflight cannot write (a missing folder, a full disk, a read-only folder) is left as it was
    (preflight.writing) and is a usage error, never a traceback."""
    from preflight.writing import WriteError

    try:
        yield
    except WriteError as exc:
        _usage(f"{exc}{consequence}")


FIX_ROUNDS = 10  # --fix applies again what the edits of an earlier round overlapped, as often as this


def _written(stale, changes) -> list:
    """The changes written: those of a file edited since the check read it are not, and it is said."""
    for change in stale:
        click.echo(f"preflight: {display.path(change.path)} was not changed: it was edited after it was checked",
                   err=True)
    return [c for c in changes if c not in stale]


def _say_refused(changes) -> None:
    for change in changes:
        if change.refused:
            click.echo(f"preflight: {counted(change.refused, 'fix')} not applied to "
                       f"{display.path(change.path)}: the file would not parse as it did, or the "
                       "change does not apply to its text", err=True)


def _usage(message: str) -> None:
    click.echo(f"preflight: error: {display.block(message)}", err=True)
    sys.exit(2)


def _show_settings(targets, options, fail_on, output_format) -> None:
    from preflight import engine, showsettings

    try:
        request = engine.prepare(targets, **options)
        shown = showsettings.gather(request, {**options, "fail_on": fail_on})
    except engine.UsageError as exc:
        _usage(str(exc))
    click.echo(showsettings.as_json(shown) if output_format == "json" else showsettings.text(shown), nl=False)


def _fix_rounds(targets, options, changes, unsafe: bool):
    """What --fix would leave after all its rounds, without writing: each round checks again the files as
    the fixes before it left them (in memory; the standard input's buffer as its fixes left it), and each
    file's change is from its text as first checked to the last. Also the check of the texts the last round
    left, when it found nothing more to fix (None when there was nothing to fix, or the rounds ran out)."""
    from dataclasses import replace

    from preflight import api

    first = {c.path: c for c in changes}
    final = dict(first)
    fixed = sum(c.fixed for c in changes)
    buffer = options.get("buffer")
    settled = None
    for _ in range(FIX_ROUNDS - 1 if changes else 0):
        if buffer is not None:  # only the buffer's findings are reported, so only the buffer changes
            [change] = final.values()
            again = {**options, "buffer": (buffer[0], _fixed_text(change))}
        else:
            again = {**options, "texts": {path: _fixed_text(c) for path, c in final.items()}}
        checked = _run(targets, again)
        planned = api.plan_fixes(checked, unsafe=unsafe)
        _say_refused(planned)
        more = [c for c in planned if c.after != c.before]
        if not more:
            settled = checked
            break
        for change in more:
            earlier = final.get(change.path)
            final[change.path] = replace(earlier or change, after=change.after,
                                         fixed=(earlier.fixed if earlier else 0) + change.fixed)
            fixed += change.fixed
    return [c for _, c in sorted(final.items()) if c.after != c.before], fixed, settled


def _fixed_text(change) -> str:
    """A file's text as a fix left it, with the byte-order mark it had."""
    return ("\ufeff" if change.bom else "") + change.after


def _print_fixed_buffer(stdin, changes, fixed, settled, result, options, fail_on, exit_zero) -> None:
    """`--fix -`: the buffer as all the fix rounds leave it goes to standard output (for the editor that sent
    it, as ruff does), the findings left to standard error; no file is written. A buffer holding a credential
    is not printed: preflight prints no credential it found."""
    from preflight import api

    name, text = stdin
    change = changes[0] if changes else None
    if (change.hidden if change is not None else result.sources.hidden(_buffer_path(result, name))):
        _usage(f"{display.path(name)} holds a credential, which preflight does not print: the fixed buffer is not "
               "shown (--diff shows the fixes with it masked)")
    sys.stdout.write(change.after if change is not None else text.removeprefix("\ufeff"))
    sys.stdout.flush()
    left = settled or (_run([], {**options, "buffer": (name, _fixed_text(change))}) if change is not None else result)
    if left.findings:
        click.echo(api.render(left, left.findings, "text", show_source=False), nl=False, err=True)
    if fixed:
        click.echo(f"preflight: fixed {counted(fixed, 'finding')} in {display.path(name)}", err=True)
    if left.internal_errors:
        sys.exit(2)
    sys.exit(0 if exit_zero or not api.failing(left.findings, fail_on or left.fail_on) else 1)


def _buffer_path(result, name: str) -> str:
    from preflight import discover as discovery

    return discovery.display_path(Path(name).absolute(), result.cwd)


def _run(targets, options):
    from preflight import api, secrets

    try:
        result = api.check(targets, **options)
    except api.UsageError as exc:
        _usage(str(exc))
    for message in result.internal_errors:
        click.echo(f"preflight: internal error: {display.block(secrets.scrub(message))}", err=True)
    return result


def _report(result, findings, output_format, output_file, statistics, no_show_source, summarise) -> None:
    from preflight import api

    colour = output_file is None and output_format == "text" and _use_colour(sys.stdout)
    out = api.render(result, findings, output_format, statistics=statistics, show_source=not no_show_source,
                     colour=colour, summarise=summarise)
    if output_file:
        from preflight import writing

        writing.replace(output_file, out, within=result.cwd)  # a link the tree holds is not followed out of it
    else:
        click.echo(out, nl=False, color=colour)


def _finite(minimum: float, inclusive: bool):
    """A click callback: a finite number above `minimum` (click's FloatRange lets nan through)."""
    import math

    def check(context, parameter, value):
        if value is not None and not (math.isfinite(value) and (value >= minimum if inclusive else value > minimum)):
            raise click.BadParameter(f"{value} is not a finite number {'>=' if inclusive else '>'} {minimum:g}")
        return value

    return check


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--online", is_flag=True, help="Also check that the W&B host and an HTTP MLflow server answer.")
@click.option("--timeout", type=float, default=5.0, show_default=True, callback=_finite(0, inclusive=False),
              help="Seconds for each --online check.")
@click.option("--min-free-gb", type=float, default=5.0, show_default=True, callback=_finite(0, inclusive=True),
              help="Free disk space required where output_dir lives.")
@click.option("--warn-only", is_flag=True, help="Report, but always start the command.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="A pyproject.toml or preflight.toml.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
def run(online, timeout, min_free_gb, warn_only, output_format, config_path, command):
    """Check the live environment for COMMAND, then replace this process with it.

    Use it as the job's entry point: `preflight run -- accelerate launch train.py --config cfg.yaml`.
    The report goes to stderr.

    What stops the job (exit code 2, before any model is loaded, unless --warn-only): a live check that
    fails at error level, or an error-level finding about what COMMAND runs: its script (or the shell
    script and what that launches), the project modules the script imports, the config file on its
    command line and the files its code reads by a literal path. A finding about another launcher of
    the same script (a workflow step, compose service or sbatch script without the key) is about that
    launcher: it is counted, and never stops this command. Warnings are shown and never stop it."""
    from preflight import launchrun

    argv = list(command[1:]) if command[:1] == ("--",) else list(command)  # the command's own `--` stay
    if not argv or not argv[0]:
        _usage("preflight run needs a command to run after `--`")
    code = launchrun.check_and_report(argv, online=online, timeout=timeout, min_free_gb=min_free_gb,
                                      output_format=output_format, config_path=config_path, warn_only=warn_only)
    if code:
        sys.exit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        click.echo(f"preflight: cannot start {argv[0]}: {exc.strerror}", err=True)
        sys.exit(127)


@main.command()
def server():
    """Run the language server (LSP over standard input and output) for editors: diagnostics as you type,
    with fixes and ignore comments as code actions. Needs the lsp extra: pip install 'preflight-lint[lsp]'."""
    try:
        from preflight.server import main as serve
    except ImportError as exc:
        _usage(f"preflight server needs pygls ({exc.name} is not installed): pip install 'preflight-lint[lsp]'")
    serve()


def _rule_dict(rule: type[Rule]) -> dict:
    from preflight.options import describe

    return {
        "code": rule.code,
        "name": rule.name,
        "severity": rule.severity.value,
        "default": rule.severity is not Severity.INFO,
        "summary": rule.summary,
        "why": rule.why,
        "options": describe(rule.Options),
        "fixable": rule.autofix is not None,  # some of its findings carry a fix (`--fix` or `--unsafe-fixes`)
        "fix": rule.autofix,
        "fixes": list(rule.fixes),  # "safe" (--fix applies them), "unsafe" (only --unsafe-fixes)
        "fix_safety": rule.fix_safety,
        "docs_url": rule.docs_url(),
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
            from preflight import examples

            for finding in examples.run(rule, example):
                loc = finding.location
                out += textwrap.wrap(f"{loc.path}:{loc.line}:{loc.column}: {rule.code} {finding.message}", width=86,
                                     initial_indent="  -> ", subsequent_indent="     ")
    out += ["", "Fix", f"  {rule.autofix}" if rule.autofix else "  No automatic fix."]
    if rule.fix_safety:
        out += ["", "Fix safety", *textwrap.wrap(rule.fix_safety, width=86, initial_indent="  ",
                                                 subsequent_indent="  ")]
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
