"""Submissions that arrive together are imported together, and each is answered alone.

Every import pays a fixed price (reading references and versions, quality windows,
one write transaction, the accounts it changes) that dwarfs a field return's few
records. One writer thread takes the submissions waiting in its queue (a few
milliseconds' worth), looks up their client ids (``Idempotency-Key``) in one query,
imports those of one user as one file, and answers each from the import's per-feature
outcomes. The answers are stored in the import's own transaction: a submission is
stored with its answer or not at all, so a retry after any failure is answered alike
and never stored twice.

When the merged file is refused, the faulty submissions are imported alone, so each
gets exactly the answer it would have had alone (its own feature numbers), and the
others are imported together again. Each submission is still all or nothing: a
refused one writes nothing, and it never takes an accepted one down with it.
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

import orjson

from clearfield import services
from clearfield.errors import ClearfieldError, ImportRejected
from clearfield.store.base import RememberedAnswer, Store
from clearfield.users import User

__all__ = ["Outcome", "SubmissionBatcher"]

Answer = tuple[int, dict[str, Any]]
_FEATURE = re.compile(r"^feature (\d+)\b")


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to one submission; ``fresh`` when it was imported now, not replayed."""

    status: int
    body: dict[str, Any]
    fresh: bool


@dataclass(slots=True)
class _Item:
    user: User
    features: list[Any] | None  # None: refused before the import, `refusal` says why
    key: str | None
    digest: str
    refusal: Answer | None = None
    future: Future[Outcome] = field(default_factory=Future)


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

    def submit(
        self,
        user: User,
        features: list[Any] | None,
        *,
        key: str | None,
        digest: str,
        refusal: Answer | None = None,
    ) -> Future[Outcome]:
        """Queue a submission (or, with ``refusal``, one refused before it could be read,
        so that the refusal is remembered under its key too)."""
        item = _Item(user, features, key, digest, refusal)
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
            try:
                self._settle(batch)
            except Exception as exc:  # never leave a client waiting
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)

    def _settle(self, batch: list[_Item]) -> None:
        keys = {item.key for item in batch if item.key}
        seen = self.store.submissions(keys) if keys else {}
        first_of: dict[str, _Item] = {}
        repeats: list[_Item] = []  # the same key twice in one batch: answered as the first
        refused: list[_Item] = []
        by_user: dict[str, list[_Item]] = {}
        for item in batch:
            if item.key in seen:
                item.future.set_result(self._replay(seen[item.key], item))
            elif item.key and item.key in first_of:
                repeats.append(item)
            else:
                if item.key:
                    first_of[item.key] = item
                if item.features is None:
                    refused.append(item)
                else:
                    by_user.setdefault(item.user.name, []).append(item)
        if refused:
            self._refuse(refused)
        for items in by_user.values():
            try:
                self._import(items)
            except Exception as exc:  # one user's failure is not another's
                for item in items:
                    if not item.future.done():
                        item.future.set_exception(exc)
        for item in repeats:
            first = first_of[item.key or ""]
            exc = first.future.exception()
            if exc is not None:
                item.future.set_exception(exc)
                continue
            answer = first.future.result()
            item.future.set_result(self._replay(_row(first, (answer.status, answer.body)), item))

    def _replay(self, seen: dict[str, Any], item: _Item) -> Outcome:
        if seen["user_name"] != item.user.name or seen["request_hash"] != item.digest:
            status, body = self.error_answer(
                ClearfieldError(
                    "this Idempotency-Key was used for another submission; use a new key",
                    record="submission",
                    code="CONFLICT",
                )
            )
            return Outcome(status, body, fresh=False)
        return Outcome(seen["status_code"], orjson.loads(seen["response"]), fresh=False)

    def _refuse(self, items: list[_Item]) -> None:
        """Answer refusals, remembering those that carry a key (a server fault is not
        remembered: the retry may succeed)."""
        keep = [
            _remembered(item, item.refusal)
            for item in items
            if item.key and item.refusal and item.refusal[0] < 500
        ]
        stored = self.store.remember_submissions(keep) if keep else {}
        for item in items:
            assert item.refusal is not None
            if item.key in stored:  # ours, or a racing retry's that got there first
                item.future.set_result(self._replay(stored[item.key], item))
            else:
                item.future.set_result(Outcome(*item.refusal, fresh=False))

    def _alone(self, item: _Item, *, recheck: bool) -> None:
        """Import one submission by itself; ``recheck``: its key may have been answered
        since the batch looked (by another server process)."""
        assert item.features is not None
        if recheck and item.key:
            seen = self.store.submissions([item.key]).get(item.key)
            if seen is not None:
                item.future.set_result(self._replay(seen, item))
                return
        answer: Answer | None = None

        def remember(report: services.ImportReport) -> list[RememberedAnswer]:
            nonlocal answer
            answer = (200, report.as_dict())
            return [_remembered(item, answer)] if item.key else []

        try:
            services.import_features(
                self.store, item.features, source="api", actor=item.user.name, remember=remember
            )
        except ClearfieldError as exc:
            if exc.code == "CONFLICT" and item.key and not recheck:
                self._alone(item, recheck=True)  # e.g. its key was stored meanwhile
                return
            item.refusal = self.error_answer(exc)
            self._refuse([item])
            return
        assert answer is not None
        item.future.set_result(Outcome(*answer, fresh=True))

    def _import(self, items: list[_Item]) -> None:
        if len(items) == 1:
            self._alone(items[0], recheck=False)
            return
        merged: list[Any] = []
        ranges = []
        for item in items:
            assert item.features is not None
            ranges.append((len(merged) + 1, len(merged) + len(item.features)))
            merged += item.features
        answers: list[Answer] = []

        def remember(report: services.ImportReport) -> list[RememberedAnswer]:
            answers[:] = [(200, _answer_for(report, lo, hi)) for lo, hi in ranges]
            return [
                _remembered(item, answer)
                for item, answer in zip(items, answers, strict=True)
                if item.key
            ]

        try:
            services.import_features(
                self.store, merged, source="api", actor=items[0].user.name, remember=remember
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
                self._alone(items[k], recheck=False)
            rest = [item for k, item in enumerate(items) if k not in faulty]
            if rest:
                self._import(rest)
            return
        except ClearfieldError:  # e.g. a concurrent change, or a key answered meanwhile
            for item in items:
                self._alone(item, recheck=True)
            return
        for item, answer in zip(items, answers, strict=True):
            item.future.set_result(Outcome(*answer, fresh=True))


def _row(item: _Item, answer: Answer) -> dict[str, Any]:
    """An answer as the store keeps it, to replay for a repeat of the same key."""
    return {
        "user_name": item.user.name,
        "request_hash": item.digest,
        "status_code": answer[0],
        "response": orjson.dumps(answer[1]).decode(),
    }


def _remembered(item: _Item, answer: Answer) -> RememberedAnswer:
    assert item.key is not None
    status, body = answer
    return RememberedAnswer(
        item.key, item.user.name, item.digest, status, orjson.dumps(body).decode()
    )


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
