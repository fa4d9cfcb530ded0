"""Log in/out, registration, e-mail confirmation and password reset."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter
from ..forms import add_error
from ..security import is_safe_local_path
from . import services
from .forms import LoginForm, RegistrationForm, ResendConfirmationForm, ResetPasswordForm, ResetRequestForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if target is not None and is_safe_local_path(target):
        return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            add_error(form.password, _("Wrong e-mail or password."))
        elif user.email_confirmed_at is None:
            flash(_("Confirm your e-mail address first: we sent you a link. You can ask for a new one below."), "warning")
            return redirect(url_for("auth.resend_confirmation", email=user.email))
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session on login
            if lang:
                session["lang"] = lang
            login_user(user, remember=form.remember.data)
            services.record_login(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


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
        try:
            services.register_candidate(form.data)
        except services.AccountError as error:
            getattr(form, error.field).errors.append(str(error))
        else:
            flash(_("Your account has been created. We sent a confirmation link to %(email)s.", email=form.email.data), "success")
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
def resend_confirmation():
    form = ResendConfirmationForm(email=request.args.get("email"))
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
