"""The switches that decide which optional checks run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """Optional behaviour of :func:`assess_health`.

    ``application_health``: judge ``argoproj.io/Application`` objects by the health they
    report (Argo CD's documented app-of-apps customization). Off by default, as in Argo
    CD since 1.8.

    ``generic_conditions``: judge custom resources without a specific check by their
    ``Ready``/``Available`` condition (see :mod:`tether.health.conditions`). On by
    default; turn it off for verdicts identical to Argo CD's, which has none for them.
    """

    application_health: bool = False
    generic_conditions: bool = True


DEFAULT_POLICY = HealthPolicy()
