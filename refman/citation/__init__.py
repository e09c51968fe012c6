"""The canonical citation item and everything derived from it (keys, BibTeX, CSL-JSON, RIS, Markdown)."""
