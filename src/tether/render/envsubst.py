"""The build environment (``ARGOCD_APP_*``) and its ``$VAR`` substitution.

Argo CD exposes a few facts about the application to manifest generation, both as
environment variables of the tools it runs and by substitution into Helm parameters,
value file names and (when asked) kustomize annotations. Substitution follows Go's
``os.Expand``: ``$NAME`` and ``${NAME}`` are replaced by the value of a variable of the
build environment, and by nothing if the variable is unknown; ``$$`` is an escaped ``$``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_VARIABLE = re.compile(r"\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\$))")


def expand(text: str, env: Mapping[str, str]) -> str:
    """``text`` with ``$NAME``/``${NAME}`` replaced from ``env`` (unknown names: empty)."""
    if "$" not in text:
        return text
    return _VARIABLE.sub(
        lambda match: "$" if match.group(3) else env.get(match.group(1) or match.group(2), ""),
        text,
    )
