"""Benchmark preflight against its physical floors and its peers on the same files, same call.

    python bench/run.py [--install] [--runs 5] [--skip-fixit]

Builds the corpus (bench/corpus.py) under bench/.work, then times, each as a whole process
(interpreter start-up included), alternating the commands round by round after a warm-up:
reading every file, a read+regex pass, hashing every file, preflight cold (no cache), preflight
cold serial, preflight warm (cache populated), preflight on one file as pre-commit runs it,
preflight with every tracked file named (as `pre-commit run --all-files` and CI's pre-commit job
pass them) cold and warm, ruff (default rules: --isolated, --no-cache), the real `pre-commit run
--all-files` with preflight's hook and with ruff's, and, once, Fixit. Prints medians, peak RSS and
ratios, and asserts that cached, parallel, serial and named-file runs report identical findings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus as corpus_module  # noqa: E402
import hostile  # noqa: E402

PATTERN = r"wandb|mlflow|weave|TrainingArguments|\btrl\b|WandbLogger|log_artifact"

_READ = """
import os, sys
total = 0
for root, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if d != '.git' and d != '.preflight_cache']
    for f in files:
        if f.endswith(('.py', '.yml', '.yaml')):
            with open(os.path.join(root, f), 'rb') as h:
                total += len(h.read())
"""
_REGEX = _READ.replace("total += len(h.read())", "total += bool(PATTERN.search(h.read()))").replace(
    "total = 0", f"import re\nPATTERN = re.compile(rb{PATTERN!r})\ntotal = 0")
_HASH = _READ.replace("total += len(h.read())", "hashlib.blake2b(h.read(), digest_size=20).digest()").replace(
    "total = 0", "import hashlib\ntotal = 0")


def measure(command: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MiB) of one whole process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, int(usage.ru_maxrss / 1024)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--install", action="store_true", help="pip install the peers (bench/requirements.txt)")
    parser.add_argument("--skip-fixit", action="store_true")
    parser.add_argument("--skip-hostile", action="store_true", help="leave out the rows of bench/hostile.py")
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter whose preflight is measured: a regular (not editable) install is what "
                             "pre-commit and users run; an editable one adds its import hook to every start-up")
    options = parser.parse_args()
    if options.install:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", str(HERE / "requirements.txt")], check=True)
    corpus = corpus_module.build(options.work)
    python = sys.executable
    preflight = [options.python, "-m", "preflight", "check", "--exit-zero", "--no-show-source"]
    cache_dir = options.work / "cache"
    one_file = "finetune/scripts/train_007.py"
    bin_dir = Path(python).parent
    commands: dict[str, tuple[list[str], dict]] = {
        "read every file": ([python, "-c", _READ, "."], {}),
        "read + regex pre-filter": ([python, "-c", _REGEX, "."], {}),
        "read + hash every file": ([python, "-c", _HASH, "."], {}),
        "preflight cold (2 processes)": ([*preflight, "--no-cache", "."], {}),
        "preflight cold (serial)": ([*preflight, "--no-cache", "."], {"PREFLIGHT_WORKERS": "1"}),
        "preflight warm (cache)": ([*preflight, "--cache-dir", str(cache_dir), "."], {}),
        "preflight, 1 file (pre-commit)": ([*preflight, "--cache-dir", str(cache_dir), one_file], {}),
    }
    named = subprocess.run(["git", "ls-files", "-z"], cwd=corpus, capture_output=True, check=True).stdout.decode()
    named = [name for name in named.split("\0") if name]
    commands["preflight cold, every file named"] = ([*preflight, "--no-cache", *named], {})
    commands["preflight warm, every file named"] = ([*preflight, "--cache-dir", str(cache_dir), *named], {})
    hostile_projects = {} if options.skip_hostile else hostile.build(options.work / "hostile")
    for kind, (single, double) in hostile_projects.items():
        check = [*preflight, "--no-cache", "--select", "ALL", *hostile.ARGUMENTS.get(kind, [])]
        commands[f"hostile: {kind}"] = ([*check, str(single)], {})
        commands[f"hostile: {kind}, twice the size"] = ([*check, str(double)], {})
    ruff = shutil.which("ruff", path=str(bin_dir)) or shutil.which("ruff")
    if ruff:
        # --isolated: the corpus lies inside this repository, whose own [tool.ruff] settings must not apply
        commands["ruff check (default rules)"] = ([ruff, "check", "--isolated", "--no-cache", "--exit-zero", "-q", "."],
                                                  {})
    commands.update(pre_commit_runs(options.work, options.python, ruff))
    files = sum(1 for p in corpus.rglob("*") if p.suffix in (".py", ".yml", ".yaml") and ".git" not in p.parts)
    print(f"corpus: {files} files ({corpus})", file=sys.stderr)

    # identical findings, whatever the path taken
    outputs = {}
    for label, extra, env in [("serial, no cache", ["--no-cache", "."], {"PREFLIGHT_WORKERS": "1"}),
                              ("parallel, no cache", ["--no-cache", "."], {}),
                              ("parallel, cold cache", ["--cache-dir", str(options.work / "fresh-cache"), "."], {}),
                              ("parallel, warm cache", ["--cache-dir", str(options.work / "fresh-cache"), "."], {}),
                              ("every file named", ["--cache-dir", str(options.work / "fresh-cache"), *named], {})]:
        out = subprocess.run([*preflight, "--format", "json", *extra], cwd=corpus, capture_output=True,
                             env={**os.environ, **env}, check=True).stdout
        outputs[label] = json.loads(out)["findings"]
    reference = outputs["serial, no cache"]
    assert all(found == reference for found in outputs.values()), "findings differ between runs"
    print(f"identical findings in serial, parallel, cold-cache, warm-cache and named-file runs: {len(reference)}",
          file=sys.stderr)

    for command, env in commands.values():  # warm-up (page cache, the preflight cache)
        measure(command, corpus, env)
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for _ in range(options.runs):
        for name, (command, env) in commands.items():
            samples[name].append(measure(command, corpus, env))
    if not options.skip_fixit and (shutil.which("fixit", path=str(bin_dir)) or shutil.which("fixit")):
        fixit = shutil.which("fixit", path=str(bin_dir)) or shutil.which("fixit")
        samples["fixit lint (once)"] = [measure([fixit, "lint", "."], corpus)]

    median = {name: statistics.median(s[0] for s in runs) for name, runs in samples.items()}
    rows = ["| measurement | median wall s | CPU s | peak MiB | runs | vs read+regex | vs ruff |",
            "|---|---|---|---|---|---|---|"]
    for name, runs in samples.items():
        cpu = statistics.median(s[1] for s in runs)
        rss = max(s[2] for s in runs)
        regex = median[name] / median["read + regex pre-filter"]
        ruff_ratio = f"{median[name] / median['ruff check (default rules)']:.2f}x" if ruff else "-"
        rows.append(f"| {name} | {median[name]:.3f} | {cpu:.2f} | {rss} | {len(runs)} | {regex:.2f}x | {ruff_ratio} |")
    warm = median["preflight warm (cache)"] / median["read + hash every file"]
    named_cold = median["preflight cold, every file named"] / median["preflight cold (2 processes)"]
    named_warm = median["preflight warm, every file named"] / median["preflight warm (cache)"]
    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    print(f"\nMachine: {os.cpu_count()} cores, {cpu_model}, Python {platform.python_version()}, {platform.system()}")
    print(f"Corpus: {files} files ({corpus_module.TRANSFORMERS} sources + a generated fine-tuning project)\n")
    print("\n".join(rows))
    print(f"\nwarm / hash every file: {warm:.2f}x")
    for kind in hostile_projects:  # linear: twice the input, at most about twice the time
        growth = median[f"hostile: {kind}, twice the size"] / median[f"hostile: {kind}"]
        print(f"hostile, {kind}: twice the size takes {growth:.2f}x the time")
    print(f"every file named / the directory scan: cold {named_cold:.2f}x, warm {named_warm:.2f}x")
    if "pre-commit, preflight hook" in median and "pre-commit, ruff hook" in median:
        hooks = median["pre-commit, preflight hook"] / median["pre-commit, ruff hook"]
        print(f"pre-commit run --all-files, preflight's hook / ruff's hook: {hooks:.2f}x")
    return 0


def pre_commit_runs(work: Path, python: str, ruff: str | None) -> dict[str, tuple[list[str], dict]]:
    """The real `pre-commit run --all-files`, once with preflight's hook and once with ruff's, each with
    its tool's default cache, as a repository runs them. The hooks are the published definitions
    (.pre-commit-hooks.yaml here, ruff-pre-commit's `ruff-check`) with `language: system`, so that the
    interpreter measured is the one given and nothing is installed from the network."""
    try:
        import pre_commit  # noqa: F401
        import yaml
    except ImportError:
        print("pre-commit is not installed: no pre-commit rows", file=sys.stderr)
        return {}
    published = yaml.safe_load((HERE.parent / ".pre-commit-hooks.yaml").read_text())[0]
    hooks = {"preflight": {**{key: published[key] for key in ("id", "name", "types", "files", "require_serial")},
                           "language": "system", "entry": f"{python} -m preflight check --force-exclude"}}
    if ruff:
        # --isolated as above; otherwise ruff-pre-commit's hook as published
        hooks["ruff"] = {"id": "ruff-check", "name": "ruff check", "language": "system",
                         "entry": f"{ruff} check --isolated --force-exclude", "types_or": ["python", "pyi", "jupyter"],
                         "require_serial": True}
    env = {"PRE_COMMIT_HOME": str(work / "pre-commit-home"), "PRE_COMMIT_COLOR": "never"}
    runs = {}
    for name, hook in hooks.items():
        config = work / f"pre-commit-{name}.yaml"
        config.write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}))
        runs[f"pre-commit, {name} hook"] = ([sys.executable, "-m", "pre_commit", "run", "--all-files", "-c",
                                            str(config)], env)
    return runs


if __name__ == "__main__":
    sys.exit(main())
