"""Failure simulation: which containers fail, and how, decided from the Pod alone.

A container's fate is deterministic, so a test or a demo can ask for a failure by
what it applies:

- an image whose tag is ``doesnotexist`` cannot be pulled: ``ErrImagePull``, then
  ``ImagePullBackOff``; the Pod stays ``Pending`` and never Ready;
- ``TETHER_SIMULATE=crashloop`` in a container's ``env``: it runs, exits with code 1,
  and is restarted with back-off (``CrashLoopBackOff``, growing ``restartCount``);
  under ``restartPolicy: Never`` the Pod fails instead;
- ``TETHER_SIMULATE=fail``: the container exits with code 1; a Job's Pod (``Never``)
  fails and the Job retries; under ``Always``/``OnFailure`` it is a crash loop;
- ``TETHER_SIMULATE=unready``: the container runs but is never Ready.

An image that cannot be pulled wins over the environment variable, which wins over
the ConfigMap's other patterns (a container that is never pulled never runs).

More rules come from the ConfigMap ``tether-simulation`` in ``kube-system``, read
live: its keys ``pullErrorImages``, ``crashLoopImages``, ``failImages`` and
``unreadyImages`` each hold image patterns (shell-style, one per line or comma
separated, e.g. ``*:broken`` or ``registry.example/app:*``). An unreadable ConfigMap
is reported in the log and leaves the built-in rules in force.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The environment variable that asks for a failure.
ENV_NAME = "TETHER_SIMULATE"
#: Where more rules are read from.
CONFIGMAP_NAMESPACE = "kube-system"
CONFIGMAP_NAME = "tether-simulation"


class Fate(enum.StrEnum):
    """What happens to a container."""

    RUN = "run"
    PULL_ERROR = "pullError"
    CRASHLOOP = "crashloop"
    FAIL = "fail"
    UNREADY = "unready"


#: ConfigMap key -> the fate its patterns give.
CONFIG_KEYS: Mapping[str, Fate] = {
    "pullErrorImages": Fate.PULL_ERROR,
    "crashLoopImages": Fate.CRASHLOOP,
    "failImages": Fate.FAIL,
    "unreadyImages": Fate.UNREADY,
}


class RulesError(ValueError):
    """The ConfigMap's rules cannot be read."""


@dataclass(frozen=True)
class FailureRules:
    """Image patterns per fate; the environment variable is always honoured."""

    patterns: tuple[tuple[Fate, str], ...] = ((Fate.PULL_ERROR, "*:doesnotexist"),)

    def fate(self, container: Mapping[str, Any]) -> Fate:
        """What happens to ``container``."""
        image = str(container.get("image") or "")
        for fate, pattern in self.patterns:
            if fate is Fate.PULL_ERROR and fnmatch.fnmatchcase(image, pattern):
                return fate
        for env in container.get("env") or ():
            if isinstance(env, dict) and env.get("name") == ENV_NAME:
                try:
                    return Fate(str(env.get("value", "")))
                except ValueError:
                    break
        for fate, pattern in self.patterns:
            if fnmatch.fnmatchcase(image, pattern):
                return fate
        return Fate.RUN

    @classmethod
    def from_configmap(cls, data: Mapping[str, Any] | None) -> FailureRules:
        """The built-in rules plus those of the ConfigMap's ``data``."""
        patterns = list(cls().patterns)
        for key, value in (data or {}).items():
            fate = CONFIG_KEYS.get(key)
            if fate is None:
                raise RulesError(
                    f"unknown key {key!r} (expected one of {', '.join(sorted(CONFIG_KEYS))})"
                )
            if not isinstance(value, str):
                raise RulesError(f"{key} must be a string of image patterns")
            patterns += [(fate, p) for p in re.split(r"[\s,]+", value) if p]
        return cls(tuple(patterns))
