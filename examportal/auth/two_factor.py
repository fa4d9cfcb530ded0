"""The second factor: TOTP codes (RFC 6238) from an authenticator app, and one-time recovery codes.

A code is accepted in its own 30-second step and one step either side (a phone clock a little off),
and only once: the step of the last accepted code is stored per person and only a later step is
accepted after it, in one conditional UPDATE, so two requests racing with the same code cannot both
pass. Recovery codes are stored as salted hashes and crossed out in the same way.
"""
from __future__ import annotations

import enum
import re
import secrets
import time
from typing import TypeGuard

import pyotp
import segno
from flask_babel import gettext as _
from sqlalchemy import String, or_, select, type_coerce, update

from ..audit import services as audit_log
from ..extensions import db
from ..mail.services import queue_template
from ..models import User, sealed, utcnow
from ..models.people import RecoveryCode
from ..security import check_password, hash_password, public_url
from .services import note_login

ISSUER = "examportal"
STEP_SECONDS = 30
#: Steps accepted either side of the current one.
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# Without 0/o, 1/l/i: a code copied from paper is typed right. 31 letters, 10 of them: ~50 bits,
# and a guess costs a password-hash check behind the login rate limit.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_LENGTH = 10
_TOTP_CODE = re.compile(r"^[0-9]{6}$")
_SECRET = re.compile(r"^[A-Z2-7]{32}$")


class CodeCheck(enum.Enum):
    """What became of a code typed at the second step."""

    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"
    REUSED = "reused"
    WRONG = "wrong"

    @property
    def accepted(self) -> bool:
        return self in (CodeCheck.TOTP, CodeCheck.RECOVERY_CODE)


def new_secret() -> str:
    """A fresh 160-bit base32 secret for an authenticator app."""
    return pyotp.random_base32()


def is_secret(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(_SECRET.match(value))


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """The QR code of ``uri`` as inline SVG (no image request, nothing for the CSP to allow)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, border=4, dark="#000", light="#fff", title=title))


def _digits(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "")


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time-step whose code ``code`` is, within the accepted drift, or None."""
    code = _digits(code)
    if not _TOTP_CODE.match(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    step = current_step(now)
    found = None
    # Every candidate step is compared (constant time, no early exit) so timing tells nothing.
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found


def _claim_step(user: User, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) already was; atomic across requests."""
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))


def seal_secrets(user_id: int | None = None) -> int:
    """Seal under CREDENTIAL_KEY the secrets that are not (models/sealed.py :func:`~sealed.stale`):
    stored before sealing, or sealed under a key of CREDENTIAL_KEY_PREVIOUS — ``user_id``'s, or
    everyone's; how many. Each is written only if it is still the value read, so a secret turned
    off or reset in the meantime is never written back. In the caller's transaction."""
    stored = type_coerce(User.totp_secret, String)  # the column as stored, past the sealing type
    query = select(User.id, stored).where(stored.is_not(None))
    sealed_now = 0
    for found_id, value in db.session.execute(query if user_id is None else query.where(User.id == user_id)).all():
        if not sealed.stale(value):
            continue
        result = db.session.execute(update(User).where(User.id == found_id, stored == value)
                                    .values(totp_secret=sealed.unseal(value))
                                    .execution_options(synchronize_session=False))
        sealed_now += int(getattr(result, "rowcount", 0) or 0)
    return sealed_now


def _normalise_recovery_code(code: str) -> str:
    return _digits(code).lower()


def _use_recovery_code(user: User, code: str) -> bool:
    code = _normalise_recovery_code(code)
    if len(code) != RECOVERY_LENGTH or any(ch not in RECOVERY_ALPHABET for ch in code):
        return False
    unused = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    for stored in unused:
        if check_password(stored.code_hash, code):
            crossed_out = db.session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == stored.id, RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
                .execution_options(synchronize_session="fetch")
            )
            return bool(getattr(crossed_out, "rowcount", 0))
    return False


def recovery_codes_left(user: User) -> int:
    return sum(1 for code in user.recovery_codes if code.used_at is None)


def check_code(user: User, code: str) -> CodeCheck:
    """Check a code typed at the second step: a TOTP code, or else an unused recovery code.

    An accepted code is used up (the caller commits); a recovery code leaves an audit entry.
    """
    if user.totp_secret is None:
        return CodeCheck.WRONG
    # A secret that does not open (CREDENTIAL_KEY changed) matches no code; a recovery code still works.
    step = matching_step(user.totp_secret, code) if sealed.opened(user.totp_secret) else None
    if step is not None:
        if not _claim_step(user, step):
            return CodeCheck.REUSED
        seal_secrets(user.id)
        return CodeCheck.TOTP
    if _use_recovery_code(user, code):
        db.session.expire(user, ["recovery_codes"])
        audit_log.record("account.recovery_code_used", user, after={"left": recovery_codes_left(user)}, actor=user)
        return CodeCheck.RECOVERY_CODE
    return CodeCheck.WRONG


def _fresh_recovery_codes(user: User) -> list[str]:
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH)) for _ in range(RECOVERY_CODE_COUNT)]
    user.recovery_codes = [RecoveryCode(code_hash=hash_password(code)) for code in codes]
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def enable(user: User, secret: str, code: str, *, at_login: bool = False) -> list[str] | None:
    """Turn the second factor on with ``secret`` once ``code`` proves the app has it.

    Returns the new recovery codes (shown once, stored only as hashes), or None for a wrong code.
    Commits; ``at_login``: the setup is the second step of a login, noted in the same commit.
    """
    step = matching_step(secret, code)
    if step is None:
        return None
    replaced = user.totp_secret is not None
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _fresh_recovery_codes(user)
    audit_log.record("account.second_factor_enabled", user, after={"replaced": replaced}, actor=user)
    if at_login:
        note_login(user, "totp")
    db.session.commit()
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    """New recovery codes for ``user``; the old ones stop working. Commits."""
    codes = _fresh_recovery_codes(user)
    audit_log.record("account.recovery_codes_renewed", user, actor=user)
    db.session.commit()
    return codes


def _clear(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes = []


def disable(user: User) -> None:
    """The person turns their second factor off (a person of a deciding role then sets it up anew). Commits."""
    _clear(user)
    audit_log.record("account.second_factor_disabled", user, actor=user)
    db.session.commit()


def reset_by_admin(user: User, admin: User, cause: str) -> None:
    """An administrator clears a person's second factor (a lost phone and no recovery codes).

    Audited with the cause (a code from a fixed list); the person is told by mail and sets a new
    one up at their next login. Commits.
    """
    _clear(user)
    audit_log.record("account.second_factor_reset", user, after={"cause": cause}, actor=admin)
    queue_template(user, _("Your second factor has been reset"), "second_factor_reset",
                   link=public_url("auth.login"))
    db.session.commit()
