"""The controller's settings, read from Argo CD's ``argocd-cm`` ConfigMap.

Keys keep Argo CD's names and meanings; tether's own keys use the ``tether.dev/``
prefix. A bad value is reported (``problems``) and its default used, so one typo in
the ConfigMap never stops reconciliation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tether.diff import DiffSettings, IgnoreRuleError
from tether.health import HealthOverrides, HealthPolicy, load_overrides
from tether.live import TrackingMethod
from tether.model import SpecError
from tether.model.wire import parse_duration
from tether.render.settings import RenderSettings

#: The ConfigMap Argo CD (and tether) reads settings from, in the control namespace.
SETTINGS_CONFIGMAP = "argocd-cm"


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    """What the settings ConfigMap says, parsed once per change of the ConfigMap."""

    #: ``timeout.reconciliation``: how often every app is refreshed (0 disables polling).
    reconciliation_seconds: float = 120.0
    #: ``timeout.reconciliation.jitter``: up to this much is added to each app's period.
    jitter_seconds: float = 60.0
    #: ``application.resourceTrackingMethod``.
    tracking: TrackingMethod = TrackingMethod.ANNOTATION
    #: ``resource.customizations.health.*`` checks and the app-of-apps health opt-in.
    health_overrides: HealthOverrides = field(default_factory=HealthOverrides)
    health_policy: HealthPolicy = field(default_factory=HealthPolicy)
    #: ``resource.customizations.ignoreDifferences.*`` and status comparison.
    diff: DiffSettings = field(default_factory=DiffSettings)
    #: ``kustomize.buildOptions`` and tether's render switches.
    render: RenderSettings = field(default_factory=RenderSettings)
    #: Self-heal back-off: first delay, factor, cap (Argo CD: 2 s, x3, 300 s).
    self_heal_backoff: tuple[float, float, float] = (2.0, 3.0, 300.0)
    problems: tuple[str, ...] = ()

    @classmethod
    def from_config_map(cls, data: Mapping[str, Any] | None) -> ControllerSettings:
        """Parse the ConfigMap's ``data`` (``None`` when it does not exist)."""
        data = {str(k): str(v) for k, v in (data or {}).items()}
        problems: list[str] = []

        def seconds(key: str, default: float) -> float:
            if key not in data:
                return default
            try:
                return parse_duration(data[key], key)
            except SpecError as error:
                problems.append(str(error))
                return default

        try:
            tracking = TrackingMethod(data.get("application.resourceTrackingMethod", "annotation"))
        except ValueError:
            problems.append(
                "invalid application.resourceTrackingMethod: expected annotation, label or "
                "annotation+label"
            )
            tracking = TrackingMethod.ANNOTATION
        try:
            diff = DiffSettings.from_config_map(data)
        except IgnoreRuleError as error:
            problems.append(str(error))
            diff = DiffSettings()
        first = seconds("tether.dev/self-heal.backoff.duration", 2.0)
        cap = seconds("tether.dev/self-heal.backoff.max-duration", 300.0)
        try:
            factor = float(data.get("tether.dev/self-heal.backoff.factor", "3"))
        except ValueError:
            problems.append("invalid tether.dev/self-heal.backoff.factor: expected a number")
            factor = 3.0
        return cls(
            reconciliation_seconds=seconds("timeout.reconciliation", 120.0),
            jitter_seconds=seconds("timeout.reconciliation.jitter", 60.0),
            tracking=tracking,
            health_overrides=load_overrides(settings=data),
            health_policy=HealthPolicy(
                application_health=data.get("tether.dev/health.application", "false") == "true"
            ),
            diff=diff,
            render=RenderSettings(kustomize_build_options=data.get("kustomize.buildOptions", "")),
            self_heal_backoff=(first, factor, cap),
            problems=tuple(problems),
        )

    def self_heal_delay(self, attempts: int) -> float:
        """How long to wait before self-heal attempt number ``attempts`` (0-based)."""
        first, factor, cap = self.self_heal_backoff
        return float(min(cap, first * factor**attempts))
