"""refman: reference definitions in Markdown notes → an archived, searchable, citable catalog."""

__version__ = "0.1.0"
