"""Python fixes as concrete-syntax transforms: a rule describes the change (`Transform`: set this call's
keyword, rename or remove this argument, replace this expression, put this statement before that one) and
this module applies it to the file's libcst tree, which keeps every comment, quote, comma and indentation
that the change does not touch.

A rule locates what it changes by the position the extractor recorded (the `ast` node's span, which is the
span of the same libcst node without its parentheses). The transform runs when the fix is planned, on the
text the check read, and comes back as text edits (one per changed run of lines), so that the fix plan,
`--diff` and the editor apply it like any other edit. libcst's parse costs about 50x the `ast` parse of a
check (docs/architecture.md), so nothing here runs while checking.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from preflight import linebreaks
from preflight.findings import Action, Edit, Location, Transform
from preflight.sources.text import SourceText


class NotApplicable(ValueError):
    """The transform's node is not where the rule said, or its code does not parse: no fix."""


def edits(path: str, text: str, transforms: Sequence[Transform]) -> tuple[Edit, ...]:
    """The text edits that make `text` what the transforms make of it; NotApplicable when one of them cannot
    be applied (or the text does not parse)."""
    after = transform(text, transforms)
    return _diff(path, text, after)


def transform(text: str, transforms: Sequence[Transform]) -> str:
    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError, MemoryError) as exc:
        raise NotApplicable(f"the file does not parse: {exc}") from None
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    changer = _Changer(positions, transforms)
    module = wrapper.module.visit(changer)
    if changer.pending:
        raise NotApplicable(f"no {changer.pending[0].action.value} target at {changer.pending[0].location}")
    imports = [statement for t in transforms for statement in t.imports]
    if imports:
        context = CodemodContext()
        for statement in dict.fromkeys(imports):
            _need(context, statement)
        module = AddImportsVisitor(context).transform_module(module)
    return module.code


def _need(context: CodemodContext, statement: str) -> None:
    """`import os` or `from pathlib import Path`, registered with libcst's import adder (which skips an
    import the module already has, and places new ones after the existing imports)."""
    words = statement.split()
    if len(words) == 2 and words[0] == "import":
        AddImportsVisitor.add_needed_import(context, words[1])
    elif len(words) == 4 and words[0] == "from" and words[2] == "import":
        AddImportsVisitor.add_needed_import(context, words[1], words[3])
    else:
        raise NotApplicable(f"not a simple import: {statement!r}")


def _start(location: Location) -> tuple[int, int]:
    return location.line, location.column - 1


def _end(location: Location) -> tuple[int, int]:
    return location.end_line, location.end_column - 1


def _span(positions, node: cst.CSTNode) -> tuple[tuple[int, int], tuple[int, int]] | None:
    found = positions.get(node)
    if found is None:
        return None
    return (found.start.line, found.start.column), (found.end.line, found.end.column)


def _expression(code: str) -> cst.BaseExpression:
    try:
        return cst.parse_expression(code)
    except cst.ParserSyntaxError:
        raise NotApplicable(f"not an expression: {code!r}") from None


def _statement(code: str) -> cst.BaseStatement:
    try:
        return cst.parse_statement(code)
    except cst.ParserSyntaxError:
        raise NotApplicable(f"not a statement: {code!r}") from None


class _Changer(cst.CSTTransformer):
    """One pass over the tree: each transform's node is recognised by its position in the original tree
    (`positions`) and rebuilt on the way up."""

    def __init__(self, positions, transforms: Sequence[Transform]) -> None:
        super().__init__()
        self.positions = positions
        self.pending = list(transforms)

    def _take(self, node: cst.CSTNode, actions: tuple[Action, ...], exact: bool = True) -> list[Transform]:
        span = _span(self.positions, node)
        if span is None:
            return []
        taken = []
        for t in self.pending:
            if t.action not in actions:
                continue
            if exact and span == (_start(t.location), _end(t.location)):
                taken.append(t)
            elif not exact and span[0] <= _start(t.location) and _end(t.location) <= span[1]:
                taken.append(t)
        for t in taken:
            self.pending.remove(t)
        return taken

    # -- calls and their arguments ------------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        for t in self._take(original, (Action.SET_KEYWORD,)):
            updated = _set_keyword(updated, t.name, _expression(t.code))
        removed = [i for i, arg in enumerate(original.args) if arg.keyword is not None
                   and self._take(arg.keyword, (Action.REMOVE_ARGUMENT,))]
        if removed:
            updated = updated.with_changes(args=_without(updated.args, removed))
        return updated

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        if original.keyword is not None:
            for t in self._take(original.keyword, (Action.RENAME_ARGUMENT,)):
                updated = updated.with_changes(keyword=cst.Name(t.code))
        return updated

    def leave_Dict(self, original: cst.Dict, updated: cst.Dict) -> cst.BaseExpression:
        removed = [i for i, element in enumerate(original.elements) if isinstance(element, cst.DictElement)
                   and self._take(element.key, (Action.REMOVE_ARGUMENT,))]
        if removed:
            updated = updated.with_changes(elements=_without(updated.elements, removed))
        return updated

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        for t in self._take(original, (Action.RENAME_ARGUMENT,)):  # a dict key: {"evaluation_strategy": ...}
            updated = updated.with_changes(value=_requote(updated, t.code))
        for t in self._take(original, (Action.REPLACE_IN_STRING,), exact=False):
            body = updated.value[len(updated.prefix) + len(updated.quote):-len(updated.quote)]
            if body.count(t.name) != 1:
                raise NotApplicable(f"{t.name!r} is not once in the string at {t.location}")
            updated = updated.with_changes(value=_requote(updated, body.replace(t.name, t.code, 1)))
        return updated

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):
        """After the node's own leave_* method: an expression a REPLACE transform names is replaced whole."""
        result = super().on_leave(original, updated)
        if isinstance(original, cst.BaseExpression):
            for t in self._take(original, (Action.REPLACE,)):
                return _keep_parentheses(original, _expression(t.code))
        return result

    # -- statements ---------------------------------------------------------------------------------

    def leave_SimpleStatementSuite(self, original: cst.SimpleStatementSuite, updated):
        """`if x: f()`: a statement cannot go before `f()` on that line (before the `if`, it would run always)."""
        if self._take(original, (Action.INSERT_BEFORE,), exact=False):
            raise NotApplicable("the statement shares its line with a compound statement's header")
        return updated

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated):
        """`a = 1; f()`: a statement put before the line would run before `a = 1`, which `f()` may need."""
        if len(original.body) > 1 and any(self._take(small, (Action.INSERT_BEFORE,), exact=False)
                                          for small in original.body[1:]):
            raise NotApplicable("the statement follows another on its line")
        return updated

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        return updated.with_changes(body=self._insert(original.body, updated.body))

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        return updated.with_changes(body=self._insert(original.body, updated.body))

    def _insert(self, original: Sequence[cst.BaseStatement], updated: Sequence[cst.BaseStatement]) -> list:
        """The statements put before the statement (of this block) that holds a transform's location, under
        the blank lines and comments that were above it; the innermost block is left first, so the statement
        found is the closest one."""
        body = list(updated)
        for index in range(len(original) - 1, -1, -1):
            taken = self._take(original[index], (Action.INSERT_BEFORE,), exact=False)
            if not taken:
                continue
            new = [_statement(t.code) for t in taken]
            new[0] = new[0].with_changes(leading_lines=body[index].leading_lines)
            body[index] = body[index].with_changes(leading_lines=[])
            body[index:index] = new
        return body


def _set_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """`name=value` as the call's last argument, laid out as its arguments are (one a line, a trailing
    comma), or the value of the keyword when the call has it."""
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == name:
            args[index] = arg.with_changes(value=value)
            return call.with_changes(args=args)
    equal = next((a.equal for a in args if a.keyword is not None),
                 cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                 whitespace_after=cst.SimpleWhitespace("")))
    new = cst.Arg(value=value, keyword=cst.Name(name), equal=equal)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    separator = next((a.comma for a in args[:-1] if isinstance(a.comma, cst.Comma)), None)
    if separator is None:  # one argument: the next goes where it is (its own line after `f(` too)
        separator = cst.Comma(whitespace_after=call.whitespace_before_args
                              if isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace)
                              else cst.SimpleWhitespace(" "))
    between = _bare(separator.whitespace_after)
    if isinstance(last.comma, cst.Comma):  # a trailing comma: the new argument ends the list with it
        args[-1] = last.with_changes(comma=last.comma.with_changes(
            whitespace_after=_relayout(last.comma.whitespace_after, between)))
        new = new.with_changes(comma=last.comma.with_changes(whitespace_after=_bare(last.comma.whitespace_after)))
    else:
        comma = separator.with_changes(whitespace_after=_relayout(last.whitespace_after_arg, between))
        args[-1] = last.with_changes(comma=comma, whitespace_after_arg=cst.SimpleWhitespace(""))
        new = new.with_changes(whitespace_after_arg=_bare(last.whitespace_after_arg))
    return call.with_changes(args=[*args, new])


def _without(items: Sequence, removed: list[int]) -> list:
    """The arguments (or dict elements) but those at `removed`. When the last one goes, the one before it
    ends the list as the removed one did (its trailing comma or none, the line the closing bracket is on)
    and keeps its own comment: `f(a=1, b=2)` without b is `f(a=1)`."""
    kept = [item for i, item in enumerate(items) if i not in removed]
    if kept and len(items) - 1 in removed:
        last, previous = items[-1], kept[-1]
        own = previous.comma.whitespace_after if isinstance(previous.comma, cst.Comma) else cst.SimpleWhitespace("")
        if isinstance(last.comma, cst.Comma):
            kept[-1] = previous.with_changes(comma=last.comma.with_changes(
                whitespace_after=_relayout(own, last.comma.whitespace_after)))
        elif isinstance(previous, cst.Arg):
            kept[-1] = previous.with_changes(comma=cst.MaybeSentinel.DEFAULT,
                                             whitespace_after_arg=_relayout(own, last.whitespace_after_arg))
        else:
            kept[-1] = previous.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return kept


def _relayout(own: cst.BaseParenthesizableWhitespace, shape: cst.BaseParenthesizableWhitespace):
    """`shape`'s line break and indentation with `own`'s end-of-line comment (when both break the line)."""
    if isinstance(own, cst.ParenthesizedWhitespace) and isinstance(shape, cst.ParenthesizedWhitespace):
        return shape.with_changes(first_line=own.first_line, empty_lines=own.empty_lines)
    return shape


def _bare(whitespace: cst.BaseParenthesizableWhitespace):
    """The whitespace without the comment and blank lines it carries."""
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return whitespace.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    return whitespace


def _requote(string: cst.SimpleString, body: str) -> str:
    quote = string.quote
    if "\\" in body or quote[0] in body or "\n" in body:
        raise NotApplicable("the new text would need escaping")
    return f"{string.prefix}{quote}{body}{quote}"


def _keep_parentheses(original: cst.BaseExpression, new: cst.BaseExpression) -> cst.BaseExpression:
    if getattr(original, "lpar", None) and hasattr(new, "lpar"):
        return new.with_changes(lpar=original.lpar, rpar=original.rpar)
    return new


def _diff(path: str, before: str, after: str) -> tuple[Edit, ...]:
    """One edit per run of changed lines (identical insertions of two fixes, an import both need, are then
    one edit the plan applies once)."""
    syntax = linebreaks.PYTHON
    old, new = linebreaks.split(before, syntax, keepends=True), linebreaks.split(after, syntax, keepends=True)
    source = SourceText(path, before, syntax)
    starts = [0]
    for line in old:
        starts.append(starts[-1] + len(line))
    result = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            result.append(Edit(source.location(starts[i1], starts[i2]), "".join(new[j1:j2])))
    return tuple(result)
