"""The Sprig functions Argo CD offers to ApplicationSet templates (``sprig`` v3).

Argo CD removes ``env``, ``expandenv`` and ``getHostByName`` so templates cannot read
the controller's environment or the network; so does tether. Functions whose output
depends on the clock or on chance (``now``, ``date``, ``uuidv4``, ``rand*``,
``shuffle``) and the cryptographic helpers (``genPrivateKey``, ``derivePassword``,
``encryptAES``, ...) are not offered: a generated Application must be a pure function
of its parameters. Also absent: the ``must*`` variants, ``semver`` (``semverCompare``
is here), ``wrap``/``wrapWith``, ``chunk``, ``seq``, ``urlParse``/``urlJoin`` and the
``os*`` path functions. Every function in :data:`SPRIG` behaves as Sprig's; the golden
cases check that against Go.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import posixpath
import re
from collections.abc import Mapping
from typing import Any, Final

from tether.controller.appsets.gotemplate.functions import CallError, Function, Kind, fn
from tether.controller.appsets.gotemplate.gofmt import quote
from tether.controller.appsets.gotemplate.values import (
    MISSING,
    format_float,
    format_value,
    go_kind,
    go_type,
)
from tether.source.semver_constraint import parse_constraint, parse_version

S, N, A, B, M = Kind.STRING, Kind.INT, Kind.ANY, Kind.BOOL, Kind.MAP
#: Bounds on what one call may build: templates run inside the controller.
MAX_ITEMS: Final = 100_000
MAX_STRING: Final = 1024 * 1024


def strval(value: Any) -> str:
    """Sprig's ``strval``: a string as is, anything else through ``%v``."""
    if isinstance(value, str):
        return value
    return format_value(None if value is MISSING else value)


def strslice(value: Any) -> list[str]:
    """Sprig's ``strslice``: a list's non-nil items as strings; one item otherwise."""
    if value is None or value is MISSING:
        return []
    if isinstance(value, (list, tuple)):
        return [strval(item) for item in value if item is not None]
    return [strval(value)]


def empty(value: Any) -> bool:
    """Sprig's ``empty``: nil, zero numbers, false, and empty strings or collections."""
    if value is None or value is MISSING:
        return True
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value) == 0
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value == 0
    return False


def to_int64(value: Any) -> int:
    """``cast.ToInt64``: numbers truncated, numeric strings parsed, anything else 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else 0
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+\.0*", text):
            text = text.split(".")[0]
        try:
            if re.fullmatch(r"[+-]?0[0-7]+", text):
                return int(text, 8)
            return int(text, 0)
        except ValueError:
            return 0
    return 0


def to_float64(value: Any) -> float:
    """``cast.ToFloat64``."""
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def _as_list(value: Any, name: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise CallError(f"Cannot find {name} on type {go_type(value)}")


def to_json(value: Any, *, escape_html: bool = True, indent: int | None = None) -> str:
    """Go's ``json.Marshal``: sorted keys, Go's float format, ``<>&`` escaped by default."""
    out: list[str] = []
    _encode(value, out, escape_html=escape_html, indent=indent, level=0)
    return "".join(out)


def _json_float(value: float) -> str:
    if not math.isfinite(value):
        raise CallError(f"json: unsupported value: {format_value(value)}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = format_float(value, "e")
        # encoding/json writes e-07 as e-7
        return re.sub(r"e-0(\d)$", r"e-\1", text)
    return format_float(value, "f")


def _json_string(text: str, *, escape_html: bool) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    if escape_html:
        encoded = encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return encoded.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _encode(
    value: Any, out: list[str], *, escape_html: bool, indent: int | None, level: int
) -> None:
    newline = "" if indent is None else "\n" + " " * (indent * (level + 1))
    closing = "" if indent is None else "\n" + " " * (indent * level)
    colon = ":" if indent is None else ": "
    if value is None or value is MISSING:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_json_float(value))
    elif isinstance(value, str):
        out.append(_json_string(value, escape_html=escape_html))
    elif isinstance(value, Mapping):
        if not value:
            out.append("{}")
            return
        out.append("{")
        for i, key in enumerate(sorted(value, key=lambda k: str(k).encode())):
            out.append(("," if i else "") + newline)
            out.append(_json_string(str(key), escape_html=escape_html) + colon)
            _encode(value[key], out, escape_html=escape_html, indent=indent, level=level + 1)
        out.append(closing + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for i, item in enumerate(value):
            out.append(("," if i else "") + newline)
            _encode(item, out, escape_html=escape_html, indent=indent, level=level + 1)
        out.append(closing + "]")
    else:
        raise CallError(f"json: unsupported type: {go_type(value)}")


def jsonable(value: Any) -> Any:
    """A value as Go's JSON encoder sees it: integral floats written as integers."""
    if value is MISSING:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def from_json(text: str) -> Any:
    """Sprig's ``fromJson``: the decoded value (numbers as float64), nil if invalid."""
    try:
        return _floats(json.loads(text))
    except ValueError:
        return None


def _floats(value: Any) -> Any:
    """Numbers as Go's ``encoding/json`` decodes them into ``interface{}``: float64."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value


def _go_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise CallError(f"error parsing regexp: {error}") from error


def _go_replacement(template: str) -> str:
    # Go expands $1, ${1} and ${name}; Python wants \g<1>.
    escaped = template.replace("\\", "\\\\")
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", lambda m: f"\\g<{m.group(1) or m.group(2)}>", escaped)


def _substr(start: int, end: int, text: str) -> str:
    if start < 0:
        return text[:end]
    if end < 0 or end > len(text):
        return text[start:]
    return text[start:end]


def _trunc(count: int, text: str) -> str:
    if count < 0 and len(text) + count > 0:
        return text[len(text) + count :]
    if count >= 0 and len(text) > count:
        return text[:count]
    return text


def _abbrev(width: int, text: str) -> str:
    if width < 4 or len(text) <= width:
        return text
    return text[: width - 3] + "..."


def _title(text: str) -> str:
    return re.sub(r"(^|\W)(\w)", lambda m: m.group(1) + m.group(2).upper(), text)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Z]+(?=[A-Z][a-z]|\b|[^a-zA-Z]|$)|[A-Z]?[a-z]+|[0-9]+|[A-Z]+", text)


def _snake(text: str) -> str:
    return "_".join(w.lower() for w in _words(text))


def _kebab(text: str) -> str:
    return "-".join(w.lower() for w in _words(text))


def _camel(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[_\s-]+", text) if w)


def _indent(spaces: int, text: str) -> str:
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _split(sep: str, text: str) -> dict[str, Any]:
    return {f"_{i}": part for i, part in enumerate(text.split(sep) if sep else list(text))}


def _dict(*pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(pairs), 2):
        out[strval(pairs[i])] = pairs[i + 1] if i + 1 < len(pairs) else ""
    return out


def _merge(dst: Mapping[str, Any] | None, *sources: Any, overwrite: bool) -> dict[str, Any]:
    out = dict(dst or {})
    for source in sources:
        for key, value in (source or {}).items():
            if key in out and isinstance(out[key], Mapping) and isinstance(value, Mapping):
                out[key] = _merge(out[key], value, overwrite=overwrite)
            elif key not in out or overwrite or empty(out[key]):
                out[key] = value
    if isinstance(dst, dict):
        dst.clear()
        dst.update(out)
        return dst
    return out


def _dig(*args: Any) -> Any:
    if len(args) < 3:
        raise CallError("dig needs at least three arguments")
    *path, default, data = args
    current: Any = data
    for key in path:
        if not isinstance(current, Mapping) or strval(key) not in current:
            return default
        current = current[strval(key)]
    return current


def _uniq(values: Any) -> list[Any]:
    out: list[Any] = []
    for value in _as_list(values, "uniq"):
        if value not in out:
            out.append(value)
    return out


def _round(value: Any, places: int, *half: Any) -> float:
    threshold = to_float64(half[0]) if half else 0.5
    number = to_float64(value)
    scale = 10.0**places
    digit = number * scale
    _, fraction = divmod(abs(digit), 1)
    rounded = math.ceil(abs(digit)) if fraction >= threshold else math.floor(abs(digit))
    return math.copysign(rounded, number) / scale


def _go_div(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise CallError("runtime error: integer divide by zero")
    quotient = abs(x) // abs(y)
    return quotient if (x >= 0) == (y >= 0) else -quotient


def _go_mod(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise CallError("runtime error: integer divide by zero")
    return x - _go_div(x, y) * y


def _bounded(values: range) -> list[int]:
    if len(values) > MAX_ITEMS:
        raise CallError(f"refusing to build a list of {len(values)} items (limit {MAX_ITEMS})")
    return list(values)


def _until(count: int) -> list[int]:
    return _bounded(range(count) if count >= 0 else range(0, count, -1))


def _until_step(start: int, stop: int, step: int) -> list[int]:
    if step == 0 or (step > 0 and start >= stop) or (step < 0 and start <= stop):
        return []
    return _bounded(range(start, stop, step))


def _repeat(count: int, text: str) -> str:
    if count > 0 and count * len(text) > MAX_STRING:
        raise CallError(f"refusing to build a string of {count * len(text)} characters")
    return text * max(count, 0)


def _slice(values: Any, *indexes: Any) -> list[Any]:
    items = _as_list(values, "slice") if values is not None else []
    start = to_int64(indexes[0]) if indexes else 0
    end = to_int64(indexes[1]) if len(indexes) > 1 else len(items)
    if not 0 <= start <= end <= len(items):
        raise CallError(f"slice bounds out of range [{start}:{end}]")
    return items[start:end]


def semver_compare(constraint: str, version: str) -> bool:
    """Sprig's ``semverCompare``: Masterminds constraint semantics, as tags resolve."""
    target = parse_version(version)
    if target is None:
        raise CallError("Invalid Semantic Version")
    parsed = parse_constraint(constraint)
    if parsed is not None:
        return parsed.matches(target)
    pinned = parse_version(constraint.strip())
    if pinned is None:
        raise CallError(f"improper constraint: {constraint}")
    return target == pinned


def _path_clean(path: str) -> str:
    if not path:
        return "."
    cleaned = posixpath.normpath(path)
    # normpath keeps a leading "//" (POSIX allows it); Go's path.Clean does not.
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _path_base(path: str) -> str:
    if not path:
        return "."
    stripped = path.rstrip("/")
    return posixpath.basename(stripped) if stripped else "/"


def _path_dir(path: str) -> str:
    return _path_clean(path[: path.rfind("/") + 1])


def _path_ext(path: str) -> str:
    base = path[path.rfind("/") + 1 :]
    dot = base.rfind(".")
    return base[dot:] if dot >= 0 else ""


def _fail(message: str) -> Any:
    raise CallError(message)


SPRIG: dict[str, Function] = {
    # strings
    "trim": fn(S)(str.strip),
    "trimAll": fn(S, S)(lambda cut, s: s.strip(cut)),
    "trimPrefix": fn(S, S)(lambda prefix, s: s.removeprefix(prefix)),
    "trimSuffix": fn(S, S)(lambda suffix, s: s.removesuffix(suffix)),
    "upper": fn(S)(str.upper),
    "lower": fn(S)(str.lower),
    "title": fn(S)(_title),
    "untitle": fn(S)(lambda s: re.sub(r"\b(\w)", lambda m: m.group(1).lower(), s)),
    "repeat": fn(N, S)(_repeat),
    "substr": fn(N, N, S)(_substr),
    "nospace": fn(S)(lambda s: re.sub(r"\s", "", s)),
    "trunc": fn(N, S)(_trunc),
    "abbrev": fn(N, S)(_abbrev),
    "initials": fn(S)(lambda s: "".join(w[0] for w in s.split())),
    "contains": fn(S, S)(lambda sub, s: sub in s),
    "hasPrefix": fn(S, S)(lambda prefix, s: s.startswith(prefix)),
    "hasSuffix": fn(S, S)(lambda suffix, s: s.endswith(suffix)),
    "quote": fn(variadic=A)(lambda *a: " ".join(quote(strval(v)) for v in a if v is not None)),
    "squote": fn(variadic=A)(lambda *a: " ".join(f"'{strval(v)}'" for v in a if v is not None)),
    "cat": fn(variadic=A)(lambda *a: " ".join(strval(v) for v in a if v is not None)),
    "indent": fn(N, S)(_indent),
    "nindent": fn(N, S)(lambda n, s: "\n" + _indent(n, s)),
    "replace": fn(S, S, S)(lambda old, new, s: s.replace(old, new)),
    "plural": fn(S, S, N)(lambda one, many, n: one if n == 1 else many),
    "snakecase": fn(S)(_snake),
    "camelcase": fn(S)(_camel),
    "kebabcase": fn(S)(_kebab),
    "splitList": fn(S, S)(lambda sep, s: s.split(sep) if sep else list(s)),
    "split": fn(S, S)(_split),
    "join": fn(S, A)(lambda sep, v: sep.join(strslice(v))),
    "sortAlpha": fn(A)(lambda v: sorted(strslice(v), key=str.encode)),
    "toString": fn(A)(strval),
    "toStrings": fn(A)(strslice),
    "b64enc": fn(S)(lambda s: base64.b64encode(s.encode()).decode()),
    "b64dec": fn(S)(lambda s: base64.b64decode(s.encode()).decode("utf-8", "replace")),
    "b32enc": fn(S)(lambda s: base64.b32encode(s.encode()).decode()),
    "b32dec": fn(S)(lambda s: base64.b32decode(s.encode()).decode("utf-8", "replace")),
    "sha1sum": fn(S)(lambda s: hashlib.sha1(s.encode(), usedforsecurity=False).hexdigest()),
    "sha256sum": fn(S)(lambda s: hashlib.sha256(s.encode()).hexdigest()),
    "sha512sum": fn(S)(lambda s: hashlib.sha512(s.encode()).hexdigest()),
    # slash-separated paths (Go's path package)
    "base": fn(S)(_path_base),
    "dir": fn(S)(_path_dir),
    "ext": fn(S)(_path_ext),
    "clean": fn(S)(_path_clean),
    "isAbs": fn(S)(lambda p: p.startswith("/")),
    # regular expressions (Go's RE2 syntax is a subset of Python's for these uses)
    "regexMatch": fn(S, S)(lambda r, s: _go_regex(r).search(s) is not None),
    "regexFind": fn(S, S)(lambda r, s: m.group() if (m := _go_regex(r).search(s)) else ""),
    "regexFindAll": fn(S, S, N)(
        lambda r, s, n: [m.group() for m in _go_regex(r).finditer(s)][: n if n >= 0 else None]
    ),
    "regexReplaceAll": fn(S, S, S)(lambda r, s, t: _go_regex(r).sub(_go_replacement(t), s)),
    "regexReplaceAllLiteral": fn(S, S, S)(lambda r, s, t: _go_regex(r).sub(lambda _: t, s)),
    "regexSplit": fn(S, S, N)(
        lambda r, s, n: _go_regex(r).split(s, maxsplit=max(n - 1, 0) if n > 0 else 0)
    ),
    "regexQuoteMeta": fn(S)(re.escape),
    # defaults and flow
    "default": fn(A, variadic=A)(lambda d, *given: d if not given or empty(given[0]) else given[0]),
    "empty": fn(A)(empty),
    "coalesce": fn(variadic=A)(lambda *a: next((v for v in a if not empty(v)), None)),
    "all": fn(variadic=A)(lambda *a: all(not empty(v) for v in a)),
    "any": fn(variadic=A)(lambda *a: any(not empty(v) for v in a)),
    "ternary": fn(A, A, B)(lambda yes, no, cond: yes if cond else no),
    "fail": fn(S)(_fail),
    "semverCompare": fn(S, S)(semver_compare),
    "kindOf": fn(A)(go_kind),
    "kindIs": fn(S, A)(lambda kind, v: go_kind(v) == kind),
    "typeOf": fn(A)(go_type),
    "typeIs": fn(S, A)(lambda t, v: go_type(v) == t),
    "deepEqual": fn(A, A)(lambda a, b: a == b),
    # encodings
    "toJson": fn(A)(to_json),
    "toPrettyJson": fn(A)(lambda v: to_json(v, indent=2)),
    "toRawJson": fn(A)(lambda v: to_json(v, escape_html=False)),
    "fromJson": fn(S)(from_json),
    # lists
    "list": fn(variadic=A)(lambda *a: list(a)),
    "first": fn(A)(lambda v: _as_list(v, "first")[0] if _as_list(v, "first") else None),
    "last": fn(A)(lambda v: _as_list(v, "last")[-1] if _as_list(v, "last") else None),
    "rest": fn(A)(lambda v: _as_list(v, "rest")[1:]),
    "initial": fn(A)(lambda v: _as_list(v, "initial")[:-1]),
    "append": fn(A, A)(lambda v, x: [*_as_list(v, "append"), x]),
    "push": fn(A, A)(lambda v, x: [*_as_list(v, "push"), x]),
    "prepend": fn(A, A)(lambda v, x: [x, *_as_list(v, "prepend")]),
    "concat": fn(variadic=A)(lambda *a: [x for v in a for x in _as_list(v, "concat")]),
    "reverse": fn(A)(lambda v: _as_list(v, "reverse")[::-1]),
    "uniq": fn(A)(_uniq),
    "without": fn(A, variadic=A)(
        lambda v, *omit: [x for x in _as_list(v, "without") if x not in omit]
    ),
    "has": fn(A, A)(lambda needle, v: needle in _as_list(v, "has") if v is not None else False),
    "compact": fn(A)(lambda v: [x for x in _as_list(v, "compact") if not empty(x)]),
    "slice": fn(A, variadic=A)(_slice),
    "until": fn(N)(_until),
    "untilStep": fn(N, N, N)(_until_step),
    # dictionaries
    "dict": fn(variadic=A)(_dict),
    "get": fn(M, S)(lambda d, k: (d or {}).get(k, "")),
    "set": fn(M, S, A)(lambda d, k, v: (d.__setitem__(k, v), d)[1]),
    "unset": fn(M, S)(lambda d, k: (d.pop(k, None), d)[1]),
    "hasKey": fn(M, S)(lambda d, k: k in (d or {})),
    "pluck": fn(S, variadic=M)(lambda k, *ds: [d[k] for d in ds if d and k in d]),
    "keys": fn(variadic=M)(lambda *ds: [k for d in ds for k in (d or {})]),
    "values": fn(M)(lambda d: list((d or {}).values())),
    "pick": fn(M, variadic=S)(lambda d, *ks: {k: d[k] for k in ks if k in (d or {})}),
    "omit": fn(M, variadic=S)(lambda d, *ks: {k: v for k, v in (d or {}).items() if k not in ks}),
    "merge": fn(M, variadic=A)(lambda d, *s: _merge(d, *s, overwrite=False)),
    "mergeOverwrite": fn(M, variadic=A)(lambda d, *s: _merge(d, *s, overwrite=True)),
    "dig": fn(variadic=A)(_dig),
    "deepCopy": fn(A)(lambda v: json.loads(json.dumps(v))),
    # numbers (sprig works in int64 and float64)
    "add": fn(variadic=A)(lambda *a: sum(to_int64(v) for v in a)),
    "add1": fn(A)(lambda v: to_int64(v) + 1),
    "sub": fn(A, A)(lambda a, b: to_int64(a) - to_int64(b)),
    "mul": fn(A, variadic=A)(lambda a, *r: math.prod([to_int64(a), *(to_int64(v) for v in r)])),
    "div": fn(A, A)(_go_div),
    "mod": fn(A, A)(_go_mod),
    "max": fn(A, variadic=A)(lambda a, *r: max([to_int64(a), *(to_int64(v) for v in r)])),
    "min": fn(A, variadic=A)(lambda a, *r: min([to_int64(a), *(to_int64(v) for v in r)])),
    "floor": fn(A)(lambda v: float(math.floor(to_float64(v)))),
    "ceil": fn(A)(lambda v: float(math.ceil(to_float64(v)))),
    "round": fn(A, N, variadic=A)(_round),
    "int": fn(A)(to_int64),
    "int64": fn(A)(to_int64),
    "float64": fn(A)(to_float64),
    "atoi": fn(S)(lambda s: to_int64(s) if re.fullmatch(r"[+-]?\d+", s.strip()) else 0),
}
