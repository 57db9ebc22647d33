"""The server's clocks, injected so that tests can move time instead of waiting for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

#: Wall-clock time in Unix seconds (token issue and expiry, password change times).
Clock = Callable[[], float]


def system_clock() -> float:
    """The real wall clock."""
    return time.time()


def to_rfc3339(seconds: float) -> str:
    """Unix seconds as an RFC 3339 UTC timestamp, as Kubernetes and Argo CD write them."""
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_rfc3339(text: str) -> float | None:
    """An RFC 3339 timestamp as Unix seconds, or ``None`` when it does not parse."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
