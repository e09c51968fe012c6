"""Registered exports in the library: migration 0009, register / refresh / remove, per-note mirrors, the change
signal. Real catalogs in tmp dirs; the CLI and the watcher are tested end to end in test_cli_exports.py and
test_watch.py."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from refman.catalog import set_fields
from refman.citation.export import export_pieces
from refman.citation.selection import Selection
from refman.errors import NotFoundError, UsageError
from refman.exports_registry import (
    RegisteredExport,
    check,
    list_exports,
    refresh,
    register,
    remove,
)
from refman.notes.importer import import_vault
from refman.store import connect
from refman.store.sqlite import SqliteStore
from refman.store.sqlite.changes import CatalogChanges
from refman.store.sqlite.schema import upgrade_catalog

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample-vault"


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    target = tmp_path / "vault"
    shutil.copytree(SAMPLE, target)
    return target


@pytest.fixture
def conn(db_path: Path, vault: Path):  # type: ignore[no-untyped-def]
    c = connect(db_path)
    import_vault(SqliteStore(c), [vault])
    yield c
    c.close()


def _export_text(conn: sqlite3.Connection, sel: Selection, fmt: str = "biblatex") -> bytes:
    return "".join(export_pieces(SqliteStore(conn), sel, fmt)).encode()


def _previous_revision() -> str:
    """The revision 0009 follows (the lead re-chains parallel migrations when merging)."""
    from alembic.script import ScriptDirectory

    from refman.store.sqlite.schema import alembic_config

    previous = ScriptDirectory.from_config(alembic_config()).get_revision("0009").down_revision
    assert isinstance(previous, str)
    return previous


def test_upgrade_populated_catalog_to_0009_and_back(db_path: Path) -> None:
    previous = _previous_revision()
    upgrade_catalog(db_path, previous)
    raw = sqlite3.connect(db_path)
    raw.execute("INSERT INTO source (url, url_as_written, host, created_at, updated_at, title, citekey) VALUES "
                "('https://a.example/', 'https://a.example/', 'a.example', 't', 't', 'A page', 'apage')")
    raw.execute("INSERT INTO source_alias (url, source_id, created_at) VALUES ('https://b.example/', 1, 't')")
    raw.commit()
    raw.close()
    conn = connect(db_path)  # opening upgrades to the head
    assert [tuple(r) for r in conn.execute("SELECT title, citekey FROM source")] == [("A page", "apage")]
    assert conn.execute("SELECT count(*) FROM source_alias").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM registered_export").fetchone()[0] == 0
    target = db_path.parent / "out.bib"
    register(SqliteStore(conn), RegisteredExport(name="", path=str(target), format="biblatex"))
    assert "apage" in target.read_text()
    conn.close()
    from tests.test_db import _downgrade

    _downgrade(db_path, previous)
    raw = sqlite3.connect(db_path)
    assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'registered_export'").fetchone() is None
    assert raw.execute("SELECT title, citekey FROM source").fetchall() == [("A page", "apage")]
    assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == previous
    raw.close()
    upgrade_catalog(db_path)
    assert connect(db_path).execute("SELECT count(*) FROM registered_export").fetchone()[0] == 0


def test_register_writes_what_export_writes_and_refresh_follows_changes(conn: sqlite3.Connection,
                                                                        tmp_path: Path) -> None:
    target = tmp_path / "out" / "refs.bib"
    target.parent.mkdir()
    stored, result = register(SqliteStore(conn), RegisteredExport(name="", path=str(target), format="biblatex"))
    assert stored.name == "refs.bib" and result.status == "written" and result.files_written == 1
    assert target.read_bytes() == _export_text(conn, Selection())
    assert result.entries == conn.execute("SELECT count(*) FROM source").fetchone()[0]
    assert check(SqliteStore(conn), stored) == "current"
    before = target.stat().st_mtime_ns
    # nothing changed: nothing written, and nothing recorded in the catalog either
    changes_before = conn.total_changes
    assert [r.status for r in refresh(SqliteStore(conn))] == ["unchanged"]
    assert target.stat().st_mtime_ns == before and conn.total_changes == changes_before
    set_fields(SqliteStore(conn), 1, ["title=A brand new title"])
    assert check(SqliteStore(conn), list_exports(SqliteStore(conn))[0]) == "stale"
    assert [r.status for r in refresh(SqliteStore(conn))] == ["written"]
    assert "A brand new title" in target.read_text()
    assert target.read_bytes() == _export_text(conn, Selection())
    # the user's edit of the file is overwritten: the registered export owns it
    target.write_text("garbage")
    assert [r.status for r in refresh(SqliteStore(conn))] == ["written"]
    assert target.read_bytes() == _export_text(conn, Selection())
    assert not [p for p in target.parent.iterdir() if p.name != "refs.bib"]  # no temp file left


def test_cited_in_export_is_untouched_by_an_unrelated_change(conn: sqlite3.Connection, tmp_path: Path) -> None:
    target = tmp_path / "rdma.json"
    register(SqliteStore(conn), RegisteredExport(name="rdma", path=str(target), format="csljson",
                                                 cited_in="Networking/RDMA.md"))
    before = (target.stat().st_mtime_ns, target.read_bytes())
    rdma = {r[0] for r in conn.execute("SELECT source_id FROM mention JOIN note ON note.id = note_id "
                                       "WHERE note.path = 'Networking/RDMA.md'")}
    other = conn.execute(f"SELECT min(id) FROM source WHERE id NOT IN ({','.join(map(str, rdma))})").fetchone()[0]
    set_fields(SqliteStore(conn), other, ["title=Elsewhere"])
    assert [r.status for r in refresh(SqliteStore(conn))] == ["unchanged"]
    assert (target.stat().st_mtime_ns, target.read_bytes()) == before
    set_fields(SqliteStore(conn), min(rdma), ["title=Cited by RDMA"])
    assert [r.status for r in refresh(SqliteStore(conn))] == ["written"]
    assert any(item["title"] == "Cited by RDMA" for item in json.loads(target.read_text()))


def test_names_paths_and_bad_selections(conn: sqlite3.Connection, tmp_path: Path) -> None:
    a, b = tmp_path / "a.bib", tmp_path / "sub" / "a.bib"
    b.parent.mkdir()
    assert register(SqliteStore(conn), RegisteredExport(name="", path=str(a), format="biblatex"))[0].name == "a.bib"
    assert register(SqliteStore(conn), RegisteredExport(name="", path=str(b), format="biblatex"))[0].name == "a.bib-2"
    # the same path again: the same registration, redefined (now BibTeX of one tag)
    again, _ = register(SqliteStore(conn), RegisteredExport(name="", path=str(a), format="bibtex", tags=["none-yet"]))
    assert again.name == "a.bib" and again.format == "bibtex" and len(list_exports(SqliteStore(conn))) == 2
    with pytest.raises(UsageError):  # a path belongs to one registration
        register(SqliteStore(conn), RegisteredExport(name="other", path=str(a), format="biblatex"))
    with pytest.raises(NotFoundError):  # a selection that cannot be exported registers nothing
        register(SqliteStore(conn), RegisteredExport(name="x", path=str(tmp_path / "x.bib"), format="biblatex",
                                        cited_in="no/such/note.md"))
    with pytest.raises(NotFoundError):
        register(SqliteStore(conn), RegisteredExport(name="y", path=str(tmp_path / "gone" / "y.bib"),
                                                     format="biblatex"))
    with pytest.raises(UsageError):
        register(SqliteStore(conn), RegisteredExport(name="z", path=str(tmp_path), format="biblatex"))
    with pytest.raises(UsageError):
        register(SqliteStore(conn), RegisteredExport(name="z", path=str(tmp_path), format="ris", per_note=True))
    assert sorted(e.name for e in list_exports(SqliteStore(conn))) == ["a.bib", "a.bib-2"]
    assert remove(SqliteStore(conn), "a.bib-2").path == str(b)
    assert b.exists()  # removing a registration keeps its file
    with pytest.raises(NotFoundError):
        remove(SqliteStore(conn), "a.bib-2")


def test_vanished_folder_is_reported_and_the_others_are_written(conn: sqlite3.Connection, tmp_path: Path) -> None:
    gone, kept = tmp_path / "gone", tmp_path / "kept"
    gone.mkdir()
    kept.mkdir()
    register(SqliteStore(conn), RegisteredExport(name="gone", path=str(gone / "refs.bib"), format="biblatex"))
    register(SqliteStore(conn), RegisteredExport(name="kept", path=str(kept / "refs.bib"), format="biblatex"))
    shutil.rmtree(gone)
    set_fields(SqliteStore(conn), 1, ["title=Changed"])
    results = {r.name: r for r in refresh(SqliteStore(conn))}
    assert results["gone"].status == "missing" and "is gone" in (results["gone"].detail or "")
    assert results["kept"].status == "written" and "Changed" in (kept / "refs.bib").read_text()
    assert not gone.exists()  # not re-created
    assert check(SqliteStore(conn), list_exports(SqliteStore(conn), ["gone"])[0]) == "missing"


def test_deleted_note_makes_a_cited_in_export_an_error_not_an_empty_file(conn: sqlite3.Connection,
                                                                         vault: Path, tmp_path: Path) -> None:
    target = tmp_path / "gpu.bib"
    register(SqliteStore(conn), RegisteredExport(name="gpu", path=str(target), format="biblatex",
                                    cited_in="AI Infrastructure/GPU Market.md"))
    before = target.read_bytes()
    (vault / "AI Infrastructure" / "GPU Market.md").unlink()
    import_vault(SqliteStore(conn), [vault])
    [result] = refresh(SqliteStore(conn))
    assert result.status == "error" and "no imported note" in (result.detail or "")
    assert target.read_bytes() == before


def test_per_note_mirror_follows_notes(conn: sqlite3.Connection, vault: Path, tmp_path: Path) -> None:
    out = tmp_path / "bib"
    out.mkdir()
    stored, result = register(SqliteStore(conn), RegisteredExport(name="notes", path=str(out), format="csljson",
                                                                  per_note=True))
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["AI Infrastructure/AI Data Infrastructure.json", "AI Infrastructure/GPU Market.json",
                     "Networking/Overlay Network.json", "Networking/RDMA.json"]
    assert result.files_written == 4 and stored.per_note
    # each file is exactly `export --cited-in NOTE` of that note
    for rel in files:
        note = rel[: -len(".json")] + ".md"
        assert (out / rel).read_bytes() == _export_text(conn, Selection(cited_in=note), "csljson")
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}
    # a new definition in one note rewrites that note's file only
    rdma = vault / "Networking" / "RDMA.md"
    rdma.write_text(rdma.read_text() + "\n[A new page]: https://new.example.org/page\n")
    import_vault(SqliteStore(conn), [vault])
    [r] = refresh(SqliteStore(conn))
    assert (r.status, r.files_written, r.files_removed) == ("written", 1, 0)
    assert "https://new.example.org/page" in (out / "Networking" / "RDMA.json").read_text()
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.json") if p.name != "RDMA.json"} == \
        {p: m for p, m in mtimes.items() if p.name != "RDMA.json"}
    # a note that goes takes its file (and its emptied folder) with it; a file the user changed is left
    (out / "AI Infrastructure" / "GPU Market.json").write_text("[]\n")
    shutil.rmtree(vault / "AI Infrastructure")
    import_vault(SqliteStore(conn), [vault])
    [r] = refresh(SqliteStore(conn))
    assert r.files_removed == 1
    assert not (out / "AI Infrastructure" / "AI Data Infrastructure.json").exists()
    assert (out / "AI Infrastructure" / "GPU Market.json").read_text() == "[]\n"
    # the leftover is the user's file now
    assert check(SqliteStore(conn), list_exports(SqliteStore(conn))[0]) == "current"
    assert "AI Infrastructure/GPU Market.json" not in list_exports(SqliteStore(conn))[0].files


def test_per_note_of_a_folder(conn: sqlite3.Connection, tmp_path: Path) -> None:
    out = tmp_path / "bib"
    out.mkdir()
    register(SqliteStore(conn), RegisteredExport(name="net", path=str(out), format="biblatex", per_note=True,
                                    cited_in="Networking/"))
    assert sorted(p.name for p in out.rglob("*.bib")) == ["Overlay Network.bib", "RDMA.bib"]


def test_change_signal_sees_other_connections_and_its_own(db_path: Path, conn: sqlite3.Connection) -> None:
    changes = CatalogChanges(db_path)
    assert not changes.changed()
    set_fields(SqliteStore(conn), 1, ["title=x"])
    assert changes.changed() and not changes.changed()
    conn.execute("SELECT count(*) FROM source").fetchone()  # reads are not changes
    assert not changes.changed()
    assert changes.conn is not None
    changes.conn.execute("UPDATE source SET title = 'y' WHERE id = 1")  # its own writes count too
    assert changes.changed()
    set_fields(SqliteStore(conn), 1, ["title=z"])
    changes.rebaseline()
    assert not changes.changed()
    changes.close()
    assert CatalogChanges(db_path.parent / "absent.db").changed() is False
