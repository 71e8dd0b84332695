"""Land release accounts in either store: written inside the write transaction.

The embedded store reads the counted hazard versions and their counted releases, runs
the domain's accounting (in worker processes when a whole programme is recomputed) and
writes the accounts back; the server store computes them inside PostGIS
(:mod:`~clearfield.store.postgis_accounts`). Both on the caller's connection, so
accounts never disagree with the records they come from.

A first load (new hazards, and releases only on them) is accounted from the versions
about to be written, not from the rows, so a worker can start before the transaction
does (:class:`AccountsAhead`); the write checks under its lock that every version is
still the next of its record, and nothing stored can touch a new hazard's account.
Into an empty store, the worker that checked the load part by part has the input
already, sent with the parts, and answers the account rows (:class:`LoadAccounts`).
"""

from __future__ import annotations

import contextlib
import logging
import operator
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
from collections import deque
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection

from clearfield.domain.accounting import ACCOUNT_FIELDS, HazardRelease
from clearfield.errors import StoreError
from clearfield.store.accounts_worker import (
    CHUNK,
    CheckPart,
    ReleaseRow,
    account_chunk,
    account_rows,
    by_hazard,
)
from clearfield.store.dialect import dialect_of
from clearfield.store.postgis_accounts import refresh_in_postgis
from clearfield.store.sql_batches import Inserts, inserting, temp_table

__all__ = [
    "PARALLEL_FROM",
    "AccountInput",
    "Accounting",
    "AccountsAhead",
    "LoadAccounts",
    "refresh",
    "start_accounts",
    "write_accounts",
]

log = logging.getLogger(__name__)


class AccountInput(NamedTuple):
    """What accounting reads: the counted version of each hazard, ``(entity pk, version
    pk, polygon as WKB)``, and the counted releases on them, ``(hazard pk, activity pk,
    activity id, kind, end date, organisation, polygon as WKB)``."""

    hazards: list[tuple[int, int, bytes]]
    releases: list[tuple[int, int, str, str, str, str | None, bytes]]


def refresh(
    conn: Connection, hazard_pks: set[int], progress: Any = None, *, workers: bool = True
) -> None:
    """Recompute the accounts of these hazards from their counted versions and releases;
    ``workers=False``: in this process (a worker failed already)."""
    if not hazard_pks:
        return
    temp_table(conn, "refresh", "pk INTEGER PRIMARY KEY", [(p,) for p in hazard_pks])
    conn.exec_driver_sql("DELETE FROM hazard_account WHERE entity_pk IN (SELECT pk FROM refresh)")
    conn.exec_driver_sql("DELETE FROM release_account WHERE hazard_pk IN (SELECT pk FROM refresh)")
    if dialect_of(conn).name == "postgresql":
        refresh_in_postgis(conn, progress)
        return
    hz = conn.exec_driver_sql(
        "SELECT v.entity_pk, v.pk, v.geometry FROM record_version v "
        "WHERE v.is_counted = 1 AND v.entity_pk IN (SELECT pk FROM refresh) ORDER BY v.entity_pk"
    ).all()
    acts = conn.exec_driver_sql(
        "SELECT v.parent_pk, v.entity_pk, e.record_id, v.kind, v.info_date, v.organisation, "
        "v.geometry FROM record_version v JOIN entity e ON e.pk = v.entity_pk "
        "WHERE e.record_type = 'activity' AND v.is_counted = 1 "
        "AND v.parent_pk IN (SELECT pk FROM refresh)"
    ).all()
    work = AccountInput([tuple(row) for row in hz], [tuple(row) for row in acts])  # type: ignore[misc]
    results = start_accounts(work, progress, workers=workers).result()
    with inserting(conn, bulk=len(work.hazards) >= PARALLEL_FROM) as inserts:
        write_accounts(inserts, work, results)


def write_accounts(inserts: Inserts, work: AccountInput, results: list[HazardRelease]) -> None:
    """Insert the accounts :func:`start_accounts` made of ``work`` (old ones already gone)."""
    insert_account_rows(inserts, account_rows(work.hazards, work.releases, results))


def insert_account_rows(inserts: Inserts, rows: tuple[list[Any], list[Any]]) -> None:
    """Insert :func:`~clearfield.store.accounts_worker.account_rows` (old ones already gone)."""
    inserts.add("hazard_account", _HAZARD_ACCOUNT, rows[0])
    inserts.add("release_account", _RELEASE_ACCOUNT, rows[1])


_HAZARD_ACCOUNT = ("entity_pk", "version_pk", *ACCOUNT_FIELDS)
_RELEASE_ACCOUNT = (
    "activity_pk",
    "hazard_pk",
    "category",
    "released_m2",
    "outside_m2",
    "end_date",
    "organisation",
)


PARALLEL_FROM = 20_000  # hazards; below this, starting worker processes costs more than it saves
_CHUNK = CHUNK  # hazards a worker accounts at a time (and sends back in one piece)
_WORKER = "clearfield.store.accounts_worker"
_ASKED = {
    "normalised": "a first load's normalised geometries",
    "checked": "a first load's quality checks",
    "load accounts": "a first load's land release accounting",
}


class _Worker:
    """One worker process (:mod:`~clearfield.store.accounts_worker`): what it is sent
    (:meth:`send`, :meth:`ask`) goes to it in order, and its answers come back one at a
    time: those it was asked for (:meth:`take`), then its accounts (:meth:`next`)."""

    def __init__(self) -> None:
        self.failed = False
        self._due: deque[str] = deque()  # what it was asked for and not yet taken
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        try:
            # the parent's import path, and not the working directory's modules (-P)
            path = os.pathsep.join(p for p in sys.path if p)
            self._proc = subprocess.Popen(
                [sys.executable, "-P", "-m", _WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors,
                env={**os.environ, "PYTHONPATH": path},
            )
        except BaseException:
            self._errors.close()
            raise
        self._threads: list[threading.Thread] = []
        try:
            # a thread feeds the worker and another takes its answers as they come: a
            # pipe holds 64 KiB, so a worker whose answers wait unread stops working
            self._answers: queue.SimpleQueue[Any] = queue.SimpleQueue()
            self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
            for target in (self._send, self._receive):
                thread = threading.Thread(target=target, daemon=True)
                thread.start()
                self._threads.append(thread)
        except BaseException:
            self.close()
            raise

    def send(self, message: tuple[Any, ...]) -> None:
        """Send a message (see :mod:`~clearfield.store.accounts_worker`), after those before."""
        self._outbox.put(message)

    def finish(self) -> None:
        """Nothing more will be sent."""
        self._outbox.put(None)

    def _send(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:  # (pickled here: the caller's GEOS work meanwhile runs without the lock)
            while (message := self._outbox.get()) is not None:
                work = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
                with contextlib.suppress(OSError):  # the worker died: its answers say why
                    stdin.write(work)
                    stdin.flush()  # (the worker may have to answer it before more comes)
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _receive(self) -> None:
        try:
            while True:
                self._answers.put(pickle.load(self._proc.stdout))  # type: ignore[arg-type]
        except Exception:  # (EOFError at the end) no more answers: finished, or failed
            self._answers.put(None)

    def ask(self, what: str, *args: Any) -> None:
        """Ask it for ``what`` (``"normalised"``, ``"checked"``, ``"load accounts"``),
        answered in turn."""
        self.send((what, *args))
        self._due.append(what)

    def take(self, what: str) -> Any:
        """Its answer to :meth:`ask` ``what``, waiting for it; the answers asked for
        before it and not taken are passed by."""
        if what not in self._due:
            raise RuntimeError(f"this worker was not asked for {what!r}, or it was taken already")
        while True:
            asked = self._due.popleft()
            answer = self._answer(_ASKED[asked])
            if asked == what:
                return answer

    def answered(self, n: int) -> bool:
        """Whether ``n`` answers (after those asked for and not taken) are in, or it failed."""
        return self._answers.qsize() >= n + len(self._due) or self._proc.poll() is not None

    def next(self) -> list[HazardRelease]:
        """The accounts of the next chunk, waiting for them."""
        while self._due:  # answers asked for that no one took come first: pass them by
            self.take(self._due[-1])
        return self._answer("land release accounting")  # type: ignore[no-any-return]

    def _answer(self, what: str) -> Any:
        answer = self._answers.get()
        if answer is not None:
            return answer
        self.failed = True
        if self._proc.poll() is None:  # alive, but its answers cannot be read
            self._proc.kill()
        self._proc.wait()
        self._errors.seek(0)
        lines = self._errors.read().decode(errors="replace").strip().splitlines()
        why = f"exit status {self._proc.returncode}" + (f": {lines[-1]}" if lines else "")
        raise StoreError(f"{what} failed in a worker process ({why})")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self.finish()  # (the sender stops: its writes fail from now on)
        for thread in self._threads:
            thread.join()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._errors.close()


class Accounting:
    """Accounts being computed: :meth:`result` waits for them.

    Many hazards (a whole programme, a first load) are accounted by worker processes,
    which start at once, so the caller can go on writing rows while they compute; they
    get the geometries as WKB and return accounts only. Few hazards are accounted in
    :meth:`result`, in this process.
    """

    def __init__(
        self,
        hazards: list[bytes],
        releases: list[list[ReleaseRow]],
        progress: Any,
        alongside: bool,
        first: _Worker | None = None,
        parallel: bool = True,
    ) -> None:
        """``first``: a worker started already (it checked a first load), to be the
        first of them, if any are started; they are then closed with the others (else
        its owner closes it). ``parallel=False``: no workers at all."""
        self._hazards, self._releases, self._progress = hazards, releases, progress
        n = len(hazards)
        self._chunks = [(a, min(a + _CHUNK, n)) for a in range(0, n, _CHUNK)]
        cores = os.cpu_count() or 1
        # alongside the caller's own work, one core is the caller's; else one worker
        # alone would only add the cost of starting it
        workers = min(cores - 1 if alongside else cores, 4, len(self._chunks))
        self._workers: list[_Worker] = []
        if not parallel or n < PARALLEL_FROM or workers < (1 if alongside else 2) or not sys.executable:  # fmt: skip
            return
        try:
            for w in range(workers):  # chunk k goes to worker k % workers
                worker = first if w == 0 and first is not None else _Worker()
                self._workers.append(worker)
                for a, b in self._chunks[w::workers]:
                    worker.send(("accounts", hazards[a:b], releases[a:b]))
                worker.finish()
        except OSError:  # no process could be started: the accounts are computed here
            workers, self._workers = self._workers, []
            for worker in workers:  # (but ``first`` has its checks to answer: its owner's)
                if worker is not first:
                    worker.close()
        except BaseException:
            self.close()
            raise

    def ready(self) -> bool:
        """Whether :meth:`result` would hardly wait: every worker has answered (or
        ended); never when this process computes the accounts."""
        n = len(self._workers)
        return n > 0 and all(
            w.answered(len(self._chunks[k::n])) for k, w in enumerate(self._workers)
        )

    @property
    def parallel(self) -> bool:
        """Whether worker processes compute these accounts (else :meth:`result` does)."""
        return bool(self._workers)

    def result(self) -> list[HazardRelease]:
        n = len(self._hazards)
        results: list[HazardRelease] = []
        try:
            for k, (a, b) in enumerate(self._chunks):
                chunk = None
                if self._workers:
                    worker = self._workers[k % len(self._workers)]
                    try:
                        chunk = None if worker.failed else worker.next()
                    except StoreError as exc:
                        log.warning("%s; its accounts are computed here instead", exc)
                if chunk is None:  # no worker, or one that failed
                    chunk = account_chunk(self._hazards[a:b], self._releases[a:b])
                results += chunk
                if self._progress is not None:
                    self._progress(b, n)
        finally:
            self.close()
        return results

    def write(self, inserts: Inserts, work: AccountInput) -> bool:
        """Insert the accounts (:meth:`result`) of ``work``, the input they were started
        from (numbered as the write numbers it); True."""
        write_accounts(inserts, work, self.result())
        return True

    def close(self) -> None:
        """Stop the workers: after :meth:`result`, or when the write they served failed."""
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()


class AccountsAhead:
    """The accounts of a first load, started from the versions before they are written
    (:meth:`SQLStore.account_ahead <clearfield.store.sql.SQLStore.account_ahead>`), and,
    into an empty store, its data quality checks, started while the file is parsed
    (:meth:`checking`, :meth:`check`).

    The input is numbered ahead of the write: entities 1, 2, ... in the order the
    versions name them (``numbers``), versions 1, 2, ... in order. The write numbers the
    same new entities in the same order, so only the numbers change (:meth:`input_for`),
    and into an empty store not even those."""

    def __init__(self, worker: _Worker | None = None) -> None:
        self._worker = worker  # the worker checking a first load, if one does
        self._checking = worker  # the same until its checks are taken
        self.guess: list[Any] = []  # the versions the accounts were started from
        self.today = ""  # the date of writing that undated releases take as their end
        self.numbers: dict[tuple[str, str], int] = {}  # entity number of (record type, id)
        self.work = AccountInput([], [])
        self.accounting: Accounting | LoadAccounts | None = None
        self.needed = 0  # the version pk after which its hazards' versions are all written

    @classmethod
    def checking(cls) -> AccountsAhead | None:
        """Start a worker that checks a first load into an empty store part by part
        (:meth:`check`); None when no process can be started."""
        if not sys.executable:
            return None
        try:
            return cls(_Worker())
        except OSError:
            return None

    def check(
        self,
        record_type: str,
        areal: bool,
        wkbs: list[bytes],
        records: list[Any],
        positions: list[int],
    ) -> None:
        """Have the worker check the next part of the load: ``records`` of one type with a
        geometry (``wkbs``), at these ``positions`` among the load's of their type. It
        keeps what the accounts of hazards and activities take from them (see
        :meth:`start`)."""
        if self._worker is None:
            return
        ids = [r.id for r in records]
        if record_type == "hazard":
            part = CheckPart(record_type, areal, wkbs, ids, None, positions, [r.counts for r in records])  # fmt: skip
        elif record_type == "activity":
            part = CheckPart(
                record_type,
                areal,
                wkbs,
                ids,
                [r.hazard_id for r in records],
                positions,
                [r.counts for r in records],
                [r.kind.value for r in records],
                [None if (d := r.info_date) is None else d.isoformat() for r in records],
                [r.organisation for r in records],
            )
        else:
            part = CheckPart(record_type, areal, wkbs, ids, None)
        self._worker.send(("check", *part))  # (plain: the worker's module is __main__)

    def start(
        self,
        versions: list[Any],
        today: str,
        numbers: dict[tuple[str, str], int],
        work: AccountInput | None,
        firsts: dict[str, int] | None = None,
    ) -> bool:
        """Account ``versions`` (a guess at what the write will be given), their records'
        entities numbered by ``numbers`` (1, 2, ... in order), from ``work``; whether
        worker processes do (else the write accounts them itself). The parts checked
        before are those of these versions. ``firsts``: the number of each record type's
        first version, when ``versions`` are the records of a first load in order of
        type, each type's in the order of the parts: the worker that checked the parts
        then accounts them itself, from what it was sent with them (``work`` is not
        needed), for a write that numbers them so (into an empty store)."""
        self.guess, self.today, self.numbers = list(versions), today, numbers
        if self._worker is not None:  # (the checks of all parts: it has them all now)
            self._worker.ask("normalised")
            self._worker.ask("checked")
            if firsts is not None:  # it has the accounts' input too: nothing more to send
                self._worker.ask("load accounts", firsts, today)
                self._worker.finish()
                self.accounting = LoadAccounts(self._worker)
                return True
        if work is None:
            if self._worker is not None:
                self._worker.finish()
            return False
        self.work = work
        accounting = start_accounts(work, alongside=True, first=self._worker)
        if accounting.parallel:
            self.accounting = accounting
        elif self._worker is not None:  # it has only the checks to answer: then it ends
            self._worker.finish()
        return self.accounting is not None

    def fits(self, versions: list[Any], today: str) -> bool:
        """Whether these accounts are those of writing ``versions`` on ``today``: versions
        of the same records, in the same order, with the same numbers, dates of
        information and geometries (the very WKB objects), all the accounting input is
        made of. (What the write then finds in the store it checks itself: a version
        that is no longer the next one refuses the write.)"""
        return self.accounting is not None and today == self.today and self._same(versions)

    def quality_for(self, versions: list[Any]) -> dict[str, tuple[Any, list[Any]]] | None:
        """The quality checks of ``versions`` by record type, ``(areas, flags)`` as
        :func:`~clearfield.domain.quality.check_records` gives them, if the worker ran
        them (a first load into an empty store) and ``versions`` are the guess; else
        None (the caller runs them itself). Taken once. Versions other than the guess
        stop the worker processes at once: nothing they compute will be used."""
        worker, self._checking = self._checking, None
        if worker is None or worker.failed:
            return None
        if not self._same(versions):
            self.close()
            return None
        return self._take(worker, "checked")  # type: ignore[no-any-return]

    def normalised(self) -> dict[str, list[bytes]] | None:
        """The normalised WKB of the areas its worker checked (:meth:`check`), by record
        type, in the order they were sent, once they are all sent (:meth:`start`); None
        if no worker checked them (the caller normalises them itself). Taken once."""
        worker = self._checking
        if worker is None or worker.failed:
            return None
        return self._take(worker, "normalised")  # type: ignore[no-any-return]

    def _take(self, worker: _Worker, what: str) -> Any:
        """The worker's answer to ``what``; None if it failed, which the log tells (the
        caller then does that work itself, and the write the rest)."""
        try:
            return worker.take(what)
        except StoreError as exc:
            done_here = "its checks and accounts are" if self.accounting is not None else "its checks are"  # fmt: skip
            log.warning("%s; %s computed here instead", exc, done_here)
            return None

    def _same(self, versions: list[Any]) -> bool:
        if len(versions) != len(self.guess):
            return False
        if all(map(operator.is_, versions, self.guess)):  # the guess itself, completed
            return True
        return all(
            nv.record is g.record
            and nv.version == g.version
            and nv.info_date == g.info_date
            and nv.wkb is g.wkb
            for nv, g in zip(versions, self.guess, strict=True)
        )

    def input_for(self, pks: dict[tuple[str, str], int], base: int) -> AccountInput:
        """The input numbered as the write numbers it: entities by ``pks``, versions
        after ``base``."""
        entity = [0, *(pks[key] for key in self.numbers)]
        return AccountInput(
            [(entity[e], base + v, wkb) for e, v, wkb in self.work.hazards],
            [(entity[h], entity[a], *rest) for h, a, *rest in self.work.releases],  # type: ignore[misc]
        )

    def close(self) -> None:
        """Stop the worker processes (the checking one too, whoever took it)."""
        accounting, worker = self.accounting, self._worker
        self.accounting = self._worker = self._checking = None
        if accounting is not None:
            accounting.close()
        if worker is not None:
            worker.close()


class LoadAccounts:
    """The accounts of a first load, computed by the worker that checked its parts, from
    what it was sent with them (:func:`~clearfield.store.accounts_worker.load_input`):
    it answers the rows that hold them. They fit a write that numbers the records as
    :meth:`AccountsAhead.start` was told (a first load into an empty store)."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker  # (its owner, the AccountsAhead, closes it)

    def ready(self) -> bool:
        """Whether :meth:`write` would hardly wait."""
        return self._worker.answered(0)

    def write(self, inserts: Inserts, work: AccountInput) -> bool:
        """Insert the accounts; False when the worker had none or failed (the log says
        why): the caller then accounts the hazards from the rows it wrote."""
        if self._worker.failed:  # (the log said so when it failed)
            return False
        try:
            rows = self._worker.take("load accounts")
        except StoreError as exc:
            log.warning("%s; its accounts are computed here instead", exc)
            return False
        if rows is None:
            log.warning("the worker had no accounts for this load; they are computed from its rows")  # fmt: skip
            return False
        insert_account_rows(inserts, rows)
        return True

    @property
    def failed(self) -> bool:
        """Whether its worker failed (then no other is started for these accounts)."""
        return self._worker.failed

    def close(self) -> None:
        """(The worker is its owner's to stop.)"""


def start_accounts(
    work: AccountInput,
    progress: Any = None,
    *,
    alongside: bool = False,
    first: _Worker | None = None,
    workers: bool = True,
) -> Accounting:
    """Start accounting ``work``'s hazards against their releases; ``alongside``: the
    caller goes on working until it asks for the result (it keeps a core); ``first``: a
    worker started already, to take the first share; ``workers=False``: none, the
    accounts are computed in this process."""
    hazards, releases = by_hazard(work.hazards, work.releases)
    return Accounting(hazards, releases, progress, alongside, first, workers)
