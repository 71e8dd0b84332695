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

__all__ = ["ALLOWED", "check_transition", "review_tag"]

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
        # already where it was asked to go, or approved: someone reviewed it first (a
        # conflict, 409), not a request that could never have been right
        conflict = current is target or current is ReviewStatus.APPROVED
        if current is ReviewStatus.APPROVED:
            why = "it is already approved; send a correction as a new version"
        elif current is target:
            why = f"it is already {current.value}"
        else:
            allowed = ", ".join(sorted(s.value for s in ALLOWED[current])) or "nothing"
            why = f"a {current.value} record can only become {allowed}"
        raise ReviewError(
            f"cannot make it {target.value}: {why}",
            record=record,
            code="CONFLICT" if conflict else None,
        )
    if reason is not None and not isinstance(reason, str):
        raise ReviewError(f"the reason must be text, not {type(reason).__name__}", record=record)
    if target is ReviewStatus.REJECTED and not (reason and reason.strip()):
        raise ReviewError("a rejection needs a reason", record=record)


def review_tag(version: int, status: ReviewStatus) -> str:
    """What a reviewer saw of a record, to send back with the review (``If-Match``): a
    review of a record whose tag has moved since is refused, never applied blindly.

    >>> review_tag(3, ReviewStatus.SUBMITTED)
    '3-submitted'
    """
    return f"{version}-{status.value}"
