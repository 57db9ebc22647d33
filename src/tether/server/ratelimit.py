"""Login throttling: failed password attempts per username and client, in bounded memory.

After ``max_failures`` failures for one (username, client) pair within ``window``
seconds, further attempts are refused without checking the password until the window
since the first failure has passed; a success clears the pair. At most ``max_entries``
pairs are remembered: past that the oldest are forgotten, so a flood of made-up
usernames costs a fixed amount of memory (and loses at worst the oldest counts).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Failures:
    first: float
    count: int


class LoginLimiter:
    """Counts failed logins per key; :meth:`retry_after` says when a key may try again."""

    def __init__(
        self,
        monotonic: Callable[[], float],
        *,
        max_failures: int = 5,
        window: float = 300.0,
        max_entries: int = 10_000,
    ) -> None:
        self._monotonic = monotonic
        self.max_failures = max_failures
        self.window = window
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def retry_after(self, username: str, client: str) -> float:
        """Seconds until ``(username, client)`` may try again; 0 when it may now."""
        entry = self._entries.get((username, client))
        if entry is None:
            return 0.0
        elapsed = self._monotonic() - entry.first
        if elapsed >= self.window:
            del self._entries[(username, client)]
            return 0.0
        return self.window - elapsed if entry.count >= self.max_failures else 0.0

    def failed(self, username: str, client: str) -> None:
        """Record a failed attempt."""
        key = (username, client)
        now = self._monotonic()
        entry = self._entries.get(key)
        if entry is None or now - entry.first >= self.window:
            entry = _Failures(now, 0)
        entry.count += 1
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def succeeded(self, username: str, client: str) -> None:
        """Forget the failures of a pair that logged in."""
        self._entries.pop((username, client), None)
