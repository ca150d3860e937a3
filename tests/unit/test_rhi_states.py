"""The task state machine: every (state, action) pair is either in the table or a 409 naming the state."""

from __future__ import annotations

import itertools

import pytest

from services.rhi_tracker.states import ACTIVE, Action, IllegalTransition, Status, after, can

S, A = Status, Action
LEGAL = {
    (S.OPEN, A.OFFER): S.OFFERED,
    (S.OPEN, A.COMPLETE): S.COMPLETED,
    (S.OFFERED, A.COMPLETE): S.COMPLETED,
    (S.OPEN, A.DECLINE): S.DECLINED,
    (S.OFFERED, A.DECLINE): S.DECLINED,
    (S.OPEN, A.NOT_POSSIBLE): S.NOT_POSSIBLE,
    (S.OFFERED, A.NOT_POSSIBLE): S.NOT_POSSIBLE,
    (S.OPEN, A.NOT_OFFER): S.NOT_OFFERED,
    (S.OPEN, A.SUPERSEDE): S.SUPERSEDED,
    (S.OFFERED, A.SUPERSEDE): S.SUPERSEDED,
    (S.OPEN, A.CANCEL): S.CANCELLED,
    (S.OFFERED, A.CANCEL): S.CANCELLED,
}
ALL_PAIRS = list(itertools.product(Status, Action))


@pytest.mark.parametrize(("state", "action"), ALL_PAIRS, ids=[f"{s}-{a}" for s, a in ALL_PAIRS])
def test_every_pair(state: Status, action: Action) -> None:
    if (state, action) in LEGAL:
        assert can(state, action)
        assert after(state, action) is LEGAL[(state, action)]
    else:
        assert not can(state, action)
        with pytest.raises(IllegalTransition) as exc:
            after(state, action)
        assert exc.value.status == 409
        assert f"the task is {state.value}" in exc.value.detail


def test_only_open_and_offered_tasks_move() -> None:
    assert {s for s, _ in LEGAL} == set(ACTIVE) == {S.OPEN, S.OFFERED}
    closed = set(Status) - ACTIVE
    assert all(not can(s, a) for s in closed for a in Action), "closed states are final"


def test_the_409_says_where_the_action_is_allowed() -> None:
    with pytest.raises(IllegalTransition, match="the task is completed; 'offer' is allowed only when it is open"):
        after(S.COMPLETED, A.OFFER)
    with pytest.raises(IllegalTransition, match="'complete' is allowed only when it is offered or open"):
        after(S.DECLINED, A.COMPLETE)
