"""Property-based tests of what hostile input must never get out of preflight: a credential planted in a
generated file of any kind appears in no output format and no cache file, on a cold and a warm run; and
file names holding control characters or bytes that are not UTF-8 never crash a run with the cache (the
default), cold or warm, and are shown escaped, the warm run reporting what the cold one did.

Each property is kept fast (a modest number of examples) and deterministic (derandomized);
`HYPOTHESIS_PROFILE=long` runs many more."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preflight import display, engine, report

_LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
_SETTINGS = settings(max_examples=400 if _LONG else 25, deadline=None, derandomize=not _LONG,
                     suppress_health_check=[HealthCheck.too_slow])
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


def _alnum(seed: str, length: int) -> str:
    digest = hashlib.sha512(seed.encode()).digest()
    return "".join(_ALNUM[b % len(_ALNUM)] for b in digest)[:length]


# The forms a credential takes: a W&B key, a 40-hex key, a Hugging Face token, and a value with no form
# that only its place says is a credential.
KEY_FORMS = {
    "wandb_v1": lambda seed: f"wandb_v1_{_alnum(seed, 27)}_{_alnum(seed + '/2', 48)}",
    "hex40": lambda seed: hashlib.sha1(seed.encode()).hexdigest(),
    "hf": lambda seed: "hf_" + _alnum(seed, 34),
    "plain": lambda seed: _alnum(seed, 22),
}
# Every file kind, with the places in it a credential is written (`{key}`), each where its syntax and its
# name make it one. The forms a place reads: W&B keys and 40-hex keys only in W&B context.
PLACES = {
    "train.py": ["import wandb\nwandb.login(key=\"{key}\")\nwandb.init(project='p')\n",
                 "import os\nimport wandb\nos.environ[\"WANDB_API_KEY\"] = \"{key}\"\nwandb.init(project='p')\n",
                 "import wandb\nwandb.login(\n    key=\"{key}\",\n)\nwandb.init(name='r')\n"],
    "run.sh": ["#!/bin/bash\nexport WANDB_API_KEY={key}\npython train.py\n",
               "#!/bin/bash\npython train.py --wandb_key {key}\n",
               "#!/bin/bash\ndocker run -e WANDB_API_KEY={key} img python train.py\n"],
    "Makefile": ["train:\n\tdocker run -e WANDB_API_KEY=$$WANDB_API_KEY img python train.py --wandb_key {key}\n",
                 "train:\n\tWANDB_API_KEY={key} python train.py\n"],
    "Dockerfile": ["FROM python:3.11\nENV WANDB_API_KEY={key}\nCMD python train.py\n",
                   "FROM python:3.11\nRUN wandb login {key}\nCMD python train.py\n"],
    ".env": ["WANDB_API_KEY={key}\n", "WANDB_API_KEY=ab;cd{key}\n", "WANDB_API_KEY=\"{key}\"\n"],
    ".netrc": ["machine api.wandb.ai\n  login user\n  password {key}\n"],
    "docker-compose.yml": ["services:\n  t:\n    command: python train.py\n    environment:\n      WANDB_API_KEY: {key}\n",
                           "services:\n  t:\n    command: python train.py\n    environment:\n"
                           "      WANDB_API_KEY:\n        {key}\n",
                           "services:\n  t:\n    command: python train.py\n    environment:\n      - WANDB_API_KEY={key}\n"],
    ".github/workflows/t.yml": ["on: push\njobs:\n  t:\n    runs-on: x\n    env:\n      WANDB_API_KEY: \"{key}\"\n"
                                "    steps:\n      - run: python train.py\n",
                                "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n"
                                "      - run: wandb login {key} && python train.py\n"],
    "k8s/job.yaml": ["apiVersion: batch/v1\nkind: Job\nmetadata: {{name: j}}\nspec:\n  template:\n    spec:\n"
                     "      containers:\n        - name: c\n          command: [python, train.py]\n          env:\n"
                     "            - {{name: WANDB_API_KEY, value: {key}}}\n"],
    "configs/sft.yaml": ["output_dir: o\nreport_to: wandb\nenv:\n  WANDB_API_KEY: {key}\n"],
    ".dstack.yml": ["type: task\nname: t\ncommands:\n  - python train.py\nenv:\n  - WANDB_API_KEY={key}\n"],
}
TRAIN = "import wandb\nwandb.init(project='p')\n"
FORMATS = ["text", "json", "json-lines", "sarif", "github", "gitlab", "junit"]
# Lines put around a planted place: comments and blank lines each syntax reads as nothing.
FILLER = st.lists(st.sampled_from(["", "# note", "#", "# WANDB_API_KEY", "   "]), max_size=3).map(
    lambda lines: "".join(line + "\n" for line in lines))


@st.composite
def planted_trees(draw):
    """A project of one to four planted files, and the credentials planted in it."""
    files: dict[str, str] = {"train.py": TRAIN}
    secrets = []
    for name in draw(st.lists(st.sampled_from(sorted(PLACES)), min_size=1, max_size=4, unique=True)):
        form = draw(st.sampled_from(sorted(KEY_FORMS)))
        seed = draw(st.text(alphabet="abcdefgh0123", min_size=1, max_size=8))
        key = KEY_FORMS[form](f"{name}/{form}/{seed}")
        template = draw(st.sampled_from(PLACES[name]))
        text = template.format(key=key)
        if not name.endswith((".env", ".netrc", "Makefile")):  # comments where the syntax has them
            text = draw(FILLER) + text if not text.startswith(("#!", "FROM", "on:")) else text
            text += draw(FILLER)
        files[name] = text
        secrets.append(key)
    return files, secrets


def _leaks(text: str, secrets: list[str]) -> list[str]:
    """The planted secrets `text` shows: whole, or all but the last 4 characters a mask keeps."""
    return [secret for secret in secrets if secret[:-4] in text or secret[4:16] in text]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


@_SETTINGS
@given(planted_trees())
def test_planted_credentials_leave_in_no_output_and_no_cache(tree):
    files, secrets = tree
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _write(root, files)
        for run in ("cold", "warm"):
            result = engine.check(["."], select=["ALL"], cwd=root, use_cache=True)
            assert not result.internal_errors, (run, result.internal_errors)
            outputs = {fmt: report.render(result, result.findings, fmt, fingerprints=result.fingerprints)
                       for fmt in FORMATS}
            outputs["messages"] = "\n".join(f.message for f in result.findings)
            cache = root / ".preflight_cache"
            for path in cache.iterdir() if cache.is_dir() else ():
                if path.is_file():
                    outputs[path.name] = path.read_bytes().decode("latin-1")
            assert any(name.startswith("facts.sqlite3") for name in outputs)
            found = {name: _leaks(text, secrets) for name, text in outputs.items() if _leaks(text, secrets)}
            assert found == {}, (run, found)


# Bytes a file name may hold: ASCII controls, bytes that are not UTF-8, the UTF-8 of C1 controls, line and
# paragraph separators and bidirectional controls, and the characters escapes are made of.
NAME_BYTES = st.lists(st.one_of(
    st.sampled_from([bytes([b]) for b in [*range(1, 32), 127, *range(0x80, 0x100, 5)] if b != ord("/")]),
    st.sampled_from([c.encode() for c in "\u0085\u009b\u2028\u2029\u202e\u2066\ufffe\\%ab"])), min_size=1, max_size=6)
_SHOWN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufffe\uffff"
                    "\ud800-\udfff]")


@_SETTINGS
@given(st.lists(NAME_BYTES, min_size=1, max_size=4))
def test_names_of_any_bytes_with_the_cache_cold_and_warm(names):
    """Files named with any bytes (their times well in the past, so that the stat index trusts its rows),
    checked with the cache cold, warm and warm again: every run reports the same findings, none raises,
    and no format shows a control character."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        created = set()
        for parts in names:
            name = b"f" + b"".join(parts) + b".py"
            created.add(name)
            with open(os.path.join(os.fsencode(root), name), "wb") as handle:
                handle.write(b"import wandb\nrun = wandb.init(project='p')\n")
            os.utime(os.path.join(os.fsencode(root), name), (1_000_000_000, 1_000_000_000))
        reports = []
        for run in ("cold", "warm", "warm again"):
            result = engine.check(["."], select=["WB001"], cwd=root, use_cache=True)
            assert not result.internal_errors, (run, result.internal_errors)
            shown = sorted(display.path(f.location.path) for f in result.findings)
            assert len(shown) == len(created), run  # every file, and no two names alike
            rendered = {fmt: report.render(result, result.findings, fmt, fingerprints=result.fingerprints)
                        for fmt in FORMATS}
            for fmt, out in rendered.items():
                out.encode("utf-8")
                assert not _SHOWN.search(out), (run, fmt, out)
            reports.append((shown, rendered["json-lines"]))
        assert (root / ".preflight_cache" / "facts.sqlite3").is_file()
        assert reports[0] == reports[1] == reports[2]
