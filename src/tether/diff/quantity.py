"""Kubernetes resource quantities (``500m``, ``1Gi``, ``2e3``) as exact numbers.

The API server canonicalises quantities (``1000m`` is stored as ``1``, ``1024Mi`` as
``1Gi``), so two spellings of one amount must compare equal. Amounts are parsed into
:class:`fractions.Fraction` so that no rounding can make unequal amounts equal.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE](?P<exponent>[+-]?\d+))?$"
)


def parse_quantity(value: object) -> Fraction | None:
    """The exact amount ``value`` denotes, or ``None`` if it is not a quantity.

    Accepts what the API accepts: numbers and strings in the quantity grammar.
    Booleans are not quantities even though Python treats them as integers.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if match is None:
        return None
    try:
        number = Fraction(Decimal(match["number"]))
    except InvalidOperation:
        return None
    suffix, exponent = match["suffix"], match["exponent"]
    if exponent is not None:
        power = int(exponent)
        if abs(power) > 64:  # far beyond any real amount; refuse to build huge integers
            return None
        return _scaled(number, 10, power)
    if suffix in _BINARY:
        return _scaled(number, 1024, _BINARY[suffix])
    return _scaled(number, 10, _DECIMAL[suffix or ""])


def _scaled(number: Fraction, base: int, power: int) -> Fraction:
    factor = Fraction(base) ** power
    return number * factor


def same_quantity(left: object, right: object) -> bool:
    """Whether both values are quantities denoting the same amount."""
    a = parse_quantity(left)
    return a is not None and a == parse_quantity(right)
