"""Citation metadata from archived pages and PDFs: every field with where it came from."""
