"""How template functions are declared, and Go's built-in functions.

A :class:`Function` states its parameter kinds the way a Go function's signature
does, so arguments are checked and converted as ``text/template`` would: a number
constant takes the parameter's type, a missing value passed where a ``string`` is
expected is an error, ``interface{}`` parameters take anything (missing becomes nil).
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tether.controller.appsets.gotemplate.gofmt import sprint, sprintf, sprintln
from tether.controller.appsets.gotemplate.values import MISSING, format_value, go_type, truth


class Kind(StrEnum):
    """A parameter's Go type, as far as argument checking needs it."""

    ANY = "interface {}"
    VALUE = "reflect.Value"
    STRING = "string"
    INT = "int"
    FLOAT = "float64"
    BOOL = "bool"
    LIST = "[]interface {}"
    MAP = "map[string]interface {}"


class CallError(Exception):
    """A function reported an error (Go's ``error calling <name>: <cause>``)."""


@dataclass(frozen=True, slots=True)
class Function:
    """A callable with its parameter kinds; ``variadic`` is the kind of ``...`` args."""

    call: Callable[..., Any]
    params: tuple[Kind, ...] = ()
    variadic: Kind | None = None


def fn(*params: Kind, variadic: Kind | None = None) -> Callable[[Callable[..., Any]], Function]:
    """Declare a template function with Go parameter kinds."""

    def wrap(call: Callable[..., Any]) -> Function:
        return Function(call, params, variadic)

    return wrap


# --- comparison (Go's basicKind rules) ----------------------------------------------


def basic_kind(value: Any) -> str:
    """Go's comparison classes: bool, int, float, string; anything else is invalid."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if value is MISSING or value is None:
        return "nil"
    return "invalid"


def _comparable(value: Any) -> None:
    if isinstance(value, (Mapping, list, tuple)):
        raise CallError(f"uncomparable type {go_type(value)}: {format_value(value)}")


def eq(arg1: Any, *args: Any) -> bool:
    """``eq``: whether ``arg1`` equals any of ``args``."""
    _comparable(arg1)
    if not args:
        raise CallError("missing argument for comparison")
    k1 = basic_kind(arg1)
    for arg in args:
        k2 = basic_kind(arg)
        if k1 != k2:
            if k1 != "nil" and k2 != "nil":
                raise CallError("incompatible types for comparison")
            continue
        if k1 == "nil":
            return True
        _comparable(arg)
        if arg1 == arg:
            return True
    return False


def ne(arg1: Any, arg2: Any) -> bool:
    """``ne``."""
    return not eq(arg1, arg2)


def lt(arg1: Any, arg2: Any) -> bool:
    """``lt``: ordered comparison of two values of one basic kind."""
    k1, k2 = basic_kind(arg1), basic_kind(arg2)
    if k1 not in ("int", "float", "string") or k2 not in ("int", "float", "string"):
        raise CallError("invalid type for comparison")
    if k1 != k2:
        raise CallError("incompatible types for comparison")
    return bool(arg1 < arg2)


def le(arg1: Any, arg2: Any) -> bool:
    """``le``."""
    return lt(arg1, arg2) or eq(arg1, arg2)


def gt(arg1: Any, arg2: Any) -> bool:
    """``gt``."""
    return not le(arg1, arg2)


def ge(arg1: Any, arg2: Any) -> bool:
    """``ge``."""
    return not lt(arg1, arg2)


# --- collections ---------------------------------------------------------------------


def length(item: Any) -> int:
    """``len``: of a string, list or map."""
    if isinstance(item, (str, list, tuple, Mapping)):
        return len(item.encode() if isinstance(item, str) else item)
    raise CallError(f"len of type {go_type(item)}")


def index(item: Any, *indexes: Any) -> Any:
    """``index``: successive map keys or list positions."""
    if item is MISSING or item is None:
        raise CallError("index of untyped nil")
    for key in indexes:
        key = None if key is MISSING else key
        if isinstance(item, (list, tuple, str)):
            if not isinstance(key, int) or isinstance(key, bool):
                raise CallError(f"cannot index slice/array with type {go_type(key)}")
            if not 0 <= key < len(item):
                raise CallError(f"index out of range: {key}")
            item = item.encode()[key] if isinstance(item, str) else item[key]
        elif isinstance(item, Mapping):
            if not isinstance(key, str):
                raise CallError(
                    f"value has type {go_type(key)}; should be string"
                    if key is not None
                    else "value is nil; should be of type string"
                )
            item = item.get(key)
        elif item is None:
            raise CallError("index of nil pointer")
        else:
            raise CallError(f"can't index item of type {go_type(item)}")
    return item


def go_slice(item: Any, *indexes: Any) -> Any:
    """``slice``: ``slice x 1 2`` is ``x[1:2]``."""
    if item is MISSING or item is None:
        raise CallError("slice of untyped nil")
    if not isinstance(item, (str, list, tuple)):
        raise CallError(f"can't slice item of type {go_type(item)}")
    if len(indexes) > 3:
        raise CallError(f"too many slice indexes: {len(indexes)}")
    bounds = [0, len(item)]
    for i, value in enumerate(indexes[:2]):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= len(item):
            raise CallError(f"index out of range: {format_value(value)}")
        bounds[i] = value
    if bounds[0] > bounds[1]:
        raise CallError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    return item[bounds[0] : bounds[1]]


# --- escaping ------------------------------------------------------------------------


def html_escape(*args: Any) -> str:
    """``html``: the text of the arguments, HTML-escaped."""
    text = _evaluated(args)
    return (
        html.escape(text, quote=False)
        .replace('"', "&#34;")
        .replace("'", "&#39;")
        .replace("\x00", "\ufffd")
    )


def js_escape(*args: Any) -> str:
    """``js``: the text of the arguments, escaped for a JavaScript string."""
    out = []
    for ch in _evaluated(args):
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=" or ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def urlquery(*args: Any) -> str:
    """``urlquery``: the text of the arguments, escaped for a URL query."""
    return urllib.parse.quote_plus(_evaluated(args), safe="-_.~")


def _evaluated(args: Sequence[Any]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(args)


def _not(value: Any) -> bool:
    return not truth(value)


#: Go's built-in template functions (``and``/``or`` are special forms in the executor).
BUILTINS: dict[str, Function] = {
    "eq": Function(eq, (Kind.VALUE,), Kind.VALUE),
    "ne": Function(ne, (Kind.VALUE, Kind.VALUE)),
    "lt": Function(lt, (Kind.VALUE, Kind.VALUE)),
    "le": Function(le, (Kind.VALUE, Kind.VALUE)),
    "gt": Function(gt, (Kind.VALUE, Kind.VALUE)),
    "ge": Function(ge, (Kind.VALUE, Kind.VALUE)),
    "len": Function(length, (Kind.VALUE,)),
    "index": Function(index, (Kind.VALUE,), Kind.VALUE),
    "slice": Function(go_slice, (Kind.VALUE,), Kind.VALUE),
    "not": Function(_not, (Kind.VALUE,)),
    "print": Function(lambda *a: sprint(a), (), Kind.ANY),
    "println": Function(lambda *a: sprintln(a), (), Kind.ANY),
    "printf": Function(lambda f, *a: sprintf(f, a), (Kind.STRING,), Kind.ANY),
    "html": Function(html_escape, (), Kind.ANY),
    "js": Function(js_escape, (), Kind.ANY),
    "urlquery": Function(urlquery, (), Kind.ANY),
}

#: Names the executor evaluates itself (lazily, left to right).
SPECIAL_FORMS = frozenset({"and", "or"})
