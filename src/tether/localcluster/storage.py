"""Durable storage: SQLite in WAL mode with ``synchronous=FULL``.

Two tables: ``objects`` (one row per stored object, keyed by
``group/plural/namespace/name``) and ``events`` (the recent change log that watches
replay, pruned to a window), plus ``meta`` holding the global resourceVersion. A
batch of writes is one transaction, so the store's group commit turns many
concurrent requests into one fsync; :meth:`Storage.write` returns only after the
transaction is durable, which is what lets the store acknowledge a write.

This class is synchronous and owned by one thread at a time (the store's writer
executor); the store keeps everything needed to serve reads in memory.
"""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, rv INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, type TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Row:
    """One change: ``data`` is the object's JSON, ``deleted`` removes the row."""

    key: str
    rv: int
    event: str
    data: bytes
    deleted: bool = False


class StorageError(Exception):
    """The database could not be opened or written."""


class Storage:
    """The SQLite file behind the store."""

    def __init__(self, path: Path, *, event_window: int) -> None:
        """Open (creating) the database at ``path``; keep ``event_window`` events."""
        self.path = path
        self._window = event_window
        self._writes_since_prune = 0
        self._lock = _lock(path.with_name(path.name + ".lock"))
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so an acknowledged write
            # survives power loss and kill -9 alike.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as error:
            self._lock.close()
            raise StorageError(f"failed to open database {path}: {error}") from error

    def resource_version(self) -> int:
        """The last resourceVersion written (0 for a new database)."""
        row = self._db.execute("SELECT value FROM meta WHERE name='rv'").fetchone()
        return int(row[0]) if row else 0

    def objects(self) -> Iterator[tuple[str, bytes]]:
        """Every stored object as ``(key, json)``."""
        yield from self._db.execute("SELECT key, data FROM objects")

    def events(self) -> Iterator[tuple[int, str, str, bytes]]:
        """The retained change log, oldest first: ``(rv, type, key, json)``."""
        yield from self._db.execute("SELECT rv, type, key, data FROM events ORDER BY rv")

    def write(self, rows: Sequence[Row]) -> None:
        """Apply ``rows`` in one durable transaction."""
        if not rows:
            return
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            for row in rows:
                if row.deleted:
                    db.execute("DELETE FROM objects WHERE key=?", (row.key,))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO objects (key, rv, data) VALUES (?, ?, ?)",
                        (row.key, row.rv, row.data),
                    )
            db.executemany(
                "INSERT OR REPLACE INTO events (rv, type, key, data) VALUES (?, ?, ?, ?)",
                [(r.rv, r.event, r.key, r.data) for r in rows],
            )
            last = max(r.rv for r in rows)
            db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('rv', ?)", (last,))
            self._writes_since_prune += len(rows)
            if self._writes_since_prune >= self._window // 4 + 1:
                db.execute("DELETE FROM events WHERE rv <= ?", (last - self._window,))
                self._writes_since_prune = 0
            db.execute("COMMIT")
        except sqlite3.Error as error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StorageError(f"failed to write {len(rows)} objects: {error}") from error

    def close(self) -> None:
        """Close the database and let another server open it."""
        self._db.close()
        self._lock.close()


def _lock(path: Path) -> IO[bytes]:
    """Hold an exclusive lock on ``path`` for as long as the returned file is open.

    Two servers over one database would each trust their own cache; the lock makes the
    second one fail to start instead. The kernel drops it when the process dies, even
    by ``kill -9``.
    """
    handle = path.open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StorageError(
            f"failed to open database {path.with_suffix('')}: another local cluster is "
            "using this data directory"
        ) from None
    return handle
