"""Nothing is lost: every file preflight writes (fixed files, suppression comments, baselines, reports, the
job summary, the cache) is complete or untouched. A full disk, a file size limit, a missing or read-only
folder leave the original as it was, with a clear message and exit code 2 (the cache: a message, and the
check's own exit code). The full disk is real where the machine allows it: a small tmpfs mounted in a
user and mount namespace (`unshare -rm`); the file size limit (RLIMIT_FSIZE, which makes a write fail
with EFBIG as a full disk makes it fail with ENOSPC) is available everywhere."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from preflight import writing

TRACKED = "import wandb\nrun = wandb.init(project='p')\n"
LONG = "import wandb\n" + "".join(f"x_{i} = {i}\n" for i in range(1_499)) + "run = wandb.init(project='p')\n"


def _preflight(root: Path, *arguments: str, file_size: int | None = None, env: dict | None = None):
    """preflight in a process of its own, with writes beyond `file_size` bytes failing (EFBIG)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return subprocess.run([sys.executable, "-m", "preflight", "check", *arguments], cwd=root, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})},
                          preexec_fn=limit if file_size is not None else None)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".preflight_cache" not in p.parts}


def _project(root: Path) -> None:
    (root / "small.py").write_text(TRACKED)
    (root / "long.py").write_text(LONG)  # 1,501 lines, about 12 KB
    (root / "baseline.json").write_text(json.dumps({"tool": "preflight", "entries": []}) + "\n")
    (root / "report.txt").write_text("the previous report\n")


@pytest.mark.parametrize("arguments, file_size", [
    (["--add-ignores"], 2_048),  # small.py fits under the limit, long.py does not: neither is changed
    (["--write-baseline", "baseline.json"], 256),
    (["-o", "report.txt"], 256),
    (["--format", "sarif", "-o", "report.txt"], 2_048),
    (["--sarif-output", "report.txt"], 2_048),
])
def test_a_write_that_fails_midway_changes_nothing(tmp_path, arguments, file_size):
    _project(tmp_path)
    before = _digest(tmp_path)
    result = _preflight(tmp_path, "--no-cache", "--select", "WB001", *arguments, ".", file_size=file_size)
    assert result.returncode == 2, result.stderr
    assert "cannot write" in result.stderr and "File too large" in result.stderr
    assert "Traceback" not in result.stderr
    assert _digest(tmp_path) == before
    assert not [p for p in tmp_path.iterdir() if "preflight-tmp" in p.name]


def test_writes_that_succeed_keep_mode_and_links(tmp_path):
    _project(tmp_path)
    os.chmod(tmp_path / "long.py", 0o751)
    (tmp_path / "linked.py").symlink_to("small.py")
    result = _preflight(tmp_path, "--no-cache", "--select", "WB001", "--add-ignores", "kept", ".")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(tmp_path / "long.py").st_mode) == 0o751
    assert (tmp_path / "linked.py").is_symlink() and "ignore[WB001]" in (tmp_path / "small.py").read_text()
    assert (tmp_path / "long.py").read_text().count("\n") == 1_501
    assert _preflight(tmp_path, "--no-cache", "-o", "report.txt", ".").returncode == 0
    assert "All checks passed" in (tmp_path / "report.txt").read_text()
    assert not [p for p in tmp_path.iterdir() if "preflight-tmp" in p.name]


def test_a_missing_folder_or_a_folder_is_a_clear_error(tmp_path):
    _project(tmp_path)
    for arguments, says in ((["-o", "missing/report.txt"], "the folder missing does not exist"),
                            (["--sarif-output", "out/r.sarif"], "the folder out does not exist"),
                            (["--write-baseline", "none/b.json"], "the folder none does not exist")):
        result = _preflight(tmp_path, "--no-cache", *arguments, ".")
        assert result.returncode == 2 and says in result.stderr and "Traceback" not in result.stderr, result.stderr
    with pytest.raises(writing.WriteError, match="it is a folder"):
        writing.replace(tmp_path, "x")


def test_what_is_not_a_regular_file_is_written_directly():
    writing.replace("/dev/null", "discarded\n")  # `-o /dev/stdout` in a pipe is the same case


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes in read-only folders")
def test_a_read_only_folder(tmp_path):
    _project(tmp_path)
    before = _digest(tmp_path)
    os.chmod(tmp_path, 0o555)
    try:
        result = _preflight(tmp_path, "--no-cache", "--add-ignores", ".")
    finally:
        os.chmod(tmp_path, 0o755)
    assert result.returncode == 2 and "Permission denied" in result.stderr and _digest(tmp_path) == before


def test_the_job_summary_is_appended_whole(tmp_path):
    _project(tmp_path)
    summary = tmp_path / "summary.md"
    summary.write_text("# the steps before\n")
    assert _preflight(tmp_path, "--no-cache", "--format", "github", ".", env={"GITHUB_STEP_SUMMARY": str(summary)}
                      ).returncode == 1
    written = summary.read_text()
    assert written.startswith("# the steps before\n### preflight: 2 findings")
    summary.write_text("# the steps before\n" + "x" * 3_000 + "\n")
    before = summary.read_bytes()
    result = _preflight(tmp_path, "--no-cache", "--format", "github", ".", file_size=3_100,
                        env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 2 and "cannot write" in result.stderr and summary.read_bytes() == before


def test_the_cache_on_a_full_disk_is_left_as_it_was(tmp_path):
    """SQLite rolls the failed write back: the check's result stands, the cache is not set aside as if it
    were damaged, and the next run with room uses it."""
    (tmp_path / "train.py").write_text(TRACKED)
    assert _preflight(tmp_path, ".").returncode == 1
    database = tmp_path / ".preflight_cache" / "facts.sqlite3"
    for i in range(40):
        (tmp_path / f"more_{i}.py").write_text(TRACKED + "\n" * i + "# " + "x" * 4_000 + "\n")
    result = _preflight(tmp_path, ".", file_size=os.path.getsize(database) + 4_096)
    assert result.returncode == 1 and "was not updated" in result.stderr and "Traceback" not in result.stderr
    assert "Found 41 findings" in result.stdout
    assert sorted(p.name for p in database.parent.iterdir() if "corrupt" in p.name) == []
    again = _preflight(tmp_path, ".")
    assert again.returncode == 1 and "Found 41 findings" in again.stdout and not again.stderr


_IN_NAMESPACE = textwrap.dedent("""
    import hashlib, json, os, subprocess, sys
    mount, project, mode = sys.argv[1:4]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount], check=True)
    for name in os.listdir(project):
        with open(os.path.join(project, name), "rb") as source, open(os.path.join(mount, name), "wb") as copy:
            copy.write(source.read())
    if mode == "full":
        filler = os.open(os.path.join(mount, "filler"), os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(filler, b"x" * 4096)
        except OSError:  # the disk is full
            os.close(filler)
    else:
        subprocess.run(["mount", "-o", "remount,ro", mount], check=True)
    def digest():
        return {n: hashlib.sha256(open(os.path.join(mount, n), "rb").read()).hexdigest()
                for n in sorted(os.listdir(mount))}
    before = digest()
    runs = []
    for arguments in (["--add-ignores"], ["--write-baseline", "baseline.json"], ["-o", "report.txt"]):
        done = subprocess.run([sys.executable, "-m", "preflight", "check", "--no-cache", *arguments, "."],
                              cwd=mount, capture_output=True, text=True)
        runs.append([done.returncode, done.stderr])
    print(json.dumps({"same": digest() == before, "runs": runs, "names": sorted(os.listdir(mount))}))
""")


def _namespaces() -> bool:
    if not shutil.which("unshare") or not shutil.which("mount"):
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _namespaces(), reason="user and mount namespaces are not available (unshare -rm)")
@pytest.mark.parametrize("mode, says", [("full", "No space left on device"), ("read-only", "Read-only file system")])
def test_a_real_full_disk_and_a_read_only_file_system(tmp_path, mode, says):
    project, mount = tmp_path / "project", tmp_path / "mount"
    project.mkdir()
    mount.mkdir()
    _project(project)
    done = subprocess.run(["unshare", "-rm", sys.executable, "-c", _IN_NAMESPACE, str(mount), str(project), mode],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["same"], outcome
    for code, stderr in outcome["runs"]:
        assert code == 2 and says in stderr and "Traceback" not in stderr, stderr
    assert not [name for name in outcome["names"] if "preflight-tmp" in name]


def test_a_link_the_tree_holds_is_not_followed_out_of_it(tmp_path):
    """A repository can hold `report.sarif -> ~/.bashrc` or a folder that links elsewhere: `-o`,
    `--write-baseline` and fixes write nothing through them; a link within the tree is written through."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (outside / "bashrc").write_text("# the user's own\n")
    (project / "train.py").write_text(TRACKED)
    (project / "report.sarif").symlink_to(outside / "bashrc")
    (project / "reports").symlink_to(outside, target_is_directory=True)
    (project / "real.txt").write_text("before\n")
    (project / "inside.txt").symlink_to("real.txt")
    for arguments in (["-o", "report.sarif"], ["--sarif-output", "report.sarif"], ["--write-baseline", "report.sarif"],
                      ["-o", "reports/new.txt"]):
        result = _preflight(project, "--no-cache", *arguments, ".")
        assert result.returncode == 2 and "a symbolic link leads it out of" in result.stderr, result.stderr
    assert sorted(p.name for p in outside.iterdir()) == ["bashrc"]
    assert (outside / "bashrc").read_text() == "# the user's own\n"
    assert _preflight(project, "--no-cache", "-o", "inside.txt", ".").returncode == 1
    assert (project / "inside.txt").is_symlink() and "WB001" in (project / "real.txt").read_text()
    elsewhere = tmp_path / "elsewhere.txt"  # a path named outside the tree is the user's own: followed
    (tmp_path / "mine.txt").symlink_to(elsewhere)
    assert _preflight(project, "--no-cache", "-o", str(tmp_path / "mine.txt"), ".").returncode == 1
    assert "WB001" in elsewhere.read_text()


def test_fixes_are_written_all_or_none_when_one_file_leads_out(tmp_path):
    (tmp_path / "outside.py").write_text("outside\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text("a\n")
    (tree / "b.py").symlink_to(tmp_path / "outside.py")  # swapped for a link after the scan
    with pytest.raises(writing.WriteError, match="leads it out of"):
        writing.replace_all([(tree / "a.py", b"fixed\n"), (tree / "b.py", b"fixed\n")], within=tree)
    assert (tree / "a.py").read_text() == "a\n" and (tmp_path / "outside.py").read_text() == "outside\n"
    assert sorted(p.name for p in tree.iterdir()) == ["a.py", "b.py"]


def test_a_name_that_cannot_be_written_is_shown_escaped(tmp_path):
    with pytest.raises(writing.WriteError) as raised:
        writing.replace(tmp_path / "missing\n::error::x" / "report\x1b[2J.txt", "x")
    assert "\n" not in str(raised.value) and "\x1b" not in str(raised.value)
    assert "missing\\n::error::x/report\\x1b[2J.txt" in str(raised.value)
