"""The stores' plan runs: the plans the server made, newest last.

A mixin of :class:`~clearfield.store.sql.SQLStore`. Plans are kept as the plan
file contract's JSON, so what the dashboard shows is what `clearfield plan verify`
checks.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.engine import Connection, Engine

__all__ = ["PlanRuns"]


class PlanRuns:
    engine: Engine
    _writing: Callable[[], AbstractContextManager[Connection]]

    def save_plan_run(
        self,
        actor: str,
        started_at: str,
        finished_at: str,
        summary: str,
        plan: str,
        baseline: str,
        problem: str,
    ) -> int:
        with self._writing() as conn:
            new_id = conn.exec_driver_sql(
                "INSERT INTO plan_run (actor, started_at, finished_at, summary, plan, baseline, "
                "problem) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (actor, started_at, finished_at, summary, plan, baseline, problem),
            ).scalar()
            return int(new_id)

    def latest_plan_run_id(self) -> int | None:
        with self.engine.connect() as conn:
            newest = conn.exec_driver_sql("SELECT MAX(id) FROM plan_run").scalar()
        return None if newest is None else int(newest)

    def latest_plan_run(self) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.exec_driver_sql("SELECT * FROM plan_run ORDER BY id DESC LIMIT 1")
                .mappings()
                .first()
            )
        return dict(row) if row else None
