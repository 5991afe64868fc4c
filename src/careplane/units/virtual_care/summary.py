"""A completed visit as the patient keeps it: the page in the portal and the PDF they print are
built from the same :class:`Summary`, so they cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from careplane.kernel.identity.models import User
from careplane.kernel.money import Money
from careplane.kernel.org.models import StaffMember
from careplane.kernel.patients.models import Patient
from careplane.kernel.pdf import Pdf
from careplane.kernel.state_zones import zone_of_state
from careplane.units.virtual_care import diagnoses, intake
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services.visits import condition_of
from careplane.units.virtual_care.visit_states import VisitStatus


@dataclass(frozen=True)
class Summary:
    patient_name: str
    birth_date: str
    condition: str
    visit_type: str
    completed_at: datetime
    clinician: str
    diagnoses: list[tuple[str, str]]
    plan: str
    prescriptions: list[tuple[str, str, str, int]]  # drug, sig, quantity, refills
    answers: list[tuple[str, str]]
    paid: Money
    follow_up_until: datetime | None
    zone: str


def summary_of(session: Session, visit: Visit) -> Summary | None:
    """The summary of a completed visit (None before it is completed)."""
    if visit.status != VisitStatus.COMPLETED.value or visit.closed_at is None:
        return None
    patient = session.get(Patient, visit.patient_id)
    staff = session.get(StaffMember, visit.clinician_staff_id) if visit.clinician_staff_id else None
    user = session.get(User, staff.user_id) if staff else None
    assert patient is not None
    credentials = f", {', '.join(staff.credentials)}" if staff and staff.credentials else ""
    condition = condition_of(visit)
    return Summary(
        patient_name=patient.legal_name,
        birth_date=f"{patient.birth_date:%m/%d/%Y}",
        condition=condition.name,
        visit_type=f"{visit.visit_type.capitalize()} visit",
        completed_at=visit.closed_at,
        clinician=f"{user.display_name if user else 'Clinician'}{credentials}",
        diagnoses=[(code, diagnoses.describe(code)) for code in visit.diagnoses],
        plan=visit.plan or "",
        prescriptions=[(p.drug_name, p.sig, p.quantity, p.refills) for p in visit.prescriptions],
        answers=[(item.text, intake.display(item, answer)) for item, answer in intake.asked(condition, visit.answers)],
        paid=visit.price or Money.zero(),
        follow_up_until=visit.follow_up_until,
        zone=zone_of_state(visit.state).key,
    )


def summary_pdf(summary: Summary) -> bytes:
    zone = ZoneInfo(summary.zone)
    pdf = Pdf(
        f"Visit summary: {summary.condition}",
        f"{summary.patient_name} (born {summary.birth_date}) - {summary.visit_type} "
        f"completed {summary.completed_at.astimezone(zone):%B %d, %Y} by {summary.clinician}",
    )
    pdf.heading("Diagnosis")
    pdf.rows([(code, text) for code, text in summary.diagnoses], label_width=24)
    pdf.heading("Your treatment plan")
    pdf.paragraph(summary.plan)
    if summary.prescriptions:
        pdf.heading("Prescriptions")
        for drug, sig, quantity, refills in summary.prescriptions:
            pdf.rows([("Medicine", drug), ("Directions", sig), ("Quantity", f"{quantity}, {refills} refill(s)")])
    pdf.heading("What you told us")
    pdf.rows(summary.answers, label_width=100)
    pdf.heading("Payment and follow-up")
    follow = (
        f"You may message your clinician free of charge until {summary.follow_up_until.astimezone(zone):%B %d, %Y}."
        if summary.follow_up_until
        else ""
    )
    pdf.rows([("Paid", summary.paid.format()), ("Follow-up", follow)])
    pdf.paragraph(
        "If your symptoms get worse or do not improve as expected, see a clinician in person. In an emergency call 911."
    )
    return pdf.bytes()
