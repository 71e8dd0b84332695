"""The HTTP API (FastAPI): records, review, statistics, plans and live events."""
