"""The facts cache's JSON: every kind a fact has comes back as itself, and nothing else comes back."""

import enum
import json

import pytest

from preflight import model, serialize
from preflight.findings import Location, Severity
from preflight.model import (
    Credential, CredentialKind, EntryKind, EntryPoint, EnvBinding, FileFacts, Launch, Launcher, RunStart, UnknownKeys,
    WandbRun,
)

KINDS = [kind for kind in vars(model).values()
         if isinstance(kind, type) and issubclass(kind, model.Kind) and kind.__members__]


def test_every_kind_of_the_model_is_cached():
    assert {Launcher, EntryKind, RunStart, UnknownKeys, CredentialKind} <= set(KINDS)


@pytest.mark.parametrize("member", [member for kind in KINDS for member in kind] + list(Severity), ids=repr)
def test_a_kind_comes_back_as_its_member(member):
    assert serialize.load_json(json.dumps(serialize.dump_value(member))) is member


def test_facts_with_kinds_round_trip_through_the_cache():
    at = Location("ci.yml", 3, 5, 3, 20)
    launch = Launch(Launcher.GITHUB_ACTIONS, "job 'train'", EntryPoint(EntryKind.PYTHON_SCRIPT, "train.py", at,
                                                                        "python train.py"), ".",
                    env=(EnvBinding("WANDB_MODE", at, "step env", "offline"),),
                    credentials=(Credential(CredentialKind.ENV_FILE, at, ".env"),))
    run = WandbRun(Location("train.py", 1, 1), RunStart.REPORT_TO)
    file = FileFacts("ci.yml", "workflow", [launch, run])
    back = serialize.loads(serialize.dumps(file))
    assert back == file
    assert back.facts[0].launcher is Launcher.GITHUB_ACTIONS and back.facts[0].launcher.label == "GitHub Actions"
    assert back.facts[0].entry.kind is EntryKind.PYTHON_SCRIPT
    assert back.facts[1].started_by is RunStart.REPORT_TO


@pytest.mark.parametrize("entry", [
    {"$e": ["Launcher", "a launcher no release had"]},
    {"$e": ["Path", "/etc/passwd"]},  # a name that is not one of the model's kinds
    {"$e": ["Launcher"]},
    {"$e": "Launcher"},
    {"$e": ["Launcher", ["github-actions"]]},
], ids=["unknown-member", "unknown-kind", "no-member", "not-a-pair", "unhashable"])
def test_an_entry_naming_an_unknown_kind_is_corrupt(entry):
    text = json.dumps({"$": "FileFacts", "path": "a.py", "kind": "python", "facts": [entry], "suppressions": [],
                       "imports_pending": False, "note": None})
    with pytest.raises(serialize.CorruptEntry):
        serialize.loads(text)


def test_labels_default_to_the_value_and_kinds_are_not_strings():
    assert RunStart.WANDB_INIT.label == "wandb.init" and RunStart.AXOLOTL.label == "Axolotl wandb_project"
    assert all(not isinstance(member, str) for kind in KINDS for member in kind)
    assert all(isinstance(member, enum.Enum) for kind in KINDS for member in kind)
