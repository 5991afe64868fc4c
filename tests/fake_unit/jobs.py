"""The fake unit's event, event handler and scheduled job."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from careplane.kernel.events import DomainEvent, handles
from careplane.kernel.jobs import scheduled

HANDLED: list[str] = []
RUNS: list[str] = []


@dataclass(frozen=True)
class LabResulted(DomainEvent):
    order: str


@handles(LabResulted)
def note_result(session: Session, event: LabResulted) -> None:
    HANDLED.append(event.order)


@scheduled("fake_lab.sweep", every=timedelta(minutes=5))
def sweep(session: Session) -> None:
    RUNS.append("sweep")
