"""The mail outbox: the development mailbox, delivery over real SMTP, ``flask mail deliver``."""
from __future__ import annotations

import email
import email.policy
import socket
from datetime import date

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from examportal.extensions import db
from examportal.mail.services import deliver_queued, queue_mail
from examportal.models import OutboxMail
from tests.factories import fresh_globals_per_request, valid_pesel


@pytest.fixture(autouse=True)
def _fresh_globals_per_request(app):
    with fresh_globals_per_request(app):
        yield


def queue(recipient: str, subject: str, body: str) -> OutboxMail:
    mail = queue_mail(recipient, subject, body)
    db.session.commit()
    return mail


def rows() -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


class RecordingHandler:
    """An SMTP server's handler that keeps every message and refuses chosen recipients."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on 127.0.0.1 and the app configured to send through it."""
    servers = []

    def start(refuse: tuple[str, ...] = ()) -> RecordingHandler:
        handler = RecordingHandler(refuse)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False,
                          MAIL_USERNAME=None, MAIL_PASSWORD=None)
        return handler

    yield start
    for controller in servers:
        controller.stop()


# --- the development mailbox --------------------------------------------------------------

def test_dev_mailbox_lists_messages_newest_first_and_filters_by_recipient(client):
    queue("anna@example.pl", "Pierwsza wiadomość", "treść 1")
    queue("jan@example.pl", "Druga wiadomość", "treść 2")
    response = client.get("/dev/mailbox/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.index("Druga wiadomość") < html.index("Pierwsza wiadomość")
    assert "anna@example.pl" in html and "jan@example.pl" in html

    html = client.get("/dev/mailbox/?to=ANNA@example.pl").get_data(as_text=True)
    assert "Pierwsza wiadomość" in html
    assert "Druga wiadomość" not in html


def test_dev_mailbox_shows_a_message_with_a_clickable_link(client):
    mail = queue("anna@example.pl", "Potwierdź adres", "Otwórz: http://localhost/auth/confirm/abc.def\n<b>nie HTML</b>")
    response = client.get(f"/dev/mailbox/{mail.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Potwierdź adres" in html
    assert 'href="http://localhost/auth/confirm/abc.def"' in html
    assert "<b>nie HTML</b>" not in html  # the body is text, escaped
    assert "&lt;b&gt;nie HTML&lt;/b&gt;" in html


def test_dev_mailbox_unknown_message_is_404(client):
    assert client.get("/dev/mailbox/999").status_code == 404


def test_dev_mailbox_shows_the_registration_mail(client):
    client.post("/auth/register", data={
        "first_name": "Anna", "last_name": "Kowalska", "email": "anna@example.pl", "has_pesel": "yes",
        "pesel": valid_pesel(date(1990, 5, 17)), "birth_date": "1990-05-17", "birth_place": "Kraków",
        "password": "bardzo-tajne-haslo", "password_confirm": "bardzo-tajne-haslo", "rodo_consent": "y",
    })
    [mail] = rows()
    html = client.get(f"/dev/mailbox/{mail.id}").get_data(as_text=True)
    assert "/auth/confirm/" in html
    assert "Anna" in html


@pytest.mark.parametrize("config", [{"MAIL_SERVER": "smtp.example.pl"}, {"DEV_MAILBOX": False}])
def test_dev_mailbox_is_404_where_real_mail_goes_out(app, client, config):
    mail = queue("anna@example.pl", "Tajne", "hasło")
    app.config.update(config)
    for path in ("/dev/mailbox/", f"/dev/mailbox/{mail.id}"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Tajne" not in response.get_data(as_text=True)
    assert "/dev/mailbox" not in client.get("/").get_data(as_text=True)


def test_production_config_has_no_dev_mailbox():
    from examportal.config import ProductionConfig

    assert ProductionConfig.DEV_MAILBOX is False


# --- delivery over SMTP -------------------------------------------------------------------

def test_deliver_queued_sends_over_smtp_and_marks_rows_sent(app, smtp_server):
    server = smtp_server()
    queue("anna@example.pl", "Zażółć gęślą jaźń", "Dzień dobry,\nłącze: http://localhost/x")
    queue("jan@example.pl", "Druga", "treść")

    assert deliver_queued() == (2, 0)

    assert [m["To"] for m in server.messages] == ["anna@example.pl", "jan@example.pl"]
    first = server.messages[0]
    assert first["Subject"] == "Zażółć gęślą jaźń"
    assert first["From"] == app.config["MAIL_SENDER"]
    assert "łącze: http://localhost/x" in first.get_content()
    assert server.envelopes[0].rcpt_tos == ["anna@example.pl"]
    for row in rows():
        assert row.status == "sent"
        assert row.sent_at is not None
        assert row.error is None

    # Sent rows are not sent again.
    assert deliver_queued() == (0, 0)
    assert len(server.messages) == 2


def test_deliver_queued_marks_a_refused_message_failed_and_sends_the_rest(smtp_server):
    server = smtp_server(refuse=("nikt@example.pl",))
    queue("nikt@example.pl", "Do nikogo", "x")
    queue("jan@example.pl", "Do Jana", "y")

    assert deliver_queued() == (1, 1)

    refused, delivered = rows()
    assert refused.status == "failed" and refused.sent_at is None
    assert "No such mailbox" in refused.error
    assert delivered.status == "sent"
    assert [m["Subject"] for m in server.messages] == ["Do Jana"]


def test_deliver_queued_respects_the_limit(smtp_server):
    server = smtp_server()
    for n in range(3):
        queue(f"osoba{n}@example.pl", f"Wiadomość {n}", "x")
    assert deliver_queued(limit=2) == (2, 0)
    assert [r.status for r in rows()] == ["sent", "sent", "queued"]
    assert deliver_queued() == (1, 0)
    assert len(server.messages) == 3


def test_without_mail_server_nothing_is_sent(app):
    assert not app.config["MAIL_SERVER"]
    queue("anna@example.pl", "Zostaje", "x")
    assert deliver_queued() == (0, 0)
    assert [r.status for r in rows()] == ["queued"]


def test_registration_mail_reaches_the_smtp_server(client, smtp_server):
    server = smtp_server()
    client.post("/auth/register", data={
        "first_name": "Anna", "last_name": "Kowalska", "email": "anna@example.pl", "has_pesel": "yes",
        "pesel": valid_pesel(date(1990, 5, 17)), "birth_date": "1990-05-17", "birth_place": "Kraków",
        "password": "bardzo-tajne-haslo", "password_confirm": "bardzo-tajne-haslo", "rodo_consent": "y",
    })
    assert deliver_queued() == (1, 0)
    [message] = server.messages
    assert message["To"] == "anna@example.pl"
    assert "/auth/confirm/" in message.get_content()


# --- flask mail deliver -------------------------------------------------------------------

def test_mail_deliver_command_sends_and_reports(runner, smtp_server):
    server = smtp_server()
    queue("anna@example.pl", "Jedna", "x")
    queue("jan@example.pl", "Druga", "y")
    result = runner.invoke(args=["mail", "deliver"])
    assert result.exit_code == 0, result.output
    assert "sent 2, failed 0" in result.output
    assert len(server.messages) == 2
    assert {r.status for r in rows()} == {"sent"}


def test_mail_deliver_command_exits_non_zero_when_a_message_fails(runner, smtp_server):
    smtp_server(refuse=("nikt@example.pl",))
    queue("nikt@example.pl", "Do nikogo", "x")
    result = runner.invoke(args=["mail", "deliver"])
    assert result.exit_code == 1
    assert "sent 0, failed 1" in result.output


def test_mail_deliver_command_without_server_sends_nothing(runner):
    queue("anna@example.pl", "Zostaje", "x")
    result = runner.invoke(args=["mail", "deliver"])
    assert result.exit_code == 0
    assert "sent 0, failed 0" in result.output
    assert [r.status for r in rows()] == ["queued"]


def test_mail_deliver_command_has_help(runner):
    result = runner.invoke(args=["mail", "deliver", "--help"])
    assert result.exit_code == 0
    assert "MAIL_SERVER" in result.output


def test_the_last_mail_to_an_erased_person_forgets_their_address_once_handed_over(app, smtp_server):
    from examportal.models import Role
    from examportal.records.retention import anonymise
    from tests.factories import make_user

    server = smtp_server()
    person = make_user(Role.CANDIDATE, email="zofia.usunieta@example.pl")
    other = make_user(Role.CANDIDATE, email="jan.zostaje@example.pl")
    anonymise(person, actor=None, cause="erasure")
    # As the erasure's decision does: mailed to the old address after the account was anonymised.
    queue_mail("zofia.usunieta@example.pl", "Usunięto dane", "Twoje dane zostały usunięte.", user=person)
    queue_mail(other.email, "Inna", "x", user=other)
    db.session.commit()

    assert deliver_queued() == (2, 0)

    assert [m["To"] for m in server.messages] == ["zofia.usunieta@example.pl", "jan.zostaje@example.pl"]
    erased, kept = rows()
    assert erased.recipient == person.email and "zofia" not in erased.recipient
    assert kept.recipient == "jan.zostaje@example.pl"
