"""Identity use cases: logging in, password resets, profiles, API tokens, e-mail verification.

Pages, the JSON API and the CLI call these; the rules live here only. Second factors are in
:mod:`careplane.kernel.identity.mfa`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, authorize, require
from careplane.kernel.audit.record import record
from careplane.kernel.email_address import normalised_email
from careplane.kernel.errors import CareplaneError, Conflict, NotFound, TooManyRequests, ValidationFailed
from careplane.kernel.identity.authn import API_TOKEN_PREFIX, revoke_all_credentials, start_web_session
from careplane.kernel.identity.confirmation import RESENDS_PER_HOUR
from careplane.kernel.identity.models import ApiToken, LoginAttempt, User, UserRole, WebSession
from careplane.kernel.identity.one_time import (
    EMAIL_VERIFICATION,
    PASSWORD_RESET,
    check_one_time_token,
    consume_one_time_token,
    issue_one_time_token,
    recently_issued,
    void_one_time_tokens,
)
from careplane.kernel.identity.passwords import hash_password, needs_rehash, password_problem, verify_password
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.secrets import new_token, token_hash
from careplane.kernel.identity.users import create_user, find_by_email, normalise_email
from careplane.kernel.mail import send_mail
from careplane.kernel.units import BUSINESS_FUNCTIONS
from careplane.settings import Settings

EMAIL_VERIFICATION_TTL = timedelta(hours=48)
PASSWORD_RESET_TTL = timedelta(hours=1)
#: Reset e-mails one account gets per hour at most, so the form cannot be used to flood a mailbox.
RESET_MAILS_PER_HOUR = 3
WRONG_CREDENTIALS = "E-mail or password is incorrect."

# LoginAttempt.reason values.
BAD_CREDENTIALS = "bad_credentials"
#: A bad-credentials attempt that reached the threshold and locked the account.
LOCKED_NOW = "locked_now"
LOCKED = "locked"
INACTIVE = "inactive"
RATE_LIMITED = "rate_limited"
BAD_MFA_CODE = "bad_mfa_code"
PASSWORD_OK = "password"
MFA_OK = "mfa"
#: A self-registration form accepted (a new account, or a note to an existing one), for its rate limit.
SIGNUP = "signup"


# ---------------------------------------------------------------- login


class LoginFailed(CareplaneError):
    status = 401
    title = "Login failed"
    type_slug = "login-failed"


class AccountLocked(CareplaneError):
    status = 423
    title = "Account locked"
    type_slug = "account-locked"

    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"Too many failed attempts: this account is locked until {until:%Y-%m-%d %H:%M} UTC. "
            "Try again then, or reset your password.",
            locked_until=until.isoformat(),
        )
        self.until = until


class AccountInactive(CareplaneError):
    status = 403
    title = "Account deactivated"
    type_slug = "account-deactivated"


@dataclass
class LoginOutcome:
    user: User
    cookie: str
    web_session: WebSession

    @property
    def next_step(self) -> str | None:
        """Where the person must go before the session is usable, or None when it already is."""
        if self.web_session.mfa_verified:
            return None
        return "/mfa" if self.user.mfa_enabled else "/mfa/enrol"


def lock_user(session: Session, user: User) -> None:
    """Re-read the user row under a write lock, so concurrent logins count failures (and TOTP steps) exactly."""
    session.execute(
        select(User).where(User.id == user.id).with_for_update(of=User).execution_options(populate_existing=True)
    ).unique().scalar_one()


def record_attempt(session: Session, email: str, ip: str | None, *, succeeded: bool, reason: str) -> None:
    session.add(LoginAttempt(email=email[:254], ip=ip, at=clock.now(), succeeded=succeeded, reason=reason))


def check_signup_rate(session: Session, settings: Settings, ip: str | None) -> None:
    """Refuse a sign-up from an address that has made ``signup_limit`` in the window: each one
    mails someone, and a stream of them would probe which addresses have accounts."""
    recent = _attempts_from(session, ip, settings.signup_window_minutes, LoginAttempt.reason == SIGNUP)
    if recent >= settings.signup_limit:
        raise TooManyRequests(
            f"Too many new accounts from your network. Please wait {settings.signup_window_minutes} minutes and "
            "try again.",
            retry_after=settings.signup_window_minutes * 60,
        )


def record_signup(session: Session, email: str, ip: str | None) -> None:
    record_attempt(session, email, ip, succeeded=True, reason=SIGNUP)


def _ip_failures(session: Session, ip: str | None, settings: Settings) -> int:
    return _attempts_from(
        session,
        ip,
        settings.ip_failure_window_minutes,
        LoginAttempt.succeeded.is_(False),
        LoginAttempt.reason != RATE_LIMITED,
    )


def _attempts_from(session: Session, ip: str | None, minutes: int, *conditions: Any) -> int:
    """Recorded attempts from one network address in the last ``minutes`` that meet ``conditions``."""
    if ip is None:
        return 0
    since = clock.now() - timedelta(minutes=minutes)
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.ip == ip, LoginAttempt.at > since, *conditions)
        )
        or 0
    )


def _unknown_email_lock(session: Session, email: str, settings: Settings) -> tuple[datetime | None, int]:
    """For an e-mail with no account: (locked until, failures since the last lock), from past attempts.

    Unknown addresses go through the same lockout as real accounts, so the answers do not tell
    which e-mail addresses have an account.
    """
    last_lock = session.scalar(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.email == email, LoginAttempt.reason == LOCKED_NOW)
    )
    if last_lock is not None:
        until = last_lock + timedelta(minutes=settings.lockout_minutes)
        if clock.now() < until:
            return until, 0
    query = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == email, LoginAttempt.reason == BAD_CREDENTIALS)
    )
    if last_lock is not None:
        query = query.where(LoginAttempt.at > last_lock)
    return None, session.scalar(query) or 0


def login(
    session: Session,
    settings: Settings,
    email: str,
    password: str,
    *,
    ip: str | None,
    user_agent: str | None = None,
) -> LoginOutcome:
    """Check a password login. Every attempt is recorded; refusals raise (the attempt row is kept)."""
    email = normalise_email(email)
    if _ip_failures(session, ip, settings) >= settings.ip_failure_limit:
        record_attempt(session, email, ip, succeeded=False, reason=RATE_LIMITED)
        raise TooManyRequests(
            f"Too many failed logins from your network. Please wait {settings.ip_failure_window_minutes} minutes "
            "and try again.",
            retry_after=settings.ip_failure_window_minutes * 60,
        )
    user = find_by_email(session, email)
    if user is not None:
        lock_user(session, user)
    now = clock.now()

    if user is None:
        locked_until, failures = _unknown_email_lock(session, email, settings)
        if locked_until is not None:
            record_attempt(session, email, ip, succeeded=False, reason=LOCKED)
            raise AccountLocked(locked_until)
        verify_password(None, password)  # same time as a real check
        locks = failures + 1 >= settings.lockout_threshold
        record_attempt(session, email, ip, succeeded=False, reason=LOCKED_NOW if locks else BAD_CREDENTIALS)
        if locks:
            raise AccountLocked(now + timedelta(minutes=settings.lockout_minutes))
        raise LoginFailed(WRONG_CREDENTIALS)

    if user.locked_until is not None:
        if now < user.locked_until:
            record_attempt(session, email, ip, succeeded=False, reason=LOCKED)
            raise AccountLocked(user.locked_until)
        # The lock has run out: counting starts afresh.
        user.locked_until = None
        user.failed_login_count = 0

    if not verify_password(user.password_hash, password):
        user.failed_login_count = (user.failed_login_count or 0) + 1
        locks = user.failed_login_count >= settings.lockout_threshold
        record_attempt(session, email, ip, succeeded=False, reason=LOCKED_NOW if locks else BAD_CREDENTIALS)
        if locks:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            raise AccountLocked(user.locked_until)
        raise LoginFailed(WRONG_CREDENTIALS)

    if not user.is_active:
        record_attempt(session, email, ip, succeeded=False, reason=INACTIVE)
        raise AccountInactive("This account has been deactivated. Please contact your administrator.")

    user.failed_login_count = 0
    user.last_login_at = now
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record_attempt(session, email, ip, succeeded=True, reason=PASSWORD_OK)
    second_factor_owed = user.is_staff or user.mfa_enabled
    cookie, web_session = start_web_session(
        session, user, settings, mfa_verified=not second_factor_owed, ip=ip, user_agent=user_agent
    )
    session.flush()
    return LoginOutcome(user=user, cookie=cookie, web_session=web_session)


def keep_web_session(web_session: WebSession) -> None:
    """The person asked to stay logged in: their idle time starts again now."""
    web_session.last_seen_at = clock.now()


def end_web_session(session: Session, web_session: WebSession) -> None:
    if web_session.revoked_at is None:
        web_session.revoked_at = clock.now()


def revoke_other_sessions(session: Session, user: User, keep: WebSession | None) -> None:
    query = update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(WebSession.id != keep.id)
    session.execute(query.values(revoked_at=clock.now()))


# ---------------------------------------------------------------- passwords


def _check_new_password(user: User, password: str, confirm: str | None) -> None:
    problem = password_problem(password, email=user.email)
    if problem:
        raise ValidationFailed({"password": problem})
    if confirm is not None and confirm != password:
        raise ValidationFailed({"password_confirm": "The two passwords do not match."})


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now()
    user.failed_login_count = 0
    user.locked_until = None


def mail_password_link(
    session: Session, user: User, settings: Settings, *, ttl: timedelta, subject: str, intro: str
) -> None:
    raw = issue_one_time_token(session, user, PASSWORD_RESET, ttl)
    hours = int(ttl.total_seconds() // 3600)
    send_mail(
        session,
        user.email,
        subject,
        f"Hello {user.display_name},\n\n{intro}\n\n{settings.base_url}/password/reset/{raw}\n\n"
        f"The link works once and expires in {hours} hour{'s' if hours != 1 else ''}. "
        "If you did not ask for this, you can ignore this message: your password stays as it is.\n",
    )


def request_password_reset(session: Session, settings: Settings, email: str) -> None:
    """Mail a reset link if the address belongs to an active account; say nothing either way."""
    user = find_by_email(session, email)
    if user is not None:
        _mail_reset_link(
            session,
            settings,
            user,
            subject="Reset your careplane password",
            intro="Someone (hopefully you) asked to reset the password of your careplane account. "
            "Choose a new password here:",
        )


def mail_existing_account_of_signup(session: Session, settings: Settings, user: User) -> None:
    """Someone tried to sign up with the address of an existing account. Its owner hears of it
    (with a reset link, in case they forgot they had an account); the visitor is told no more than
    any new sign-up, so the sign-up form does not tell which addresses have an account."""
    _mail_reset_link(
        session,
        settings,
        user,
        subject="You already have a careplane account",
        intro="Someone (hopefully you) tried to create a careplane account with this e-mail address, "
        f"which already has one. Log in at {settings.base_url}/login. If you have forgotten your "
        "password, choose a new one here:",
    )


def _mail_reset_link(session: Session, settings: Settings, user: User, *, subject: str, intro: str) -> None:
    """A password reset link for an active account, at most RESET_MAILS_PER_HOUR an hour (a form
    that anyone can submit must not flood someone's mailbox)."""
    if not user.is_active:
        return
    if recently_issued(session, user, PASSWORD_RESET, timedelta(hours=1)) >= RESET_MAILS_PER_HOUR:
        return
    mail_password_link(session, user, settings, ttl=PASSWORD_RESET_TTL, subject=subject, intro=intro)


def check_reset_token(session: Session, raw: str) -> User:
    return check_one_time_token(session, raw, PASSWORD_RESET)


def reset_password(session: Session, raw: str, password: str, confirm: str | None = None) -> User:
    """Set a new password from a reset link: unlocks the account and ends every session and token."""
    user = check_one_time_token(session, raw, PASSWORD_RESET)
    _check_new_password(user, password, confirm)
    consume_one_time_token(session, raw, PASSWORD_RESET)
    void_one_time_tokens(session, user, PASSWORD_RESET)
    _set_password(user, password)
    # Whoever opened the link controls the mailbox.
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
    revoke_all_credentials(session, user)
    return user


def confirm_password(user: User, current: str) -> None:
    """Ask for the password again before a sensitive change."""
    if not verify_password(user.password_hash, current):
        raise ValidationFailed({"current_password": "Your current password is not correct."})


def change_password(
    session: Session, user: User, current: str, password: str, confirm: str | None, *, keep: WebSession | None
) -> None:
    """Change a password while logged in; other sessions end, this one stays."""
    confirm_password(user, current)
    _check_new_password(user, password, confirm)
    _set_password(user, password)
    revoke_other_sessions(session, user, keep)


# ---------------------------------------------------------------- e-mail verification


def send_email_verification(session: Session, user: User, settings: Settings) -> None:
    raw = issue_one_time_token(session, user, EMAIL_VERIFICATION, EMAIL_VERIFICATION_TTL)
    send_mail(
        session,
        user.email,
        "Confirm your e-mail address",
        f"Hello {user.display_name},\n\n"
        f"Please confirm that this is your e-mail address by opening this link:\n\n"
        f"{settings.base_url}/verify-email/{raw}\n\n"
        f"The link works once and expires in 48 hours. If you did not sign up for careplane, ignore this message.\n",
    )


def resend_email_verification(session: Session, user: User, settings: Settings) -> bool:
    """Send a new confirmation link unless this account has had ``RESENDS_PER_HOUR`` in the last
    hour (each is an e-mail to an address nobody has confirmed); False when it was not sent."""
    if recently_issued(session, user, EMAIL_VERIFICATION, timedelta(hours=1)) >= RESENDS_PER_HOUR:
        return False
    send_email_verification(session, user, settings)
    return True


def verify_email(session: Session, raw: str) -> User:
    user = consume_one_time_token(session, raw, EMAIL_VERIFICATION)
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
    return user


# ---------------------------------------------------------------- personal API tokens

MAX_TOKEN_DAYS = 3650


class TokenNeedsWebSession(CareplaneError):
    status = 403
    title = "Log in to create API tokens"
    type_slug = "token-needs-web-session"


def create_api_token(
    session: Session, user: User, name: str, expires_days: int | None = None, *, via: str
) -> tuple[str, ApiToken]:
    """Create a token; the raw value is returned once and only its hash is kept.

    ``via`` is how the caller proved who they are (``Actor.via``). A token is made only by a person
    logged in to the web with their password and second factor (``web``, the profile page or the
    API called with that session), never with another token (``api``):
    a token made that way would outlive the revocation of the one that made it, so a stolen token
    could keep itself alive."""
    if via == "api":
        raise TokenNeedsWebSession(
            "API tokens are created only from a logged-in web session (password and second factor), not with "
            "another API token: log in and use your profile page, or POST /api/v1/me/tokens with that session."
        )
    name = name.strip()
    if not name:
        raise ValidationFailed({"name": "Give the token a name, so you can tell it apart later."})
    if len(name) > 100:
        raise ValidationFailed({"name": "Use at most 100 characters."})
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise ValidationFailed({"expires_days": f"Use a number of days from 1 to {MAX_TOKEN_DAYS}, or leave it empty."})
    raw = new_token(API_TOKEN_PREFIX)
    now = clock.now()
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=raw[:12],
        token_hash=token_hash(raw),
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    session.add(token)
    session.flush()
    return raw, token


def parse_days(value: str | None) -> int | None:
    """A form's optional number of days."""
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationFailed({"expires_days": "Enter a whole number of days, or leave it empty."})
    return int(value)


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens that still work (not revoked, not expired), newest first."""
    now = clock.now()
    tokens = session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc())
    ).all()
    return [t for t in tokens if t.expires_at is None or t.expires_at > now]


def revoke_api_token(session: Session, user: User, token_id: uuid.UUID) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound("No such API token.")
    token.revoked_at = clock.now()
    return token


# ---------------------------------------------------------------- administration (Permission.USER_MANAGE)

#: The business units a staff member can be invited into: the six seeded ones.
UNITS = BUSINESS_FUNCTIONS
INVITATION_TTL = timedelta(hours=72)


#: Accounts listed per page of the user list.
USERS_PAGE_SIZE = 50

#: Accounts whose only role is patient: part of a patient's record, which administrators do not see.
_PATIENT_ONLY = (
    select(UserRole.user_id)
    .group_by(UserRole.user_id)
    .having(func.min(UserRole.role) == Role.PATIENT.value, func.max(UserRole.role) == Role.PATIENT.value)
)


def list_users(session: Session, actor: Actor, *, role: Role | None = None, page: int = 1) -> tuple[list[User], bool]:
    """One page of the accounts of staff and employer admins (never patients'), and whether
    another page follows."""
    require(actor, Permission.USER_MANAGE)
    page_size = USERS_PAGE_SIZE
    query = select(User).where(User.id.not_in(_PATIENT_ONLY)).order_by(User.display_name, User.email, User.id)
    if role is not None:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role.value)))
    query = query.offset((max(page, 1) - 1) * page_size).limit(page_size + 1)
    # unique(): works whether roles load joined or by a second select.
    users = list(session.scalars(query).unique().all())
    return users[:page_size], len(users) > page_size


def get_user(session: Session, actor: Actor, user_id: uuid.UUID) -> User:
    """One account to manage (see :func:`reach_account` for a patient's own)."""
    require(actor, Permission.USER_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    reach_account(session, actor, user)
    return user


def find_user(session: Session, actor: Actor, email: str) -> User | None:
    """The account with this login, to manage (see :func:`reach_account` for a patient's own)."""
    require(actor, Permission.USER_MANAGE)
    user = find_by_email(session, email)
    if user is not None:
        reach_account(session, actor, user)
    return user


def reach_account(session: Session, actor: Actor, user: User) -> None:
    """A patient's own account (their name, e-mail, that they are a patient here) is part of their
    record: it is reached as the record is, through kernel.access, and audited. Administrators, who
    have no patient access, are refused (audited); an operator's CLI is allowed, and recorded."""
    if user.roles == {Role.PATIENT}:
        authorize(
            session,
            actor,
            Permission.PATIENT_READ,
            patient_id=user.patient_id,
            resource_type="patient.account",
            resource_id=str(user.id),
        )


def _staff_fields(
    email: str, display_name: str, roles: list[str], unit: str | None
) -> tuple[str, str, list[Role], str | None]:
    errors: dict[str, str] = {}
    try:
        email = normalised_email(email)
    except ValueError as exc:
        errors["email"] = str(exc)
    display_name = display_name.strip()
    if not display_name:
        errors["display_name"] = "Enter the person's name."
    elif len(display_name) > 200:
        errors["display_name"] = "Use at most 200 characters."
    chosen: list[Role] = []
    for value in roles:
        try:
            chosen.append(Role(value))
        except ValueError:
            errors["roles"] = f"Unknown role {value!r}."
    if not chosen and "roles" not in errors:
        errors["roles"] = "Choose at least one role."
    elif any(not r.is_staff for r in chosen):
        errors["roles"] = "Patients sign up themselves; choose staff roles only."
    unit = (unit or "").strip() or None
    if unit is not None and unit not in UNITS:
        errors["unit"] = f"Choose one of: {', '.join(UNITS)}."
    if errors:
        raise ValidationFailed(errors)
    return email, display_name, chosen, unit


def create_staff_user(
    session: Session,
    actor: Actor,
    settings: Settings,
    *,
    email: str,
    display_name: str,
    roles: list[str],
    unit: str | None,
    password: str | None = None,
) -> User:
    """Create a staff account. Without a password, the person gets an e-mail link to choose one."""
    require(actor, Permission.USER_MANAGE)
    email, display_name, chosen, unit = _staff_fields(email, display_name, roles, unit)
    if password is not None:
        problem = password_problem(password, email=email)
        if problem:
            raise ValidationFailed({"password": problem})
    if find_by_email(session, email) is not None:
        raise ValidationFailed({"email": "An account with this e-mail address already exists."})
    user = create_user(session, email=email, display_name=display_name, roles=chosen, unit=unit, password=password)
    record(session, actor, "user.create", resource_type="user", resource_id=str(user.id))
    if password is None:
        mail_password_link(
            session,
            user,
            settings,
            ttl=INVITATION_TTL,
            subject="Your careplane account",
            intro=f"An account has been made for you at careplane ({', '.join(r.label for r in chosen)}). "
            "Choose your password here; you will then set up two-step verification:",
        )
    return user


def update_staff_user(session: Session, actor: Actor, user: User, *, display_name: str, roles: list[str]) -> User:
    """Change a staff account's name and roles (administrators). An administrator may not take the
    administrator role from themself, nor from the last active administrator: someone must always be
    able to manage accounts. A changed role takes effect on the person's next request; it is audited
    with the roles before and after."""
    require(actor, Permission.USER_MANAGE)
    if not user.is_staff:
        raise ValidationFailed({"roles": "Patients' accounts belong to their records; they are not managed here."})
    _, display_name, chosen, _ = _staff_fields(user.email, display_name, roles, user.unit)
    before = sorted(r.value for r in user.roles)
    after = sorted({r.value for r in chosen})
    losing_admin = Role.ADMINISTRATOR.value in before and Role.ADMINISTRATOR.value not in after
    if losing_admin and user.id == actor.user_id:
        raise ValidationFailed(
            {"roles": "You cannot take the administrator role from yourself; ask another administrator."}
        )
    if losing_admin and _active_administrators(session) <= 1:
        raise ValidationFailed({"roles": "This is the last active administrator; make someone else one first."})
    user.display_name = display_name
    if after != before:
        user.role_rows = [row for row in user.role_rows if row.role in after]
        have = {row.role for row in user.role_rows}
        user.role_rows.extend(UserRole(user_id=user.id, role=role) for role in after if role not in have)
        record(
            session,
            actor,
            "user.roles",
            resource_type="user",
            resource_id=str(user.id),
            reason=f"{', '.join(before)} -> {', '.join(after)}",
        )
    record(session, actor, "user.update", resource_type="user", resource_id=str(user.id))
    session.flush()
    return user


def _active_administrators(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.ADMINISTRATOR.value, User.is_active.is_(True))
        )
        or 0
    )


def deactivate_user(session: Session, actor: Actor, user: User) -> None:
    """Turn an account off: every session and token stops working on its next request."""
    require(actor, Permission.USER_MANAGE)
    if user.id == actor.user_id:
        raise Conflict("You cannot deactivate your own account.")
    if not user.is_active:
        return
    user.is_active = False
    user.deactivated_at = clock.now()
    revoke_all_credentials(session, user)
    record(session, actor, "user.deactivate", resource_type="user", resource_id=str(user.id))
