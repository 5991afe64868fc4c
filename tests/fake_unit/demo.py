"""What ``seed --demo`` adds for the fake unit: an open lab order in its queue."""

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel.org import work
from careplane.kernel.org.models import WorkItem, WorkQueue
from careplane.settings import Settings


def seed(session: Session, settings: Settings, rng: random.Random) -> None:
    queue = session.scalar(select(WorkQueue).where(WorkQueue.name == "Lab orders"))
    if session.scalar(select(WorkItem.id).where(WorkItem.queue_id == queue.id)) is None:
        work.create_item(session, queue.id, kind="lab_order", title="Draw a lipid panel")
