"""Accounts: registration, e-mail confirmation, authentication and password reset."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..audit import services as audit_log
from ..extensions import db
from ..mail.services import queue_template
from ..models import Role, User, UserRole, utcnow
from ..security import check_password, hash_password, public_url

RODO_CLAUSE_VERSION = "2026-11"
CONFIRM_MAX_AGE = 3 * 24 * 3600
RESET_MAX_AGE = 3600


class AccountError(ValueError):
    """A registration or token problem to show to the user (already translated).

    ``field`` names the form field the message belongs next to.
    """

    def __init__(self, message: str, field: str = "email") -> None:
        super().__init__(message)
        self.field = field


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def register_candidate(data: dict) -> User | None:
    """Create a candidate account from the registration form's data and send the confirmation mail.

    When the e-mail address or the PESEL number already belongs to an account, nothing is created
    and that account's owner is mailed instead (returns None). The caller answers the same way in
    both cases, so the registration form never tells whether someone has an account here.
    """
    email = normalize_email(data["email"])
    pesel = (data.get("pesel") or "").strip() if data.get("has_pesel") == "yes" else None
    # Hashed in every case: the time the answer takes does not tell either.
    password_hash = hash_password(data["password"])
    if _tell_existing_owners(email, pesel or None):
        return None
    user = User(
        email=email,
        password_hash=password_hash,
        first_name=data["first_name"].strip(),
        last_name=data["last_name"].strip(),
        phone=(data.get("phone") or "").strip() or None,
        pesel=pesel or None,
        id_document_type=None if pesel else data.get("id_document_type"),
        id_document_number=None if pesel else (data.get("id_document_number") or "").strip(),
        birth_date=data["birth_date"],
        birth_place=data["birth_place"].strip(),
        rodo_consent_at=utcnow(),
        rodo_clause_version=RODO_CLAUSE_VERSION,
    )
    user.roles.append(UserRole(role=Role.CANDIDATE))
    db.session.add(user)
    audit_log.record("account.registered", user, after={"roles": ["candidate"],
                                                         "rodo_clause_version": RODO_CLAUSE_VERSION}, actor=None)
    send_confirmation(user)
    try:
        db.session.commit()
    except IntegrityError:
        # The same address or PESEL registered by a request running alongside this one.
        db.session.rollback()
        _tell_existing_owners(email, pesel or None)
        return None
    return user


def _tell_existing_owners(email: str, pesel: str | None) -> bool:
    """Mail the owners of the accounts that already use ``email`` or ``pesel``; whether there were any."""
    owners: dict[int, tuple[User, list[str]]] = {}
    by_email = find_by_email(email)
    if by_email is not None:
        owners[by_email.id] = (by_email, ["email"])
    by_pesel = db.session.scalar(select(User).where(User.pesel == pesel)) if pesel else None
    if by_pesel is not None:
        owners.setdefault(by_pesel.id, (by_pesel, []))[1].append("pesel")
    for owner, matched in owners.values():
        queue_template(owner, _("Someone tried to create an account with your data"), "registration_attempt",
                       matched=matched, login_link=public_url("auth.login"),
                       reset_link=public_url("auth.request_reset"))
        audit_log.record("account.registration_refused", owner, after={"matched": matched}, actor=None)
    if owners:
        db.session.commit()
    return bool(owners)


def send_confirmation(user: User) -> None:
    """Queue the e-mail confirmation link."""
    token = _serializer("confirm-email").dumps({"id": user.id, "email": user.email})
    queue_template(user, _("Confirm your e-mail address"), "confirm_email",
                   link=public_url("auth.confirm_email", token=token))


def resend_confirmation(user: User) -> None:
    """Send a fresh confirmation link to an account that is not confirmed yet."""
    if user.email_confirmed_at is None:
        send_confirmation(user)
        db.session.commit()


def confirm_email(token: str) -> User:
    """Mark the account's e-mail confirmed; raises AccountError for a bad or expired link."""
    try:
        data = _serializer("confirm-email").loads(token, max_age=CONFIRM_MAX_AGE)
    except SignatureExpired:
        raise AccountError(_("The confirmation link has expired. Ask for a new one below.")) from None
    except BadSignature:
        raise AccountError(_("The confirmation link is not valid. Copy the whole link from the e-mail.")) from None
    user = db.session.get(User, data.get("id")) if isinstance(data, dict) else None
    if user is None or user.email != data.get("email"):
        raise AccountError(_("The confirmation link is not valid. Copy the whole link from the e-mail."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        audit_log.record("account.email_confirmed", user, actor=user)
        db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user with these credentials, or ``None`` (same answer whether the e-mail exists or not)."""
    user = find_by_email(email)
    if user is None:
        # Spend the same time as a real check so response times don't reveal accounts.
        check_password(hash_password("x" * 12), password)
        return None
    if not check_password(user.password_hash, password) or not user.active:
        return None
    return user


def note_login(user: User, second_factor: str | None = None) -> None:
    """Note a completed login (``second_factor``: how the second step was passed, if there was one),
    in the caller's transaction."""
    user.last_login_at = utcnow()
    audit_log.record("account.login", user, after={"second_factor": second_factor} if second_factor else None, actor=user)


def record_login(user: User, second_factor: str | None = None) -> None:
    """:func:`note_login`, committed."""
    note_login(user, second_factor)
    db.session.commit()


def _reset_fingerprint(user: User) -> str:
    # Part of the current hash: the link stops working once the password changes.
    return user.password_hash[-16:]


def queue_password_link(user: User) -> None:
    """Mail ``user`` a link to set their password (a reset, or a new account's first password), in
    the caller's transaction."""
    token = _serializer("reset-password").dumps({"id": user.id, "fp": _reset_fingerprint(user)})
    queue_template(user, _("Reset your password"), "reset_password",
                   link=public_url("auth.reset_password", token=token))
    audit_log.record("account.password_reset_requested", user, actor=None)


def request_password_reset(email: str) -> None:
    """Queue a reset link if the account exists (the caller shows the same message either way)."""
    user = find_by_email(email)
    if user is None or not user.active:
        return
    queue_password_link(user)
    db.session.commit()


def user_for_reset_token(token: str) -> User:
    """The account a reset link belongs to; raises AccountError when invalid, used or expired."""
    try:
        data = _serializer("reset-password").loads(token, max_age=RESET_MAX_AGE)
    except SignatureExpired:
        raise AccountError(_("The reset link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise AccountError(_("The reset link is not valid. Ask for a new one.")) from None
    user = db.session.get(User, data.get("id")) if isinstance(data, dict) else None
    if user is None or data.get("fp") != _reset_fingerprint(user):
        raise AccountError(_("The reset link has already been used. Ask for a new one."))
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a valid reset link (which then stops working)."""
    user = user_for_reset_token(token)
    user.password_hash = hash_password(new_password)
    audit_log.record("account.password_reset", user, actor=user)
    db.session.commit()
    return user
