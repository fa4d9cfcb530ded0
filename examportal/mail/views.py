"""The development mailbox: read the outbox when no SMTP server is configured."""
from __future__ import annotations

import ipaddress

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select

from ..access import row_or_404
from ..extensions import db
from ..forms import Text, params
from ..models import OutboxMail

bp = Blueprint("mail", __name__)


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


@bp.before_request
def only_in_development():
    # The dev mailbox shows everyone's mail: it exists only where no real mail goes out.
    if not current_app.config.get("DEV_MAILBOX") or current_app.config.get("MAIL_SERVER"):
        abort(404)
    # Even in development, only a browser on this machine may read everyone's mail.
    if not _is_loopback(request.remote_addr):
        abort(404)


@bp.route("/")
@params(recipient=Text(max=254).named("to"))
def index(recipient: str):
    query = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(200)
    if recipient:
        query = query.where(OutboxMail.recipient == recipient.lower())
    return render_template("mail/index.html", mails=db.session.scalars(query).all(), recipient=recipient)


@bp.route("/<int:mail_id>")
def show(mail_id: int):
    mail = row_or_404(OutboxMail, mail_id)
    return render_template("mail/show.html", mail=mail)
