"""Submissions that arrive together are imported together, and each is answered alone.

Every import pays a fixed price (reading references and versions, quality windows,
one write transaction, the accounts it changes) that dwarfs a field return's few
records. One writer thread takes the submissions waiting in its queue (a few
milliseconds' worth), imports those of one user as one file, and answers each from
the import's per-feature outcomes. When the merged file is refused, the faulty
submissions are imported alone, so each gets exactly the answer it would have had
alone (its own feature numbers), and the others are imported together again. Each
submission is still all or nothing: a refused one writes nothing, and it never
takes an accepted one down with it.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from clearfield import services
from clearfield.errors import ClearfieldError, ImportRejected
from clearfield.store.base import Store
from clearfield.users import User

__all__ = ["SubmissionBatcher"]

Answer = tuple[int, dict[str, Any]]
_FEATURE = re.compile(r"^feature (\d+)\b")


@dataclass(slots=True)
class _Item:
    user: User
    features: list[Any]
    future: Future[Answer] = field(default_factory=Future)


class SubmissionBatcher:
    def __init__(
        self,
        store: Store,
        error_answer: Callable[[ClearfieldError], Answer],
        *,
        max_batch: int = 64,
        gather_seconds: float = 0.003,
    ):
        self.store = store
        self.error_answer = error_answer
        self.max_batch = max_batch
        self.gather_seconds = gather_seconds
        self.queue: queue.Queue[_Item | None] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="submissions")
        self.thread.start()

    def submit(self, user: User, features: list[Any]) -> Future[Answer]:
        item = _Item(user, features)
        self.queue.put(item)
        return item.future

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.gather_seconds
            while len(batch) < self.max_batch:
                try:
                    nxt = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is None:
                    self.queue.put(None)  # stop after this batch
                    break
                batch.append(nxt)
            by_user: dict[str, list[_Item]] = {}
            for item in batch:
                by_user.setdefault(item.user.name, []).append(item)
            for items in by_user.values():
                try:
                    self._import(items)
                except Exception as exc:  # never leave a client waiting
                    for item in items:
                        if not item.future.done():
                            item.future.set_exception(exc)

    def _alone(self, item: _Item) -> None:
        try:
            report = services.import_features(
                self.store, item.features, source="api", actor=item.user.name
            )
        except ClearfieldError as exc:
            item.future.set_result(self.error_answer(exc))
            return
        item.future.set_result((200, report.as_dict()))

    def _import(self, items: list[_Item]) -> None:
        if len(items) == 1:
            self._alone(items[0])
            return
        merged: list[Any] = []
        ranges = []
        for item in items:
            ranges.append((len(merged) + 1, len(merged) + len(item.features)))
            merged += item.features
        try:
            report = services.import_features(
                self.store, merged, source="api", actor=items[0].user.name
            )
        except ImportRejected as exc:
            faulty = set()
            for e in exc.errors:
                m = _FEATURE.match(e.record or "")
                if m is None:  # a fault of the whole file: no one to blame, go one by one
                    faulty = set(range(len(items)))
                    break
                n = int(m.group(1))
                faulty |= {k for k, (lo, hi) in enumerate(ranges) if lo <= n <= hi}
            for k in sorted(faulty):
                self._alone(items[k])
            rest = [item for k, item in enumerate(items) if k not in faulty]
            if rest:
                self._import(rest)
            return
        except ClearfieldError:  # e.g. a concurrent change: each on its own
            for item in items:
                self._alone(item)
            return
        for item, (lo, hi) in zip(items, ranges, strict=True):
            item.future.set_result((200, _answer_for(report, lo, hi)))


def _answer_for(report: services.ImportReport, lo: int, hi: int) -> dict[str, Any]:
    """One submission's share of a merged import's report, in its own feature numbers."""
    counts: dict[str, dict[str, int]] = {"created": {}, "new_versions": {}, "unchanged": {}}
    mine: set[tuple[str, str]] = set()
    for i in range(lo, hi + 1):
        outcome = report.outcomes.get(i)
        if outcome is None:
            continue
        kind, rtype, rid = outcome
        key = "new_versions" if kind == "new_version" else kind
        counts[key][rtype] = counts[key].get(rtype, 0) + 1
        mine.add((rtype, rid))
    repaired = []
    for line in report.repaired:
        m = _FEATURE.match(line)
        if m and lo <= int(m.group(1)) <= hi:
            repaired.append(f"feature {int(m.group(1)) - lo + 1}{line[m.end() :]}")
    flags = [f for f in report.flags if tuple(f.split(":", 1)[0].split(" ", 1)) in mine]
    return {
        "source": report.source,
        **counts,
        "repaired": repaired,
        "quality_flags": flags,
    }
