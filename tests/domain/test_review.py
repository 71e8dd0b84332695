from __future__ import annotations

import itertools

import pytest

from clearfield.domain.enums import ReviewStatus as S
from clearfield.domain.review import check_transition
from clearfield.errors import ReviewError

ALLOWED = {(S.DRAFT, S.SUBMITTED), (S.SUBMITTED, S.APPROVED), (S.SUBMITTED, S.REJECTED),
           (S.REJECTED, S.SUBMITTED)}  # fmt: skip


@pytest.mark.parametrize(("a", "b"), list(itertools.product(S, S)))
def test_only_the_workflow_transitions_are_allowed(a, b):
    if (a, b) in ALLOWED:
        check_transition(a, b, "reason", record="activity A")
    else:
        with pytest.raises(ReviewError, match="activity A: cannot make it"):
            check_transition(a, b, "reason", record="activity A")


def test_rejection_needs_a_reason():
    with pytest.raises(ReviewError, match="needs a reason"):
        check_transition(S.SUBMITTED, S.REJECTED, "  ", record="activity A")
