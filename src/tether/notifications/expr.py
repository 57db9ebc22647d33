"""A small, safe evaluator for trigger conditions (``when``, ``oncePer``).

Argo CD writes trigger conditions in the ``expr`` language. This module evaluates the
subset its catalog and its documented examples use, by parsing the text into a tree
and walking it; nothing is ever handed to Python's ``eval``. Names are only ``app``
(the Application as a JSON mapping) and ``time``; members are looked up in mappings
only (never Python attributes), and the only calls are ``time.Now()``,
``time.Parse(text)``, ``<time>.Sub(<time>)`` and a duration's ``Hours()``,
``Minutes()`` and ``Seconds()``.

Grammar: literals (``'text'``, ``"text"``, numbers, ``true``, ``false``, ``nil``),
lists ``[a, b]``, members ``a.b``, ``a?.b``, ``a['b']``, ``a[0]``, unary ``not``/``!``/``-``,
``* / %``, ``+ -``, comparisons ``== != < <= > >=``, ``in``/``not in``, ``and``/``&&``,
``or``/``||``. A member of ``nil`` or a missing key is ``nil``, so
``app.status.operationState.phase`` is ``nil`` while no operation ran.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tether.notifications.errors import ExpressionError

MAX_LENGTH: Final = 4096
MAX_DEPTH: Final = 64

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>\?\.|==|!=|<=|>=|&&|\|\||[-+*/%<>!.,()\[\]])
    )""",
    re.VERBOSE,
)
_ESCAPES: Final = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}
_BINARY: Final[Mapping[str, int]] = {
    "or": 1, "||": 1, "and": 2, "&&": 2,
    "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "in": 3, "not in": 3,
    "+": 4, "-": 4, "*": 5, "/": 5, "%": 5,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    position: int


# --- tree ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant."""

    value: Any


@dataclass(frozen=True, slots=True)
class Name:
    """A top-level name (``app``, ``time``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Member:
    """``target.key`` or ``target[key]``."""

    target: Node
    key: Node


@dataclass(frozen=True, slots=True)
class Call:
    """``target.method(args...)``: only the allowed methods are ever run."""

    target: Node
    method: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ListOf:
    """``[a, b, ...]``."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Unary:
    """``not x``, ``!x``, ``-x``."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    """``left op right``."""

    op: str
    left: Node
    right: Node


Node = Literal | Name | Member | Call | ListOf | Unary | Binary


# --- parsing ------------------------------------------------------------------------


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(text, f"unexpected character at {position}")
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    def fail(self, why: str) -> ExpressionError:
        return ExpressionError(self.text, f"{why} at {self.peek().position}")

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.peek()
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        if self.peek().text != text:
            raise self.fail(f"expected {text!r}")
        self.index += 1

    def parse(self) -> Node:
        node = self.expression(0)
        if self.peek().kind != "end":
            raise self.fail(f"unexpected {self.peek().text!r}")
        return node

    def binary_operator(self) -> str | None:
        token = self.peek()
        if token.kind == "name" and token.text == "not" and self.peek(1).text == "in":
            return "not in"
        if token.kind in ("op", "name") and token.text in _BINARY:
            return token.text
        return None

    def expression(self, minimum: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail("expression nests too deeply")
        left = self.unary()
        while (op := self.binary_operator()) is not None and _BINARY[op] > minimum:
            self.index += 2 if op == "not in" else 1
            left = Binary(op, left, self.expression(_BINARY[op]))
        self.depth -= 1
        return left

    def unary(self) -> Node:
        token = self.peek()
        if token.text in ("not", "!", "-") and token.kind in ("name", "op"):
            self.index += 1
            return Unary("-" if token.text == "-" else "not", self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Literal(float(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            return Literal(_unquote(token.text))
        if token.kind == "name":
            constants = {"true": True, "false": False, "nil": None}
            if token.text in constants:
                return Literal(constants[token.text])
            if token.text in ("app", "time"):
                return Name(token.text)
            raise ExpressionError(self.text, f"unknown name {token.text!r}")
        if token.text == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        if token.text == "[":
            items: list[Node] = []
            while self.peek().text != "]":
                items.append(self.expression(0))
                if self.peek().text != ",":
                    break
                self.index += 1
            self.expect("]")
            return ListOf(tuple(items))
        raise ExpressionError(self.text, f"unexpected {token.text or 'end'!r} at {token.position}")

    def postfix(self, node: Node) -> Node:
        while True:
            token = self.peek()
            if token.text in (".", "?."):
                self.index += 1
                name = self.take()
                if name.kind != "name":
                    raise self.fail("expected a field name")
                if self.peek().text == "(":
                    self.index += 1
                    args: list[Node] = []
                    while self.peek().text != ")":
                        args.append(self.expression(0))
                        if self.peek().text != ",":
                            break
                        self.index += 1
                    self.expect(")")
                    node = Call(node, name.text, tuple(args))
                else:
                    node = Member(node, Literal(name.text))
            elif token.text == "[":
                self.index += 1
                key = self.expression(0)
                self.expect("]")
                node = Member(node, key)
            elif token.text == "(":
                raise self.fail("only time.Now, time.Parse, Sub, Hours, Minutes, Seconds are calls")
            else:
                return node


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def parse_expression(text: str) -> Node:
    """Parse ``text`` into a tree; raises :class:`ExpressionError` on bad or oversize input."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(text[:80], f"longer than {MAX_LENGTH} characters")
    return _Parser(text).parse()


# --- evaluation ---------------------------------------------------------------------


class _Time:
    """The ``time`` namespace."""


_TIME_NAMESPACE: Final = _Time()


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"time.Parse wants a string, got {_type_name(value)}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Sequence):
        return "array"
    if isinstance(value, datetime):
        return "time"
    if isinstance(value, timedelta):
        return "duration"
    return type(value).__name__


class Evaluator:
    """Evaluates parsed expressions over one Application at one instant."""

    def __init__(self, app: Mapping[str, Any], now: Callable[[], datetime]) -> None:
        self.app = app
        self.now = now

    def evaluate(self, node: Node) -> Any:
        """The value of ``node``; raises ``TypeError``/``ValueError`` on a type mismatch."""
        match node:
            case Literal(value):
                return value
            case Name("app"):
                return self.app
            case Name(_):
                return _TIME_NAMESPACE
            case ListOf(items):
                return [self.evaluate(item) for item in items]
            case Member(target, key):
                return _member(self.evaluate(target), self.evaluate(key))
            case Call(target, method, args):
                return self.call(self.evaluate(target), method, [self.evaluate(a) for a in args])
            case Unary("not", operand):
                return not _truth(self.evaluate(operand))
            case Unary(_, operand):
                return -_number(self.evaluate(operand))
            case Binary("and" | "&&", left, right):
                return _truth(self.evaluate(left)) and _truth(self.evaluate(right))
            case Binary("or" | "||", left, right):
                return _truth(self.evaluate(left)) or _truth(self.evaluate(right))
            case Binary(op, left, right):
                return _binary(op, self.evaluate(left), self.evaluate(right))
        raise TypeError(f"unknown node {node!r}")

    def call(self, target: Any, method: str, args: list[Any]) -> Any:
        """Run one of the allowed methods, and nothing else."""
        if target is _TIME_NAMESPACE and method == "Now" and not args:
            return self.now()
        if target is _TIME_NAMESPACE and method == "Parse" and len(args) == 1:
            return _parse_time(args[0])
        if isinstance(target, datetime) and method == "Sub" and len(args) == 1:
            if not isinstance(args[0], datetime):
                raise TypeError(f"Sub wants a time, got {_type_name(args[0])}")
            return target - args[0]
        if isinstance(target, timedelta) and not args:
            seconds = target.total_seconds()
            units = {"Hours": 3600.0, "Minutes": 60.0, "Seconds": 1.0}
            if method in units:
                return seconds / units[method]
        raise TypeError(f"{_type_name(target)} has no method {method}/{len(args)}")


def _member(target: Any, key: Any) -> Any:
    if target is None:
        return None
    if isinstance(target, Mapping) and isinstance(key, str):
        return target.get(key)
    if isinstance(target, list) and isinstance(key, int) and not isinstance(key, bool):
        return target[key] if -len(target) <= key < len(target) else None
    raise TypeError(f"cannot index {_type_name(target)} with {_type_name(key)}")


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    raise TypeError(f"expected a bool, got {_type_name(value)}")


def _number(value: Any) -> int | float | timedelta:
    if isinstance(value, (int, float, timedelta)) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected a number, got {_type_name(value)}")


def _binary(op: str, left: Any, right: Any) -> Any:
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op in ("in", "not in"):
        if isinstance(right, (Mapping, list)) or (isinstance(right, str) and isinstance(left, str)):
            found = left in right
        elif right is None:
            found = False
        else:
            raise TypeError(f"cannot look for {_type_name(left)} in {_type_name(right)}")
        return found if op == "in" else not found
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if op in ("<", "<=", ">", ">="):
        comparable = (isinstance(left, str) and isinstance(right, str)) or (
            isinstance(left, datetime) and isinstance(right, datetime)
        )
        if not comparable:
            left, right = _number(left), _number(right)
        return {
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[op]
    a, b = _number(left), _number(right)
    if op in ("/", "%") and b == 0:
        raise ValueError("division by zero")
    results: dict[str, Callable[[], Any]] = {
        "+": lambda: a + b,  # type: ignore[operator]
        "-": lambda: a - b,  # type: ignore[operator]
        "*": lambda: a * b,  # type: ignore[operator]
        "/": lambda: a / b,  # type: ignore[operator]
        "%": lambda: a % b,  # type: ignore[operator]
    }
    return results[op]()


def evaluate(text: str, app: Mapping[str, Any], now: Callable[[], datetime] | None = None) -> Any:
    """Parse and evaluate ``text`` over ``app``; every failure is an :class:`ExpressionError`."""
    node = parse_expression(text)
    try:
        return Evaluator(app, now or (lambda: datetime.now(UTC))).evaluate(node)
    except (TypeError, ValueError, OverflowError) as error:
        raise ExpressionError(text, str(error)) from error
