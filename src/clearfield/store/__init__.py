"""Storage: one interface (``base.Store``), the embedded SQLite store behind it."""
