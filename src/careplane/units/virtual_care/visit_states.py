"""The life of a visit, as one table: which action may happen in which state, and where it leads.

Every change of a visit's status goes through :func:`move`, which refuses an action the visit's
state does not allow with the reason (``This visit is completed; it cannot be claimed.``), so a
double click, a stale page or a replayed request never moves a visit backwards or twice.
"""

from __future__ import annotations

from enum import StrEnum

from careplane.kernel.errors import Conflict


class VisitStatus(StrEnum):
    #: The patient is answering the intake (resumable).
    INTAKE = "intake"
    #: The intake is complete; the price is shown and waits for the card.
    AWAITING_PAYMENT = "awaiting_payment"
    #: Paid (authorised), waiting in the queue for a clinician licensed in the patient's state.
    QUEUED = "queued"
    #: A video visit paid (authorised) and booked for a time with a clinician, who holds it.
    BOOKED = "booked"
    #: A clinician holds it (a video visit: the clinician has started the call).
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    #: The clinician found it needs in-person care: no charge.
    REFERRED_OUT = "referred_out"
    #: An intake answer needs emergency or in-person care: ended with advice, no charge.
    ENDED_WITH_ADVICE = "ended_with_advice"
    #: The patient withdrew it before a clinician took it: no charge.
    CANCELLED = "cancelled"
    #: The patient did not join their video visit: recorded, no charge (see docs/units/virtual-care.md).
    NO_SHOW = "no_show"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    VisitStatus.INTAKE: "answering questions",
    VisitStatus.AWAITING_PAYMENT: "waiting for payment",
    VisitStatus.QUEUED: "waiting for a clinician",
    VisitStatus.BOOKED: "booked",
    VisitStatus.IN_PROGRESS: "with a clinician",
    VisitStatus.COMPLETED: "completed",
    VisitStatus.REFERRED_OUT: "referred to in-person care",
    VisitStatus.ENDED_WITH_ADVICE: "ended with advice",
    VisitStatus.CANCELLED: "cancelled",
    VisitStatus.NO_SHOW: "missed (no-show)",
}

S = VisitStatus

#: action -> (the states it may happen in, the state it leads to; None: decided by the action)
TRANSITIONS: dict[str, tuple[frozenset[VisitStatus], VisitStatus | None]] = {
    "answer": (frozenset({S.INTAKE, S.AWAITING_PAYMENT}), S.INTAKE),
    "submit": (frozenset({S.INTAKE}), None),  # AWAITING_PAYMENT, or ENDED_WITH_ADVICE on a red flag
    "pay": (frozenset({S.AWAITING_PAYMENT}), S.QUEUED),
    "claim": (frozenset({S.QUEUED}), S.IN_PROGRESS),
    "release": (frozenset({S.IN_PROGRESS}), S.QUEUED),
    "complete": (frozenset({S.IN_PROGRESS}), S.COMPLETED),
    "refer": (frozenset({S.IN_PROGRESS}), S.REFERRED_OUT),
    "cancel": (frozenset({S.INTAKE, S.AWAITING_PAYMENT, S.QUEUED, S.BOOKED}), S.CANCELLED),
    "rate": (frozenset({S.COMPLETED}), S.COMPLETED),
    # video visits
    "book": (frozenset({S.AWAITING_PAYMENT}), S.BOOKED),
    "reschedule": (frozenset({S.BOOKED}), S.BOOKED),
    "check_in": (frozenset({S.BOOKED, S.IN_PROGRESS}), None),  # stays where it is
    "join": (frozenset({S.BOOKED, S.IN_PROGRESS}), None),  # stays where it is
    "start": (frozenset({S.BOOKED}), S.IN_PROGRESS),
    "no_show": (frozenset({S.BOOKED, S.IN_PROGRESS}), S.NO_SHOW),
}

_VERBS = {
    "answer": "changed",
    "submit": "submitted",
    "pay": "paid for",
    "claim": "claimed",
    "release": "given back to the queue",
    "complete": "completed",
    "refer": "referred out",
    "cancel": "cancelled",
    "rate": "rated",
    "book": "booked",
    "reschedule": "rescheduled",
    "check_in": "checked in to",
    "join": "joined",
    "start": "started",
    "no_show": "marked as missed",
}

#: States a visit does not leave.
CLOSED = frozenset({S.COMPLETED, S.REFERRED_OUT, S.ENDED_WITH_ADVICE, S.CANCELLED, S.NO_SHOW})
#: States in which the visit is waiting for or held by a clinician (it has an open work item).
WITH_CLINICIANS = frozenset({S.QUEUED, S.IN_PROGRESS})


def refusal(status: str, action: str) -> str | None:
    """Why ``action`` may not happen to a visit in ``status``, or None."""
    allowed, _ = TRANSITIONS[action]
    if VisitStatus(status) in allowed:
        return None
    return f"This visit is {VisitStatus(status).label}; it cannot be {_VERBS[action]}."


def move(current: str, action: str, to: VisitStatus | None = None) -> VisitStatus:
    """The state ``action`` leads to from ``current`` (``to`` where the action decides), or
    :class:`Conflict` with the reason."""
    if reason := refusal(current, action):
        raise Conflict(reason)
    allowed_target = TRANSITIONS[action][1]
    target = to if allowed_target is None else allowed_target
    if target is None:
        raise ValueError(f"action {action} needs the state it leads to")
    return target
