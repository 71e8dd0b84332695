"""Clearfield: open information, planning and coordination for mine action and reconstruction."""

__version__ = "0.1.0"
__all__ = ["__version__"]
