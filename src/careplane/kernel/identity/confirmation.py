"""An account that signed itself up is held until its e-mail address is confirmed.

Anyone can sign up with any address, so until the link mailed to it has been opened the account
proves nothing about who holds it. Until then its web sessions see only the page asking to
confirm (:data:`CONFIRM_PAGE`, which can send a new link) and log out, and the API refuses it with
an ``email-unconfirmed`` problem. Accounts made by staff (every staff account) are vouched for by
whoever made them and are not held; a patient account made by staff is, until its owner opens the
link (a password-reset link confirms too: whoever opened it reads the mailbox).
"""

from __future__ import annotations

from datetime import datetime

from careplane.kernel.errors import CareplaneError
from careplane.kernel.identity.roles import Role

CONFIRM_PAGE = "/confirm-email"
#: New confirmation links one account may ask for per hour (each one is an e-mail).
RESENDS_PER_HOUR = 5


class EmailUnconfirmed(CareplaneError):
    status = 403
    title = "Confirm your e-mail address"
    type_slug = "email-unconfirmed"


def awaiting_confirmation(roles: frozenset[Role], email_verified_at: datetime | None) -> bool:
    """True for a patient's own account whose address nobody has confirmed yet."""
    return email_verified_at is None and roles == {Role.PATIENT}


def refuse_unconfirmed(email: str, roles: frozenset[Role], email_verified_at: datetime | None) -> None:
    if awaiting_confirmation(roles, email_verified_at):
        raise EmailUnconfirmed(
            f"Open the link we sent to {email} to start using your account; until then it can do nothing else. "
            f"A new link can be sent from {CONFIRM_PAGE} (logged in on the web)."
        )
