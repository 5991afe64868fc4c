import re
from datetime import timedelta

from sqlalchemy import select

from careplane.kernel import clock
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.service import RESET_MAILS_PER_HOUR
from careplane.kernel.mail import OutboxMail
from careplane.kernel.patients.models import Consent, Patient
from careplane.kernel.web import SESSION_COOKIE

from .test_pages import count, csrf

SIGNUP = {
    "given_name": "Rosa",
    "family_name": "Díaz",
    "birth_date": "1992-03-04",
    "sex_at_birth": "female",
    "state": "TX",
    "phone": "(512) 555-0199",
    "email": "Rosa.Diaz@example.org",
    "password": "a long enough passphrase",
    "consent_treatment": "on",
    "consent_hipaa_authorization": "on",
    "consent_telehealth": "on",
}


def test_self_registration_errors_keep_input_and_save_nothing(client, db):
    token = csrf(client)
    bad = {**SIGNUP, "state": "", "password": "short", "birth_date": "1850-01-01", "csrf_token": token}
    del bad["consent_hipaa_authorization"]
    response = client.post("/register", data=bad)
    assert response.status_code == 422
    for message in (
        "Choose the state you live in",
        "Use at least 12 characters",
        "more than 125 years",
        "HIPAA authorization is needed",
    ):
        assert message in response.text
    assert 'value="Rosa"' in response.text and 'value="Rosa.Diaz@example.org"' in response.text
    assert "a long enough passphrase" not in response.text and 'value="short"' not in response.text
    assert count(db, Patient) == 0 and count(db, User) == 0 and count(db, OutboxMail) == 0


def test_self_registration_creates_patient_user_consents_and_a_confirmation_mail(client, db):
    token = csrf(client)
    response = client.post("/register", data={**SIGNUP, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 200 and "Check your e-mail" in response.text
    assert SESSION_COOKIE not in response.cookies  # the patient logs in with the password they chose
    with db.unit_of_work() as s:
        patient = s.scalar(select(Patient))
        user = s.scalar(select(User))
        kinds = sorted(s.scalars(select(Consent.kind).where(Consent.patient_id == patient.id)))
        mail = s.scalar(select(OutboxMail))
    assert (patient.family_name, patient.family_name_norm, patient.state) == ("Díaz", "diaz", "TX")
    assert user.patient_id == patient.id and user.roles == {Role.PATIENT} and user.email == "rosa.diaz@example.org"
    assert user.email_verified_at is None
    assert kinds == ["hipaa_authorization", "telehealth", "treatment"]
    assert mail.to_address == "rosa.diaz@example.org" and "/verify-email/" in mail.body
    login = client.post(
        "/login", data={"email": SIGNUP["email"], "password": SIGNUP["password"], "csrf_token": csrf(client)}
    )
    # until the address is confirmed the account sees only the page asking for it (identity.confirmation)
    assert login.status_code == 200 and "Confirm your e-mail address" in login.text and patient.mrn not in login.text
    confirmed = client.get(re.search(r"https?://[^/\s]+(/verify-email/\S+)", mail.body).group(1))
    assert confirmed.status_code == 200
    home = client.get("/")
    assert home.status_code == 200 and patient.mrn in home.text and "My record" in home.text


def test_signing_up_with_an_address_that_has_an_account_looks_the_same_and_mails_its_owner(client, db):
    """The sign-up form must not tell a visitor who is a patient here (the login page does not
    either): the answer is the same page, and the owner of the address gets a mail instead."""
    token = csrf(client)
    first = client.post("/register", data={**SIGNUP, "csrf_token": token})
    again = client.post(
        "/register", data={**SIGNUP, "given_name": "Other", "email": "ROSA.diaz@example.org", "csrf_token": token}
    )
    assert again.status_code == first.status_code == 200
    assert again.text.replace("ROSA.diaz", "Rosa.Diaz") == first.text
    assert count(db, Patient) == 1 and count(db, User) == 1
    with db.unit_of_work() as s:
        mails = s.scalars(select(OutboxMail).order_by(OutboxMail.created_at)).all()
    assert [m.subject for m in mails] == ["Confirm your e-mail address", "You already have a careplane account"]
    assert "/password/reset/" in mails[1].body and mails[1].to_address == "rosa.diaz@example.org"
    for _ in range(5):  # the owner is not flooded: as many as password reset mails per hour
        client.post("/register", data={**SIGNUP, "csrf_token": token})
    assert count(db, OutboxMail) == 1 + RESET_MAILS_PER_HOUR


def test_my_record_edits_contact_details_only(client, login, register, db):
    a = register()
    me = login(Role.PATIENT, patient_id=a.id, via="cookie")
    client.cookies.update(me["cookies"])
    token = csrf(client)
    form = {
        "city": "Austin",
        "state": "TX",
        "postal_code": "78701",
        "phone": "512-555-0100",
        "email": "me@example.org",
        "language": "es",
        "preferred_channel": "sms",
        "allow_sms": "on",
        "family_name": "Hacked",
        "contact_0_name": "Lu Smith",
        "contact_0_relationship": "sister",
        "contact_0_phone": "5125550111",
        "csrf_token": token,
    }
    assert client.post("/my", data=form, follow_redirects=False).status_code == 303
    with db.unit_of_work() as s:
        p = s.get(Patient, a.id)
        assert (p.city, p.language, p.preferred_channel, p.family_name) == ("Austin", "es", "sms", "Smith")
        assert [c.name for c in p.emergency_contacts] == ["Lu Smith"]
    bad = client.post("/my", data={**form, "preferred_channel": "sms", "allow_sms": "", "phone": "12"})
    assert bad.status_code == 422 and "10-digit" in bad.text
    consent_id = None
    client.post("/my/consents", data={"kind": "telehealth", "csrf_token": token})
    with db.unit_of_work() as s:
        consent_id = s.scalar(select(Consent.id).where(Consent.patient_id == a.id))
    client.post(f"/my/consents/{consent_id}/revoke", data={"csrf_token": token})
    with db.unit_of_work() as s:
        assert s.get(Consent, consent_id).revoked_at is not None
    assert "Revoked" in client.get("/my").text


def test_staff_without_patient_record_gets_not_found_on_my(client, login):
    who = login(Role.CLINICIAN, via="cookie")
    client.cookies.update(who["cookies"])
    assert client.get("/my").status_code == 404


def test_self_registration_of_a_likely_duplicate_is_kept_for_review_without_disclosure(client, register, db):
    from careplane.kernel.patients.models import PossibleDuplicate

    existing = register(given_name="Rosa", family_name="Diaz", birth_date="1992-03-04", email=None, phone=None)
    token = csrf(client)
    response = client.post("/register", data={**SIGNUP, "csrf_token": token})
    assert response.status_code == 200 and "Check your e-mail" in response.text
    assert existing.mrn not in response.text
    with db.unit_of_work() as s:
        pair = s.scalar(select(PossibleDuplicate))
    assert pair.other_patient_id == existing.id and pair.status == "open"
    assert count(db, Patient) == 2


def test_the_login_page_leads_a_new_patient_to_self_registration(client):
    page = client.get("/login")
    assert '<a href="/register">Create your account</a>' in page.text
    assert client.get("/register").status_code == 200


def test_sign_ups_from_one_address_are_limited_per_window(client, db, settings):
    """Each accepted sign-up mails someone; a stream of them from one address is refused until the
    window has passed."""
    settings.signup_limit = 2
    token = csrf(client)
    for n in range(2):
        assert (
            client.post("/register", data={**SIGNUP, "email": f"p{n}@example.org", "csrf_token": token}).status_code
            == 200
        )
    third = client.post("/register", data={**SIGNUP, "email": "p2@example.org", "csrf_token": token})
    assert third.status_code == 429 and "Too many new accounts from your network" in third.text
    assert count(db, User) == 2
    # a form with errors is not counted, and is still answered with its errors
    assert client.post("/register", data={**SIGNUP, "state": "", "csrf_token": token}).status_code == 422
    clock.travel(clock.now() + timedelta(minutes=settings.signup_window_minutes + 1))
    assert client.post("/register", data={**SIGNUP, "email": "p2@example.org", "csrf_token": token}).status_code == 200
    assert count(db, User) == 3
