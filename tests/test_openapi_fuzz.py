"""Schemathesis over the whole OpenAPI document, against the ASGI app, with the API token of an
administrator who is also a clinician: no answer is a 5xx, and every status and content type an operation
answers is one its documentation lists. Marked ``slow``: a bounded number of examples per
operation (``CAREPLANE_FUZZ_EXAMPLES``, default 25) on each engine.

The same run from the command line, against a running server: docs/development.md."""

from __future__ import annotations

import os

import pyotp
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from careplane.kernel.patients import service
from tests.helpers import api_token, bearer, home_unit
from tests.kernel.patients.conftest import SYSTEM, patient_data

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("CAREPLANE_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@pytest.fixture
def token(db) -> str:  # noqa: ANN001
    """An administrator who is also a clinician (organisation, audit and patients), and a patient."""
    with db.unit_of_work() as s:
        service.register_patient(s, SYSTEM, patient_data(), confirm_not_duplicate=True)
        user = create_user(
            s,
            email="fuzz@example.org",
            display_name="Fuzz",
            roles=[Role.ADMINISTRATOR, Role.CLINICIAN],
            unit=home_unit([Role.CLINICIAN]),
            mfa_secret=pyotp.random_base32(),
            email_verified=True,
        )
    return api_token(db, user)


def test_the_api_answers_only_what_it_documents(app, token):  # noqa: ANN001
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @given(case=cases)
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def answers_as_documented(case) -> None:  # noqa: ANN001
            case.call_and_validate(headers=bearer(token), checks=CHECKS)

        try:
            answers_as_documented()
        except Exception as failure:  # noqa: BLE001 - every operation's failures, reported together
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
