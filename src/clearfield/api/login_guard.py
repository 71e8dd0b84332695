"""Sign-in throttling: an account locked after repeated wrong passwords, and a client
address slowed down when it fails too often.

- **Per account**: after ``max_failures`` (5) failed sign-ins for one user name within
  ``window`` (15 minutes), that name is locked for ``lockout`` (15 minutes): every
  sign-in with it is refused with a 429 and ``Retry-After``, the right password
  included. A successful sign-in clears the name's failures. Unknown names are counted
  alike, so the answers do not tell which names exist.
- **Per address**: a client address with ``max_address_failures`` (20) failed sign-ins
  within ``address_window`` (a minute) is refused (429) until the oldest of them is a
  minute old.

The counts are kept in memory, per server process: with ``clearfield serve --workers N``
each process counts on its own (an attacker spread over the processes gets up to N
times as many tries), and a restart forgets them. The clock is injectable, so tests
move time instead of sleeping. Failed sign-ins are logged (logger ``clearfield.auth``)
with the user name and the client address, never the password.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from clearfield.errors import ClearfieldError

__all__ = ["LoginGuard", "TooManySignIns"]

log = logging.getLogger("clearfield.auth")
_TRACKED = 100_000
"""At most this many names (and as many addresses) are tracked; the oldest are dropped."""


class TooManySignIns(ClearfieldError):
    """A sign-in refused for now (HTTP 429); ``retry_after``: seconds until it may be tried."""

    code = "TOO_MANY_ATTEMPTS"

    def __init__(self, message: str, *, record: str, retry_after: float):
        super().__init__(message, record=record)
        self.retry_after = max(1, math.ceil(retry_after))


class LoginGuard:
    """The failed sign-ins of one server process, by user name and by client address."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window: float = 15 * 60,
        lockout: float = 15 * 60,
        max_address_failures: int = 20,
        address_window: float = 60,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_failures, self.window, self.lockout = max_failures, window, lockout
        self.max_address_failures, self.address_window = max_address_failures, address_window
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}  # name → times of recent failures
        self._locked: dict[str, float] = {}  # name → when its lock ends
        self._addresses: dict[str, deque[float]] = {}  # address → times of recent failures
        # sign-ins under way, by name and by address: counted as failures until they end,
        # so tries sent at once cannot all pass the check before the first one fails
        self._pending: dict[str, int] = {}

    def check(self, name: str, address: str) -> None:
        """Raise :class:`TooManySignIns` when ``name`` is locked or ``address`` has failed
        too often, counting the sign-ins under way as failures; call before looking at
        the password, and end the attempt with :meth:`failed` or :meth:`succeeded`."""
        key, now = _key(name), self.clock()
        with self._lock:
            until = self._locked.get(key)
            if until is not None and until <= now:
                del self._locked[key]
                until = None
            failures = len(_recent(self._failures.get(key), now - self.window) or ()) + self._pending.get(key, 0)  # fmt: skip
            recent = _recent(self._addresses.get(address), now - self.address_window)
            from_address = len(recent or ()) + self._pending.get(address, 0)
            oldest = recent[0] if recent else now
            if until is None and failures >= self.max_failures:
                until = now + 1.0  # (the tries under way decide; ask again in a second)
            if until is None and from_address < self.max_address_failures:
                self._pending[key] = self._pending.get(key, 0) + 1
                self._pending[address] = self._pending.get(address, 0) + 1
        if until is not None:
            raise TooManySignIns(
                f"this account is locked after {self.max_failures} failed sign-ins within "
                f"{_duration(self.window)}; try again in {_duration(until - now)}",
                record=name,
                retry_after=until - now,
            )
        if from_address >= self.max_address_failures:
            raise TooManySignIns(
                f"too many failed sign-ins from this address ({from_address} within "
                f"{_duration(self.address_window)}); try again in "
                f"{_duration(max(1.0, oldest + self.address_window - now))}",
                record=address,
                retry_after=max(1.0, oldest + self.address_window - now),
            )

    def _settle(self, key: str, address: str) -> None:
        for k in (key, address):
            left = self._pending.get(k, 0) - 1
            if left > 0:
                self._pending[k] = left
            else:
                self._pending.pop(k, None)

    def failed(self, name: str, address: str) -> None:
        """Count a failed sign-in; the one that reaches the limit locks the name."""
        key, now = _key(name), self.clock()
        with self._lock:
            self._settle(key, address)
            times = _bounded(self._failures, key)
            times.append(now)
            _recent(times, now - self.window)
            locks = len(times) >= self.max_failures
            if locks:
                if len(self._locked) >= _TRACKED:  # drop the ended locks, else the oldest
                    self._locked = {k: t for k, t in self._locked.items() if t > now}
                    while len(self._locked) >= _TRACKED:
                        del self._locked[next(iter(self._locked))]
                self._locked[key] = now + self.lockout
                del self._failures[key]
            per_address = _bounded(self._addresses, address)
            per_address.append(now)
            _recent(per_address, now - self.address_window)
            slowed = len(per_address) == self.max_address_failures
        log.warning("failed sign-in for user %r from %s", name, address)
        if locks:
            log.warning(
                "user %r locked for %s after %d failed sign-ins (the last from %s)",
                name, _duration(self.lockout), self.max_failures, address,
            )  # fmt: skip
        if slowed:
            log.warning(
                "sign-ins from %s refused for up to %s: %d failed within it",
                address, _duration(self.address_window), self.max_address_failures,
            )  # fmt: skip

    def ended(self, name: str, address: str) -> None:
        """A sign-in that ended neither way (the server failed): no longer under way."""
        with self._lock:
            self._settle(_key(name), address)

    def succeeded(self, name: str, address: str) -> None:
        """A successful sign-in clears the name's failures."""
        with self._lock:
            self._settle(_key(name), address)
            self._failures.pop(_key(name), None)


def _key(name: str) -> str:
    return name.strip().casefold()


def _recent(times: deque[float] | None, since: float) -> deque[float] | None:
    """Drop the times before ``since`` (oldest first) from ``times``; return it."""
    while times and times[0] <= since:
        times.popleft()
    return times


def _bounded(table: dict[str, deque[float]], key: str) -> deque[float]:
    """The key's deque, made if new; the oldest entries go when the table is full."""
    times = table.get(key)
    if times is None:
        while len(table) >= _TRACKED:
            del table[next(iter(table))]
        times = table[key] = deque()
    return times


def _duration(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if seconds > 120:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{seconds} s"
