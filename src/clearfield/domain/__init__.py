"""The domain: IMAS records, geometry rules, land release accounting. Pure Python, no I/O."""
