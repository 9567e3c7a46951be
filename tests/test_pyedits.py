"""Python fixes as libcst transforms: each keeps the comments, quotes, commas and layout it does not change."""

import pytest

from preflight.findings import Action, Location, Transform
from preflight.pyedits import NotApplicable, edits, transform


def at(line, column, end_line, end_column):
    return Location("train.py", line, column, end_line, end_column)


MULTILINE = "args = TrainingArguments(\n    output_dir='out',  # where\n    evaluation_strategy='epoch',  # old\n)\n"


@pytest.mark.parametrize(("source", "change", "expected"), [
    (MULTILINE, Transform(at(3, 5, 3, 24), Action.RENAME_ARGUMENT, code="eval_strategy"),
     "args = TrainingArguments(\n    output_dir='out',  # where\n    eval_strategy='epoch',  # old\n)\n"),
    (MULTILINE, Transform(at(3, 5, 3, 24), Action.REMOVE_ARGUMENT),
     "args = TrainingArguments(\n    output_dir='out',  # where\n)\n"),
    (MULTILINE, Transform(at(1, 8, 4, 2), Action.SET_KEYWORD, "seed", "1"),
     "args = TrainingArguments(\n    output_dir='out',  # where\n    evaluation_strategy='epoch',  # old\n"
     "    seed=1,\n)\n"),
    ("f(\n    a=1,  # a\n    b=2  # b\n)\n", Transform(at(3, 5, 3, 6), Action.REMOVE_ARGUMENT), "f(\n    a=1  # a\n)\n"),
    ("f(\n    a=1,  # a\n    b=2  # b\n)\n", Transform(at(1, 1, 4, 2), Action.SET_KEYWORD, "c", "3"),
     "f(\n    a=1,  # a\n    b=2,  # b\n    c=3\n)\n"),
    ("f(\n    x,\n)\n", Transform(at(1, 1, 3, 2), Action.SET_KEYWORD, "c", "3"), "f(\n    x,\n    c=3,\n)\n"),
    ("g(a=1,\n  b=2)\n", Transform(at(2, 3, 2, 4), Action.REMOVE_ARGUMENT), "g(a=1)\n"),
    ("x = f(a = 1)\n", Transform(at(1, 5, 1, 13), Action.SET_KEYWORD, "a", "2"), "x = f(a = 2)\n"),
    ("x = f()\n", Transform(at(1, 5, 1, 8), Action.SET_KEYWORD, "a", "2"), "x = f(a=2)\n"),
    ("d = {'evaluation_strategy': 'epoch', 'seed': 1}\n", Transform(at(1, 6, 1, 27), Action.RENAME_ARGUMENT,
                                                                      code="eval_strategy"),
     "d = {'eval_strategy': 'epoch', 'seed': 1}\n"),
    ('u = "models:/m/Production"  # served\n', Transform(at(1, 5, 1, 27), Action.REPLACE_IN_STRING,
                                                         "/Production", "@production"),
     'u = "models:/m@production"  # served\n'),
    ("import mlflow\n\ndef main():\n    # upload\n    mlflow.log_artifacts('plots')\n",
     Transform(at(5, 5, 5, 34), Action.INSERT_BEFORE, code="os.makedirs('plots', exist_ok=True)",
               imports=("import os",)),
     "import mlflow\nimport os\n\ndef main():\n    # upload\n    os.makedirs('plots', exist_ok=True)\n"
     "    mlflow.log_artifacts('plots')\n"),
    ("x = (old(1))  # keep\n", Transform(at(1, 6, 1, 12), Action.REPLACE, code="new(1)"), "x = (new(1))  # keep\n"),
])
def test_transform_keeps_what_it_does_not_change(source, change, expected):
    assert transform(source, [change]) == expected


def test_an_import_the_module_has_is_not_added_again():
    source = "import os\nimport mlflow\n\nmlflow.log_artifacts('plots')\n"
    change = Transform(at(4, 1, 4, 30), Action.INSERT_BEFORE, code="os.makedirs('plots', exist_ok=True)",
                       imports=("import os",))
    assert transform(source, [change]) == ("import os\nimport mlflow\n\nos.makedirs('plots', exist_ok=True)\n"
                                           "mlflow.log_artifacts('plots')\n")


def test_edits_are_the_changed_lines_only():
    source = "import mlflow\n\nwith mlflow.start_run():\n    with mlflow.start_run():  # inner\n        pass\n"
    found = edits("train.py", source, [Transform(at(4, 10, 4, 28), Action.SET_KEYWORD, "nested", "True")])
    assert [(e.location.line, e.location.end_line, e.replacement) for e in found] == \
        [(4, 5, "    with mlflow.start_run(nested=True):  # inner\n")]


@pytest.mark.parametrize(("source", "change"), [
    ("x = f(\n", Transform(at(1, 5, 1, 7), Action.SET_KEYWORD, "a", "1")),  # does not parse
    ("x = f()\n", Transform(at(1, 1, 1, 2), Action.SET_KEYWORD, "a", "1")),  # no call there
    ("x = f()\n", Transform(at(1, 5, 1, 8), Action.SET_KEYWORD, "a", "1 +")),  # not an expression
    ("x = 'a'\n", Transform(at(1, 5, 1, 8), Action.REPLACE_IN_STRING, "b", "c")),  # not in the string
    # a statement before `f()` would run before the `if` (always) or before what f() needs on its line
    ("if x: f()\n", Transform(at(1, 7, 1, 10), Action.INSERT_BEFORE, code="g()")),
    ("if x:\n    pass\nelse: f()\n", Transform(at(3, 7, 3, 10), Action.INSERT_BEFORE, code="g()")),
    ("a = 1; f(a)\n", Transform(at(1, 8, 1, 12), Action.INSERT_BEFORE, code="g()")),
])
def test_a_transform_that_does_not_apply_is_refused(source, change):
    with pytest.raises(NotApplicable):
        transform(source, [change])
