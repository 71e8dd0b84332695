"""PSPLIB instances: the planner's scheduling core on public problems with known optima.

Reads the original PSPLIB formats — ``.sm`` (single mode, RCPSP) and ``.mm`` (multi
mode, MRCPSP: renewable ``R`` and non-renewable ``N`` resources) — into a
``SchedulingProblem`` and solves it for the shortest makespan. ``solve_instance``
returns the contract of ``clearfield psplib solve``::

    {"makespan": int, "lower_bound": int, "optimal": bool, "starts": {"1": 0, ...}}

Jobs keep the file's numbers (the dummy source and sink included). A malformed file
raises ``InstanceError`` naming the file, the line and the reason.

The warm start is the serial SGS with a few priority rules, each improved by
forward-backward justification; CP-SAT then starts from the best one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from clearfield.errors import ClearfieldError
from clearfield.plan.scheduling import (
    Job,
    Mode,
    Schedule,
    SchedulingProblem,
    priority_rule,
    serial_sgs,
    solve,
)

__all__ = [
    "Instance",
    "InstanceError",
    "NoScheduleError",
    "parse_instance",
    "read_instance",
    "solve_instance",
    "to_problem",
    "warm_start",
]


class InstanceError(ClearfieldError):
    """A PSPLIB file cannot be read; ``record`` is ``file:line``."""

    code = "BAD_INSTANCE"


class NoScheduleError(ClearfieldError):
    """The instance is infeasible, or no schedule was found within the time limit."""

    code = "NO_SCHEDULE"


@dataclass(frozen=True, slots=True)
class Instance:
    """One PSPLIB project as written in the file; jobs are numbered 1..n."""

    name: str
    horizon: int
    successors: dict[int, list[int]]
    modes: dict[int, list[tuple[int, list[int]]]]  # job -> [(duration, requests per resource)]
    resources: list[str]  # "R1", "R2", "N1", ...
    availabilities: list[int]


_RESOURCE = re.compile(r"([RND])\s*(\d+)")


class _Lines:
    """The file's lines with their numbers, so every error can say where it is."""

    def __init__(self, text: str, source: str):
        self.lines = text.splitlines()
        self.source = source
        self.i = 0

    def error(self, reason: str, line: int | None = None) -> InstanceError:
        n = self.i if line is None else line
        return InstanceError(reason, record=f"{self.source}:{n}")

    def find(self, prefix: str) -> str:
        """Advance to the line starting with ``prefix`` (spaces ignored) and return it."""
        key = prefix.replace(" ", "").lower()
        while self.i < len(self.lines):
            line = self.lines[self.i]
            self.i += 1
            if line.replace(" ", "").lower().startswith(key):
                return line
        raise InstanceError(f"no {prefix.strip()!r} section", record=self.source)

    def value(self, prefix: str) -> int:
        line = self.find(prefix)
        found = re.search(r":\s*(-?\d+)", line)
        if not found:
            raise self.error(f"{prefix.strip()!r} has no number")
        return int(found.group(1))

    def rows(self) -> list[tuple[int, list[int]]]:
        """Numeric rows up to the next ``****`` line, skipping headers and dashes."""
        out = []
        while self.i < len(self.lines):
            line = self.lines[self.i].strip()
            self.i += 1
            if line.startswith("*"):
                break
            if not line or line.startswith("-") or not line[0].isdigit():
                continue
            try:
                out.append((self.i, [int(x) for x in line.split()]))
            except ValueError:
                raise self.error(f"not a row of integers: {line!r}") from None
        return out


def parse_instance(text: str, source: str = "<instance>") -> Instance:
    """Parse a ``.sm`` or ``.mm`` file's text; ``source`` names it in errors."""
    f = _Lines(text, source)
    n = f.value("jobs (incl. supersource/sink")
    horizon = f.value("horizon")
    if n < 1 or horizon < 0:
        raise f.error(f"bad job count {n} or horizon {horizon}")
    doubly = re.search(r"doubly constrained\s*:\s*(\d+)", text)
    if doubly and int(doubly.group(1)):
        raise InstanceError("doubly constrained resources are not supported", record=source)
    f.i = 0
    f.find("PRECEDENCE RELATIONS")
    successors: dict[int, list[int]] = {}
    n_modes: dict[int, int] = {}
    for line, row in f.rows():
        if len(row) < 3 or len(row) != 3 + row[2]:
            raise f.error("precedence row needs job, #modes, #successors, successors", line)
        job, count, _, *succ = row
        if job != len(successors) + 1:
            raise f.error(f"job {job} out of order, expected {len(successors) + 1}", line)
        if count < 1:
            raise f.error(f"job {job} has {count} modes", line)
        for s in succ:
            if not 1 <= s <= n or s == job:
                raise f.error(f"job {job} has an unknown successor {s}", line)
        successors[job], n_modes[job] = succ, count
    if len(successors) != n:
        raise f.error(f"{len(successors)} precedence rows for {n} jobs")
    header = f.find("REQUESTS/DURATIONS")
    header = f.lines[f.i] if f.i < len(f.lines) else header
    resources = [f"{kind}{num}" for kind, num in _RESOURCE.findall(header.split("duration")[-1])]
    if not resources:
        raise f.error("no resource columns in the REQUESTS/DURATIONS header", f.i + 1)
    modes: dict[int, list[tuple[int, list[int]]]] = {}
    job = 0
    for line, row in f.rows():
        if len(row) == 3 + len(resources):
            job, mode, *rest = row
            if job != len(modes) + 1 or job > n:
                raise f.error(f"job {job} out of order, expected {len(modes) + 1}", line)
            modes[job] = []
        elif len(row) == 2 + len(resources) and job and len(modes[job]) < n_modes[job]:
            mode, *rest = row
        else:
            raise f.error(f"expected {3 + len(resources)} numbers, found {len(row)}", line)
        if mode != len(modes[job]) + 1:
            raise f.error(f"job {job}: mode {mode} out of order", line)
        if rest[0] < 0 or any(q < 0 for q in rest[1:]):
            raise f.error(f"job {job} mode {mode}: negative duration or request", line)
        modes[job].append((rest[0], rest[1:]))
    for j in range(1, n + 1):
        if len(modes.get(j, [])) != n_modes[j]:
            raise f.error(f"job {j} has {len(modes.get(j, []))} modes, {n_modes[j]} declared")
    f.find("RESOURCEAVAILABILITIES")
    rows = f.rows()
    if len(rows) != 1 or len(rows[0][1]) != len(resources):
        raise f.error(f"expected one row of {len(resources)} resource availabilities")
    name = Path(source).stem
    return Instance(name, horizon, successors, modes, resources, rows[0][1])


def read_instance(path: str | Path) -> Instance:
    """Read a PSPLIB file; a missing or unreadable file is an ``InstanceError`` too."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InstanceError(f"cannot read: {exc.strerror}", record=str(p)) from None
    return parse_instance(text, str(p))


def to_problem(inst: Instance) -> SchedulingProblem:
    """The instance as a makespan problem: ``R`` resources renewable, ``N`` a budget."""
    jobs = []
    for j in range(1, len(inst.successors) + 1):
        modes = []
        for duration, req in inst.modes[j]:
            demands = {r: q for r, q in zip(inst.resources, req, strict=True) if r[0] == "R" and q}
            consumes = {r: q for r, q in zip(inst.resources, req, strict=True) if r[0] == "N" and q}
            modes.append(Mode(duration, demands=demands, consumes=consumes))
        jobs.append(Job(str(j), tuple(modes)))
    pairs = zip(inst.resources, inst.availabilities, strict=True)
    available = dict(pairs)
    longest = sum(max(d for d, _ in inst.modes[j]) for j in inst.modes)
    return SchedulingProblem(
        jobs=jobs,
        horizon=max(inst.horizon, longest),  # some files' horizons are too tight for bad modes
        objective="makespan",
        precedences=[(str(a), str(b)) for a, succ in inst.successors.items() for b in succ],
        capacities={r: q for r, q in available.items() if r[0] == "R"},
        budgets={r: q for r, q in available.items() if r[0] == "N"},
    )


def _reverse(problem: SchedulingProblem, sched: Schedule) -> SchedulingProblem:
    """The same jobs, each in its chosen mode, with every precedence turned round."""
    jobs = [replace(job, modes=(job.modes[sched.modes[job.id]],)) for job in problem.jobs]
    return replace(problem, jobs=jobs, precedences=[(b, a) for a, b in problem.precedences])


def _justify(problem: SchedulingProblem, sched: Schedule, rounds: int = 4) -> Schedule:
    """Forward-backward improvement: schedule right to left by latest finish, then left to
    right by earliest start, while the makespan shrinks (Valls et al., 2005)."""
    fixed_modes = replace(
        problem, jobs=[replace(j, modes=(j.modes[sched.modes[j.id]],)) for j in problem.jobs]
    )
    backward = _reverse(problem, sched)
    durations = {j.id: j.modes[0].duration for j in fixed_modes.jobs}
    best = sched
    for _ in range(rounds):
        ends = {j: s + durations[j] for j, s in best.starts.items()}
        back = serial_sgs(backward, sorted(ends, key=lambda j: (-ends[j], j)))
        if back.status != "FEASIBLE":
            break
        starts = {j: back.objective - s - durations[j] for j, s in back.starts.items()}
        fwd = serial_sgs(fixed_modes, sorted(starts, key=lambda j: (starts[j], j)))
        if fwd.status != "FEASIBLE" or fwd.objective >= best.objective:
            break
        best = replace(fwd, modes=sched.modes)
    return best


def warm_start(problem: SchedulingProblem) -> Schedule | None:
    """The best serial SGS schedule over a few priority rules, each justified."""
    rules = [priority_rule(problem)]
    succ_count: dict[str, int] = {j.id: 0 for j in problem.jobs}
    for a, _ in problem.precedences:
        succ_count[a] += 1
    rules.append(sorted(rules[0], key=lambda j: -succ_count[j]))  # most immediate successors
    best = None
    for rule in rules:
        s = serial_sgs(problem, rule)
        if s.status != "FEASIBLE":
            continue
        s = _justify(problem, s)
        if best is None or s.objective < best.objective:
            best = s
    return best


def solve_instance(
    path: str | Path, time_limit: float, workers: int = 2, seed: int = 0
) -> dict[str, object]:
    """Solve a PSPLIB file for the shortest makespan and return the CLI's JSON contract."""
    inst = read_instance(path)
    problem = to_problem(inst)
    try:
        hint = warm_start(problem)
        result = solve(problem, time_limit=time_limit, workers=workers, seed=seed, hint=hint)
    except ValueError as exc:  # e.g. a precedence cycle: the file's fault
        raise InstanceError(str(exc), record=str(path)) from None
    if not result.starts:
        reason = "is infeasible" if result.status == "INFEASIBLE" else "has no schedule yet"
        raise NoScheduleError(
            f"instance {reason} ({result.status} after {time_limit:g} s)", record=str(path)
        )
    return {
        "makespan": result.objective,
        "lower_bound": result.bound,
        "optimal": result.optimal,
        "starts": {j: result.starts[j] for j in sorted(result.starts, key=int)},
    }
