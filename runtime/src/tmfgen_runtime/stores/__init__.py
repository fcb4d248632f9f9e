"""Stores: SQLite (`store`, also the interface every store implements) and PostgreSQL
(`postgres`, imported when a postgresql:// URL is chosen). A mutation and the reply it produced
are committed in one transaction."""
