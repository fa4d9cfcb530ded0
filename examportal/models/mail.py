"""The mail outbox."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .base import Timestamped


class OutboxMail(Timestamped, Model):
    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254), index=True, nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True, nullable=False)  # queued|sending|sent|failed
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def status_label(self) -> str:
        """The delivery status in the page's language."""
        return str(MAIL_STATUS_LABELS.get(self.status, self.status))


MAIL_STATUS_LABELS = {"queued": _l("waiting to be sent"), "sent": _l("sent"), "failed": _l("not delivered"),
                      "sending": _l("handed to the mail server, not confirmed (never re-sent automatically)")}
