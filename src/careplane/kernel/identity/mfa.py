"""Second factor: TOTP (RFC 6238, 30 s, 6 digits) with single-use recovery codes.

Every staff member must use it; patients may turn it on. A code is accepted one step either
side of now, and never twice: the accepted time-step is kept in ``User.mfa_last_step``.
"""

from __future__ import annotations

import secrets

import pyotp
import segno
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.audit.record import record
from careplane.kernel.errors import CareplaneError, Conflict, ValidationFailed
from careplane.kernel.identity.models import LoginAttempt, RecoveryCode, User, WebSession
from careplane.kernel.identity.secrets import same, token_hash
from careplane.kernel.identity.service import BAD_MFA_CODE, MFA_OK, end_web_session, lock_user, record_attempt

ISSUER = "careplane"
DIGITS = 6
INTERVAL = 30
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
#: Wrong codes on one login before the half-logged-in session is ended.
MAX_WRONG_CODES = 5
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class SecondFactorAbandoned(CareplaneError):
    status = 401
    title = "Too many wrong codes"
    type_slug = "mfa-too-many-wrong-codes"


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)


def _digits(code: str) -> str:
    return "".join(code.split())


def _accept_totp(user: User, secret: str, code: str) -> bool:
    """True (and remember the step) for a fresh code from the secret; replays are refused."""
    code = _digits(code)
    if len(code) != DIGITS or not code.isdigit():
        return False
    totp = _totp(secret)
    now_step = totp.timecode(clock.now())
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if same(totp.generate_otp(step), code):
            if user.mfa_last_step is not None and step <= user.mfa_last_step:
                return False
            user.mfa_last_step = step
            return True
    return False


def current_code(user: User) -> str:
    """The code an authenticator app would show now (for the development-only CLI helper)."""
    if not user.mfa_secret or not user.mfa_enabled:
        raise Conflict(f"{user.email} has not set up two-step verification.")
    return _totp(user.mfa_secret).at(clock.now())


# ---------------------------------------------------------------- enrolment


def pending_secret(session: Session, user: User) -> str:
    """The secret being set up (made on first call, the same on reload until confirmed)."""
    if user.mfa_enabled:
        raise Conflict("Two-step verification is already set up.")
    if not user.mfa_secret:
        user.mfa_secret = pyotp.random_base32()
        session.flush()
    return user.mfa_secret


def provisioning_uri(user: User, secret: str) -> str:
    return _totp(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code (scales with CSS through its viewBox)."""
    return segno.make(uri, error="m").svg_inline(scale=4, omitsize=True, title="QR code for your authenticator app")


def confirm_enrolment(session: Session, user: User, code: str, web_session: WebSession | None) -> list[str]:
    """Turn MFA on once a code from the new secret checks out; returns the recovery codes (shown once)."""
    lock_user(session, user)
    secret = pending_secret(session, user)
    if not _accept_totp(user, secret, code):
        raise ValidationFailed({"code": "That code is not right. Enter the 6-digit code your app shows now."})
    user.mfa_enabled_at = clock.now()
    if web_session is not None:
        web_session.mfa_verified = True
    return regenerate_recovery_codes(session, user)


# ---------------------------------------------------------------- recovery codes


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def regenerate_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace every recovery code with ten new ones; only their hashes are stored."""
    if not user.mfa_enabled:
        raise Conflict("Set up two-step verification first.")
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=token_hash(_normalise_recovery(c))) for c in codes)
    session.flush()
    return codes


def unused_recovery_codes(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def _use_recovery_code(session: Session, user: User, code: str) -> bool:
    normalised = _normalise_recovery(code)
    if len(normalised) != 10:
        return False
    row = session.scalar(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == token_hash(normalised),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    )
    if row is None:
        return False
    row.used_at = clock.now()
    return True


# ---------------------------------------------------------------- the login step


def _wrong_codes_this_login(session: Session, user: User, web_session: WebSession) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.email == user.email,
                LoginAttempt.reason == BAD_MFA_CODE,
                LoginAttempt.at >= web_session.created_at,
            )
        )
        or 0
    )


def verify_second_factor(session: Session, user: User, web_session: WebSession, code: str, *, ip: str | None) -> None:
    """Finish a login with a TOTP code or a recovery code. Too many wrong codes end the session."""
    lock_user(session, user)
    if not user.mfa_enabled or not user.mfa_secret:
        raise Conflict("Two-step verification is not set up for this account.")
    if _accept_totp(user, user.mfa_secret, code) or _use_recovery_code(session, user, code):
        web_session.mfa_verified = True
        record_attempt(session, user.email, ip, succeeded=True, reason=MFA_OK)
        return
    record_attempt(session, user.email, ip, succeeded=False, reason=BAD_MFA_CODE)
    session.flush()
    wrong = _wrong_codes_this_login(session, user, web_session)
    if wrong >= MAX_WRONG_CODES:
        end_web_session(session, web_session)
        raise SecondFactorAbandoned("Too many wrong codes. For your safety you have been logged out; log in again.")
    left = MAX_WRONG_CODES - wrong
    raise ValidationFailed(
        {"code": f"That code is not right. {left} more tr{'ies' if left != 1 else 'y'} before you are logged out."}
    )


def reset_mfa(session: Session, user: User) -> None:
    """Forget the user's authenticator and recovery codes; staff set it up again at their next login."""
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.mfa_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def reset_user_mfa(session: Session, actor: Actor, user: User) -> None:
    """An administrator forgets a user's authenticator (lost phone); staff set it up again at next login."""
    require(actor, Permission.USER_MANAGE)
    reset_mfa(session, user)
    record(session, actor, "user.reset_mfa", resource_type="user", resource_id=str(user.id))
