"""Log in/out (password, then a second factor), registration, e-mail confirmation, password reset
and the account's security page."""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask import Response as FlaskResponse
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from markupsafe import Markup

from ..extensions import db, limiter
from ..forms import NEXT, Text, add_error, params
from ..models import User
from ..security import is_safe_local_path
from . import services, two_factor
from .forms import (
    EnrolmentForm,
    LoginForm,
    RegistrationForm,
    ResendConfirmationForm,
    ResetPasswordForm,
    ResetRequestForm,
    SecondFactorForm,
)

bp = Blueprint("auth", __name__)

# The session of someone who gave the right password and still owes the second factor. They are
# not logged in: Flask-Login knows nothing of them until the code is checked.
PENDING = "second_step"
PENDING_MAX_AGE = 15 * 60
# The secret shown while the authenticator app is being set up (it becomes the account's only
# once a code from the app proves the app has it).
SETUP_SECRET = "second_factor_setup"  # noqa: S105  (a session key, not a secret)
# While the second step is owed, only these pages open; every other one leads back to it.
OPEN_DURING_SECOND_STEP = frozenset({
    "auth.login", "auth.logout", "auth.two_factor", "auth.two_factor_setup", "main.set_language", "main.healthz", "main.favicon",
})


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _login_address_limit() -> str:
    return str(current_app.config["LOGIN_ADDRESS_RATE_LIMIT"])


def _login_failed(response: FlaskResponse) -> bool:
    """A login attempt counts against the limits only when it failed (a login goes on with a redirect)."""
    return response.status_code != 302


def _login_account_key() -> str:
    """The login limit per account: the e-mail address posted (as the form reads it), keyed-hashed so
    that the limits' store holds no addresses; the client's address when none was posted.

    Per account, guessing one person's password from many addresses gains nothing; so the limit per
    address can be high enough for an exam room whose candidates all log in behind one address.
    """
    email = services.normalize_email(LoginForm(meta={"csrf": False}).email.data or "")
    if not email:
        return get_remote_address()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return "login-account-" + hmac.new(secret, email.encode(), hashlib.sha256).hexdigest()[:32]


def _second_factor_key() -> str:
    """Codes are limited per account as well as per address: guessing from many addresses gains nothing."""
    user_id = current_user.id if current_user.is_authenticated else (session.get(PENDING) or {}).get("user_id")
    return f"second-factor-{user_id}" if user_id else get_remote_address()


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if target is not None and is_safe_local_path(target):
        return target
    return url_for("main.dashboard")


def _fresh_session() -> None:
    """A new session (nothing carried over from before the login) that keeps the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _start_second_step(user: User, remember: bool, target: str) -> None:
    _fresh_session()
    session[PENDING] = {"user_id": user.id, "remember": remember, "next": target, "since": int(time.time())}


def _pending() -> tuple[User, dict[str, Any]] | None:
    """The person who owes the second step in this session, or None (none, expired or gone)."""
    state = session.get(PENDING)
    if not isinstance(state, dict):
        return None
    user = db.session.get(User, state.get("user_id") or 0)
    if user is None or not user.active or time.time() - float(state.get("since") or 0) > PENDING_MAX_AGE:
        session.pop(PENDING, None)
        return None
    return user, state


def _complete_login(user: User, remember: bool, second_factor: str | None = None, *, noted: bool = False) -> None:
    """Log ``user`` in on a fresh session and record it (``noted``: the service that passed the last
    step has already recorded it in its own commit)."""
    _fresh_session()
    login_user(user, remember=remember)
    if not noted:
        services.record_login(user, second_factor)


def _no_store(response):
    """Secrets and recovery codes must not stay in a browser's or a proxy's cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_app_request
def second_factor_gate():
    """Whoever owes a second factor reaches only the pages that settle it.

    A person of a deciding role without a second factor (say, after an administrator's reset, or
    logged in by a remember-me cookie before it was required) is sent to set one up.
    """
    endpoint = request.endpoint
    if endpoint is None or endpoint in OPEN_DURING_SECOND_STEP or endpoint == "static" or endpoint.endswith(".static"):
        return None
    if current_user.is_authenticated:
        if current_user.needs_second_factor and not current_user.has_second_factor:
            return redirect(url_for("auth.two_factor_setup"))
        return None
    if PENDING in session:
        pending = _pending()
        if pending is not None:
            return redirect(url_for("auth.two_factor" if pending[0].has_second_factor else "auth.two_factor_setup"))
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_address_limit, methods=["POST"], deduct_when=_login_failed)
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_account_key, scope="login-account", deduct_when=_login_failed)
@params(next_url=NEXT)
def login(next_url: str):
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    if request.method == "GET":
        session.pop(PENDING, None)  # the login page starts over
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            add_error(form.password, _("Wrong e-mail or password."))
        elif user.email_confirmed_at is None:
            flash(_("Confirm your e-mail address first: we sent you a link. You can ask for a new one below."), "warning")
            return redirect(url_for("auth.resend_confirmation", email=user.email))
        else:
            target = _safe_next(next_url)
            remember = bool(form.remember.data)
            if user.has_second_factor or user.needs_second_factor:
                _start_second_step(user, remember, target)
                return redirect(url_for("auth.two_factor" if user.has_second_factor else "auth.two_factor_setup"))
            _complete_login(user, remember)
            return redirect(target)
    return render_template("auth/login.html", form=form)


@bp.route("/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_second_factor_key, scope="second-factor")
def two_factor_step():
    """The second step of logging in: a code from the app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    pending = _pending()
    if pending is None:
        flash(_("Log in with your e-mail address and password first."), "info")
        return redirect(url_for("auth.login"))
    user, state = pending
    if not user.has_second_factor:
        return redirect(url_for("auth.two_factor_setup"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        outcome = two_factor.check_code(user, form.code.data or "")
        if outcome.accepted:
            _complete_login(user, bool(state.get("remember")), outcome.value)  # a fresh session: flash after it
            if outcome is two_factor.CodeCheck.RECOVERY_CODE:
                flash(_("You logged in with a recovery code; %(left)s of them are left. Make new ones on your security page.",
                        left=two_factor.recovery_codes_left(user)), "warning")
            return redirect(_safe_next(state.get("next")))
        add_error(form.code, _code_error(outcome))
    return render_template("auth/two_factor.html", form=form)


def _code_error(outcome: two_factor.CodeCheck) -> str:
    if outcome is two_factor.CodeCheck.REUSED:
        return _("This code has already been used. Wait until your app shows the next one and enter that.")
    return _("This code is not valid. Enter the code your app shows now, or an unused recovery code.")


@bp.route("/two-factor/setup", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_second_factor_key, scope="second-factor")
def two_factor_setup():
    """Setting up the authenticator app: right after the password for a deciding role that has
    none yet (the login completes here), or from the security page for anyone logged in."""
    pending = None
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        if user.has_second_factor:
            flash(_("Your second factor is already set up."), "info")
            return redirect(url_for("auth.security"))
    else:
        pending = _pending()
        if pending is None:
            flash(_("Log in with your e-mail address and password first."), "info")
            return redirect(url_for("auth.login"))
        user = pending[0]
        if user.has_second_factor:
            return redirect(url_for("auth.two_factor"))
    secret = session.get(SETUP_SECRET)
    if not two_factor.is_secret(secret):
        secret = session[SETUP_SECRET] = two_factor.new_secret()
    form = EnrolmentForm()
    if form.validate_on_submit():
        codes = two_factor.enable(user, secret, form.code.data or "", at_login=pending is not None)
        if codes is not None:
            if pending is not None:
                _complete_login(user, bool(pending[1].get("remember")), noted=True)
                target = _safe_next(pending[1].get("next"))
            else:
                session.pop(SETUP_SECRET, None)
                target = url_for("auth.security")
            flash(_("The second factor is set up: from now on you log in with your password and a code from the app."), "success")
            return _no_store(current_app.make_response(render_template("auth/recovery_codes.html", codes=codes, target=target)))
        add_error(form.code, _("This code is not right. Check that the app shows the examportal entry and enter its current code."))
    qr = Markup(two_factor.qr_svg(two_factor.provisioning_uri(user, secret), _("QR code for the authenticator app")))  # noqa: S704  (segno's own SVG)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return _no_store(current_app.make_response(render_template(
        "auth/two_factor_setup.html", form=form, qr=qr, secret=grouped, required=user.needs_second_factor,
        pending=pending is not None)))


@bp.route("/security")
@login_required
def security():
    """The account's security page: the second factor and the recovery codes."""
    return _render_security()


def _render_security(codes_form: SecondFactorForm | None = None, off_form: SecondFactorForm | None = None):
    user = current_user._get_current_object()
    return render_template("auth/security.html", codes_form=codes_form or SecondFactorForm(prefix="codes"),
                           off_form=off_form or SecondFactorForm(prefix="off"),
                           codes_left=two_factor.recovery_codes_left(user) if user.has_second_factor else 0)


@bp.route("/security/recovery-codes", methods=["POST"])
@login_required
@limiter.limit(_login_limit, key_func=_second_factor_key, scope="second-factor")
def new_recovery_codes():
    """New recovery codes (the old ones stop working), confirmed with a current code."""
    user = current_user._get_current_object()
    if not user.has_second_factor:
        return redirect(url_for("auth.security"))
    form = SecondFactorForm(prefix="codes")
    if form.validate_on_submit():
        outcome = two_factor.check_code(user, form.code.data or "")
        if outcome.accepted:
            codes = two_factor.regenerate_recovery_codes(user)
            return _no_store(current_app.make_response(
                render_template("auth/recovery_codes.html", codes=codes, target=url_for("auth.security"))))
        add_error(form.code, _code_error(outcome))
    return _render_security(codes_form=form)


@bp.route("/security/two-factor/off", methods=["POST"])
@login_required
@limiter.limit(_login_limit, key_func=_second_factor_key, scope="second-factor")
def disable_two_factor():
    """Turn the second factor off, confirmed with a current code. A deciding role cannot be without
    one: for them this moves it to a new device (they set it up again right away)."""
    user = current_user._get_current_object()
    if not user.has_second_factor:
        return redirect(url_for("auth.security"))
    form = SecondFactorForm(prefix="off")
    if form.validate_on_submit():
        outcome = two_factor.check_code(user, form.code.data or "")
        if outcome.accepted:
            two_factor.disable(user)
            if user.needs_second_factor:
                flash(_("Now set up the authenticator app on your new device."), "info")
                return redirect(url_for("auth.two_factor_setup"))
            flash(_("The second factor is off: you log in with your password alone."), "info")
            return redirect(url_for("auth.security"))
        add_error(form.code, _code_error(outcome))
    return _render_security(off_form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = RegistrationForm()
    if form.validate_on_submit():
        # One answer whether or not the address or the PESEL already has an account (its owner
        # is mailed instead), so the form cannot be used to find out who is registered here.
        services.register_candidate(form.data)
        flash(_("We have sent a message to %(email)s. Open it and follow the instructions to finish your registration.",
                email=form.email.data), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form)


@bp.route("/confirm/<token>")
def confirm_email(token: str):
    try:
        services.confirm_email(token)
    except services.AccountError as error:
        flash(str(error), "danger")
        return redirect(url_for("auth.resend_confirmation"))
    flash(_("Your e-mail address is confirmed. You can log in now."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/confirm", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@params(email=Text(max=254))
def resend_confirmation(email: str):
    form = ResendConfirmationForm(email=email or None)
    if form.validate_on_submit():
        user = services.find_by_email(form.email.data or "")
        if user is not None and user.email_confirmed_at is None:
            services.resend_confirmation(user)
        flash(_("If an unconfirmed account uses this address, we have sent it a new link."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/resend_confirmation.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def request_reset():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data or "")
        flash(_("If an account uses this address, we have sent it a link to set a new password."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/request_reset.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        services.user_for_reset_token(token)
    except services.AccountError as error:
        flash(str(error), "danger")
        return redirect(url_for("auth.request_reset"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.reset_password(token, form.password.data or "")
        flash(_("Your password has been changed. You can log in now."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)
