"""Patients rate their completed visits 1-5; a condition shows its average once it has enough ratings
for the figure to mean something."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplane.kernel.access import Actor
from careplane.kernel.errors import Conflict, ValidationFailed
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services.access import audit_change, open_as_patient
from careplane.units.virtual_care.visit_states import move

#: A condition's average is shown from this many ratings.
SHOWN_FROM = 10


@dataclass(frozen=True)
class ConditionRating:
    average: float
    count: int


def rate(session: Session, actor: Actor, visit_id: uuid.UUID, stars: int, comment: str = "") -> Visit:
    """The patient rates their completed visit, once."""
    visit = open_as_patient(session, actor, visit_id, write=True, lock=True)
    move(visit.status, "rate")
    if visit.rating is not None:
        raise Conflict("You have already rated this visit. Thank you!")
    errors: dict[str, str] = {}
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        errors["rating"] = "Choose from 1 (poor) to 5 (excellent) stars."
    if len(comment) > 1000:
        errors["comment"] = "Keep the comment under 1,000 characters."
    if errors:
        raise ValidationFailed(errors)
    visit.rating, visit.rating_comment = stars, comment.strip() or None
    audit_change(session, actor, visit, "virtual_care.visit.rate")
    return visit


def by_condition(session: Session) -> dict[str, ConditionRating]:
    """Conditions with at least :data:`SHOWN_FROM` ratings, with their average (no patient data)."""
    rows = session.execute(
        select(Visit.condition_code, func.avg(Visit.rating), func.count(Visit.rating))
        .where(Visit.rating.is_not(None))
        .group_by(Visit.condition_code)
        .having(func.count(Visit.rating) >= SHOWN_FROM)
    )
    return {code: ConditionRating(round(float(avg), 1), count) for code, avg, count in rows}
