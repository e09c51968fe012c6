"""The cheap change signal of a SQLite catalog: did anyone commit to it since the last look?

SQLite-specific (`PRAGMA data_version` on a connection of its own), hence here. Loaded before every command
(refman.cli.exports_cmds), so it imports only the standard library's sqlite3."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path


class CatalogChanges:
    """Did anyone commit to the catalog since the last look? `PRAGMA data_version` on a connection of our own
    changes whenever another connection commits (in this process or another); `total_changes` counts what this
    connection wrote itself. Both are read without touching the disk when nothing changed."""

    backend = "sqlite"

    def __init__(self, db_path: Path) -> None:
        self.conn: sqlite3.Connection | None = None
        if Path(db_path).is_file():
            try:
                self.conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
                self.conn.execute("PRAGMA busy_timeout = 10000")
                self._seen = self._state()
            except sqlite3.Error:
                self.close()

    def _state(self) -> tuple[int, int]:
        assert self.conn is not None
        return self.conn.execute("PRAGMA data_version").fetchone()[0], self.conn.total_changes

    def changed(self) -> bool:
        """True once for each batch of commits since the previous call (or since `rebaseline`)."""
        if self.conn is None:
            return False
        try:
            state = self._state()
        except sqlite3.Error:
            return False
        if state == self._seen:
            return False
        self._seen = state
        return True

    def rebaseline(self) -> None:
        """Forget the changes so far (the caller has just brought the exports up to date itself)."""
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._seen = self._state()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
