"""The task state machine as one table: every legal (state, action) pair and where it leads."""

from __future__ import annotations

from enum import StrEnum

from shared.errors import Conflict


class Status(StrEnum):
    """Where an interview task stands."""

    OPEN = "open"
    OFFERED = "offered"
    COMPLETED = "completed"
    DECLINED = "declined"
    NOT_POSSIBLE = "not_possible"
    NOT_OFFERED = "not_offered"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """What can happen to a task: the first five are people's, the last two the system's."""

    OFFER = "offer"
    COMPLETE = "complete"
    DECLINE = "decline"
    NOT_POSSIBLE = "not_possible"
    NOT_OFFER = "not_offer"
    SUPERSEDE = "supersede"
    CANCEL = "cancel"


ACTIVE = frozenset({Status.OPEN, Status.OFFERED})  # the interview may still happen; deadlines run

TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.OPEN, Action.OFFER): Status.OFFERED,
    (Status.OPEN, Action.COMPLETE): Status.COMPLETED,
    (Status.OFFERED, Action.COMPLETE): Status.COMPLETED,
    (Status.OPEN, Action.DECLINE): Status.DECLINED,
    (Status.OFFERED, Action.DECLINE): Status.DECLINED,
    (Status.OPEN, Action.NOT_POSSIBLE): Status.NOT_POSSIBLE,
    (Status.OFFERED, Action.NOT_POSSIBLE): Status.NOT_POSSIBLE,
    (Status.OPEN, Action.NOT_OFFER): Status.NOT_OFFERED,
    (Status.OPEN, Action.SUPERSEDE): Status.SUPERSEDED,
    (Status.OFFERED, Action.SUPERSEDE): Status.SUPERSEDED,
    (Status.OPEN, Action.CANCEL): Status.CANCELLED,
    (Status.OFFERED, Action.CANCEL): Status.CANCELLED,
}


class IllegalTransition(Conflict):
    """The action is not allowed from the task's current state (409, naming the state)."""

    def __init__(self, current: Status, action: Action) -> None:
        allowed = sorted(s.value for (s, a) in TRANSITIONS if a is action)
        super().__init__(
            f"the task is {current.value}; '{action.value}' is allowed only when it is {' or '.join(allowed)}"
        )
        self.current = current
        self.action = action


def can(current: Status, action: Action) -> bool:
    """Whether the action is legal from the state."""
    return (current, action) in TRANSITIONS


def after(current: Status, action: Action) -> Status:
    """The state an action leads to, or IllegalTransition."""
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise IllegalTransition(current, action) from None
