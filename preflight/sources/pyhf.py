"""Hugging Face transformers and TRL (built on it) in Python: the training arguments a script builds
(`TrainingArguments(...)`, `SFTConfig(...)`) and the W&B run their `report_to` starts, the parsers that
read them from the command line or a file (`HfArgumentParser`, `TrlParser`), the Trainers (the
library's and the script's own subclasses) and `require_version`."""

from __future__ import annotations

import ast
import dataclasses

from preflight.model import (
    ArgumentParserUse, LibraryImport, OwnArgumentsParser, RunStart, TrainerCall, TrainingConfig, UnknownKeys,
    VersionRequirement,
)
from preflight.sources.pycalls import Call, Library, PythonFile, calls, calls_where, methods
from preflight.sources.pyscope import Scope, argument, keyword_map

HF_ARGUMENTS = {
    "transformers.TrainingArguments", "transformers.training_args.TrainingArguments",
    "transformers.Seq2SeqTrainingArguments", "transformers.training_args_seq2seq.Seq2SeqTrainingArguments",
}
TRL_NON_TRAINING_CONFIGS = {"ModelConfig"}
HF_CLASS_NAMES = {name.rsplit(".", 1)[-1] for name in HF_ARGUMENTS}
ARGUMENT_PARSERS = {"transformers.HfArgumentParser", "transformers.hf_argparser.HfArgumentParser",
                    "trl.TrlParser", "trl.scripts.utils.TrlParser"}
TRAINERS = {"transformers.Trainer", "transformers.trainer.Trainer", "transformers.Seq2SeqTrainer",
            "transformers.trainer_seq2seq.Seq2SeqTrainer"}
REQUIRE_VERSION = {"transformers.utils.versions.require_version", "transformers.utils.versions.require_version_core",
                   "transformers.utils.require_version"}
# HfArgumentParser's and TrlParser's parse methods, and how one treats keys no dataclass has:
# (keyword, the literal that sets it, ArgumentParserUse.unknown_keys)
PARSE_METHODS = {"parse_args_into_dataclasses", "parse_dict", "parse_json_file", "parse_yaml_file",
                 "parse_args_and_config"}
_UNKNOWN_KEY_POLICIES = (("allow_extra_keys", True, UnknownKeys.KEPT), ("fail_with_unknown_args", False,
                                                                         UnknownKeys.DROPPED),
                         ("return_remaining_strings", True, UnknownKeys.DROPPED))


def parser_framework(library: list[str], parser: str) -> str | None:
    """Whose defaults a parser's arguments get: TRL's when a TRL class (or TrlParser) is among them, HF's
    when TrainingArguments is; None when it parses only the script's own dataclasses."""
    if any(name.endswith("Config") and name not in TRL_NON_TRAINING_CONFIGS for name in library):
        return "trl"
    if any(name in HF_CLASS_NAMES for name in library):
        return "hf"
    return "trl" if library and parser.startswith("trl.") else None


def training_framework(qualname: str | None) -> str | None:
    if not qualname:
        return None
    if qualname in HF_ARGUMENTS:
        return "hf"
    last = qualname.rsplit(".", 1)[-1]
    if qualname.startswith("trl.") and last.endswith("Config") and last not in TRL_NON_TRAINING_CONFIGS:
        return "trl"
    return None


# Libraries whose generated data lists the names each release exports (tools/generate_library_data.py).
# The modules whose names the library data records per release: module -> (library, its submodule)
EXPORTING_MODULES = {"trl": ("trl", ""), "transformers.utils": ("transformers", "utils")}


def _is_library_trainer(name: str) -> bool:
    return name in TRAINERS or (name.startswith("trl.") and name.endswith("Trainer"))


class Transformers(Library):
    def __init__(self, file: PythonFile) -> None:
        super().__init__(file)
        self.parsed_files: list[str] = []  # literal files given to parse_yaml_file / parse_json_file
        self.unknown_key_policy = UnknownKeys.REJECTED
        self.local_trainers = self._trainer_subclasses()

    def imported(self, node: ast.Import | ast.ImportFrom) -> None:
        """`from trl import NAME` among the module's top-level statements, which run whenever it is
        imported (not one under `try:` or `if`, which may expect the name to be missing): the releases
        that can import the module (preflight.runs)."""
        exporting = EXPORTING_MODULES.get(node.module) if isinstance(node, ast.ImportFrom) and node.level == 0 \
            else None
        if exporting and any(statement is node for statement in self.module.tree.body):
            library, submodule = exporting
            for alias in node.names:
                if alias.name != "*":
                    self.file.add(LibraryImport(self.module.location(node), library, alias.name, submodule))

    @calls_where(training_framework)
    def training_arguments(self, call: Call) -> None:
        node, module = call.node, self.module
        kwargs, complete = module.kwargs(node, call.scope, positional=("output_dir",))
        config = TrainingConfig(
            location=module.location(node),
            framework=training_framework(call.name),  # type: ignore[arg-type]
            origin=f"{call.name.rsplit('.', 1)[-1]}(...)",
            args=kwargs,
            complete=complete,
            site=self.file.site(node),
            constructor=call.name.rsplit('.', 1)[-1],
        )
        self.file.add(config)
        self.file.trainer = True
        if config.reports_to("wandb"):
            self.file.start_run(call, RunStart.REPORT_TO, location=kwargs["report_to"].anchor,
                                name=kwargs.get("run_name"), identity_known=complete)

    @calls(*ARGUMENT_PARSERS)
    def argument_parser(self, call: Call) -> None:
        node, scope = call.node, call.scope
        classes = argument(node, "dataclass_types", 0)
        if isinstance(classes, ast.Name):
            classes = self.module.resolve_name(classes, scope) or classes
        elements = classes.elts if isinstance(classes, (ast.Tuple, ast.List)) else [classes] if classes else []
        library: list[str] = []
        local: list[str] = []
        defaults: list[tuple] = []
        pending: list[tuple] = []
        known = bool(elements) and not isinstance(classes, ast.Starred)
        for element in elements:
            found = self._dataclass_fields(element, scope, library, local, pending, defaults)
            known = known and found
        framework = parser_framework(library, call.name)
        if framework is None and not pending:  # the script's own dataclasses only: not training arguments
            if known and local:
                self.file.add(OwnArgumentsParser(self.module.location(node), tuple(dict.fromkeys(local)),
                                                 site=self.file.site(node)))
            return
        self.file.add(ArgumentParserUse(self.module.location(node), framework or "unknown",
                                        tuple(dict.fromkeys(library)), tuple(dict.fromkeys(local)),
                                        known, site=self.file.site(node), pending=tuple(pending),
                                        trl_parser=call.name.endswith("TrlParser"), local_defaults=tuple(defaults)))

    @methods(*PARSE_METHODS)
    def parse(self, call: Call) -> None:
        """`parser.parse_yaml_file("args.yaml")`, and how a parse treats keys no dataclass has."""
        if call.name is not None:
            return
        node = call.node
        if node.func.attr in ("parse_yaml_file", "parse_json_file") and node.args:
            known, path = self.module.literal(node.args[0], call.scope)
            if known and isinstance(path, str):
                self.parsed_files.append(path)
        keywords = keyword_map(node)
        for keyword, literal, policy in _UNKNOWN_KEY_POLICIES:
            given = keywords.get(keyword)
            if given is not None and self.module.literal(given.value, call.scope) == (True, literal):
                self.unknown_key_policy = policy

    @calls_where(lambda name: name.endswith("Trainer") and name.split(".")[0] in ("transformers", "trl"))
    def trainer(self, call: Call) -> None:
        self.file.trainer = True
        if _is_library_trainer(call.name):
            self._trainer(call, call.name)

    def local_calls(self):
        """The script's own Trainer subclasses train like the library class they extend."""
        return {name: lambda call, base=base: self._trainer(call, base) for name, base in self.local_trainers.items()}

    @calls(*REQUIRE_VERSION)
    def require_version(self, call: Call) -> None:
        """The code after it runs only with a release in that range (it raises first otherwise)."""
        node = call.node
        requirement = argument(node, "requirement", 0)
        known, text = self.module.literal(requirement, call.scope) if requirement is not None else (False, None)
        if not known or not isinstance(text, str):
            return
        from packaging.requirements import InvalidRequirement, Requirement

        try:
            parsed = Requirement(text)
        except InvalidRequirement:
            return
        self.file.add(VersionRequirement(self.module.location(node), parsed.name.lower(), str(parsed.specifier),
                                         self.file.site(node)))

    def finish(self) -> None:
        if self.parsed_files or self.unknown_key_policy is not UnknownKeys.REJECTED:
            config_file = self.parsed_files[0] if self.parsed_files else None
            self.file.facts = [dataclasses.replace(f, config_file=config_file, unknown_keys=self.unknown_key_policy)
                               if isinstance(f, ArgumentParserUse) else f for f in self.file.facts]

    def _trainer(self, call: Call, name: str) -> None:
        """A Trainer and the arguments it is built with (for the eval-dataset check)."""
        node, scope, module = call.node, call.scope, self.module
        self.file.trainer = True
        args = argument(node, "args", 1)
        args_at = None
        if isinstance(args, ast.Name):
            args = module.resolve_name(args, scope)
        if isinstance(args, ast.Call) and training_framework(module.qualname(args.func, scope)):
            args_at = module.location(args)
        eval_dataset: bool | None = None
        keywords = keyword_map(node)
        if "eval_dataset" in keywords:
            eval_dataset = not (isinstance(keywords["eval_dataset"].value, ast.Constant)
                                and keywords["eval_dataset"].value.value is None)
        elif len(node.args) >= 5:  # Trainer(model, args, data_collator, train_dataset, eval_dataset, ...)
            eval_dataset = True
        elif not any(kw.arg is None for kw in node.keywords) and not any(isinstance(a, ast.Starred) for a in node.args):
            eval_dataset = False
        self.file.add(TrainerCall(module.location(node), name.rsplit(".", 1)[-1], args_at, eval_dataset,
                                  self.file.site(node)))

    def _trainer_subclasses(self) -> dict[str, str]:
        """The module's own Trainer subclasses (`class MyTrainer(SFTTrainer)`), by name -> the library base."""
        found: dict[str, str] = {}
        for node in self.module.tree.body:
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    qualname = self.module.qualname(base) or found.get(getattr(base, "id", ""), "")
                    if qualname in TRAINERS or (qualname.startswith("trl.") and qualname.endswith("Trainer")):
                        found[node.name] = qualname
        return found

    def _dataclass_fields(self, expr: ast.AST, scope: Scope, library: list[str], local: list[str],
                          pending: list[tuple], defaults: list[tuple], depth: int = 0) -> bool:
        """Adds the library class or the script's own dataclass fields `expr` names (following a subclass to
        its bases), and the defaults those fields declare, a base's before its subclass's (which win); a class
        imported from a project module goes to `pending`, known once linking follows it. False when unknown."""
        qualname = self.module.qualname(expr, scope)
        if qualname is not None:
            if qualname in HF_ARGUMENTS or qualname.startswith("trl."):
                library.append(qualname.rsplit(".", 1)[-1])
                return True
            if qualname.startswith(("transformers.", "trl.")):
                return False
            pending.append(("module", qualname, 0))  # perhaps the project's own module
            return True
        if not isinstance(expr, ast.Name) or depth > 5:
            return False
        if expr.id in self.module.relative:
            module, level, name = self.module.relative[expr.id]
            pending.append(("module", f"{module}.{name}" if module else name, level))
            return True
        definition = next((node for node in self.module.tree.body
                           if isinstance(node, ast.ClassDef) and node.name == expr.id), None)
        if definition is None:
            return False
        known = True
        for base in definition.bases:
            known = self._dataclass_fields(base, scope, library, local, pending, defaults, depth + 1) and known
        local.extend(statement.target.id for statement in definition.body
                     if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name))
        defaults.extend(self.module.field_defaults(definition))
        return known
