"""Per-file extraction: pick the source module for a file's kind and turn the file into facts.

`extract` is the only entry point the engine uses; it never raises for bad input: a file that
cannot be read, decoded or parsed yields a `ParseError` fact (reported as PF001).
"""

from __future__ import annotations

import importlib
import json
import re

from preflight import classify, secrets, suppress
from preflight.findings import Location
from preflight.model import FileFacts, ParseError
from preflight.sources import secretscan
from preflight.sources.text import DecodeFailure, SourceText, decode

# The pre-filter. A Python file produces facts only where it imports a package absolutely (that is
# how `wb.init` is known to be `wandb.init`) and uses that package's tracked API, or where it carries
# a suppression comment. Substring tests run at memchr speed; only a file that passes them gets the
# line-anchored import regex (docstrings full of `>>> from transformers import ...` do not count).
_TRACKED_APIS = (
    (b"wandb", (b"wandb",)),
    (b"mlflow", (b"mlflow",)),
    (b"weave", (b"weave",)),
    (b"transformers", (b"TrainingArguments", b"HfArgumentParser", b"NeptuneCallback",
                       b"from transformers.utils import")),  # names a release may lack (preflight.runs)
    (b"trl", (b"Config", b"TrlParser", b"from trl import")),  # the names a module imports (preflight.runs)
    (b"lightning", (b"WandbLogger", b"NeptuneLogger", b"MLFlowLogger", b"Trainer", b"LightningModule")),
    (b"accelerate", (b"log_with", b"init_trackers")),
    (b"neptune", (b"neptune",)),
    (b"aim", (b"Run", b"AimCallback", b"AimLogger", b"Session")),
    (b"hydra", (b"main", b"instantiate")),  # its config folder is the program's own configuration (preflight.link)
)


def _imports(package: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"^[ \t]*(?:from[ \t]+|import[ \t]+(?:[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*,[ \t]*)*)"
                      rb"(?:[\w]*_)?" + package + rb"(?:_\w+)?\b", re.MULTILINE)


_IMPORT_PATTERNS = {package: _imports(package) for package, _ in dict(_TRACKED_APIS).items()}
_SYMBOLS = dict(_TRACKED_APIS)


_NOTEBOOK_NAMES = (b"wandb", b"mlflow", b"weave", b"transformers", b"trl", b"lightning", b"accelerate", b"neptune",
                   b"aim", b"preflight")


def mentions_tracking(data: bytes) -> bool:
    if b"preflight" in data:
        return True
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark before the first import
        data = data[3:]
    for package in _named_on_import_lines(data):
        if any(symbol in data for symbol in _SYMBOLS[package]) and _IMPORT_PATTERNS[package].search(data):
            return True
    return False


def _named_on_import_lines(data: bytes) -> set[bytes]:
    """The tracked packages named on a line with `import`: one pass over the file from one `import` to the
    next, instead of one pass per package for a file that names none (most files)."""
    found: set[bytes] = set()
    find = data.find
    position = find(b"import")
    while position != -1:
        end = find(b"\n", position)
        end = len(data) if end == -1 else end
        line = data[data.rfind(b"\n", 0, position) + 1:end]
        found.update(package for package in _SYMBOLS if package in line)
        position = find(b"import", end)
    return found


_JSON_PREFILTER = re.compile(rb'"(report_to|eval_steps|logging_steps|per_device_train_batch_size|eval_strategy)"')
_TEMPLATE = re.compile(r"\{\{[^}]*\}\}|\{%")

# kind -> (module, function): source modules are imported only when a file of their kind needs a
# parse, so a warm run (everything cached) never loads them.
_YAML_EXTRACTORS = {
    classify.WORKFLOW: ("workflow", "extract"),
    classify.COMPOSE: ("compose", "extract"),
    classify.KUBERNETES: ("kubernetes", "extract"),
    classify.DSTACK: ("dstack", "extract"),
    classify.SKYPILOT: ("skypilot", "extract"),
}
_TEXT_EXTRACTORS = {
    classify.DOCKERFILE: ("dockerfile", "extract"),
    classify.SHELL: ("shellscript", "extract"),
    classify.MAKEFILE: ("makefile", "extract"),
    classify.DOTENV: ("dotenv", "extract"),
    classify.NOTEBOOK: ("notebook", "extract"),
    classify.REQUIREMENTS: ("requirements", "requirements_file"),
    classify.PYPROJECT: ("pyproject", "extract"),
    classify.SETUP_PY: ("setupfiles", "setup_py"),
    classify.SETUP_CFG: ("setupfiles", "setup_cfg"),
    classify.TOML_LOCK: ("lockfiles", "toml_lock"),
    classify.PIPFILE_LOCK: ("lockfiles", "pipfile_lock"),
    classify.CONDA: ("conda", "environment"),
}
# Declaration kinds whose only facts are the tracked libraries' requirements: a file that names none of
# them needs no parse. (pyproject.toml is parsed anyway: a broken one is reported, and it holds settings.)
_DECLARATIONS = classify.DECLARES_VERSIONS - {classify.PYPROJECT}
# Written by a resolver, never by hand: no credential to find there, and a scan of a large lock for one
# would cost more than reading its tracked entries.
_GENERATED = frozenset({classify.TOML_LOCK, classify.PIPFILE_LOCK})
_DOCUMENT_EXTRACTORS = {
    classify.AXOLOTL: ("configs", "axolotl"),
    classify.HF_ARGS: ("configs", "training_arguments"),
    classify.SWEEP: ("configs", "sweep"),
    classify.HYDRA: ("configs", "hydra"),
}


def _names_a_tracked_library(data: bytes) -> bool:
    from preflight.sources.requirements import mentions_tracked

    return mentions_tracked(data)


def _extractor(entry: tuple[str, str]):
    module = importlib.import_module(f"preflight.sources.{entry[0]}")
    return getattr(module, entry[1])


def quick(path: str, data: bytes, path_kind: str | None = None) -> FileFacts | None:
    """The facts of a file that needs no parse (most files of a large repository), else None: then
    `extract(..., prefiltered=True)` parses it without asking again. This is the pre-filter: it costs a
    substring search, and never changes what is reported."""
    facts = _quick(path, data, path_kind)
    return None if facts is None else _without_secrets(facts, data)


def _quick(path: str, data: bytes, path_kind: str | None) -> FileFacts | None:
    path_kind = path_kind or classify.kind_by_path(path)
    if path_kind is None:
        return FileFacts(path, None, note="not a file kind preflight checks")
    if path_kind == classify.NOTEBOOK and not any(name in data for name in _NOTEBOOK_NAMES):
        return FileFacts(path, None, note="a notebook that imports no tracker or trainer (pre-filter)")
    if path_kind == classify.PYTHON and not mentions_tracking(data):
        facts = FileFacts(path, classify.PYTHON, imports_pending=b"import" in data,
                          note="no tracker or trainer imported (pre-filter)")
        if secretscan.might_contain(data):
            try:
                facts.facts.extend(secretscan.scan(SourceText(path, decode(data))))
            except DecodeFailure:
                pass
        return facts
    if secretscan.might_contain(data) and path_kind not in _GENERATED:
        return None
    if path_kind in _DECLARATIONS and not _names_a_tracked_library(data):
        return FileFacts(path, path_kind, note="names none of the libraries whose version matters (pre-filter)")
    if path_kind == "json" and not _JSON_PREFILTER.search(data):
        return FileFacts(path, None, note="JSON without training arguments")
    return None


def extract(path: str, data: bytes, force_kind: str | None = None, *, path_kind: str | None = None,
            prefiltered: bool = False) -> FileFacts:
    """`force_kind` reads a YAML/JSON file as that kind whatever its content (a file a launcher names);
    `prefiltered`: `quick` already found that the file needs a parse."""
    path_kind = path_kind or classify.kind_by_path(path)
    if path_kind is None:
        return FileFacts(path, None, note="not a file kind preflight checks")
    facts = _extract(path, path_kind, data, force_kind, prefiltered)
    scan = path_kind not in _GENERATED and secretscan.might_contain(data)
    if scan and not any(isinstance(f, ParseError) for f in facts.facts):
        try:
            facts.facts.extend(secretscan.scan(SourceText(path, decode(data))))
        except DecodeFailure:
            pass
    return _without_secrets(facts, data)


def _without_secrets(facts: FileFacts, data: bytes) -> FileFacts:
    """The file's facts with every credential in them masked, and where the file's credentials are written
    (preflight.secrets.spans: by their form, and the values of credential variables the extractors parsed),
    for the code frames and diffs that show its lines. Rules see, and the cache stores, masked values only;
    the extractors decided before what needs the raw value (is it a key, a placeholder, a reference)."""
    if not facts.facts:
        return facts
    try:
        text = decode(data)
    except DecodeFailure:
        text = data.decode("utf-8", errors="replace")
    declared = secrets.declared_values(facts.facts)
    found = secrets.spans(text, declared)
    if not found and not declared:
        return facts
    facts.facts = secrets.mask_facts(facts.facts, secrets.pieces(text, found) | declared)
    source = SourceText(facts.path, text)
    facts.secrets = tuple((*source.position(start), *source.position(end)) for start, end in found)
    return facts


def _extract(path: str, path_kind: str, data: bytes, force_kind: str | None, prefiltered: bool) -> FileFacts:
    if path_kind == classify.PYTHON and not prefiltered and not mentions_tracking(data):
        from preflight.sources.pyimports import imports_only

        return FileFacts(path, classify.PYTHON, imports_only(data.decode("utf-8", errors="replace")))
    if path_kind == "json" and not _JSON_PREFILTER.search(data) and force_kind is None:
        return FileFacts(path, None, note="JSON without training arguments")
    try:
        text = decode(data)
    except DecodeFailure as exc:
        return FileFacts(path, path_kind, [ParseError(Location.start_of(path), f"cannot read the file: {exc}")])
    source = SourceText(path, text)
    if path_kind == classify.PYTHON:
        from preflight.sources import notebook, python

        facts = notebook.extract(source) if notebook.is_databricks_source(text) else python.extract(source)
        return FileFacts(path, path_kind, facts, suppress.find(path, text, "python"))
    if path_kind == classify.NETRC:
        return FileFacts(path, path_kind, [], suppress.find(path, text, "hash"))
    if path_kind in _TEXT_EXTRACTORS:
        facts = _extractor(_TEXT_EXTRACTORS[path_kind])(source)
        return FileFacts(path, path_kind, facts, suppress.find(path, text, "hash"))
    return _structured(source, path_kind, force_kind)


def _structured(source: SourceText, path_kind: str, force_kind: str | None = None) -> FileFacts:
    from preflight.sources import yamltree as y

    path, text = source.path, source.text
    if path_kind == "json":
        try:
            json.loads(text)
        except (ValueError, RecursionError) as exc:
            line, column = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
            message = f"invalid JSON: {getattr(exc, 'msg', exc)}"
            return FileFacts(path, path_kind, [ParseError(Location(path, line, column), message)])
    try:
        documents = y.compose_documents(text)  # JSON too: it is YAML, and the node tree keeps positions
    except y.YamlFailure as failure:
        relevant = path_kind in (classify.WORKFLOW, classify.COMPOSE, classify.DSTACK) or (
            path_kind == "yaml" and classify.LOOKS_RELEVANT.search(text) and not _TEMPLATE.search(text)
        )
        if not relevant:
            reason = "a template (Jinja/Helm)" if _TEMPLATE.search(text) else "YAML that does not parse"
            return FileFacts(path, None, note=f"{reason}, and not of a kind preflight checks")
        error = ParseError(Location(path, failure.line, failure.column), f"invalid YAML: {failure}")
        return FileFacts(path, path_kind, [error], suppress.find(path, text, "yaml"))
    kind = classify.kind_by_content(path_kind, documents)
    if kind is None and force_kind is not None and documents and isinstance(documents[0], y.MappingNode):
        kind = force_kind
    if kind is None:
        return FileFacts(path, None, note="YAML/JSON of no kind preflight checks (by content)")
    if kind in _YAML_EXTRACTORS:
        from preflight.sources import hosts

        facts = _extractor(_YAML_EXTRACTORS[kind])(source, documents) + hosts.mentions(source)
    else:
        facts = _extractor(_DOCUMENT_EXTRACTORS[kind])(source, documents[0])
    return FileFacts(path, kind, facts, suppress.find(path, text, "yaml"))

