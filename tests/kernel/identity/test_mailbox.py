from datetime import timedelta

from careplane.kernel import clock
from careplane.kernel.mail import send_mail


def test_mailbox_lists_newest_first_and_links_are_clickable(db, client):
    with db.unit_of_work() as s:
        first = send_mail(s, "a@example.org", "Older", "plain text")
    clock.travel(clock.now() + timedelta(minutes=1))
    with db.unit_of_work() as s:
        second = send_mail(s, "b@example.org", "Newer <b>", "Open http://127.0.0.1:8000/password/reset/abc?x=1&y=2 now <script>")
    listing = client.get("/mailbox")
    assert listing.status_code == 200
    assert listing.text.index("Newer &lt;b&gt;") < listing.text.index("Older")
    assert f'href="/mailbox/{first}"' in listing.text
    one = client.get(f"/mailbox/{second}")
    assert '<a href="http://127.0.0.1:8000/password/reset/abc?x=1&amp;y=2">' in one.text
    assert "<script>" not in one.text and "&lt;script&gt;" in one.text
    assert client.get("/mailbox/00000000-0000-0000-0000-000000000000").status_code == 404


def test_mailbox_is_not_there_in_production(db, client, settings):
    with db.unit_of_work() as s:
        mail_id = send_mail(s, "a@example.org", "Secret", "reset link")
    settings.environment = "production"
    assert client.get("/mailbox").status_code == 404
    assert client.get(f"/mailbox/{mail_id}").status_code == 404


def test_mailbox_is_not_there_on_a_postgresql_deployment_left_in_development(db, client, settings):
    with db.unit_of_work() as s:
        mail_id = send_mail(s, "a@example.org", "Secret", "reset link")
    settings.database_url = "postgresql+psycopg://careplane@db.internal/careplane"
    assert settings.environment == "development"
    assert client.get("/mailbox").status_code == 404
    assert client.get(f"/mailbox/{mail_id}").status_code == 404
