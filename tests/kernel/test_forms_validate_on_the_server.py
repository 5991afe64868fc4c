"""Forms behave one way: the server validates and shows the error summary; no form leaves a check to
the browser's `required` alone (a form with required fields says `novalidate`, so the server's
messages, not the browser's bubbles, are what people see)."""

from __future__ import annotations

import re
from pathlib import Path

import careplane

TEMPLATES = Path(careplane.__file__).parent / "templates"
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)


def test_every_form_with_required_fields_is_validated_on_the_server():
    offenders = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        for form in FORM.findall(template.read_text()):
            opening = form[: form.index(">") + 1]
            if re.search(r"\srequired[\s>=]|required=true", form) and "novalidate" not in opening:
                offenders.append(f"{template.relative_to(TEMPLATES)}: {opening}")
    assert offenders == []


def test_a_missing_csv_file_is_a_field_error_with_the_summary(client, db):
    from careplane.kernel.identity.roles import Role
    from tests.helpers import login

    login(client, db, role=Role.OPERATIONS_LEAD)
    client.get("/org/staff/import")
    from careplane.kernel.web import CSRF_COOKIE

    answer = client.post(
        "/org/staff/import",
        data={"csrf_token": client.cookies.get(CSRF_COOKIE)},
        files={"file": ("empty.csv", b"", "text/csv")},
    )
    assert answer.status_code == 422
    assert 'id="error-summary"' in answer.text and 'href="#f-file"' in answer.text
    assert 'id="f-file-error"' in answer.text and "Choose a CSV file" in answer.text
