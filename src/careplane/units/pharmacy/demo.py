"""What ``seed --demo`` adds for Pharmacy: the prescriptions Virtual Care's demo signed, received as
the worker would receive them (the same handler, marked delivered), so the verification queue and
its pages have real work to show before any worker has run."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel.events import PENDING, EventDelivery, run_delivery
from careplane.settings import Settings
from careplane.units.pharmacy import handlers


def seed(session: Session, settings: Settings, rng: random.Random) -> None:
    name = f"{handlers.__name__}.{handlers.receive_signed_prescription.__qualname__}"
    for delivery in session.scalars(
        select(EventDelivery).where(EventDelivery.handler == name, EventDelivery.status == PENDING)
    ):
        run_delivery(session, delivery)
