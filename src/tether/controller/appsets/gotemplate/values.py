"""Go's view of template data: kinds, truth, comparison and ``fmt``'s ``%v``.

Template data is JSON-shaped Python: ``dict`` (Go ``map[string]interface{}``), ``list``
(``[]interface{}``), ``str``, ``bool``, ``int`` (Go ``int``/``int64``), ``float``
(``float64``, which is what every number decoded from JSON or YAML is in Go) and
``None`` (a nil interface). :data:`MISSING` is Go's invalid ``reflect.Value``: what a
lookup of an absent map key yields. Both print as ``<no value>`` at the top of an action.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, Final


class _Missing(Enum):
    MISSING = "missing"

    def __repr__(self) -> str:
        return "MISSING"


#: An absent value (Go's invalid ``reflect.Value``): a missing map key, a nil data root.
MISSING: Final = _Missing.MISSING

NO_VALUE: Final = "<no value>"


def go_type(value: Any) -> str:
    """The Go type name of a value (``%T``), as Argo CD's data would have it."""
    if value is MISSING or value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    return type(value).__name__


def go_kind(value: Any) -> str:
    """The ``reflect.Kind`` name of a value (sprig's ``kindOf``)."""
    if value is MISSING or value is None:
        return "invalid"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, (list, tuple)):
        return "slice"
    return go_type(value)


def truth(value: Any) -> bool:
    """Go template truth: false, 0, "", nil and empty collections are false."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, (bool, int, float, str, Mapping, list, tuple)):
        return bool(value)
    return True


def format_float(value: float, verb: str = "g", precision: int = -1) -> str:
    """``strconv.FormatFloat(value, verb, precision, 64)`` for ``g``, ``e`` and ``f``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if verb == "f":
        if precision < 0:
            digits, point = _shortest(value)
            return _fixed(value, digits, point, max(len(digits) - point, 0))
        return f"{value:.{precision}f}"
    if verb == "e":
        if precision < 0:
            digits, point = _shortest(value)
            return _exponent(value, digits, point, len(digits) - 1)
        return _go_exponent(f"{value:.{precision}e}")
    # %g / %v: shortest digits; strconv switches to an exponent below 1e-4 and, for
    # the shortest form, from 1e+06 on (so %v of 1000000.0 is 1e+06, as in Go).
    if precision < 0:
        digits, point = _shortest(value)
        exp = point - 1
        if exp < -4 or exp >= 6:
            return _exponent(value, digits, point, len(digits) - 1)
        return _fixed(value, digits, point, max(len(digits) - point, 0))
    return _go_exponent(f"{value:.{precision or 1}g}")


def _shortest(value: float) -> tuple[str, int]:
    """The shortest round-tripping digits of ``|value|`` and the decimal point's place."""
    if value == 0:
        return "0", 1
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    point = len(digit_tuple) + exponent
    return digits, point


def _fixed(value: float, digits: str, point: int, decimals: int) -> str:
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if point <= 0:
        whole, frac = "0", "0" * -point + digits
    elif point >= len(digits):
        whole, frac = digits + "0" * (point - len(digits)), ""
    else:
        whole, frac = digits[:point], digits[point:]
    frac = (frac + "0" * decimals)[:decimals]
    return sign + whole + ("." + frac if frac else "")


def _exponent(value: float, digits: str, point: int, decimals: int) -> str:
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    if decimals > len(digits) - 1:
        mantissa = digits[0] + "." + (digits[1:] + "0" * decimals)[:decimals]
    exp = point - 1
    return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _go_exponent(text: str) -> str:
    """Python writes ``1e+06`` as Go does; keep two exponent digits at least."""
    if "e" not in text:
        return text
    mantissa, exp = text.split("e")
    sign, digits = exp[0], exp[1:].lstrip("0")
    return f"{mantissa}e{sign}{digits.rjust(2, '0')}"


def format_value(value: Any, *, top: bool = False) -> str:
    """``fmt.Sprint`` of one value (``%v``); at the ``top`` of an action nil is ``<no value>``."""
    if value is MISSING:
        return NO_VALUE
    if value is None:
        return NO_VALUE if top else "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        items = " ".join(
            f"{format_value(k)}:{format_value(value[k])}" for k in sorted(value, key=_map_order)
        )
        return f"map[{items}]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(format_value(v) for v in value) + "]"
    if isinstance(value, bytes):
        return "[" + " ".join(str(b) for b in value) + "]"
    return str(value)


def _map_order(key: Any) -> Any:
    # fmt sorts map keys: numbers numerically, strings lexically (by UTF-8 bytes).
    if isinstance(key, str):
        return (1, key.encode())
    return (0, key)
