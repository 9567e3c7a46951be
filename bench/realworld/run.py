"""Run preflight on the real-world ledger's repositories and compare its findings with the verdicts.

    python bench/realworld/run.py --snapshots DIR [--repo OWNER/NAME ...] [--work DIR] [--show new,gone]

`--snapshots` is a folder of bare git snapshots named `OWNER+NAME/repo` (or `OWNER+NAME` itself a git
directory); entries named `pypi:NAME==VERSION` are released source distributions, downloaded from the
package registry and checked against their pinned sha256 (see sdists.py). Each ledger repository is
materialised at its pinned commit into `--work` (a real git repository, because preflight lists files
through git; blobs a snapshot lacks are skipped), checked with
`preflight check --select ALL --format json --no-cache`, and each finding is matched to the ledger by
(repository, code, path, line). Printed per repository and per rule: findings that match a verdict, the
ones the ledger has that no longer appear ("gone"), and the new ones nobody has judged yet ("new").
The totals give the precision over the judged findings that still appear:

    precision = TP / (TP + FP)          strict = TP / (TP + FP + DEB)

`--json FILE` writes the comparison for tools; `--update` adds the new findings to the ledger as
UNREAD entries (to be judged by hand), and drops the gone ones after printing them; `--to-judge FILE`
lists the unread findings a reader must judge (for a rule with more than 100 findings in a repository,
a sample drawn with a fixed seed fills the judged ones up to 100).
The ledger holds references and verdicts only, never the repositories' files.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import sdists  # noqa: E402
LEDGER = HERE / "ledger.json"
JUDGED = ("TP", "FP", "DEB")


def _git(*args: str, cwd: Path | None = None, input: bytes | None = None) -> bytes:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(["git", *args], cwd=cwd, input=input, check=True, capture_output=True, env=env).stdout


def snapshot_dir(snapshots: Path, repo: str) -> Path | None:
    base = snapshots / repo.replace("/", "+")
    for candidate in (base / "repo", base):
        if (candidate / "objects").is_dir() or (candidate / "HEAD").is_file():
            return candidate
    return None


def materialise(git_dir: Path, commit: str, dest: Path) -> Path:
    """The tree of `commit` as a git repository with every file tracked (blobs the snapshot lacks are
    left out). Reused when it already holds that commit."""
    marker = dest / ".git" / "preflight-ledger-commit"
    if marker.is_file() and marker.read_text() == commit:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    listing = _git(f"--git-dir={git_dir}", "ls-tree", "-r", "-z", "--full-tree", commit)
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        mode, kind, sha = meta.split()
        if kind == b"blob":
            entries.append((mode.decode(), sha.decode(), path.decode("utf-8", "surrogateescape")))
    batch = "".join(f"{sha}\n" for _, sha, _ in entries).encode()
    out = _git(f"--git-dir={git_dir}", "cat-file", "--batch", input=batch)
    position = 0
    for mode, sha, path in entries:
        end = out.index(b"\n", position)
        header = out[position:end].split()
        position = end + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        data = out[position:position + size]
        position += size + 1
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            try:
                os.symlink(data.decode("utf-8", "surrogateescape"), target)
            except OSError:
                pass
            continue
        target.write_bytes(data)
        if mode == "100755":
            target.chmod(0o755)
    _git("init", "-q", cwd=dest)
    _git("add", "-A", "-f", cwd=dest)
    marker.write_text(commit)
    return dest


def check(tree: Path, subdir: str | None, preflight: list[str]) -> list[dict]:
    target = subdir or "."
    process = subprocess.run([*preflight, "check", target, "--select", "ALL", "--format", "json", "--no-cache",
                              "--exit-zero"], cwd=tree, capture_output=True, text=True)
    if process.returncode != 0:
        raise RuntimeError(f"preflight failed in {tree} (exit {process.returncode}):\n{process.stderr[-4000:]}")
    if "internal error" in process.stderr:
        print(process.stderr, file=sys.stderr)
    report = json.loads(process.stdout)
    return report["findings"] if isinstance(report, dict) else report


def _key(item: dict) -> tuple[str, str, int]:
    return item["code"], item["path"], int(item["line"])


def compare(ledger: dict, repo: str, findings: list[dict]) -> dict:
    judged = {}
    for entry in ledger["findings"]:
        if entry["repo"] == repo:
            judged.setdefault(_key(entry), []).append(entry)
    seen = collections.Counter()
    matched, new = [], []
    for finding in findings:
        item = {"code": finding["code"], "path": finding["location"]["path"], "line": finding["location"]["line"],
                "severity": finding["severity"], "message": finding["message"]}
        key = _key(item)
        entries = judged.get(key, [])
        if seen[key] < len(entries):
            matched.append({**item, "verdict": entries[seen[key]]["verdict"], "why": entries[seen[key]]["why"]})
        else:
            new.append(item)
        seen[key] += 1
    gone = [entry for key, entries in judged.items() for entry in entries[seen[key]:]]
    return {"matched": matched, "new": new, "gone": gone}


def _counts(items: list[dict]) -> collections.Counter:
    return collections.Counter(item.get("verdict", "NEW") for item in items)


def precision(counter: collections.Counter) -> tuple[float | None, float | None]:
    tp, fp, deb = counter["TP"], counter["FP"], counter["DEB"]
    return (tp / (tp + fp) if tp + fp else None), (tp / (tp + fp + deb) if tp + fp + deb else None)


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def report(results: dict[str, dict], show: set[str]) -> None:
    total = collections.Counter()
    by_rule: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for repo, result in results.items():
        counts = _counts(result["matched"])
        counts["NEW"] = len(result["new"])
        counts["GONE"] = len(result["gone"])
        total.update(counts)
        print(f"\n## {repo}: {len(result['matched']) + len(result['new'])} findings; "
              + ", ".join(f"{k} {counts[k]}" for k in ("TP", "FP", "DEB", "UNREAD", "NEW", "GONE") if counts[k]))
        for item in result["matched"]:
            by_rule[item["code"]][item["verdict"]] += 1
        for item in result["new"]:
            by_rule[item["code"]]["NEW"] += 1
        for item in result["gone"]:
            by_rule[item["code"]]["GONE:" + item["verdict"]] += 1
        for label, items in (("new", result["new"]), ("gone", result["gone"])):
            if label in show:
                for item in items:
                    extra = item.get("message", "") if label == "new" else f"{item['verdict']}: {item['why']}"
                    print(f"  {label:4} {item['code']} {item['path']}:{item['line']}  {extra[:300]}")
    print("\n## per rule (still reported: TP/FP/DEB/UNREAD/NEW; no longer reported: GONE:<verdict>)")
    for code in sorted(by_rule):
        counter = by_rule[code]
        p, strict = precision(counter)
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counter.items()))
        print(f"  {code:7} precision {_fmt(p)} strict {_fmt(strict)}  {parts}")
    p, strict = precision(total)
    print(f"\n## total: precision {_fmt(p)} (TP {total['TP']}, FP {total['FP']}), strict {_fmt(strict)} "
          f"(DEB {total['DEB']}); UNREAD {total['UNREAD']}, NEW {total['NEW']}, GONE {total['GONE']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshots", type=Path, required=True, help="folder of OWNER+NAME/repo bare snapshots")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "preflight-realworld")
    parser.add_argument("--repo", action="append", help="only these repositories (OWNER/NAME)")
    parser.add_argument("--ledger", type=Path, default=LEDGER)
    parser.add_argument("--preflight", default=f"{sys.executable} -m preflight",
                        help="the command that runs preflight (default: this interpreter's)")
    parser.add_argument("--show", default="new,gone", help="which findings to list: new, gone (comma-separated)")
    parser.add_argument("--json", type=Path, help="write the comparison to this file")
    parser.add_argument("--update", action="store_true", help="record new findings as UNREAD, drop gone ones")
    parser.add_argument("--to-judge", type=Path, help="write the findings that need a verdict (JSON lines): every "
                        "unread one, but for a rule with more than 100 in a repository a fixed-seed sample up to 100")
    args = parser.parse_args()

    ledger = json.loads(args.ledger.read_text())
    results = {}
    for repo, spec in ledger["repos"].items():
        if args.repo and repo not in args.repo:
            continue
        if "sdist" in spec:  # "pypi:NAME==VERSION": a released source distribution, pinned by its digest
            name, version = repo.removeprefix("pypi:").split("==")
            try:
                tree = sdists.materialise(name, version, spec["sdist"], args.work / repo.replace(":", "+"))
            except sdists.Unavailable as exc:
                print(f"## {repo}: {exc}, skipped", file=sys.stderr)
                continue
            results[repo] = compare(ledger, repo, check(tree, None, args.preflight.split()))
            continue
        git_dir = snapshot_dir(args.snapshots, repo)
        if git_dir is None:
            print(f"## {repo}: no snapshot in {args.snapshots}, skipped", file=sys.stderr)
            continue
        tree = materialise(git_dir, spec["commit"], args.work / repo.replace("/", "+"))
        results[repo] = compare(ledger, repo, check(tree, spec.get("subdir"), args.preflight.split()))
    report(results, set(filter(None, args.show.split(","))))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    if args.update:
        kept = [e for e in ledger["findings"] if e["repo"] not in results]
        for repo, result in results.items():
            kept += [{"repo": repo, **{k: m[k] for k in ("code", "severity", "path", "line", "verdict", "why")}}
                     for m in result["matched"]]
            kept += [{"repo": repo, "code": n["code"], "severity": n["severity"], "path": n["path"],
                      "line": n["line"], "verdict": "UNREAD", "why": ""} for n in result["new"]]
        ledger["findings"] = sorted(kept, key=lambda e: (e["repo"], e["path"], e["line"], e["code"]))
        args.ledger.write_text(json.dumps(ledger, indent=1, ensure_ascii=False) + "\n")
    if args.to_judge:
        pending = to_judge(results)
        args.to_judge.write_text("".join(json.dumps(item) + "\n" for item in pending))
        print(f"\n{len(pending)} findings to judge written to {args.to_judge}")
    return 0


SAMPLE = 100
SEED = 13


def to_judge(results: dict[str, dict]) -> list[dict]:
    """The findings a reader must judge: all unread ones of a (repository, rule) with at most SAMPLE findings;
    for a larger one, unread ones drawn with a fixed seed until SAMPLE of them are judged."""
    import random

    pending = []
    for repo, result in results.items():
        groups: dict[str, list[dict]] = collections.defaultdict(list)
        for item in [*result["matched"], *[{**n, "verdict": "UNREAD"} for n in result["new"]]]:
            groups[item["code"]].append(item)
        for code, items in sorted(groups.items()):
            unread = [i for i in items if i.get("verdict") == "UNREAD"]
            judged = len(items) - len(unread)
            if len(items) > SAMPLE:
                unread.sort(key=lambda i: (i["path"], i["line"]))
                random.Random(f"{SEED}:{repo}:{code}").shuffle(unread)
                unread = unread[:max(0, SAMPLE - judged)]
            pending += [{"repo": repo, **i} for i in unread]
    return pending


if __name__ == "__main__":
    sys.exit(main())
