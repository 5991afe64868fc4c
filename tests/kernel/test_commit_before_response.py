"""The unit of work commits before the response leaves: what a response reports is already durable."""

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.app import create_app
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from careplane.kernel.web import db_session


def test_change_is_committed_when_the_response_is_sent(db, settings):
    app = create_app(settings, db)
    seen_by_another_connection: list[bool] = []
    router = APIRouter()

    @router.post("/_test/users")
    def make(session: Session = Depends(db_session)) -> dict[str, str]:
        user = create_user(session, email="new@example.org", display_name="New", roles=[Role.BILLER])
        return {"id": str(user.id)}

    app.include_router(router)

    async def probe(scope, receive, send):  # noqa: ANN001
        async def send_and_look(message):  # noqa: ANN001
            if message["type"] == "http.response.start":
                with db.session_factory() as other:
                    seen_by_another_connection.append(
                        other.scalar(select(User).where(User.email == "new@example.org")) is not None
                    )
            await send(message)

        await app(scope, receive, send_and_look)

    from fastapi.testclient import TestClient

    with TestClient(probe) as client:
        assert client.post("/_test/users").status_code == 200
    assert seen_by_another_connection == [True]
