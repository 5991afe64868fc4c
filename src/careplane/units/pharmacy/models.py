"""Pharmacy's tables: the prescriptions it receives and what its pharmacists decide about them.

A prescription is the unit's own record of an order it must fill; while it waits for or is held by a
pharmacist it has a work item in the verification queue (``work_item_id``), and the item, not this
row, says who holds it, so the kernel's hand-over of a departing pharmacist's work moves it without
the two disagreeing. The state machine is :mod:`careplane.units.pharmacy.prescription_states`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from careplane.kernel.db import Base, IdMixin, TimestampMixin


class Prescription(IdMixin, TimestampMixin, Base):
    __tablename__ = "rx_prescriptions"
    __table_args__ = (
        # The same signed prescription delivered twice makes one row.
        UniqueConstraint("source", "source_id"),
        Index("ix_rx_prescriptions_patient_status", "patient_id", "status"),
    )

    #: What the pharmacy, the patient and the prescriber call it on the phone: ``RX-12345678``.
    rx_number: Mapped[str] = mapped_column(String(20), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    #: The product of the drug catalog, and its name as the prescriber signed it.
    drug_id: Mapped[str] = mapped_column(String(120))
    drug_name: Mapped[str] = mapped_column(String(200))
    sig: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[str] = mapped_column(String(20))
    refills: Mapped[int]
    prescriber_staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_members.id"))
    prescriber_npi: Mapped[str | None] = mapped_column(String(10))
    #: Where it came from: ``internal`` (signed in a Virtual Care visit), and that prescription's id.
    source: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(64))
    #: Two-letter code of the patient's state: the verifying pharmacist must be licensed there today.
    state: Mapped[str] = mapped_column(String(2))
    signed_at: Mapped[datetime]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: The safety checks' findings when it arrived: ``[{"kind", "severity", "message"}]``.
    alerts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    work_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("org_work_items.id"))
    verified_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_members.id"))
    verified_at: Mapped[datetime | None]
    #: Why it was rejected, or what the prescriber is asked; for an approval over a high alert, the override.
    reason: Mapped[str | None] = mapped_column(Text)
