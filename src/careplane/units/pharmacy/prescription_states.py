"""The life of a received prescription, as one table: which decision may happen in which state.

A pharmacist approves it (``verified``), rejects it, or asks the prescriber a question
(``contact_prescriber``); after asking, they still approve or reject it when the answer comes.
Approval and rejection are final, so a double click or a replayed request never decides twice.
"""

from __future__ import annotations

from enum import StrEnum

from careplane.kernel.errors import Conflict


class RxStatus(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    REJECTED = "rejected"
    CONTACT_PRESCRIBER = "contact_prescriber"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    RxStatus.RECEIVED: "waiting for verification",
    RxStatus.VERIFIED: "verified",
    RxStatus.REJECTED: "rejected",
    RxStatus.CONTACT_PRESCRIBER: "waiting for the prescriber",
}

R = RxStatus
#: Where each decision may be taken, and where it leads.
TRANSITIONS: dict[str, tuple[frozenset[RxStatus], RxStatus]] = {
    "approve": (frozenset({R.RECEIVED, R.CONTACT_PRESCRIBER}), R.VERIFIED),
    "reject": (frozenset({R.RECEIVED, R.CONTACT_PRESCRIBER}), R.REJECTED),
    "contact_prescriber": (frozenset({R.RECEIVED}), R.CONTACT_PRESCRIBER),
}
_VERBS = {"approve": "approved", "reject": "rejected", "contact_prescriber": "sent to the prescriber"}
#: States in which a pharmacist may hold it (its work item is open).
OPEN = frozenset({R.RECEIVED, R.CONTACT_PRESCRIBER})


def claim_refusal(current: str) -> str | None:
    """Why a prescription in ``current`` may not be claimed (it is decided), or None."""
    if RxStatus(current) in OPEN:
        return None
    return f"This prescription is {RxStatus(current).label}; there is nothing left to verify."


def move(current: str, action: str) -> RxStatus:
    """The state ``action`` leads to from ``current``, or :class:`Conflict` saying why it may not happen."""
    allowed, target = TRANSITIONS[action]
    if RxStatus(current) not in allowed:
        raise Conflict(f"This prescription is {RxStatus(current).label}; it cannot be {_VERBS[action]}.")
    return target
