"""Simultaneous requests must not slip past the failure counter or reuse a TOTP code."""

import threading

from sqlalchemy import func, select

from careplane.kernel.errors import CareplaneError
from careplane.kernel.identity import mfa, service
from careplane.kernel.identity.authn import start_web_session
from careplane.kernel.identity.models import LoginAttempt, User, WebSession
from careplane.kernel.identity.roles import Role

from .conftest import code_for, load_user, make_user


def _together(count: int, work) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except CareplaneError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_parallel_wrong_passwords_lock_at_exactly_the_threshold(db, strict):
    make_user(db, "pat@example.org")

    def attempt(i: int) -> object:
        with db.unit_of_work() as s:
            try:
                service.login(s, strict, "pat@example.org", f"wrong password {i}", ip=f"10.0.0.{i}")
            except CareplaneError as exc:
                return type(exc).__name__

    outcomes = _together(6, attempt)
    assert outcomes.count("LoginFailed") == 2 and outcomes.count("AccountLocked") == 4
    user = load_user(db, "pat@example.org")
    assert user.failed_login_count == 3 and user.locked_until is not None
    with db.unit_of_work() as s:
        reasons = dict(s.execute(select(LoginAttempt.reason, func.count()).group_by(LoginAttempt.reason)).all())
    assert reasons == {"bad_credentials": 2, "locked_now": 1, "locked": 3}


def test_the_same_code_sent_twice_at_once_is_accepted_once(db, settings):
    make_user(db, "doc@example.org", Role.CLINICIAN, mfa=True)
    with db.unit_of_work() as s:
        user = s.scalar(select(User))
        ids = [start_web_session(s, user, settings, mfa_verified=False, ip=None, user_agent=None)[1] for _ in range(2)]
        s.flush()
        ids = [w.id for w in ids]
        code = code_for(user.mfa_secret)

    def submit(i: int) -> object:
        with db.unit_of_work() as s:
            mfa.verify_second_factor(s, s.scalar(select(User)), s.get(WebSession, ids[i]), code, ip=None)
            return "ok"

    outcomes = _together(2, submit)
    assert outcomes.count("ok") == 1, outcomes
    with db.unit_of_work() as s:
        assert sorted(w.mfa_verified for w in s.scalars(select(WebSession))) == [False, True]
