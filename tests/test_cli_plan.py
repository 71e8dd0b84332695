"""The real `clearfield plan` and `clearfield psplib` commands in a subprocess, on a real
SQLite file: plan, verify, re-plan, plan a problem file, and bad files."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from test_cli import cf


@pytest.fixture(scope="module")
def planned(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], Path]:
    import os

    tmp = tmp_path_factory.mktemp("cliplan")
    env = dict(os.environ, CLEARFIELD_DATABASE=database_url, COLUMNS="200")
    cf(env, "scenario", "--scale", "0.02", "--seed", "3")
    p = cf(
        env,
        "plan",
        "--time-limit",
        "2",
        "--out",
        tmp / "plan.json",
        "--baseline-out",
        tmp / "base.json",
        "--problem-out",
        tmp / "problem.json",
        "--json",
    )
    summary = json.loads(p.stdout)
    assert summary["verified"] is True
    assert summary["benefit"] >= summary["baseline_benefit"]
    assert summary["benefit"] <= summary["upper_bound"] * (1 + 1e-9)
    return env, tmp


def test_plans_verify_from_the_files_alone(planned: tuple[dict[str, str], Path]) -> None:
    env, tmp = planned
    for name in ("plan.json", "base.json"):
        p = cf(env, "plan", "verify", tmp / "problem.json", tmp / name, "--json")
        verdict = json.loads(p.stdout)
        assert verdict["feasible"] and verdict["violations"] == []
        claimed = json.loads((tmp / name).read_text())["benefit"]
        assert verdict["benefit"] == pytest.approx(claimed, rel=1e-9)


def test_a_tampered_plan_is_rejected(planned: tuple[dict[str, str], Path]) -> None:
    env, tmp = planned
    plan = json.loads((tmp / "plan.json").read_text())
    a = max(plan["assignments"], key=lambda a: a["start_day"])
    a["start_day"] -= 0.5  # too short now, and maybe overlapping its predecessor
    (tmp / "bad.json").write_text(json.dumps(plan))
    p = cf(env, "plan", "verify", tmp / "problem.json", tmp / "bad.json", ok=False)
    assert p.returncode == 1
    assert a["task"] in p.stdout


def test_plan_a_problem_file_and_replan(planned: tuple[dict[str, str], Path]) -> None:
    env, tmp = planned
    cf(env, "plan", "--problem-in", tmp / "problem.json", "--time-limit", "1", "--out", tmp / "again.json")  # fmt: skip
    cf(env, "plan", "verify", tmp / "problem.json", tmp / "again.json")
    start = json.loads((tmp / "plan.json").read_text())["start_date"]
    day = (date.fromisoformat(start) + timedelta(days=3)).isoformat()
    p = cf(
        env,
        "plan",
        "--replan",
        tmp / "plan.json",
        "--as-of",
        day,
        "--time-limit",
        "1",
        "--out",
        tmp / "replan.json",
        "--problem-out",
        tmp / "replan-problem.json",
        "--json",
    )
    assert json.loads(p.stdout)["verified"] is True
    cf(env, "plan", "verify", tmp / "replan-problem.json", tmp / "replan.json")
    # work under way on the re-plan day keeps its team and times
    before = {a["task"]: a for a in json.loads((tmp / "plan.json").read_text())["assignments"]}
    fixed = [t for t in json.loads((tmp / "replan-problem.json").read_text())["tasks"] if t.get("fixed")]  # fmt: skip
    after = {a["task"]: a for a in json.loads((tmp / "replan.json").read_text())["assignments"]}
    for t in fixed:
        was, now = before[t["id"]], after[t["id"]]
        assert (was["team"], was["start_day"], was["end_day"]) == (now["team"], now["start_day"], now["end_day"])  # fmt: skip


def test_bad_plan_files_fail_cleanly(planned: tuple[dict[str, str], Path]) -> None:
    env, tmp = planned
    (tmp / "junk.json").write_text("{not json")
    p = cf(env, "plan", "verify", tmp / "junk.json", tmp / "plan.json", ok=False)
    assert p.returncode == 1 and "junk.json" in p.stderr and "Traceback" not in p.stderr
    p = cf(env, "plan", "--problem-in", tmp / "missing.json", ok=False)
    assert p.returncode == 1 and "missing.json" in p.stderr and "Traceback" not in p.stderr
    p = cf(env, "plan", "--replan", tmp / "plan.json", "--as-of", "1999-01-01", ok=False)
    assert p.returncode == 1 and "horizon" in p.stderr
