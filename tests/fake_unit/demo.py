"""What ``seed --demo`` adds for the fake unit: an open lab order in its queue."""

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import work
from careplane.kernel.work.models import WorkItem
from careplane.settings import Settings


def seed(session: Session, settings: Settings, rng: random.Random) -> None:
    queue = work.queue_by_key(session, "fake_lab.orders")  # made by careplane org seed from the declaration
    if session.scalar(select(WorkItem.id).where(WorkItem.queue_id == queue.id)) is None:
        work.create_item(session, queue.id, kind="lab_order", title="Draw a lipid panel")
