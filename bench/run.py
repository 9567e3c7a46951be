"""Benchmark preflight against its physical floors and its peers on the same files, same call.

    python bench/run.py [--install] [--runs 5] [--skip-fixit]

Builds the corpus (bench/corpus.py) under bench/.work, then times, each as a whole process
(interpreter start-up included), alternating the commands round by round after a warm-up:
reading every file, a read+regex pass, hashing every file, preflight cold (no cache), preflight
cold serial, preflight warm (cache populated), preflight on one file as pre-commit runs it,
ruff (default rules: --isolated, --no-cache) and, once, Fixit. Prints medians, peak RSS and ratios, and
asserts that cached, parallel and serial runs report identical findings.
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
    ruff = shutil.which("ruff", path=str(bin_dir)) or shutil.which("ruff")
    if ruff:
        # --isolated: the corpus lies inside this repository, whose own [tool.ruff] settings must not apply
        commands["ruff check (default rules)"] = ([ruff, "check", "--isolated", "--no-cache", "--exit-zero", "-q", "."],
                                                  {})
    files = sum(1 for p in corpus.rglob("*") if p.suffix in (".py", ".yml", ".yaml") and ".git" not in p.parts)
    print(f"corpus: {files} files ({corpus})", file=sys.stderr)

    # identical findings, whatever the path taken
    outputs = {}
    for label, extra, env in [("serial, no cache", ["--no-cache"], {"PREFLIGHT_WORKERS": "1"}),
                              ("parallel, no cache", ["--no-cache"], {}),
                              ("parallel, cold cache", ["--cache-dir", str(options.work / "fresh-cache")], {}),
                              ("parallel, warm cache", ["--cache-dir", str(options.work / "fresh-cache")], {})]:
        out = subprocess.run([*preflight, "--format", "json", *extra, "."], cwd=corpus, capture_output=True,
                             env={**os.environ, **env}, check=True).stdout
        outputs[label] = json.loads(out)["findings"]
    reference = outputs["serial, no cache"]
    assert all(found == reference for found in outputs.values()), "findings differ between runs"
    print(f"identical findings in serial, parallel, cold-cache and warm-cache runs: {len(reference)}",
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
    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    print(f"\nMachine: {os.cpu_count()} cores, {cpu_model}, Python {platform.python_version()}, {platform.system()}")
    print(f"Corpus: {files} files ({corpus_module.TRANSFORMERS} sources + a generated fine-tuning project)\n")
    print("\n".join(rows))
    print(f"\nwarm / hash every file: {warm:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
