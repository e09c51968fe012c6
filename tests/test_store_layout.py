"""The store's shape: one SqliteStore made of one mixin per group, whose methods never shadow each other, and
a Protocol per group that the SQLite store implements in full."""

from __future__ import annotations

import inspect
import itertools
from pathlib import Path

from refman.store import open_store
from refman.store.protocol import Store
from refman.store.sqlite import SqliteStore
from refman.store.sqlite.base import SqliteBase

MIXINS = [cls for cls in SqliteStore.__mro__[1:] if cls not in (SqliteBase, object)]


def _own_names(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("__")}


def test_mixins_do_not_shadow_each_other() -> None:
    for a, b in itertools.combinations([*MIXINS, SqliteBase], 2):
        shared = _own_names(a) & _own_names(b)
        assert not shared, f"{a.__name__} and {b.__name__} both define {sorted(shared)}"


def test_the_sqlite_store_implements_every_method_of_the_protocol() -> None:
    wanted = {name for cls in Store.__mro__ if cls.__module__.startswith("refman.store")
              for name in vars(cls) if not name.startswith("_")}
    missing = sorted(name for name in wanted if not hasattr(SqliteStore, name))
    assert not missing, missing


def test_signatures_agree_with_the_protocol() -> None:
    for cls in Store.__mro__:
        if not cls.__module__.startswith("refman.store") or cls is Store:
            continue
        for name, declared in vars(cls).items():
            if name.startswith("_") or not inspect.isfunction(declared):
                continue
            implemented = getattr(SqliteStore, name)
            assert list(inspect.signature(declared).parameters) == list(inspect.signature(implemented).parameters), name


def test_open_store_is_a_context_manager_with_transactions(tmp_path: Path) -> None:
    with open_store(tmp_path / "c.db") as store:
        assert store.backend == "sqlite" and not store.in_transaction
        with store.transaction():
            assert store.in_transaction
            with store.transaction():  # joins the outer one
                assert store.in_transaction
        assert not store.in_transaction
