"""Encoded list pages, reused while nothing they depend on has changed.

Many clients (every open UI, every CLI poll) ask for the same page of applications.
A page depends only on the application cache's contents, the RBAC policy, the caller's
subject and the query, so :class:`PageCache` keys the encoded body on exactly those:
the cache's change counter, the policy object (a new one is compiled whenever the
settings change), the subject and the query string. Any change to an Application bumps
the counter and so retires every page built before it. Bounded (least recently used
pages are dropped), and never used for project-token callers, whose policy also
depends on their AppProject.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class PageCache:
    """At most ``size`` encoded pages, least recently used dropped first."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> bytes | None:
        """The page for ``key``, if it is still cached."""
        page = self._pages.get(key)
        if page is None:
            self.misses += 1
            return None
        self.hits += 1
        self._pages.move_to_end(key)
        return page

    def put(self, key: Hashable, page: bytes) -> None:
        """Remember a page."""
        self._pages[key] = page
        self._pages.move_to_end(key)
        while len(self._pages) > self.size:
            self._pages.popitem(last=False)
