"""`preflight run`: resolve what the command runs, check those files statically, check the live
environment (preflight/launchcheck.py), and decide whether the job may start."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import click

from preflight import display, launchcheck, secrets
from preflight.findings import Severity
from preflight.model import EntryKind

_SYMBOL = {"ok": "ok  ", "info": "--  ", "warning": "WARN", "error": "FAIL"}


def _targets(argv: list[str], cwd: Path) -> list[str]:
    from preflight.sources import entrypoints

    found = entrypoints.recognize(argv)
    if found is None:
        return []
    candidates = []
    if found.kind in (EntryKind.PYTHON_SCRIPT, EntryKind.SHELL_SCRIPT):
        candidates.append(found.target)
    elif found.kind is EntryKind.PYTHON_MODULE:
        relative = found.target.replace(".", "/")
        candidates += [f"{relative}.py", f"{relative}/__main__.py"]
    if found.config:
        candidates.append(found.config)
    return [c for c in candidates if (cwd / c).is_file()]


def _static_check(targets: list[str], launch, config_path: str | None, cwd: Path):
    """The static check of what the command runs: its targets, then, when the script imports project modules
    or reads files by a literal path, those too (a named file's imports are context only, never reported)."""
    from preflight import api, launchscope

    if not targets:
        return None
    result = api.check(targets, config_path=config_path, cwd=cwd)
    if launch is None or result.project is None:
        return result
    scope = launchscope.files(result.project, launch)
    if scope <= set(result.checked_paths):
        return result
    return api.check(sorted(scope | set(targets)), config_path=config_path, cwd=cwd)


def check_and_report(argv: list[str], *, online: bool, timeout: float, min_free_gb: float, output_format: str,
                     config_path: str | None, warn_only: bool) -> int:
    """0 when the command may start, 2 when an error-level check failed (and not warn_only). With
    warn_only nothing stops the job: not a configuration error, not a failure of preflight itself."""
    try:
        return _check_and_report(argv, online=online, timeout=timeout, min_free_gb=min_free_gb,
                                 output_format=output_format, config_path=config_path, warn_only=warn_only)
    except Exception:  # a bug in a check must not decide whether the job runs
        from preflight.secrets import scrub

        click.echo(f"preflight: internal error: {display.block(scrub(traceback.format_exc()))}", err=True)
        click.echo("preflight run: " + ("starting the job despite the error (--warn-only)" if warn_only else
                                        "not starting: preflight failed (use --warn-only to start anyway)"), err=True)
        return 0 if warn_only else 2


def _check_and_report(argv: list[str], *, online: bool, timeout: float, min_free_gb: float, output_format: str,
                      config_path: str | None, warn_only: bool) -> int:
    from preflight import api

    cwd = Path.cwd()
    targets = _targets(argv, cwd)
    checks: list[launchcheck.Check] = []
    findings = []
    project = None
    launch = launchcheck.describe_launch(argv, cwd)
    try:
        result = _static_check(targets, launch, config_path, cwd)
    except api.UsageError as exc:
        click.echo(f"preflight: error: {display.block(str(exc))}", err=True)
        if warn_only:
            click.echo("preflight run: starting the job despite the error (--warn-only)", err=True)
        return 0 if warn_only else 2
    if result is not None:
        findings, project = result.findings, result.project
        for message in result.internal_errors:
            click.echo(f"preflight: internal error: {display.block(secrets.scrub(message))}", err=True)
    else:
        checks.append(launchcheck.Check("command", "info", "not a training command preflight recognises: only the "
                                        "environment checks apply"))
    elsewhere = []
    if project is not None and launch is not None:
        from preflight import launchscope

        findings, elsewhere = launchscope.split(findings, project, launch)
        from preflight.launches import running_uses, switched_off

        uses = running_uses(project, launch)
        if uses:
            checks += launchcheck.wandb_checks(project, launch, uses)  # says so when W&B is switched off
            if online and not switched_off(project, launch):
                checks.append(launchcheck.wandb_reachable(timeout))
        if launchcheck.uses_mlflow(project, launch):
            checks += launchcheck.mlflow_checks(online, timeout)
        checks += launchcheck.path_checks(project, launch, cwd, min_free_gb)
    from preflight import config as config_module

    try:
        assumed = config_module.load(config_path, cwd, cwd).settings.versions
    except config_module.ConfigError:
        assumed = {}
    checks += launchcheck.version_checks(dict(assumed))

    static_errors = [f for f in findings if f.severity is Severity.ERROR]
    failed = [c for c in checks if c.status == "error"]
    blocked = bool(static_errors or failed) and not warn_only
    if output_format == "json":
        document = {
            "command": secrets.mask_argv(argv),
            "checks": [{key: secrets.scrub(value) if isinstance(value, str) else value
                        for key, value in launchcheck.as_dict(c).items()} for c in checks],
            "findings": [{"code": f.code, "severity": f.severity.value, "message": display.text(f.message),
                          "location": _where(f.location)} for f in findings],
            "other_findings": len(elsewhere),
            "start": not blocked,
        }
        click.echo(json.dumps(document), err=True)
    else:
        lines = [f"preflight run: {' '.join(secrets.mask_argv(argv))[:120]}"]
        for finding in findings:
            lines.append(f"  {'FAIL' if finding.severity is Severity.ERROR else 'WARN'} {_where(finding.location)}: "
                         f"{finding.code} {finding.message}")
        if elsewhere:
            lines.append(f"  --   other findings: {_count(len(elsewhere))} about launchers or files this command does "
                         f"not run, not a reason to stop it (`preflight check` reports {_them(len(elsewhere))})")
        lines += [f"  {_SYMBOL[c.status]} {c.name}: {c.message}" for c in checks]
        verdict = ("not starting: fix the failures above (or use --warn-only)" if blocked else
                   "starting the job" + (" despite failures (--warn-only)" if (static_errors or failed) else ""))
        lines.append(f"preflight run: {verdict}")
        # one line each, no escapes, no credential (a check's message may quote the environment or a file)
        click.echo("\n".join(display.text(secrets.scrub(line)) for line in lines), err=True)
    sys.stderr.flush()
    return 2 if blocked else 0


def _count(number: int) -> str:
    return f"{number} finding" + ("" if number == 1 else "s")


def _them(number: int) -> str:
    return "it" if number == 1 else "them"


def _where(location) -> str:
    return f"{display.path(location.path)}:{location.line}:{location.column}"
