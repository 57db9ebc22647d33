"""Timestamps as the API server writes them: RFC 3339 with whole seconds and a ``Z``.

Every write stamps one or two of them (``creationTimestamp``, the ``time`` of its
managedFields entry), and formatting a datetime costs more than the rest of stamping
an object. Writes come in bursts within the same second, so the text of the last
second formatted is kept and reused.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"

# (whole second since the epoch, UTC offset) -> text; the pair fixes every field that
# the format prints. One tuple, replaced whole, so concurrent callers never see half.
_last: tuple[tuple[float, timedelta], str] | None = None


def rfc3339(moment: datetime) -> str:
    """``moment``'s date and time fields to the second, followed by ``Z``.

    The fields are printed as they are: pass a UTC datetime for a UTC timestamp.
    """
    global _last
    offset = moment.utcoffset()
    if offset is None:  # a naive datetime: its fields do not name one instant
        return moment.strftime(FORMAT)
    key = (moment.timestamp() // 1, offset)
    last = _last
    if last is not None and last[0] == key:
        return last[1]
    text = moment.strftime(FORMAT)
    _last = (key, text)
    return text
