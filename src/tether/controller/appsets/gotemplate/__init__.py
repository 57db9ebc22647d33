"""A Go ``text/template`` engine for ApplicationSet templates (``goTemplate: true``).

Output is byte-for-byte what Go's ``text/template`` prints for the same template and
data, with the function set Argo CD gives templates: Go's built-ins (``and or not
len index slice print printf println eq ne lt le gt ge html js urlquery``), Sprig
without ``env``/``expandenv``/``getHostByName`` (see :mod:`.sprig` for what else is
left out), and Argo CD's ``normalize``, ``slugify``, ``toYaml``, ``fromYaml``,
``fromYamlArray``. The golden cases in ``testdata/appsets/gotemplate/`` were produced
by Go itself and pin this.

Supported: actions and pipelines, parenthesised pipelines, field chains on maps,
variables (``:=`` and ``=``, ``$``), ``if``/``else if``/``else``, ``range`` (over
lists, and over maps in sorted key order; ``$i, $v :=``; ``break``/``continue``),
``with``, ``define``/``template``/``block``, comments, trim markers, and the
``missingkey=default|invalid|zero|error`` option.

Data is JSON-shaped: numbers that came from JSON or YAML are Go ``float64`` (Argo CD
decodes generator output that way), so pass them as Python ``float``; template
constants like ``3`` are Go ``int``. Go's ``int`` and ``int64`` are both Python ``int``
here, so the rare template that depends on telling them apart may differ.

::

    template = GoTemplate("{{ .name | upper }}", options=("missingkey=error",))
    template.render({"name": "guestbook"})     # "GUESTBOOK"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Final

from tether.controller.appsets.errors import TemplateSyntaxError
from tether.controller.appsets.gotemplate.argofuncs import ARGO_FUNCTIONS, normalize, slugify
from tether.controller.appsets.gotemplate.executor import MissingKey, execute
from tether.controller.appsets.gotemplate.functions import BUILTINS, SPECIAL_FORMS, Function
from tether.controller.appsets.gotemplate.nodes import ListNode
from tether.controller.appsets.gotemplate.parser import parse
from tether.controller.appsets.gotemplate.sprig import SPRIG
from tether.controller.appsets.gotemplate.values import MISSING

#: Every function a template may call; Sprig's override Go's (as ``Funcs`` does).
FUNCTIONS: Final[Mapping[str, Function]] = {**BUILTINS, **SPRIG, **ARGO_FUNCTIONS}
_NAMES: Final = frozenset(FUNCTIONS) | SPECIAL_FORMS


def parse_options(options: Iterable[str]) -> MissingKey:
    """The ``missingkey`` setting from ``goTemplateOptions`` (Go's ``Option`` strings)."""
    missing = MissingKey.DEFAULT
    for option in options:
        key, _, value = option.partition("=")
        if key != "missingkey" or value not in ("default", "invalid", "zero", "error"):
            raise TemplateSyntaxError(f"template: unrecognized option: {option}")
        missing = MissingKey.DEFAULT if value in ("default", "invalid") else MissingKey(value)
    return missing


class GoTemplate:
    """One parsed template (and the templates it defines), ready to render many times."""

    def __init__(self, text: str, *, name: str = "", options: Iterable[str] = ()) -> None:
        self.name = name
        self.missing_key = parse_options(options)
        self.trees: Mapping[str, ListNode] = _parse(name, text)

    def render(self, data: Any) -> str:
        """Execute over ``data``; raises :class:`TemplateExecError` as Go would."""
        return execute(self.name, self.trees, FUNCTIONS, data, self.missing_key)


@lru_cache(maxsize=4096)
def _parse(name: str, text: str) -> Mapping[str, ListNode]:
    # Trees are never mutated after parsing, so one parse serves every render.
    try:
        return parse(name, text, _NAMES)
    except RecursionError as error:
        raise TemplateSyntaxError(f"template: {name}: nests too deeply") from error


__all__ = [
    "FUNCTIONS",
    "MISSING",
    "GoTemplate",
    "MissingKey",
    "normalize",
    "parse_options",
    "slugify",
]
