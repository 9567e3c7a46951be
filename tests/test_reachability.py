"""A tracker call counts for a launch only where it runs: from the entry point, with the launch's own
arguments. Each case is a small project of the shape the false findings came from, and its true twin."""

from __future__ import annotations

import pytest

WF = ".github/workflows/ci.yml"


def workflow(run: str, env: str = "") -> str:
    return (f"on: push\njobs:\n  train:\n    runs-on: ubuntu-latest\n{env}    steps:\n"
            f"      - uses: actions/checkout@v4\n      - run: {run}\n")


def env001(project, files: dict[str, str]) -> list[str]:
    return project(files, select=["ENV001"])


def test_a_function_an_imported_module_defines_is_not_a_run(project):
    files = {
        "pkg/__init__.py": "",
        "pkg/utils.py": "import wandb\n\ndef init_wandb(args):\n    wandb.init(project='p', name='x')\n",
        "gen_docs.py": "from pkg.utils import init_wandb\n\nprint('docs')\n",
        WF: workflow("python gen_docs.py"),
    }
    assert env001(project, files) == []
    files["gen_docs.py"] = "from pkg.utils import init_wandb\n\ninit_wandb(None)\n"
    assert env001(project, files) == [f"{WF}:7:14: ENV001"]


def test_calls_are_followed_through_main_methods_and_re_exports(project):
    files = {
        "pkg/__init__.py": "from .tracking import Tracker\n",
        "pkg/tracking.py": "import wandb\n\nclass Tracker:\n    def __init__(self):\n        self.start()\n\n"
                           "    def start(self):\n        wandb.init(project='p', name='x')\n",
        "train.py": "from pkg import Tracker\n\ndef main():\n    Tracker()\n\nif __name__ == '__main__':\n    main()\n",
        WF: workflow("python train.py"),
    }
    assert env001(project, files) == [f"{WF}:7:14: ENV001"]


def test_the_main_block_of_an_imported_module_does_not_run(project):
    files = {
        "helpers.py": "import wandb\n\nif __name__ == '__main__':\n    wandb.init(project='p', name='x')\n",
        "train.py": "import helpers\n",
        WF: workflow("python train.py"),
    }
    assert env001(project, files) == []


LOGGERS = """import argparse
import wandb

parser = argparse.ArgumentParser()
parser.add_argument("--logger", default="console")
parser.add_argument("--use_wandb", action="store_true")
args = parser.parse_args()
if "wandb" in args.logger or args.use_wandb:
    wandb.init(project="p", name="x")
"""


@pytest.mark.parametrize("command, expected", [
    ("python train.py", []),
    ("python train.py --logger console", []),
    ("python train.py --logger wandb", [f"{WF}:7:14: ENV001"]),
    ("python train.py --use_wandb", [f"{WF}:7:14: ENV001"]),
])
def test_argparse_defaults_and_the_launch_flags_decide_a_condition(project, command, expected):
    assert env001(project, {"train.py": LOGGERS, WF: workflow(command)}) == expected


HYDRA = {
    "tracking.py": "import wandb\n\nclass Tracking:\n    def __init__(self, backend):\n"
                   "        if 'wandb' in backend:\n            wandb.init(project='p', name='x')\n",
    "main.py": "import hydra\nfrom tracking import Tracking\n\n@hydra.main(config_path='conf', config_name='ppo')\n"
               "def main(config):\n    Tracking(backend=config.trainer.logger)\n\n"
               "if __name__ == '__main__':\n    main()\n",
    "conf/ppo.yaml": "trainer:\n  logger: [console, wandb]\n  total_epochs: 1\n",
}


@pytest.mark.parametrize("command, expected", [
    ("python main.py trainer.logger=console", []),
    ("python main.py trainer.logger='[\"console\"]'", []),
    ("python main.py trainer.logger='[console,wandb]'", [f"{WF}:7:14: ENV001"]),
    ("python main.py trainer.total_epochs=2", [f"{WF}:7:14: ENV001"]),  # the config file's default: wandb
])
def test_hydra_overrides_and_the_config_default_decide_a_condition(project, command, expected):
    assert env001(project, {**HYDRA, WF: workflow(command)}) == expected


def test_a_condition_that_cannot_be_decided_is_not_an_error(project):
    script = "import wandb\nfrom cluster import on_cluster\n\nif on_cluster():\n    wandb.init(project='p', name='x')\n"
    assert env001(project, {"train.py": script, WF: workflow("python train.py")}) == []


def test_main_process_guards_and_early_returns(project):
    script = ("import argparse\nimport wandb\nfrom accelerate import Accelerator\n\n"
              "def setup(args, accelerator):\n    if not args.wandb:\n        return\n"
              "    if accelerator.is_main_process:\n        wandb.init(project='p', name='x')\n\n"
              "def main():\n    parser = argparse.ArgumentParser()\n    parser.add_argument('--wandb', action='store_true')\n"
              "    args = parser.parse_args()\n    setup(args, Accelerator())\n\nmain()\n")
    assert env001(project, {"train.py": script, WF: workflow("python train.py")}) == []
    assert env001(project, {"train.py": script, WF: workflow("python train.py --wandb")}) == [f"{WF}:7:14: ENV001"]


def test_an_environment_variable_the_launcher_sets(project):
    script = "import os\nimport wandb\n\nif os.environ.get('TRACK') == '1':\n    wandb.init(project='p', name='x')\n"
    assert env001(project, {"train.py": script, WF: workflow("python train.py")}) == []
    files = {"train.py": script, WF: workflow("python train.py", env="    env:\n      TRACK: '1'\n")}
    assert env001(project, files) == [f"{WF}:9:14: ENV001"]


def test_a_function_handed_to_another_call_runs(project):
    script = "import wandb\nimport torch.multiprocessing as mp\n\ndef worker(rank):\n" \
             "    wandb.init(project='p', name='x')\n\nif __name__ == '__main__':\n    mp.spawn(worker, nprocs=2)\n"
    assert env001(project, {"train.py": script, WF: workflow("python train.py")}) == [f"{WF}:7:14: ENV001"]


def test_accelerate_init_trackers_counts_only_for_its_own_accelerator(project):
    script = ("from accelerate import Accelerator\n\n"
              "def test_tensorboard():\n    accelerator = Accelerator(log_with='tensorboard')\n"
              "    accelerator.init_trackers('p')\n\n"
              "def test_wandb():\n    accelerator = Accelerator(log_with='wandb')\n"
              "    accelerator.init_trackers('p', init_kwargs={'wandb': {'name': 'run'}})\n")
    assert project({"test_tracking.py": script}, select=["WB001"]) == []


def test_verbose_says_what_could_not_be_decided(project):
    from click.testing import CliRunner

    from preflight.cli import main

    script = "import wandb\nfrom cluster import on_cluster\n\nif on_cluster():\n    wandb.init(project='p', name='x')\n"
    project({"train.py": script, WF: workflow("python train.py")})
    result = CliRunner().invoke(main, ["check", "--no-cache", "-v", "--select", "ENV001", "."])
    assert result.exit_code == 0
    assert "undecided: .github/workflows/ci.yml:7:14" in result.output and "train.py:5" in result.output


TRICKY = '''
import os, wandb
class Trainer:
    use = os.environ.get("W") == "1"
    if use:
        started = wandb.init(name="class-body")
    def train(self, args):
        if not args.track:
            return
        f = lambda run: run.log({"x": 1}) if run.config.get("log") else None
        try:
            wandb.init(name="t") if args.fast and self.ready() else wandb.init(name="u")
        except ValueError:
            wandb.init(name="fallback")
        while args.retry:
            match args.mode:
                case "a":
                    wandb.init(name="a")
        def inner():
            if args.inner:
                wandb.init(name="inner")
        return inner
@decorate(wandb.init(name="decorator"))
def main(flag=wandb.init(name="default")):
    for i in range(3):
        if i:
            continue
        wandb.init(name=f"loop{i}")
'''


@pytest.mark.parametrize("source", [TRICKY, *(p.read_text() for p in sorted(
    (__import__("pathlib").Path(__file__).parent.parent / "preflight").rglob("*.py")))], ids=lambda s: s[:20])
def test_the_extractors_sites_agree_with_the_outline(source):
    """Facts get their site by walking up from the call (cheap, at extraction); the link stage walks whole
    modules down. Both must say the same function and conditions for every call."""
    import ast

    from preflight.sources.pyoutline import Outline, SiteFinder
    from preflight.sources.pyscope import Module, child_nodes
    from preflight.sources.text import SourceText

    tree = ast.parse(source)
    module = Module(SourceText("x.py", source), tree)
    parents, stack = {}, [tree]
    while stack:
        node = stack.pop()
        for child in child_nodes(node):
            parents[id(child)] = node
            stack.append(child)
    outline, finder = Outline(module), SiteFinder(module, parents)
    for call, scope, _ in module.calls:
        assert finder.site(call, scope) == outline.sites[id(call)], ast.unparse(call)


def test_a_reach_answers_for_each_fact_with_the_launch_s_own_arguments(project):
    """`programs.reach(script, arguments)` is the one question a rule asks: `reach.of(path, fact.site)` decides
    both whether the fact's function is called and the conditions around it, for that launch."""
    from preflight import engine
    from preflight.model import WandbRun
    from preflight.program import NEVER, RUNS, LaunchArguments

    project({"train.py": "import argparse\nimport wandb\n\nparser = argparse.ArgumentParser()\n"
                         "parser.add_argument('--track', action='store_true')\nargs = parser.parse_args()\n"
                         "if args.track:\n    wandb.init(project='p', name='r')\n\ndef unused():\n"
                         "    wandb.init(project='p', name='u')\n"})
    model = engine.model(engine.prepare(["."], cwd=project.root))
    guarded, uncalled = model.facts_in("train.py", WandbRun)
    plain = model.programs.reach("train.py", LaunchArguments())
    assert (plain.of("train.py", guarded.site), plain.of("train.py", uncalled.site)) == (NEVER, NEVER)
    tracked = model.programs.reach("train.py", LaunchArguments(flags=(("track", None),)))
    assert tracked.of("train.py", guarded.site) == RUNS
