"""Write refman/store/sqlite/head_schema.py: the statements that create an empty SQLite catalog at the head
revision, read from one the migrations create. Run it after adding a migration (a test fails until then):

    .venv/bin/python scripts/write_sqlite_head_schema.py"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from refman.store.sqlite.schema import render_head_schema  # noqa: E402

if __name__ == "__main__":
    target = REPO / "refman" / "store" / "sqlite" / "head_schema.py"
    target.write_text(render_head_schema(), encoding="utf-8")
    print(f"wrote {target.relative_to(REPO)}")
