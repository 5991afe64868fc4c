"""Events the patient registry publishes."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from careplane.kernel.events import DomainEvent


@dataclasses.dataclass(frozen=True)
class PatientsMerged(DomainEvent):
    """Two registrations were found to be one person and ``merged_id`` was folded into ``survivor_id``
    (HL7 v2 ADT^A40, FHIR ``Patient.link`` replaced-by). Published in the merge's own transaction.

    The registry has already moved what it owns: consents, emergency contacts, portal accounts and
    the possible-duplicate pairs. The merged record is kept, inactive, and its id keeps answering
    (``replaced_by``), so nothing that still holds it breaks. A unit that keeps rows naming a patient
    (visits, prescriptions, claims, work items ...) handles this event to re-point its own rows from
    ``merged_id`` to ``survivor_id``, idempotently (a second delivery finds nothing left to move).
    Records that were merged into ``merged_id`` earlier now name ``survivor_id`` too; their own
    events were published when they merged, so a handler needs only this pair.

    The organisation handles it for its work queues (``careplane.kernel.work.patient_merges``: items
    of the merged record move to the survivor). A unit that comes to keep patient rows registers its
    own handler with ``@handles(PatientsMerged)`` in its ``events.py`` (listed in ``careplane.wiring``).
    """

    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    survivor_mrn: str
    merged_mrn: str
    merged_at: datetime
    #: The reviewed possible-duplicate pair, when the merge came from one.
    pair_id: uuid.UUID | None = None
