"""Outgoing mail: every message goes to the outbox table first, then over SMTP when configured."""
from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select, update

from ..extensions import db
from ..models import OutboxMail, User, utcnow


def queue_mail(recipient: str, subject: str, body: str, user: User | None = None) -> OutboxMail:
    """Put a message in the outbox (in the caller's transaction)."""
    mail = OutboxMail(recipient=recipient, subject=subject, body=body, user_id=user.id if user else None)
    db.session.add(mail)
    return mail


def queue_template(user: User, subject: str, template: str, **context) -> OutboxMail:
    """Render ``templates/mail/<template>.txt`` for ``user`` and queue it."""
    body = render_template(f"mail/{template}.txt", user=user, **context)
    return queue_mail(user.email, subject, body, user=user)


def queue_localised(user: User, template: str, subject: Callable[[], object], **context) -> OutboxMail:
    """:func:`queue_template` in ``user``'s own language (Polish when they chose none): ``subject``
    is called, and the template rendered, under that locale."""
    with force_locale(user.locale or "pl"):
        return queue_template(user, str(subject()), template, **context)


def deliver_queued(limit: int = 100) -> tuple[int, int]:
    """Send queued messages over SMTP; returns (sent, failed). Without MAIL_SERVER it sends nothing.

    Each message is claimed (queued → sending, committed) before it is handed to the SMTP server
    and marked sent right after, so a delivery run that is retried after a crash never sends a
    message twice: one left "sending" is shown to staff instead of being sent again.
    """
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return 0, 0
    ids = list(db.session.scalars(
        select(OutboxMail.id).where(OutboxMail.status == "queued").order_by(OutboxMail.id).limit(limit)))
    db.session.commit()
    if not ids:
        return 0, 0
    sent = failed = 0
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        for mail_id in ids:
            claimed = db.session.execute(
                update(OutboxMail).where(OutboxMail.id == mail_id, OutboxMail.status == "queued").values(status="sending")
            ).rowcount  # type: ignore[attr-defined]
            db.session.commit()
            if not claimed:
                continue  # another delivery run has it
            mail = db.session.get(OutboxMail, mail_id)
            if mail is None:
                continue
            message = EmailMessage()
            message["From"] = config["MAIL_SENDER"]
            message["To"] = mail.recipient
            message["Subject"] = mail.subject
            message["Message-ID"] = make_msgid(idstring=f"outbox-{mail.id}")
            message.set_content(mail.body)
            try:
                smtp.send_message(message)
            except smtplib.SMTPException as error:
                mail.status, mail.error = "failed", str(error)
                failed += 1
            else:
                mail.status, mail.sent_at, mail.error = "sent", utcnow(), None
                sent += 1
            person = db.session.get(User, mail.user_id) if mail.user_id is not None else None
            if person is not None and person.anonymised_at is not None:
                # The last word to a person whose data was erased (it tells them so) went to the
                # address they had; once handed over, the row keeps the account's placeholder.
                mail.recipient = person.email
            db.session.commit()
    return sent, failed
