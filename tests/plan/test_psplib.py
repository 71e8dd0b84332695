"""PSPLIB: parsing both formats, published optima, the CLI contract and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from clearfield.cli_psplib import psplib_app
from clearfield.errors import ClearfieldError
from clearfield.plan.psplib import (
    InstanceError,
    NoScheduleError,
    parse_instance,
    read_instance,
    solve_instance,
    to_problem,
    warm_start,
)
from clearfield.plan.scheduling import Schedule, solve

DATA = Path(__file__).parents[1] / "data" / "psplib"
REFERENCE = json.loads((DATA / "reference.json").read_text())
J30 = ["j301_1", "j3010_1", "j3011_1", "j3017_1", "j3025_1", "j3033_1"]
J60 = ["j601_1", "j6010_1"]
SMALL_MM_OPTIMUM = 6  # by brute force over every mode choice and start (small.mm's comment)


def check_instance(path: Path, result: dict, modes: dict[str, int] | None = None) -> None:
    """Independent check of a PSPLIB answer against the file itself (text, not our parser).

    Single-mode only unless ``modes`` is given; the contract does not carry modes.
    """
    inst = read_instance(path)
    starts = {int(j): s for j, s in result["starts"].items()}
    assert sorted(starts) == list(range(1, len(inst.successors) + 1))
    pick = {j: (modes or {}).get(str(j), 0) for j in starts}
    dur = {j: inst.modes[j][pick[j]][0] for j in starts}
    for a, succ in inst.successors.items():
        for b in succ:
            assert starts[b] >= starts[a] + dur[a], f"{b} starts before {a} ends"
    makespan = max(starts[j] + dur[j] for j in starts)
    for r, (name, cap) in enumerate(zip(inst.resources, inst.availabilities, strict=True)):
        use = [(inst.modes[j][pick[j]][1][r], starts[j], starts[j] + dur[j]) for j in starts]
        if name.startswith("R"):
            for t in range(makespan):
                assert sum(q for q, s, e in use if s <= t < e) <= cap, f"{name} over at {t}"
        else:
            assert sum(q for q, _, _ in use) <= cap, f"{name} over budget"
    assert result["makespan"] == makespan
    assert result["lower_bound"] <= makespan


@pytest.mark.parametrize("name", J30)
def test_j30_reaches_the_published_optimum(name):
    path = DATA / f"{name}.sm"
    result = solve_instance(path, time_limit=10)
    check_instance(path, result)
    assert result["makespan"] == REFERENCE[name]["makespan"]
    assert result["optimal"] and result["lower_bound"] == result["makespan"]


@pytest.mark.parametrize("name", J60)
def test_j60_is_feasible_and_never_worse_than_the_reference(name):
    path = DATA / f"{name}.sm"
    result = solve_instance(path, time_limit=5)
    check_instance(path, result)
    ref = REFERENCE[name]
    assert result["lower_bound"] <= ref["makespan"] <= result["makespan"] or result["optimal"]
    assert result["makespan"] <= ref["makespan"]


def test_the_contract_has_exactly_its_keys_and_file_job_numbers():
    result = solve_instance(DATA / "j3010_1.sm", time_limit=10)
    assert list(result) == ["makespan", "lower_bound", "optimal", "starts"]
    assert list(result["starts"]) == [str(j) for j in range(1, 33)]
    assert result["starts"]["1"] == 0


def test_small_multi_mode_instance_optimum():
    path = DATA / "small.mm"
    inst = read_instance(path)
    assert inst.resources == ["R1", "N1"] and inst.availabilities == [2, 4]
    assert [len(inst.modes[j]) for j in range(1, 7)] == [1, 2, 2, 2, 2, 1]
    problem = to_problem(inst)
    s = solve(problem, time_limit=10)
    assert s.optimal and s.objective == SMALL_MM_OPTIMUM
    result = {"makespan": s.objective, "lower_bound": s.bound, "starts": s.starts}
    check_instance(path, result, s.modes)
    assert solve_instance(path, time_limit=10)["makespan"] == SMALL_MM_OPTIMUM


def test_sm_rewritten_as_mm_has_the_same_optimum():
    mm = solve_instance(DATA / "j3011_1.mm", time_limit=10)
    sm = solve_instance(DATA / "j3011_1.sm", time_limit=10)
    assert mm["optimal"] and sm["optimal"]
    assert mm["makespan"] == sm["makespan"] == REFERENCE["j3011_1"]["makespan"]
    check_instance(DATA / "j3011_1.mm", mm)
    assert to_problem(read_instance(DATA / "j3011_1.mm")).budgets == {"N1": 33}


def test_warm_start_is_a_feasible_schedule():
    problem = to_problem(read_instance(DATA / "j601_1.sm"))
    hint = warm_start(problem)
    assert isinstance(hint, Schedule) and hint.status == "FEASIBLE"
    result = {"makespan": hint.objective, "lower_bound": 0, "starts": hint.starts}
    check_instance(DATA / "j601_1.sm", result)


def test_same_seed_and_workers_give_the_same_answer():
    path = DATA / "j3017_1.sm"
    first, second = (solve_instance(path, 10, workers=2, seed=3) for _ in range(2))
    assert first["makespan"] == second["makespan"] and first["optimal"] == second["optimal"]


# --- bad files ----------------------------------------------------------------------

GOOD = (DATA / "j3010_1.sm").read_text()


def _edit(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


BAD = {
    "truncated": (GOOD[: GOOD.index("REQUESTS/DURATIONS")], "no 'REQUESTS/DURATIONS' section"),
    "unknown successor": (
        _edit("   5        1          1           8", "   5        1          1          99"),
        r"bad\.sm:23: job 5 has an unknown successor 99",
    ),
    "successor count": (
        _edit("   5        1          1           8", "   5        1          2           8"),
        r"bad\.sm:23: precedence row needs",
    ),
    "not a number": (
        _edit("  7      1     9       5    0    5   10", "  7      1     x       5    0    5   10"),
        r"bad\.sm:\d+: not a row of integers",
    ),
    "short request row": (
        _edit("  7      1     9       5    0    5   10", "  7      1     9       5    0    5"),
        r"bad\.sm:\d+: expected 7 numbers, found 6",
    ),
    "missing job": (
        _edit(" 32      1     0       0    0    0    0\n", ""),
        "job 32 has 0 modes, 1 declared",
    ),
    "availabilities": (
        _edit("   24   23   25   33", "   24   23   25"),
        "expected one row of 4 resource availabilities",
    ),
    "cycle": (
        _edit("  32        1          0        ", "  32        1          1           1"),
        "precedence cycle",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_name_the_file_line_and_reason(case, tmp_path):
    text, message = BAD[case]
    path = tmp_path / "bad.sm"
    path.write_text(text)
    with pytest.raises(InstanceError, match=message) as info:
        solve_instance(path, time_limit=1)
    assert isinstance(info.value, ClearfieldError) and info.value.code == "BAD_INSTANCE"
    assert "bad.sm" in str(info.value)


def test_missing_file_is_an_instance_error(tmp_path):
    with pytest.raises(InstanceError, match="cannot read"):
        read_instance(tmp_path / "nope.sm")


def test_parse_instance_from_text_names_the_source():
    with pytest.raises(InstanceError, match=r"^x\.mm"):
        parse_instance("nothing here", "x.mm")


# --- the CLI ------------------------------------------------------------------------


def test_cli_json_prints_the_contract():
    res = CliRunner().invoke(psplib_app, ["solve", str(DATA / "j3010_1.sm"), "--json"])
    assert res.exit_code == 0, res.output
    body = orjson.loads(res.stdout)
    assert body["makespan"] == REFERENCE["j3010_1"]["makespan"] and body["optimal"] is True


def test_cli_summary():
    res = CliRunner().invoke(psplib_app, ["solve", str(DATA / "small.mm"), "--time-limit", "5"])
    assert res.exit_code == 0, res.output
    assert "small.mm: makespan 6 (optimal)" in res.stdout


def test_cli_bad_file_exits_2_with_one_line(tmp_path):
    path = tmp_path / "bad.sm"
    path.write_text(BAD["unknown successor"][0])
    res = CliRunner().invoke(psplib_app, ["solve", str(path)])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "job 5 has an unknown successor 99" in lines[0]
    res = CliRunner().invoke(psplib_app, ["solve", str(path), "--json"])
    assert res.exit_code == 2 and orjson.loads(res.stdout)["error"] == "BAD_INSTANCE"


def test_an_infeasible_instance_says_so(tmp_path):
    path = tmp_path / "tight.mm"
    path.write_text((DATA / "small.mm").read_text().replace("    2    4\n", "    0    4\n"))
    with pytest.raises(NoScheduleError, match=r"tight\.mm: instance is infeasible"):
        solve_instance(path, time_limit=5)
