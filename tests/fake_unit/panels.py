"""The fake unit's panels on kernel pages."""

from markupsafe import escape


def home(*, request, session, actor) -> str:  # noqa: ANN001
    return "<p>2 lab orders are waiting for you.</p>"


def chart(*, request, session, actor, patient) -> str:  # noqa: ANN001
    return f"<p>No lab results for MRN {escape(patient.mrn)} yet.</p>"


def portal(*, request, session, actor, patient) -> str:  # noqa: ANN001
    return "<p>Your lab results will appear here.</p>"
