"""Go's ``fmt.Sprintf``, ``fmt.Sprint`` and ``strconv.Quote`` for template data.

Verbs ``%v %s %d %q %x %X %o %b %c %t %f %F %e %E %g %G %T %%`` with the flags
``- + # 0 space``, width and precision (``*`` included). Mismatches are written the way
Go writes them (``%!d(string=abc)``, ``%!s(MISSING)``, ``%!(EXTRA int=1)``), never raised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.controller.appsets.gotemplate.values import (
    MISSING,
    format_float,
    format_value,
    go_type,
)

_SPEC = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])")


@dataclass(frozen=True, slots=True)
class _Flags:
    minus: bool = False
    plus: bool = False
    sharp: bool = False
    zero: bool = False
    space: bool = False
    width: int | None = None
    precision: int | None = None


def quote(text: str) -> str:
    """``strconv.Quote``: a double-quoted Go string literal."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\v":
            out.append("\\v")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def sprint(args: Sequence[Any]) -> str:
    """``fmt.Sprint``: operands joined, with a space between two that are not strings."""
    out: list[str] = []
    previous_string = True
    for i, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if i > 0 and not is_string and not previous_string:
            out.append(" ")
        out.append(format_value(None if arg is MISSING else arg))
        previous_string = is_string
    return "".join(out)


def sprintln(args: Sequence[Any]) -> str:
    """``fmt.Sprintln``: operands separated by spaces, then a newline."""
    return " ".join(format_value(None if a is MISSING else a) for a in args) + "\n"


def sprintf(template: str, args: Sequence[Any]) -> str:
    """``fmt.Sprintf``."""
    out: list[str] = []
    position = 0
    index = 0
    values = [None if a is MISSING else a for a in args]
    while position < len(template):
        start = template.find("%", position)
        if start < 0:
            out.append(template[position:])
            break
        out.append(template[position:start])
        match = _SPEC.match(template, start)
        if match is None:
            out.append("%!(NOVERB)")
            position = len(template)
            break
        flags_text, width_text, precision_text, verb = match.groups()
        position = match.end()
        if verb == "%":
            out.append("%")
            continue
        width: int | None = None
        if width_text == "*":
            width, index = _star(values, index)
        elif width_text:
            width = int(width_text)
        precision: int | None = None
        if precision_text == "*":
            precision, index = _star(values, index)
        elif precision_text is not None:
            precision = int(precision_text) if precision_text else 0
        minus = "-" in flags_text or (width is not None and width < 0)
        flags = _Flags(
            minus=minus,
            plus="+" in flags_text,
            sharp="#" in flags_text,
            zero="0" in flags_text and not minus,
            space=" " in flags_text,
            width=abs(width) if width is not None else None,
            precision=precision,
        )
        if index >= len(values):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(format_one(values[index], verb, flags))
        index += 1
    if index < len(values):
        extra = ", ".join(f"{go_type(v)}={format_value(v)}" for v in values[index:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _star(values: list[Any], index: int) -> tuple[int | None, int]:
    if index < len(values) and isinstance(values[index], int):
        return int(values[index]), index + 1
    return None, index + 1


def _bad(value: Any, verb: str) -> str:
    if value is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(value)}={format_value(value)})"


def format_one(value: Any, verb: str, flags: _Flags) -> str:
    """One operand formatted with one verb."""
    if verb == "T":
        return _pad(go_type(value), flags)
    if verb == "v" and value is None:
        return _pad("<nil>", flags)
    if isinstance(value, Mapping) and verb != "T":
        inner = " ".join(
            f"{format_one(k, verb, _Flags())}:{format_one(value[k], verb, _Flags())}"
            for k in sorted(value, key=str)
        )
        return _pad(f"map[{inner}]", flags)
    if isinstance(value, (list, tuple)):
        inner = " ".join(format_one(v, verb, _Flags()) for v in value)
        return _pad(f"[{inner}]", flags)
    if isinstance(value, bool):
        return _pad("true" if value else "false", flags) if verb in "vt" else _bad(value, verb)
    if isinstance(value, int):
        return _integer(value, verb, flags)
    if isinstance(value, float):
        return _float(value, verb, flags)
    if isinstance(value, str):
        return _string(value, verb, flags)
    if value is None:
        return _bad(value, verb)
    return _pad(format_value(value), flags)


def _string(value: str, verb: str, flags: _Flags) -> str:
    if verb in ("v", "s"):
        text = value if flags.precision is None else value[: flags.precision]
        return _pad(text, flags)
    if verb == "q":
        return _pad(quote(value), flags)
    if verb in ("x", "X"):
        text = value.encode().hex()
        return _pad(text.upper() if verb == "X" else text, flags)
    return _bad(value, verb)


def _integer(value: int, verb: str, flags: _Flags) -> str:
    if verb in ("v", "d"):
        digits = str(abs(value))
    elif verb == "x":
        digits = format(abs(value), "x")
        digits = "0x" + digits if flags.sharp else digits
    elif verb == "X":
        digits = format(abs(value), "X")
        digits = "0X" + digits if flags.sharp else digits
    elif verb == "o":
        digits = ("0" if flags.sharp else "") + format(abs(value), "o")
    elif verb == "b":
        digits = format(abs(value), "b")
    elif verb == "c":
        return _pad(chr(value), flags)
    elif verb == "q":
        return _pad("'" + chr(value) + "'", flags)
    elif verb in "eEfFgG":
        return _bad(value, verb)
    else:
        return _bad(value, verb)
    if flags.precision is not None:
        digits = digits.rjust(flags.precision, "0")
    sign = "-" if value < 0 else "+" if flags.plus else " " if flags.space else ""
    return _pad_number(sign, digits, flags, allow_zero=flags.precision is None)


def _float(value: float, verb: str, flags: _Flags) -> str:
    if verb in ("v", "g", "G"):
        precision = -1 if flags.precision is None else flags.precision
        text = format_float(abs(value), "g", precision)
        text = text.upper() if verb == "G" else text
    elif verb in ("f", "F"):
        text = format_float(abs(value), "f", 6 if flags.precision is None else flags.precision)
    elif verb in ("e", "E"):
        text = format_float(abs(value), "e", 6 if flags.precision is None else flags.precision)
        text = text.upper() if verb == "E" else text
    else:
        return _bad(value, verb)
    negative = value < 0 or (value == 0 and str(value).startswith("-"))
    sign = "-" if negative else "+" if flags.plus else " " if flags.space else ""
    return _pad_number(sign, text, flags, allow_zero=text[:1].isdigit())


def _pad_number(sign: str, digits: str, flags: _Flags, *, allow_zero: bool) -> str:
    width = flags.width or 0
    if flags.zero and allow_zero and len(sign) + len(digits) < width:
        return sign + digits.rjust(width - len(sign), "0")
    return _pad(sign + digits, flags)


def _pad(text: str, flags: _Flags) -> str:
    width = flags.width or 0
    if len(text) >= width:
        return text
    if flags.minus:
        return text.ljust(width)
    return text.rjust(width, "0" if flags.zero else " ")
