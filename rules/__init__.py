"""The rule pack: one module per code prefix (`hf.py` holds HF001, HF002, ...; `pf.py` the PF rules), its
rules in code order, each followed by the helpers only it uses. Every `Rule` subclass with a `code` defined
in a module of this package is registered automatically, so a new rule touches only this folder and its
tests. What several prefixes ask about the project belongs to the engine (`preflight/`), not here: the
TrainingArguments replay is `preflight/trainingargs.py`, the launch questions `preflight/launches.py`.
See CONTRIBUTING.md."""
