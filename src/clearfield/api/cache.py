"""Answers kept until the store changes: what every open dashboard asks for again after
every event (statistics, personnel), seconds of work each on a large programme.

A kept answer is shared by every caller: it must not be changed by any of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from clearfield.store.base import Store

__all__ = ["UntilChange"]

T = TypeVar("T")


class UntilChange:
    """Answers by key, each kept until the store's next change (its change mark moves).

    One caller computes a key's answer while the others asking for the same key wait for
    it, rather than all computing it at once.
    """

    def __init__(self, store: Store):
        self.store = store
        self._guard = threading.Lock()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._kept: dict[Hashable, tuple[int, Any]] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            # read before computing: a change during the computation makes it stale at once
            mark = self.store.change_mark()
            kept = self._kept.get(key)
            if kept is not None and kept[0] == mark:
                return kept[1]  # type: ignore[no-any-return]
            value = compute()
            self._kept[key] = (mark, value)
            return value
