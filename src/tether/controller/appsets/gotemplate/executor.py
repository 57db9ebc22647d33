"""Executes parsed templates against data with ``text/template``'s semantics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from tether.controller.appsets.errors import TemplateExecError
from tether.controller.appsets.gotemplate.functions import (
    SPECIAL_FORMS,
    CallError,
    Function,
    Kind,
)
from tether.controller.appsets.gotemplate.nodes import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
)
from tether.controller.appsets.gotemplate.values import MISSING, format_value, go_type, truth

#: Deepest chain of {{template}} calls before execution stops. Go allows 100000; a
#: Python stack does not, and no real template nests more than a few levels.
MAX_DEPTH: Final = 100
#: Nodes one execution may walk: a template must not loop for minutes (nested ranges
#: over ``until 100000``), since it runs inside the controller.
MAX_STEPS: Final = 2_000_000
#: Characters one execution may print.
MAX_OUTPUT: Final = 4 * 1024 * 1024


class MissingKey(StrEnum):
    """``missingkey=`` option: what a lookup of an absent map key yields."""

    DEFAULT = "default"  # the invalid value, printed as <no value>
    ZERO = "zero"
    ERROR = "error"


class _NoFinal:
    """Marks that no value is piped into a command (Go's ``missingVal``)."""


_NO_FINAL: Final = _NoFinal()


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


@dataclass(slots=True)
class _State:
    name: str
    trees: Mapping[str, ListNode]
    functions: Mapping[str, Function]
    missing_key: MissingKey
    out: list[str] = field(default_factory=list)
    vars: list[tuple[str, Any]] = field(default_factory=list)
    depth: int = 0
    steps: int = 0
    size: int = 0
    node: Node | None = None

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            raise self.fail(f"output is larger than {MAX_OUTPUT} characters")
        self.out.append(text)

    def fail(self, message: str) -> TemplateExecError:
        at = f" at <{self.node}>" if self.node is not None and _showable(self.node) else ""
        line = self.node.line if self.node is not None else 1
        return TemplateExecError(
            f'template: {self.name}:{line}: executing "{self.name}"{at}: {message}'
        )


def _showable(node: Node) -> bool:
    return not isinstance(node, (ListNode, TextNode, BranchNode))


def execute(
    name: str,
    trees: Mapping[str, ListNode],
    functions: Mapping[str, Function],
    data: Any,
    missing_key: MissingKey = MissingKey.DEFAULT,
) -> str:
    """Run template ``name`` over ``data`` and return what it printed."""
    tree = trees.get(name)
    if tree is None:
        raise TemplateExecError(f'template: no template "{name}" associated with template')
    state = _State(name, trees, functions, missing_key, vars=[("$", data)])
    try:
        _walk(state, data, tree)
    except RecursionError as error:
        raise state.fail("template nests too deeply") from error
    return "".join(state.out)


def _walk(s: _State, dot: Any, node: Node) -> None:
    s.node = node
    s.steps += 1
    if s.steps > MAX_STEPS:
        raise s.fail(f"execution took more than {MAX_STEPS} steps")
    if isinstance(node, TextNode):
        s.write(node.text)
    elif isinstance(node, ListNode):
        for child in node.nodes:
            _walk(s, dot, child)
    elif isinstance(node, ActionNode):
        value = _pipeline(s, dot, node.pipe)
        if not node.pipe.decl:
            s.write(format_value(value, top=True))
    elif isinstance(node, BranchNode):
        if node.keyword == "range":
            _range(s, dot, node)
        else:
            _if_with(s, dot, node)
    elif isinstance(node, TemplateNode):
        _template(s, dot, node)
    elif isinstance(node, BreakNode):
        raise _Break
    elif isinstance(node, ContinueNode):
        raise _Continue
    else:  # pragma: no cover - the parser makes no other node at statement level
        raise s.fail(f"unknown node: {node}")


def _if_with(s: _State, dot: Any, node: BranchNode) -> None:
    mark = len(s.vars)
    value = _pipeline(s, dot, node.pipe)
    if truth(value):
        _walk(s, value if node.keyword == "with" else dot, node.body)
    elif node.else_body is not None:
        _walk(s, dot, node.else_body)
    del s.vars[mark:]


def _range(s: _State, dot: Any, node: BranchNode) -> None:
    mark = len(s.vars)
    value = _pipeline(s, dot, node.pipe)
    if isinstance(value, Mapping):
        items: list[tuple[Any, Any]] = [(k, value[k]) for k in sorted(value)]
    elif isinstance(value, (list, tuple)):
        items = list(enumerate(value))
    elif value is MISSING or value is None:
        items = []
    else:
        s.node = node
        raise s.fail(f"range can't iterate over {format_value(value)}")
    for key, element in items:
        body_mark = len(s.vars)
        if node.pipe.decl:
            s.vars[-1] = (s.vars[-1][0], element)
            if len(node.pipe.decl) > 1:
                s.vars[-2] = (s.vars[-2][0], key)
        try:
            _walk(s, element, node.body)
        except _Continue:
            pass
        except _Break:
            del s.vars[body_mark:]
            break
        del s.vars[body_mark:]
    if not items and node.else_body is not None:
        _walk(s, dot, node.else_body)
    del s.vars[mark:]


def _template(s: _State, dot: Any, node: TemplateNode) -> None:
    tree = s.trees.get(node.name)
    if tree is None:
        raise s.fail(f'no such template "{node.name}"')
    value = dot if node.pipe is None else _pipeline(s, dot, node.pipe)
    if s.depth >= MAX_DEPTH:
        raise s.fail(f"exceeded maximum template depth ({MAX_DEPTH})")
    saved_vars, saved_name = s.vars, s.name
    s.vars, s.depth, s.name = [("$", value)], s.depth + 1, node.name
    try:
        _walk(s, value, tree)
    finally:
        s.vars, s.depth = saved_vars, s.depth - 1
        s.name = saved_name


# --- pipelines and commands -------------------------------------------------------------


def _pipeline(s: _State, dot: Any, pipe: PipeNode) -> Any:
    value: Any = MISSING
    for cmd in pipe.cmds:
        value = _command(s, dot, cmd, value if cmd is not pipe.cmds[0] else _NO_FINAL)
    for name in pipe.decl:
        if pipe.is_assign:
            _set_var(s, name, value)
        else:
            s.vars.append((name, value))
    return value


def _command(s: _State, dot: Any, cmd: CommandNode, final: Any) -> Any:
    first = cmd.args[0]
    s.node = first
    if isinstance(first, FieldNode):
        return _field_chain(s, dot, dot, first, first.idents, cmd.args, final)
    if isinstance(first, ChainNode):
        if len(first.idents) == 0:
            raise s.fail("internal error: no fields in chain")
        receiver = _arg_value(s, dot, first.node)
        return _field_chain(s, dot, receiver, first, first.idents, cmd.args, final)
    if isinstance(first, IdentifierNode):
        return _function(s, dot, first, cmd, final)
    if isinstance(first, VariableNode):
        value = _variable(s, first.name)
        if first.idents:
            return _field_chain(s, dot, value, first, first.idents, cmd.args, final)
        _not_a_function(s, cmd.args, final)
        return value
    _not_a_function(s, cmd.args, final)
    if isinstance(first, PipeNode):
        return _pipeline(s, dot, first)
    if isinstance(first, BoolNode):
        return first.value
    if isinstance(first, DotNode):
        return dot
    if isinstance(first, NilNode):
        raise s.fail("nil is not a command")
    if isinstance(first, NumberNode):
        return first.value
    if isinstance(first, StringNode):
        return first.value
    raise s.fail(f"can't evaluate command {first}")


def _not_a_function(s: _State, args: list[Node], final: Any) -> None:
    if len(args) > 1 or final is not _NO_FINAL:
        raise s.fail(f"can't give argument to non-function {args[0]}")


def _variable(s: _State, name: str) -> Any:
    for var_name, value in reversed(s.vars):
        if var_name == name:
            return value
    raise s.fail(f"undefined variable: {name}")


def _set_var(s: _State, name: str, value: Any) -> None:
    for i in range(len(s.vars) - 1, -1, -1):
        if s.vars[i][0] == name:
            s.vars[i] = (name, value)
            return
    raise s.fail(f"undefined variable: {name}")


def _field_chain(
    s: _State,
    dot: Any,
    receiver: Any,
    node: Node,
    idents: tuple[str, ...],
    args: list[Node],
    final: Any,
) -> Any:
    s.node = node
    for ident in idents[:-1]:
        receiver = _field(s, ident, receiver, has_args=False)
    has_args = len(args) > 1 or final is not _NO_FINAL
    return _field(s, idents[-1], receiver, has_args=has_args)


def _field(s: _State, name: str, receiver: Any, *, has_args: bool) -> Any:
    if receiver is MISSING:
        if s.missing_key is MissingKey.ERROR:
            raise s.fail(f"nil data; no entry for key {name!r}".replace("'", '"'))
        return MISSING
    if receiver is None:
        raise s.fail(f"nil pointer evaluating interface {{}}.{name}")
    if isinstance(receiver, Mapping):
        if has_args:
            raise s.fail(f"{name} is not a method but has arguments")
        if name in receiver:
            return receiver[name]
        if s.missing_key is MissingKey.ERROR:
            raise s.fail(f'map has no entry for key "{name}"')
        return None if s.missing_key is MissingKey.ZERO else MISSING
    raise s.fail(f"can't evaluate field {name} in type {go_type(receiver)}")


def _arg_value(s: _State, dot: Any, node: Node) -> Any:
    """The value of an operand used as an argument (or chain receiver)."""
    s.node = node
    if isinstance(node, DotNode):
        return dot
    if isinstance(node, NilNode):
        return None
    if isinstance(node, FieldNode):
        return _field_chain(s, dot, dot, node, node.idents, [node], _NO_FINAL)
    if isinstance(node, VariableNode):
        value = _variable(s, node.name)
        if node.idents:
            return _field_chain(s, dot, value, node, node.idents, [node], _NO_FINAL)
        return value
    if isinstance(node, PipeNode):
        return _pipeline(s, dot, node)
    if isinstance(node, IdentifierNode):
        return _function(s, dot, node, CommandNode(node.line, [node]), _NO_FINAL)
    if isinstance(node, ChainNode):
        receiver = _arg_value(s, dot, node.node)
        return _field_chain(s, dot, receiver, node, node.idents, [node], _NO_FINAL)
    if isinstance(node, BoolNode):
        return node.value
    if isinstance(node, NumberNode):
        return node.value
    if isinstance(node, StringNode):
        return node.value
    raise s.fail(f"can't handle {node} for arg")


# --- functions ----------------------------------------------------------------------------


def _function(s: _State, dot: Any, ident: IdentifierNode, cmd: CommandNode, final: Any) -> Any:
    name = ident.name
    args = cmd.args[1:]
    if name in SPECIAL_FORMS:
        return _and_or(s, dot, name, args, final)
    function = s.functions.get(name)
    if function is None:
        raise s.fail(f'"{name}" is not a defined function')
    count = len(args) + (0 if final is _NO_FINAL else 1)
    fixed = len(function.params)
    if count < fixed or (function.variadic is None and count != fixed):
        want = f"at least {fixed}" if function.variadic is not None else str(fixed)
        raise s.fail(f"wrong number of args for {name}: want {want} got {count}")
    values: list[Any] = []
    for i, arg in enumerate(args):
        kind = function.params[i] if i < fixed else function.variadic
        assert kind is not None
        values.append(_typed_arg(s, dot, arg, kind))
    if final is not _NO_FINAL:
        kind = function.params[count - 1] if count - 1 < fixed else function.variadic
        assert kind is not None
        values.append(_convert(s, final, kind))
    s.node = ident
    try:
        return function.call(*values)
    except CallError as error:
        raise s.fail(f"error calling {name}: {error}") from error
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError) as error:
        raise s.fail(f"error calling {name}: {error}") from error


def _and_or(s: _State, dot: Any, name: str, args: list[Node], final: Any) -> Any:
    if not args and final is _NO_FINAL:
        raise s.fail(f"wrong number of args for {name}: want at least 1 got 0")
    value: Any = MISSING
    operands: list[Any] = list(args)
    if final is not _NO_FINAL:
        operands.append(_Final(final))
    for operand in operands:
        value = operand.value if isinstance(operand, _Final) else _arg_value(s, dot, operand)
        if truth(value) == (name == "or"):
            break
    return None if value is MISSING else value


@dataclass(frozen=True, slots=True)
class _Final:
    value: Any


def _typed_arg(s: _State, dot: Any, node: Node, kind: Kind) -> Any:
    s.node = node
    if isinstance(node, NumberNode):
        if kind is Kind.INT:
            if not node.is_int and not float(node.value).is_integer():
                raise s.fail(f"expected integer; found {node.text}")
            return int(node.value)
        if kind is Kind.FLOAT:
            return float(node.value)
        if kind in (Kind.ANY, Kind.VALUE):
            return node.value
        raise s.fail(f"expected {kind.value}; found {node.text}")
    if isinstance(node, StringNode) and kind not in (Kind.ANY, Kind.VALUE, Kind.STRING):
        raise s.fail(f"expected {kind.value}; found {node.text}")
    if isinstance(node, BoolNode) and kind not in (Kind.ANY, Kind.VALUE, Kind.BOOL):
        raise s.fail(f"expected {kind.value}; found {node}")
    return _convert(s, _arg_value(s, dot, node), kind)


def _convert(s: _State, value: Any, kind: Kind) -> Any:
    if kind is Kind.VALUE:
        return value
    if value is MISSING or value is None:
        if kind in (Kind.ANY, Kind.LIST, Kind.MAP):
            return None
        raise s.fail(f"invalid value; expected {kind.value}")
    if kind is Kind.ANY:
        return value
    ok = {
        Kind.STRING: isinstance(value, str),
        Kind.INT: isinstance(value, int) and not isinstance(value, bool),
        Kind.FLOAT: isinstance(value, float),
        Kind.BOOL: isinstance(value, bool),
        Kind.LIST: isinstance(value, (list, tuple)),
        Kind.MAP: isinstance(value, Mapping),
    }[kind]
    if not ok:
        raise s.fail(f"wrong type for value; expected {kind.value}; got {go_type(value)}")
    return value
