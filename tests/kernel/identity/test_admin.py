import re

from sqlalchemy import select

from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity.models import RecoveryCode, User
from careplane.kernel.identity.roles import Role

from .conftest import PASSWORD, code_for, full_login, link_in, load_user, log_in, mails_to, make_user, post

NEW_PASSWORD = "my own new passphrase"


def _admin(db, client):
    make_user(db, "admin@example.org", Role.ADMINISTRATOR, mfa=True)
    full_login(client, db, "admin@example.org")


def test_admin_pages_are_refused_to_non_admins(db, client):
    make_user(db, "doc@example.org", Role.CLINICIAN, mfa=True)
    make_user(db, "pat@example.org")
    target = make_user(db, "bill@example.org", Role.BILLER)
    full_login(client, db, "doc@example.org")
    assert 'href="/admin/users"' not in client.get("/").text
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/new").status_code == 403
    created = post(client, "/admin/users", {"email": "x@example.org", "display_name": "X", "roles": "biller"})
    assert created.status_code == 403
    assert post(client, f"/admin/users/{target.id}/deactivate").status_code == 403
    assert load_user(db, "x@example.org") is None and load_user(db, "bill@example.org").is_active
    # Logged-out visitors are sent to log in.
    post(client, "/logout")
    assert client.get("/admin/users", follow_redirects=False).headers["location"] == "/login?next=/admin/users"


def test_admin_lists_and_filters_staff_accounts_but_never_patients(db, client):
    """Administrators see no patient data: a patient's account (that they are a patient here, their
    name and e-mail) is not in the list, with any filter."""
    make_user(db, "doc@example.org", Role.CLINICIAN)
    make_user(db, "pat@example.org")
    _admin(db, client)
    assert 'href="/admin/users"' in client.get("/").text
    every = client.get("/admin/users").text
    assert all(e in every for e in ["doc@example.org", "admin@example.org"])
    assert "pat@example.org" not in every
    clinicians = client.get("/admin/users?role=clinician").text
    assert "doc@example.org" in clinicians and "admin@example.org" not in clinicians
    patients = client.get("/admin/users?role=patient").text
    assert "pat@example.org" not in patients and 'value="patient"' not in patients


def test_the_user_list_comes_in_pages(db, client, monkeypatch):
    from careplane.kernel.identity import service

    monkeypatch.setattr(service, "USERS_PAGE_SIZE", 2)
    for name in ("ann", "bob", "cy"):
        make_user(db, f"{name}@example.org", Role.BILLER)
    _admin(db, client)  # "admin" sorts before the others: page 1 is admin, ann
    first = client.get("/admin/users").text
    assert "ann@example.org" in first and "bob@example.org" not in first and 'rel="next"' in first
    second = client.get("/admin/users?page=2").text
    assert "bob@example.org" in second and "cy@example.org" in second and "ann@example.org" not in second
    third = client.get("/admin/users?page=3").text
    assert 'rel="next"' not in third and 'rel="prev"' in third
    refused = client.get("/admin/users?page=0")
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("text/html")


def test_admin_creates_a_staff_member_who_sets_a_password_and_enrols_mfa(db, client, app):
    from fastapi.testclient import TestClient

    _admin(db, client)
    form = client.get("/admin/users/new")
    assert form.status_code == 200 and 'name="roles"' in form.text
    created = post(
        client,
        "/admin/users",
        {
            "email": "New.Pharmacist@Example.org",
            "display_name": "Nia Pharm",
            "roles": ["pharmacist", "pharmacy_technician"],
            "unit": "pharmacy",
        },
    )
    assert created.status_code == 303, created.text
    user = load_user(db, "new.pharmacist@example.org")
    assert user.roles == {Role.PHARMACIST, Role.PHARMACY_TECHNICIAN} and user.unit == "pharmacy"
    assert user.password_hash is None
    with db.unit_of_work() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "user.create")).resource_id == str(user.id)

    link = link_in(mails_to(db, "new.pharmacist@example.org")[-1], "/password/reset/")
    with TestClient(app) as newcomer:
        assert log_in(newcomer, "new.pharmacist@example.org", "").status_code == 401
        done = post(newcomer, link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
        assert done.status_code == 303
        assert log_in(newcomer, "new.pharmacist@example.org", NEW_PASSWORD).headers["location"] == "/mfa/enrol"


def test_create_staff_member_form_errors(db, client):
    make_user(db, "taken@example.org", Role.BILLER)
    _admin(db, client)
    empty = post(client, "/admin/users", {"email": "not-an-email", "display_name": " ", "unit": "mars"})
    assert empty.status_code == 422
    for message in ["An e-mail address needs an @", "Enter the person", "Choose at least one role", "Choose one of"]:
        assert message in empty.text
    patient = post(client, "/admin/users", {"email": "p@example.org", "display_name": "P", "roles": "patient"})
    assert patient.status_code == 422 and "staff roles only" in patient.text
    taken = post(client, "/admin/users", {"email": "TAKEN@example.org", "display_name": "T", "roles": "biller"})
    assert taken.status_code == 422 and "already exists" in taken.text
    assert 'value="TAKEN@example.org"' in taken.text
    assert load_user(db, "p@example.org") is None


def test_deactivated_users_existing_session_and_tokens_are_refused_on_the_next_request(db, client, app):
    from fastapi.testclient import TestClient

    from careplane.kernel.identity.service import create_api_token

    target = make_user(db, "bill@example.org", Role.BILLER, mfa=True)
    with db.unit_of_work() as s:
        raw, _ = create_api_token(s, s.get(User, target.id), "t", via="web")
    with TestClient(app) as victim:
        full_login(victim, db, "bill@example.org")
        _admin(db, client)
        assert post(client, f"/admin/users/{target.id}/deactivate").status_code == 303
        assert victim.get("/profile", follow_redirects=False).headers["location"].startswith("/login")
        assert victim.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    user = load_user(db, "bill@example.org")
    assert user.is_active is False and user.deactivated_at is not None
    listing = client.get("/admin/users").text
    assert "bill@example.org is deactivated" in listing and 'badge danger">deactivated' in listing


def test_admin_cannot_deactivate_themself(db, client):
    _admin(db, client)
    me = load_user(db, "admin@example.org")
    assert post(client, f"/admin/users/{me.id}/deactivate").status_code == 409
    assert load_user(db, "admin@example.org").is_active


def test_admin_resets_mfa_and_the_user_enrols_again(db, client, app):
    from fastapi.testclient import TestClient

    target = make_user(db, "doc@example.org", Role.CLINICIAN)
    with TestClient(app) as doc:
        log_in(doc, "doc@example.org")
        secret = re.search(r'id="mfa-secret">([A-Z2-7 ]+)<', doc.get("/mfa/enrol").text).group(1).replace(" ", "")
        post(doc, "/mfa/enrol", {"code": code_for(secret)})
    with db.unit_of_work() as s:
        assert s.scalar(select(RecoveryCode)) is not None
    _admin(db, client)
    assert post(client, f"/admin/users/{target.id}/reset-mfa").status_code == 303
    user = load_user(db, "doc@example.org")
    assert user.mfa_secret is None and not user.mfa_enabled
    with db.unit_of_work() as s:
        assert s.scalar(select(RecoveryCode)) is None
    with TestClient(app) as doc:
        assert log_in(doc, "doc@example.org", PASSWORD).headers["location"] == "/mfa/enrol"


def test_an_administrator_changes_a_persons_name_and_roles_and_it_is_audited(db, client):
    _admin(db, client)
    doc = make_user(db, "doc@example.org", Role.CLINICIAN)
    assert client.get(f"/admin/users/{doc.id}/edit").status_code == 200
    empty = post(client, f"/admin/users/{doc.id}/edit", {"display_name": " ", "roles": []})
    assert (
        empty.status_code == 422
        and "Enter the person&#39;s name." in empty.text
        and "Choose at least one role." in empty.text
    )
    patient_role = post(client, f"/admin/users/{doc.id}/edit", {"display_name": "Dr Doc", "roles": "patient"})
    assert patient_role.status_code == 422 and load_user(db, "doc@example.org").roles == {Role.CLINICIAN}
    saved = post(
        client, f"/admin/users/{doc.id}/edit", {"display_name": "Dr Dana Doc", "roles": ["clinician", "biller"]}
    )
    assert saved.status_code == 303
    changed = load_user(db, "doc@example.org")
    assert changed.display_name == "Dr Dana Doc" and changed.roles == {Role.CLINICIAN, Role.BILLER}
    with db.unit_of_work() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "user.roles"))
    assert entry.reason == "clinician -> biller, clinician" and entry.resource_id == str(doc.id)


def test_no_one_takes_the_administrator_role_from_themself_or_from_the_last_administrator(db, client):
    from careplane.kernel.access import Actor
    from careplane.kernel.errors import ValidationFailed
    from careplane.kernel.identity import service

    _admin(db, client)
    me = load_user(db, "admin@example.org")
    refused = post(client, f"/admin/users/{me.id}/edit", {"display_name": "Admin", "roles": "operations_lead"})
    assert refused.status_code == 422 and "cannot take the administrator role from yourself" in refused.text
    assert Role.ADMINISTRATOR in load_user(db, "admin@example.org").roles
    with db.unit_of_work() as s:
        admin = s.get(User, me.id)
        try:
            service.update_staff_user(s, Actor.for_system("cli"), admin, display_name="Admin", roles=["biller"])
        except ValidationFailed as last:
            assert "last active administrator" in last.errors["roles"]
        else:
            raise AssertionError("the last administrator lost the role")
