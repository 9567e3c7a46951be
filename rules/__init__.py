"""The rule pack: one module per domain. Every `Rule` subclass with a `code` defined in a module
of this package is registered automatically, so a new rule touches only this folder and its tests."""
