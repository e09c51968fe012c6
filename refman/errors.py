"""Typed exceptions raised by the library; only the CLI turns them into messages and exit codes."""


class RefmanError(Exception):
    """Base class for every foreseeable failure. `exit_code` is what the CLI exits with."""

    exit_code = 1


class UsageError(RefmanError):
    """The user asked for something that cannot be done as asked (bad option values, bad query)."""

    exit_code = 2


class NotFoundError(RefmanError):
    """A path, source id, URL or citation key that does not exist."""

    exit_code = 3


class InvalidURLError(UsageError):
    """A string that is not an http(s) URL refman can archive."""


class QueryError(UsageError):
    """A search query that cannot be understood."""


class CatalogError(RefmanError):
    """The catalog file cannot be opened, is too new, or is damaged."""

    exit_code = 4


class CatalogMissingError(NotFoundError):
    """A command that only reads was pointed at a path where no catalog exists (nothing is created)."""


class CatalogBusyError(CatalogError):
    """Another process holds the catalog's write lock for longer than the busy timeout."""


class CatalogReadOnlyError(CatalogError):
    """A write to a catalog whose file or folder cannot be written."""


class CatalogCorruptError(CatalogError):
    """The catalog file is damaged (not a database, malformed pages)."""


class CatalogTooNewError(CatalogError):
    """The catalog was written by a newer refman: its schema revision is unknown to this one."""


class DiskFullError(CatalogError):
    """The disk (or quota) is full: the write was rolled back."""
