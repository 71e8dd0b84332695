"""The review workflow: draft → submitted → approved, or rejected with a reason.

Only approved records count anywhere. An approved record is not reopened by a
review: a correction arrives as a new version with its own date of information.
A rejected record may be resubmitted once fixed.

>>> check_transition(ReviewStatus.SUBMITTED, ReviewStatus.APPROVED, None, record="activity A1")
>>> check_transition(ReviewStatus.SUBMITTED, ReviewStatus.REJECTED, "", record="activity A1")
Traceback (most recent call last):
...
clearfield.errors.ReviewError: activity A1: a rejection needs a reason
"""

from __future__ import annotations

from clearfield.domain.enums import ReviewStatus
from clearfield.errors import ReviewError

__all__ = ["ALLOWED", "check_transition"]

ALLOWED: dict[ReviewStatus, frozenset[ReviewStatus]] = {
    ReviewStatus.DRAFT: frozenset({ReviewStatus.SUBMITTED}),
    ReviewStatus.SUBMITTED: frozenset({ReviewStatus.APPROVED, ReviewStatus.REJECTED}),
    ReviewStatus.REJECTED: frozenset({ReviewStatus.SUBMITTED}),
    ReviewStatus.APPROVED: frozenset(),
}


def check_transition(
    current: ReviewStatus, target: ReviewStatus, reason: str | None, *, record: str
) -> None:
    """Raise :class:`ReviewError` unless ``current`` may move to ``target``."""
    if target not in ALLOWED[current]:
        if current is ReviewStatus.APPROVED:
            why = "it is already approved; send a correction as a new version"
        elif current is target:
            why = f"it is already {current.value}"
        else:
            allowed = ", ".join(sorted(s.value for s in ALLOWED[current])) or "nothing"
            why = f"a {current.value} record can only become {allowed}"
        raise ReviewError(f"cannot make it {target.value}: {why}", record=record)
    if target is ReviewStatus.REJECTED and not (reason and reason.strip()):
        raise ReviewError("a rejection needs a reason", record=record)
