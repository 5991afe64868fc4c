"""The demo's mailbox holds everyone's reset links: it is there only in `careplane demo`
(``demo_mailbox``), on the embedded database, outside production, and only to this computer."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from careplane.kernel import clock
from careplane.kernel.mail import send_mail

LOOPBACK = ("127.0.0.1", 50000)


@pytest.fixture
def local(app, settings) -> Iterator[TestClient]:  # noqa: ANN001
    """A browser on the demo's own computer, with the mailbox turned on as `careplane demo` does."""
    settings.demo_mailbox = True
    with TestClient(app, base_url="http://testserver", client=LOOPBACK) as test_client:
        yield test_client


@pytest.fixture
def mail_id(db):  # noqa: ANN001, ANN201
    with db.unit_of_work() as s:
        return send_mail(s, "a@example.org", "Secret", "reset link http://127.0.0.1:8000/password/reset/abc")


def _gone(client: TestClient, mail_id) -> None:  # noqa: ANN001
    for url in ("/mailbox", f"/mailbox/{mail_id}"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Secret" not in response.text and "reset/abc" not in response.text


def test_mailbox_lists_newest_first_and_links_are_clickable(db, local):
    with db.unit_of_work() as s:
        first = send_mail(s, "a@example.org", "Older", "plain text")
    clock.travel(clock.now() + timedelta(minutes=1))
    with db.unit_of_work() as s:
        second = send_mail(
            s, "b@example.org", "Newer <b>", "Open http://127.0.0.1:8000/password/reset/abc?x=1&y=2 now <script>"
        )
    listing = local.get("/mailbox")
    assert listing.status_code == 200
    assert listing.text.index("Newer &lt;b&gt;") < listing.text.index("Older")
    assert f'href="/mailbox/{first}"' in listing.text
    assert "only to a browser on this computer" in listing.text and "careplane demo" in listing.text
    one = local.get(f"/mailbox/{second}")
    assert '<a href="http://127.0.0.1:8000/password/reset/abc?x=1&amp;y=2">' in one.text
    assert "<script>" not in one.text and "&lt;script&gt;" in one.text
    assert local.get("/mailbox/00000000-0000-0000-0000-000000000000").status_code == 404


def test_ipv6_loopback_sees_it_too(app, settings, mail_id):
    settings.demo_mailbox = True
    with TestClient(app, client=("::1", 50000)) as ipv6:
        assert ipv6.get("/mailbox").status_code == 200


def test_plain_serve_in_development_on_sqlite_has_no_mailbox(local, settings, mail_id):
    settings.demo_mailbox = False  # what `careplane serve` gets: development, SQLite, no demo
    assert settings.environment == "development" and settings.embedded
    _gone(local, mail_id)


def test_the_demo_mailbox_is_refused_to_another_computer(app, settings, mail_id):
    settings.demo_mailbox = True
    for address in ("192.168.1.20", "10.0.0.7", "testclient", "2001:db8::1"):
        with TestClient(app, client=(address, 50000)) as remote:
            _gone(remote, mail_id)


def test_mailbox_is_not_there_in_production(local, settings, mail_id):
    settings.environment = "production"
    _gone(local, mail_id)


def test_mailbox_is_not_there_on_a_postgresql_deployment_left_in_development(local, settings, mail_id):
    settings.database_url = "postgresql+psycopg://careplane@db.internal/careplane"
    assert settings.environment == "development"
    _gone(local, mail_id)


def test_pages_point_at_the_mailbox_only_when_it_is_there(client, local, settings):
    assert "local mailbox" in local.get("/login").text
    settings.demo_mailbox = False
    assert "local mailbox" not in client.get("/login").text
