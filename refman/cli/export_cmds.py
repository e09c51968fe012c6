"""Commands of this feature are registered on refman.cli.common.app here."""
