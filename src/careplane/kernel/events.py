"""Domain events through a transactional outbox.

A service calls :func:`publish` inside its own transaction: the event row, and one delivery row
per registered handler, commit with the change or not at all. The worker
(:mod:`careplane.kernel.worker`) later claims one due delivery at a time (SKIP LOCKED), counts
the attempt in a short transaction of its own, then locks the delivery again and runs its handler
in the same transaction that marks it done. Delivery is at least once (a worker that dies
mid-handler never commits, so the delivery runs again after its backoff); the handler's database
effects happen exactly once because they commit together with the done mark.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import json
import random
import types
import typing
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, delete, exists, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, Session, mapped_column

from careplane.kernel import clock, units
from careplane.kernel.db import Base, Database, IdMixin
from careplane.kernel.errors import Conflict, NotFound
from careplane.kernel.jobs import scheduled

PENDING = "pending"
DONE = "done"
DEAD = "dead"
STATUSES = (PENDING, DONE, DEAD)

#: Longest wait between two attempts of one delivery.
MAX_BACKOFF = timedelta(hours=1)
#: Fully delivered events are kept this long (for tracing), then pruned.
RETENTION = timedelta(days=30)


# ---------------------------------------------------------------- tables


class OutboxEvent(IdMixin, Base):
    __tablename__ = "event_outbox"

    name: Mapped[str] = mapped_column(String(300), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)


class EventDelivery(IdMixin, Base):
    """One handler's copy of one event: the unit the worker claims, retries and dead-letters."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "handler"),
        # The claim query: pending rows in due order.
        Index("ix_event_deliveries_claim", "status", "next_attempt_at"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("event_outbox.id", ondelete="CASCADE"))
    handler: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_error: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]


# ---------------------------------------------------------------- events and their payloads


@dataclasses.dataclass(frozen=True)
class DomainEvent:
    """Base of every event. Subclasses are frozen dataclasses whose fields are JSON-able:
    str, int, float, bool, UUID, date, datetime, enums, optional values and tuples/lists of them."""

    @classmethod
    def event_name(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _EVENT_TYPES[cls.event_name()] = cls

    def to_payload(self) -> dict[str, Any]:
        return {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DomainEvent:
        hints = typing.get_type_hints(cls)
        return cls(**{f.name: _decode(hints[f.name], payload.get(f.name)) for f in dataclasses.fields(cls)})


_EVENT_TYPES: dict[str, type[DomainEvent]] = {}


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float)):  # bool is an int
        return value
    if isinstance(value, enum.Enum):
        return _encode(value.value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("event datetimes must be timezone-aware (use careplane.kernel.clock.now())")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    raise TypeError(f"event field value of type {type(value).__name__} is not JSON-able")


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    if origin in (list, tuple):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        items = [_decode(args[0], v) if args else v for v in value]
        return tuple(items) if origin is tuple else items
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            return hint(value)
        if hint is uuid.UUID:
            return uuid.UUID(value)
        if hint is datetime:
            return datetime.fromisoformat(value)
        if hint is date:
            return date.fromisoformat(value)
    return value


def event_type(name: str) -> type[DomainEvent]:
    """The event class for a stored name, importing its module when this process has not yet."""
    if name not in _EVENT_TYPES:
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            try:
                importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
    try:
        return _EVENT_TYPES[name]
    except KeyError:
        raise LookupError(f"unknown event type {name!r}") from None


# ---------------------------------------------------------------- handlers

Handler = Callable[[Session, Any], None]
#: A ``transaction=False`` handler: called with the database, no transaction open.
OutsideHandler = Callable[[Database, Any], None]
H = TypeVar("H", bound=Handler | OutsideHandler)

#: event name -> handler name -> function
_HANDLERS: dict[str, dict[str, Handler | OutsideHandler]] = {}


#: (event name, handler name) of the handlers that run outside any transaction.
_OUTSIDE_TRANSACTION: set[tuple[str, str]] = set()


def handles(event_cls: type[DomainEvent], name: str | None = None, *, transaction: bool = True) -> Callable[[H], H]:
    """Register ``fn(session, event)`` to run (at least once, after commit) for every published ``event_cls``.

    The handler runs in the transaction that marks its delivery done: write only through that
    session and the effect happens once. It has ``Settings.worker_handler_timeout_seconds``: one that
    takes longer is stopped (its transaction rolled back) and counts as a failed attempt.

    A handler that waits on the world (an SMTP server, an HTTP call) must not hold a transaction,
    and its locks, meanwhile: register it with ``transaction=False`` and it is called as
    ``fn(db, event)`` with no transaction open, to open its own short units of work; its delivery is
    marked done in a transaction after it returns. It must be idempotent by itself (a retry after a
    crash runs it again), and it is leased for its time limit so no other worker runs it meanwhile.
    """

    def register(fn: H) -> H:
        handler_name = name or f"{fn.__module__}.{fn.__qualname__}"
        registered = _HANDLERS.setdefault(event_cls.event_name(), {})
        existing = registered.get(handler_name)
        if existing is not None and (existing.__module__, existing.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"handler name {handler_name!r} is already taken for {event_cls.event_name()}")
        registered[handler_name] = fn
        if not transaction:
            _OUTSIDE_TRANSACTION.add((event_cls.event_name(), handler_name))
        return fn

    return register


def runs_in_transaction(session: Session, delivery: EventDelivery) -> bool:
    """Whether the delivery's handler runs in the transaction that marks it done (the default)."""
    event_name = session.scalar(select(OutboxEvent.name).where(OutboxEvent.id == delivery.event_id))
    return (event_name, delivery.handler) not in _OUTSIDE_TRANSACTION


def handlers_for(event_name: str) -> dict[str, Handler | OutsideHandler]:
    return dict(_HANDLERS.get(event_name, {}))


def handler(event_name: str, handler_name: str) -> Handler:
    """A handler that runs in a transaction (the default), called as ``fn(session, event)``."""
    return cast(Handler, _registered(event_name, handler_name))


def outside_handler(event_name: str, handler_name: str) -> OutsideHandler:
    """A ``transaction=False`` handler, called as ``fn(db, event)``."""
    return cast(OutsideHandler, _registered(event_name, handler_name))


def _registered(event_name: str, handler_name: str) -> Handler | OutsideHandler:
    try:
        return _HANDLERS[event_name][handler_name]
    except KeyError:
        raise LookupError(f"no handler {handler_name!r} is registered for {event_name}") from None


_wiring_loaded = False


def _forget_wiring() -> None:
    global _wiring_loaded
    _wiring_loaded = False


units.on_change(_forget_wiring)  # newly installed units' handlers are loaded at the next publish


def _load_wiring() -> None:
    # Publishing from a web process must know every handler, not only those its routes imported.
    global _wiring_loaded
    if not _wiring_loaded:
        from careplane import wiring

        wiring.load_all()
        _wiring_loaded = True


# ---------------------------------------------------------------- publishing


def publish(session: Session, event: DomainEvent) -> uuid.UUID:
    """Record ``event`` and a delivery per registered handler in the caller's transaction."""
    if not isinstance(event, DomainEvent) or not dataclasses.is_dataclass(event):
        raise TypeError("publish() takes an instance of a DomainEvent dataclass")
    _load_wiring()
    name = event.event_name()
    payload = event.to_payload()
    json.dumps(payload)  # refuse now, not in the worker, anything that will not store
    now = clock.now()
    row = OutboxEvent(id=uuid.uuid4(), name=name, payload=payload, occurred_at=now)
    session.add(row)
    session.flush()
    session.add_all(
        EventDelivery(event_id=row.id, handler=h, status=PENDING, attempts=0, next_attempt_at=now)
        for h in sorted(handlers_for(name))
    )
    session.flush()
    return row.id


# ---------------------------------------------------------------- delivering (used by the worker)


def claim_due_delivery(session: Session) -> EventDelivery | None:
    """Lock one due pending delivery for this transaction; others skip it (SKIP LOCKED on
    PostgreSQL; on SQLite the transaction already holds the write lock)."""
    return session.scalar(
        select(EventDelivery)
        .where(EventDelivery.status == PENDING, EventDelivery.next_attempt_at <= clock.now())
        .order_by(EventDelivery.next_attempt_at, EventDelivery.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def start_attempt(delivery: EventDelivery, worker: str, max_attempts: int, *, lease: timedelta | None = None) -> bool:
    """Count an attempt before its handler runs; the caller commits this on its own.

    A worker that dies mid-handler (killed, out of memory, a crashing extension) rolls back the
    handler's transaction, but the attempt stays counted and the delivery is leased until its
    backoff: so a handler that kills every worker is retried with backoff and then dead-lettered,
    instead of stopping every worker that picks it up. Returns False (and marks it dead) when the
    attempts are used up. ``lease``: no other worker takes the delivery up for at least this long
    (for a handler that holds no row lock while it runs, see ``handles(transaction=False)``).
    """
    now = clock.now()
    if delivery.attempts >= max_attempts:
        delivery.status = DEAD
        return False
    delivery.attempts += 1
    delivery.next_attempt_at = now + max(backoff(delivery.attempts), lease or timedelta(0))
    # Overwritten by the attempt's outcome; stays only if the worker never got to record one.
    delivery.last_error = (
        f"attempt {delivery.attempts} started by worker {worker} at {now:%Y-%m-%d %H:%M:%S} UTC did not finish "
        "(the worker stopped while the handler ran)"
    )
    return True


def lock_started(session: Session, delivery_id: uuid.UUID, attempt: int) -> EventDelivery | None:
    """Lock a delivery whose attempt this worker started, unless it has moved on (replayed meanwhile).

    This waits rather than skips: the only other holder can be another worker's claim query, which
    on PostgreSQL may lock a row it then rejects as no longer due, for the length of its short claim.
    """
    return session.scalar(
        select(EventDelivery)
        .where(EventDelivery.id == delivery_id, EventDelivery.status == PENDING, EventDelivery.attempts == attempt)
        .with_for_update()
    )


def event_of(session: Session, delivery: EventDelivery) -> tuple[str, DomainEvent]:
    """The name of the delivery's event, and the event."""
    row = session.get(OutboxEvent, delivery.event_id)
    if row is None:
        raise LookupError(f"event {delivery.event_id} of delivery {delivery.id} is missing")
    return row.name, event_type(row.name).from_payload(row.payload)


def mark_done(delivery: EventDelivery) -> None:
    delivery.status = DONE
    delivery.completed_at = clock.now()
    delivery.last_error = None


def run_delivery(session: Session, delivery: EventDelivery) -> None:
    """Run the delivery's handler in ``session`` and mark it done; raises what the handler raises."""
    name, event = event_of(session, delivery)
    handler(name, delivery.handler)(session, event)
    mark_done(delivery)


def backoff(attempts: int) -> timedelta:
    """Exponential (2**attempts seconds), capped, with +-20% jitter so failures do not retry in step."""
    base = min(2.0**attempts, MAX_BACKOFF.total_seconds())
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def record_failure(delivery: EventDelivery, error: str, max_attempts: int) -> None:
    """The started attempt failed: dead-letter it when the attempts are used up, else retry after backoff."""
    delivery.last_error = error[:4000]
    if delivery.attempts >= max_attempts:
        delivery.status = DEAD
    else:
        delivery.next_attempt_at = clock.now() + backoff(delivery.attempts)


def record_failure_by_id(session: Session, delivery_id: uuid.UUID, attempt: int, error: str, max_attempts: int) -> bool:
    """Record a failure in a fresh transaction, unless the delivery has moved on meanwhile."""
    delivery = lock_started(session, delivery_id, attempt)
    if delivery is None:
        return False
    record_failure(delivery, error, max_attempts)
    return True


# ---------------------------------------------------------------- operating (pages and CLI)


def delivery_counts(session: Session) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in session.execute(select(EventDelivery.status, func.count()).group_by(EventDelivery.status)):
        counts[status] = count
    return counts


def oldest_pending_at(session: Session) -> datetime | None:
    """When the longest-waiting pending delivery was due: how far behind the workers are."""
    return session.scalar(select(func.min(EventDelivery.next_attempt_at)).where(EventDelivery.status == PENDING))


def dead_deliveries(session: Session, limit: int = 200) -> list[tuple[EventDelivery, OutboxEvent]]:
    return deliveries_in(session, DEAD, limit=limit)


def deliveries_in(session: Session, status: str, limit: int = 200) -> list[tuple[EventDelivery, OutboxEvent]]:
    """Deliveries with ``status`` (e.g. PENDING: not yet done, retries included), newest event first."""
    rows = session.execute(
        select(EventDelivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.id == EventDelivery.event_id)
        .where(EventDelivery.status == status)
        .order_by(OutboxEvent.occurred_at.desc())
        .limit(limit)
    )
    return [(d, e) for d, e in rows]


def replay(session: Session, delivery_id: uuid.UUID) -> EventDelivery:
    """Send a dead delivery back to the queue with a fresh attempt budget."""
    delivery = session.get(EventDelivery, delivery_id, with_for_update=True)
    if delivery is None:
        raise NotFound("There is no such event delivery.")
    if delivery.status != DEAD:
        raise Conflict(f"Only dead deliveries can be replayed; this one is {delivery.status}.")
    delivery.status = PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = clock.now()
    return delivery


def replay_all_dead(session: Session) -> int:
    # An UPDATE's result is a CursorResult (which has the rowcount); Session.execute is typed for any statement.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(EventDelivery)
            .where(EventDelivery.status == DEAD)
            .values(status=PENDING, attempts=0, next_attempt_at=clock.now())
        ),
    )
    return result.rowcount or 0


def prune_delivered(session: Session, older_than: timedelta = RETENTION) -> int:
    """Delete events older than ``older_than`` whose every delivery is done; pending and dead ones stay."""
    unfinished = exists().where(EventDelivery.event_id == OutboxEvent.id, EventDelivery.status != DONE)
    ids = select(OutboxEvent.id).where(OutboxEvent.occurred_at < clock.now() - older_than, ~unfinished)
    doomed = list(session.scalars(ids))
    for start in range(0, len(doomed), 500):
        chunk = doomed[start : start + 500]
        session.execute(delete(EventDelivery).where(EventDelivery.event_id.in_(chunk)))
        session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(chunk)))
    return len(doomed)


@scheduled("events.prune_delivered", cron="17 3 * * *")
def prune_delivered_job(session: Session) -> None:
    prune_delivered(session)
