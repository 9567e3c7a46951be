"""The facts cache, the process pool and the pre-filter change how fast results come, never what
they are: each is checked against the plain serial, uncached, unfiltered run."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from preflight import collect, engine, extract

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """The example project plus files from the test suite's own inputs, in a folder of their own."""
    root = tmp_path / "corpus"
    shutil.copytree(REPO / "examples", root)
    for index in range(30):  # files the pre-filter skips, and some it does not
        (root / f"pkg/mod_{index}.py").parent.mkdir(exist_ok=True)
        (root / f"pkg/mod_{index}.py").write_text(f"import os\n\ndef f{index}():\n    return {index}\n" * 50)
    (root / "pkg/tracked.py").write_text("import wandb\n\nwandb.init(project='p')\n" + "x = 1\n" * 5000)
    monkeypatch.chdir(root)
    return root


def findings(result) -> list[str]:
    return [f"{f.location}: {f.code} {f.message}" for f in result.findings]


def test_warm_run_equals_cold_run(corpus):
    cold = engine.check(["."], use_cache=True)
    database = corpus / ".preflight_cache" / "facts.sqlite3"
    entries = sqlite3.connect(database).execute("SELECT COUNT(*) FROM facts").fetchone()[0]
    assert entries >= 10
    warm = engine.check(["."], use_cache=True)
    assert findings(warm) == findings(cold) == findings(engine.check(["."]))
    assert (corpus / ".preflight_cache" / ".gitignore").read_text().strip().endswith("*")


def test_a_changed_file_is_recomputed(corpus):
    engine.check(["."], use_cache=True)
    (corpus / "train.py").write_text("import wandb\nwandb.init(project='p', name='named')\n")
    after = engine.check(["."], use_cache=True)
    assert not [f for f in after.findings if f.location.path == "train.py"]


def test_facts_from_another_build_are_never_reused(corpus, monkeypatch):
    """A cache written by other extractor code (an upgrade, an edited checkout) must not answer, not
    even through the index of unchanged files."""
    from preflight import cache

    expected = findings(engine.check(["."]))
    monkeypatch.setattr(cache, "TOOL", "an older build")
    engine.check(["."], use_cache=True)
    database = sqlite3.connect(corpus / ".preflight_cache" / "facts.sqlite3")
    database.execute("UPDATE facts SET facts = ?", (json.dumps({"$": "FileFacts", "path": "x", "kind": None}),))
    database.commit()
    monkeypatch.undo()
    monkeypatch.chdir(corpus)
    assert findings(engine.check(["."], use_cache=True)) == expected


def test_a_corrupt_cache_is_set_aside(corpus):
    expected = findings(engine.check(["."]))
    directory = corpus / ".preflight_cache"
    directory.mkdir()
    (directory / "facts.sqlite3").write_bytes(b"this is not a database" * 100)
    assert findings(engine.check(["."], use_cache=True)) == expected
    assert findings(engine.check(["."], use_cache=True)) == expected


def test_a_poisoned_entry_cannot_change_results(corpus):
    expected = findings(engine.check(["."]))
    engine.check(["."], use_cache=True)
    database = sqlite3.connect(corpus / ".preflight_cache" / "facts.sqlite3")
    database.execute("UPDATE facts SET facts = ?", (json.dumps({"$": "os.system", "cmd": "echo"}),))
    database.commit()
    assert findings(engine.check(["."], use_cache=True)) == expected


def _tamper(corpus: Path, how: str) -> None:
    """Change a warm cache as someone who can write it might: the stored whole run made empty, the facts of a
    file with no finding put under the key of one with findings (by its content key, or by its stat row), or
    the facts of the file with findings edited to hold nothing the rules report."""
    database = sqlite3.connect(corpus / ".preflight_cache" / "facts.sqlite3")
    if how == "edited result":
        (key, payload), = database.execute("SELECT key, payload FROM results").fetchall()
        stored = json.loads(payload)
        stored[0], stored[1] = [], []  # no finding, nothing suppressed
        database.execute("UPDATE results SET payload = ? WHERE key = ?", (json.dumps(stored), key))
    else:
        database.execute("DELETE FROM results")
        keys = dict(database.execute("SELECT path, key FROM facts").fetchall())
        flagged, clean = keys["pkg/tracked.py"], keys["pkg/mod_0.py"]
        if how == "another file's facts":
            database.execute("UPDATE facts SET facts = (SELECT facts FROM facts WHERE key = ?), seal = (SELECT seal "
                             "FROM facts WHERE key = ?) WHERE key = ?", (clean, clean, flagged))
        elif how == "another file's stat row":
            database.execute("UPDATE stats SET key = ? WHERE key = ?", (clean, flagged))
        elif how == "another file's row":  # the whole row, moved under the key
            database.execute("DELETE FROM facts WHERE key = ?", (flagged,))
            database.execute("UPDATE facts SET key = ? WHERE key = ?", (flagged, clean))
        else:  # crafted: the entry's own facts, without what the rule reports
            stored = json.loads(database.execute("SELECT facts FROM facts WHERE key = ?", (flagged,)).fetchone()[0])
            stored["facts"] = [fact for fact in stored["facts"] if fact["$"] != "WandbRun"]
            database.execute("UPDATE facts SET facts = ? WHERE key = ?", (json.dumps(stored), flagged))
    database.commit()
    database.close()


@pytest.mark.parametrize("how", ["edited result", "another file's facts", "another file's stat row",
                                 "another file's row", "crafted facts"])
def test_a_tampered_cache_cannot_hide_findings(corpus, how):
    """A cache can come from an untrusted job (a CI cache restored across branches): an entry edited, or
    moved under another file's key, no longer matches its key, path or seal, and is made again. The tree
    keeps its findings and its exit code."""
    _age(corpus)
    expected = findings(engine.check(["."]))
    assert any("pkg/tracked.py" in line and "WB001" in line for line in expected)
    assert findings(engine.check(["."], use_cache=True)) == expected
    _tamper(corpus, how)
    assert findings(engine.check(["."], use_cache=True)) == expected
    assert findings(engine.check(["."], use_cache=True)) == expected  # and the entry was made again


def test_a_tampered_cache_on_the_command_line_still_fails_the_check(corpus):
    """The same through the command line: exit 1, never "All checks passed"."""
    _age(corpus)
    command = [sys.executable, "-m", "preflight", "check", "--select", "WB001", "."]
    first = subprocess.run(command, capture_output=True, text=True, cwd=corpus)
    assert first.returncode == 1, first.stderr
    _tamper(corpus, "edited result")
    again = subprocess.run(command, capture_output=True, text=True, cwd=corpus)
    assert (again.returncode, again.stdout) == (1, first.stdout)


def test_a_cache_of_an_earlier_layout_is_made_again(corpus):
    """A database of the earlier layout (facts without the path and digest they were made from) is
    preflight's own: its tables are made again, and nothing stored in the old layout is read."""
    expected = findings(engine.check(["."]))
    cache = corpus / ".preflight_cache"
    cache.mkdir(mode=0o700)
    database = sqlite3.connect(cache / "facts.sqlite3")
    database.execute("CREATE TABLE facts (key TEXT PRIMARY KEY, facts TEXT NOT NULL, used REAL NOT NULL)")
    database.execute("CREATE TABLE results (key TEXT PRIMARY KEY, payload TEXT NOT NULL, used REAL NOT NULL)")
    database.execute("PRAGMA application_id = 1886809204")
    database.execute("INSERT INTO facts VALUES ('k', '{}', 0)")
    database.commit()
    database.close()
    for _ in range(2):
        assert findings(engine.check(["."], use_cache=True)) == expected
    database = sqlite3.connect(cache / "facts.sqlite3")
    assert database.execute("PRAGMA user_version").fetchone()[0] == 2
    assert database.execute("SELECT COUNT(*) FROM facts WHERE key = 'k'").fetchone()[0] == 0
    assert database.execute("SELECT COUNT(*) FROM facts").fetchone()[0] > 0


def _run_in_process(root: str, queue) -> None:
    import os

    os.chdir(root)
    queue.put([f"{f.location}: {f.code}" for f in engine.check(["."], use_cache=True).findings])


def test_concurrent_runs_share_the_cache(corpus):
    expected = [f"{f.location}: {f.code}" for f in engine.check(["."]).findings]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_run_in_process, args=(str(corpus), queue)) for _ in range(3)]
    for process in processes:
        process.start()
    results = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=120)
    assert all(result == expected for result in results)
    assert findings(engine.check(["."], use_cache=True))  # the shared cache is still valid
    count = sqlite3.connect(corpus / ".preflight_cache" / "facts.sqlite3").execute(
        "PRAGMA integrity_check").fetchone()[0]
    assert count == "ok"


def test_pool_equals_serial(corpus, monkeypatch):
    serial = findings(engine.check(["."], workers=1))
    monkeypatch.setattr(collect, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(collect, "POOL_MIN_FILES", 1)
    assert findings(engine.check(["."], workers=2)) == serial


def test_pool_reads_the_cache_by_content(corpus, monkeypatch):
    """In worker processes too, a file with new mtime but known bytes (a fresh checkout, a restored CI
    cache) comes from the cache, not from a parse."""
    import os

    expected = findings(engine.check(["."], use_cache=True, workers=1))
    for path in corpus.rglob("*"):
        if path.is_file() and ".preflight_cache" not in path.parts:
            os.utime(path, (1_000_000_000, 1_000_000_000))
    monkeypatch.setattr(collect, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(collect, "POOL_MIN_FILES", 1)

    def no_parse(display, data):
        raise AssertionError(f"{display} was parsed again")

    monkeypatch.setattr(collect, "extract", no_parse)  # inherited by the forked workers
    assert findings(engine.check(["."], use_cache=True, workers=2)) == expected


def test_prefilter_equals_full_path(corpus, monkeypatch):
    filtered = findings(engine.check(["."]))
    monkeypatch.setattr(extract, "mentions_tracking", lambda data: True)  # parse every Python file
    full = findings(engine.check(["."]))
    assert full == filtered


def test_prefilter_equals_full_path_on_the_test_inputs(tmp_path, monkeypatch):
    """Every rule example and trap file set, through the cheap and the full path."""
    from preflight import examples as run_examples
    from preflight.rule import all_rules

    for rule in all_rules():
        for example in rule.examples:
            folder = tmp_path / f"{rule.code}-{rule.examples.index(example)}"
            folder.mkdir()
            run_examples.write(example, rule, folder)
    monkeypatch.chdir(tmp_path)
    filtered = findings(engine.check(["."], select=["ALL"]))
    monkeypatch.setattr(extract, "mentions_tracking", lambda data: True)
    assert findings(engine.check(["."], select=["ALL"])) == filtered


def test_validated_settings_are_remembered_by_content(tmp_path, monkeypatch):
    """A warm run does not validate an unchanged configuration again (no pydantic import); a changed
    or damaged one is validated from scratch."""
    from preflight import config

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.preflight]\nignore = ["WB001"]\n')
    (tmp_path / "train.py").write_text("import wandb\nwandb.init(project='p')\n")
    assert engine.check(["."], use_cache=True).findings == []  # creates the cache folder
    assert engine.check(["."], use_cache=True).findings == []  # validates and remembers
    memos = list((tmp_path / ".preflight_cache").glob("settings-*.json"))
    assert len(memos) == 1
    calls = []
    monkeypatch.setattr(config, "_remember", lambda memo, settings: calls.append(memo))
    assert engine.check(["."], use_cache=True).findings == []
    assert calls == []  # recalled, not validated and written again
    warm = subprocess.run([sys.executable, "-c", "import sys\nfrom preflight import engine\n"
                           "assert engine.check(['.'], use_cache=True).findings == []\n"
                           "print('pydantic' in sys.modules)"], capture_output=True, text=True, check=True)
    assert warm.stdout.strip() == "False"  # the settings are a plain dataclass: pydantic only validates
    memos[0].write_text("{not json")
    assert engine.check(["."], use_cache=True).findings == []
    (tmp_path / "pyproject.toml").write_text('[tool.preflight]\nignore = ["WB999"]\n')
    with pytest.raises(engine.UsageError):
        engine.check(["."], use_cache=True)


def _age(root: Path, seconds: float = 60) -> None:
    """Files written by the test are older than the racy window, as files in a repository are."""
    import os
    import time

    then = time.time() - seconds
    for path in root.rglob("*"):
        if path.is_file() and ".preflight_cache" not in path.parts:
            os.utime(path, (then, then))


def test_an_unchanged_tree_reuses_the_whole_run(corpus, monkeypatch):
    from preflight import runcache

    _age(corpus)
    expected = findings(engine.check(["."], use_cache=True))
    monkeypatch.setattr(engine, "_check", lambda *a, **k: (_ for _ in ()).throw(AssertionError("rules ran")))
    assert findings(engine.check(["."], use_cache=True)) == expected  # reused: no rule ran
    monkeypatch.undo()
    monkeypatch.chdir(corpus)
    (corpus / "train.py").write_text("import wandb\nwandb.init(project='p', name='named')\n")
    _age(corpus)
    changed = findings(engine.check(["."], use_cache=True))
    assert changed != expected and changed == findings(engine.check(["."]))
    assert runcache.key({"x": None}, engine.config_module.Settings(), {}) is None  # a missing file: no reuse


def test_a_file_read_but_not_discovered_invalidates_the_reused_run(tmp_path, monkeypatch):
    """An env file a compose service names is read by the rules; excluded from the scan, it is not
    discovered, so its own change must still count."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.preflight]\nextend-exclude = ["secrets"]\n')
    (tmp_path / "train.py").write_text("import wandb\nwandb.init(project='p', name='r')\n")
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  t:\n    image: x\n    env_file: secrets/train.env\n    command: python train.py\n")
    (tmp_path / "secrets").mkdir()
    env = tmp_path / "secrets" / "train.env"
    env.write_text("OTHER=1\n")
    _age(tmp_path)
    first = findings(engine.check(["."], use_cache=True))
    assert findings(engine.check(["."], use_cache=True)) == first
    env.write_text("WANDB_API_KEY=${FROM_VAULT}\n")
    _age(tmp_path)
    after = findings(engine.check(["."], use_cache=True))
    assert after == findings(engine.check(["."])) and after != first


def test_named_files_reuse_the_run_and_a_lazy_file_read_invalidates_it(tmp_path, monkeypatch):
    """Files named on the command line (pre-commit's way) reuse an unchanged run too. The project's other
    Python files are read only when a question needs them, so the one the workflow runs counts as read:
    changing it makes the run again; adding a file to the project does too."""
    import os
    import subprocess
    import time

    def write(name: str, text: str) -> None:  # older than the racy window, as files in a repository are
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.utime(path, (time.time() - 60, time.time() - 60))

    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    write(".github/workflows/t.yml", "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: python train.py\n")
    write("train.py", "import wandb\nwandb.init(project='p', name='r')\n")
    write("other.py", "import os\n")
    named = [".github/workflows/t.yml"]
    first = findings(engine.check(named, use_cache=True))
    assert [line.split(": ")[1].split()[0] for line in first] == ["ENV001"]
    reused = engine.check(named, use_cache=True)
    assert reused.project is None and findings(reused) == first
    write("other.py", "import sys\n")  # never read by the run: still the same run
    unread = engine.check(named, use_cache=True)
    assert unread.project is None and findings(unread) == first
    write("train.py", "print('no tracker')\n")
    after = engine.check(named, use_cache=True)
    assert after.project is not None and findings(after) == findings(engine.check(named)) == []
    write("helper.py", "import os\n")  # a new file in the project: not the same run
    assert engine.check(named, use_cache=True).project is not None


def test_a_reused_run_still_knows_its_rules(corpus):
    _age(corpus)
    first = engine.check(["."], use_cache=True, select=["WB", "ENV001"])
    reused = engine.check(["."], use_cache=True, select=["WB", "ENV001"])
    assert reused.project is None  # it was reused
    assert reused.rules == first.rules and [r.code for r in reused.enabled_rules()] == list(first.rules)
    other = engine.check(["."], use_cache=True, select=["WB001"])  # another selection: not the same run
    assert {f.code for f in other.findings} <= {"WB001"} and other.project is not None


def test_only_the_latest_runs_are_kept(corpus):
    from preflight import cache

    for index in range(cache.KEPT_RESULTS + 3):
        (corpus / "pkg" / "extra.py").write_text(f"x = {index}\n")
        _age(corpus)
        engine.check(["."], use_cache=True)
    database = sqlite3.connect(corpus / ".preflight_cache" / "facts.sqlite3")
    assert database.execute("SELECT COUNT(*) FROM results").fetchone()[0] == cache.KEPT_RESULTS


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _foreign_database(path: Path) -> None:
    database = sqlite3.connect(path)
    database.execute("CREATE TABLE accounts (name TEXT)")
    database.execute("INSERT INTO accounts VALUES ('alice')")
    database.commit()
    database.close()


@pytest.mark.parametrize("planted", ["folder", "database", "wal", "gitignore", "memo"])
def test_a_cache_that_links_elsewhere_is_not_used(corpus, tmp_path, capsys, planted):
    """A `.preflight_cache` that is a symbolic link, or holds one (the database, its write-ahead log, the
    .gitignore, a remembered settings file), would send SQLite's writes out of the tree: the cache is not
    used, a message says why, nothing outside changes, and the results are those of an uncached run."""
    (corpus / "pyproject.toml").write_text("[tool.preflight]\nignore = ['HF001']\n")
    expected = findings(engine.check(["."]))
    outside = tmp_path / "outside"
    outside.mkdir()
    _foreign_database(outside / "victim.sqlite3")
    (outside / "notes.txt").write_text("mine\n")
    before = _snapshot(outside)
    cache = corpus / ".preflight_cache"
    if planted == "folder":
        cache.symlink_to(outside, target_is_directory=True)
    else:
        cache.mkdir()
        name = {"database": "facts.sqlite3", "wal": "facts.sqlite3-wal", "gitignore": ".gitignore",
                "memo": "settings-0.json"}[planted]
        (cache / name).symlink_to(outside / ("victim.sqlite3" if planted == "database" else "notes.txt"))
    for _ in range(2):
        assert findings(engine.check(["."], use_cache=True)) == expected
        assert "not using the cache" in capsys.readouterr().err
    assert _snapshot(outside) == before and sorted(p.name for p in outside.iterdir()) == ["notes.txt", "victim.sqlite3"]


def test_a_cache_folder_a_link_of_the_tree_leads_elsewhere_is_not_used(corpus, tmp_path, capsys):
    """`--cache-dir build/cache` where `build` is a link the tree holds to a folder outside it: the cache
    would be made there. It is not used, a message says why, and a database outside is untouched."""
    expected = findings(engine.check(["."]))
    outside = tmp_path / "outside"
    outside.mkdir()
    _foreign_database(outside / "victim.sqlite3")
    before = _snapshot(outside)
    (corpus / "build").symlink_to(outside, target_is_directory=True)
    for cache_dir in (Path("build/cache"), Path("build"), corpus / "build" / "cache"):
        assert findings(engine.check(["."], use_cache=True, cache_dir=cache_dir)) == expected
        assert "a symbolic link leads it out of the working directory" in capsys.readouterr().err
    assert _snapshot(outside) == before and [p.name for p in outside.iterdir()] == ["victim.sqlite3"]
    own = tmp_path / "own-cache"  # named outside the tree: the user's choice
    assert findings(engine.check(["."], use_cache=True, cache_dir=own)) == expected
    assert (own / "facts.sqlite3").is_file()


def test_a_cache_of_another_user_or_linked_files_is_not_used(corpus, capsys):
    import os

    expected = findings(engine.check(["."]))
    cache = corpus / ".preflight_cache"
    engine.check(["."], use_cache=True)
    os.link(cache / "facts.sqlite3", corpus / "hard-link")  # the database is also a file elsewhere
    assert findings(engine.check(["."], use_cache=True)) == expected
    assert "linked from elsewhere (facts.sqlite3)" in capsys.readouterr().err
    os.unlink(corpus / "hard-link")
    if os.geteuid() == 0:  # only root can give a folder away
        os.chown(cache, 65534, 65534)
        assert findings(engine.check(["."], use_cache=True)) == expected
        assert "belongs to another user (uid 65534)" in capsys.readouterr().err


def test_a_foreign_database_in_the_cache_is_set_aside(corpus):
    """A regular file named facts.sqlite3 that preflight did not create (another application's database,
    restored into the folder) is moved aside, never written into."""
    expected = findings(engine.check(["."]))
    cache = corpus / ".preflight_cache"
    cache.mkdir()
    _foreign_database(cache / "facts.sqlite3")
    assert findings(engine.check(["."], use_cache=True)) == expected
    [aside] = cache.glob("facts.corrupt-*.sqlite3")
    assert sqlite3.connect(aside).execute("SELECT name FROM accounts").fetchall() == [("alice",)]
    tables = {row[0] for row in sqlite3.connect(cache / "facts.sqlite3").execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"facts", "stats", "results"}


def test_the_cache_is_private(corpus):
    """What the cache holds describes the project's code: the folder is 0700 and its files 0600, also when an
    earlier version left them readable by everyone."""
    import os
    import stat

    (corpus / "pyproject.toml").write_text("[tool.preflight]\nignore = ['HF001']\n")
    cache = corpus / ".preflight_cache"
    engine.check(["."], use_cache=True)
    engine.check(["."], use_cache=True)  # remembers the settings
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in cache.iterdir()}
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert modes and set(modes.values()) == {0o600} and any(name.startswith("settings-") for name in modes), modes
    os.chmod(cache, 0o755)
    for path in cache.iterdir():
        os.chmod(path, 0o644)
    engine.check(["."], use_cache=True)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in cache.iterdir()} == {0o600}
