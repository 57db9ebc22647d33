"""The simulation's timings: how long simulated things take.

Real clusters take seconds to minutes (image pulls, probes, back-offs of 10 s doubling
to 5 min); the simulation keeps the same shapes with shorter, documented delays, all
measured from timestamps stored in the objects.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Timings of the simulated node and controllers, in seconds."""

    #: From a container's start to its readiness (a readiness probe's
    #: ``initialDelaySeconds`` may delay it further).
    pod_ready_seconds: float = 1.0
    #: How long a container of a run-to-completion Pod (``restartPolicy`` ``Never`` or
    #: ``OnFailure``), and each init container, runs before it exits.
    run_seconds: float = 1.0
    #: How long a failing container runs before it exits with code 1.
    crash_seconds: float = 1.0
    #: The first back-off of a crash loop, an image pull or a Job's retry; it doubles
    #: on each retry (a real kubelet starts at 10 s).
    backoff_seconds: float = 1.0
    #: The longest back-off (a real kubelet caps at 300 s).
    max_backoff_seconds: float = 16.0
    #: Whether the controllers and the kubelet record Events.
    events: bool = True

    @classmethod
    def instant(cls) -> Settings:
        """No delays at all: every step happens as soon as the controllers get to it."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, events=True)
