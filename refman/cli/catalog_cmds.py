"""Catalog commands: import, add, list, show, tag, set, stats, db."""
