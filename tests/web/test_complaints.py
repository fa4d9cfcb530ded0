"""Complaints (ISO/IEC 17024 9.9): anyone files one, with or without an account, under a rate limit;
the certifying institution's staff acknowledge it and assign a handler who is not involved; the
handler records the outcome; the complainant is mailed at each step in their language."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.audit import services as audit_log
from examportal.complaints import services
from examportal.extensions import db
from examportal.models import AuditEntry, Complaint, ComplaintStatus, OutboxMail, Role
from tests.factories import client_as, make_institution, make_user

NAME = "Zofia Skarżąca"
EMAIL = "zofia.skarzaca@example.org"
TEXT = "Egzaminator spóźnił się godzinę i nikt nas nie poinformował."
OUTCOME = "Przeprosiliśmy; egzaminator przeszedł szkolenie z punktualności."


@pytest.fixture
def world(app):
    ic = make_institution("Fundacja Skargowa")
    child = make_institution("Ośrodek Skargowy", parent=ic)
    other = make_institution("Fundacja Obca")
    return {
        "ic": ic, "child": child, "other": other,
        "staff": make_user((Role.STAFF, ic), first_name="Stefan", last_name="Kierownik"),
        "staff2": make_user((Role.STAFF, ic), first_name="Sylwia", last_name="Druga"),
        "handler": make_user((Role.APPEALS, ic), first_name="Halina", last_name="Rozpatrująca", locale="en"),
        "appeals2": make_user((Role.APPEALS, ic), first_name="Adam", last_name="Komisyjny"),
        "operator": make_user((Role.OPERATOR, child), first_name="Olaf", last_name="Operator", competent=False),
        "child_staff": make_user((Role.STAFF, child), first_name="Celina", last_name="Oddziałowa"),
        "other_staff": make_user((Role.STAFF, other), first_name="Oskar", last_name="Obcy"),
        "other_appeals": make_user((Role.APPEALS, other), first_name="Olga", last_name="Obca"),
        "candidate": make_user(Role.CANDIDATE, first_name="Karol", last_name="Kandydat", email="karol@example.pl"),
    }


def _file(client, institution, **overrides):
    data = {"institution_id": str(institution.id), "name": NAME, "email": EMAIL, "text": TEXT, "privacy": "y"} | overrides
    return client.post("/complaints/new", data=data)


def _complaints() -> list[Complaint]:
    return list(db.session.scalars(select(Complaint).order_by(Complaint.id)))


def _mails(recipient: str) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == recipient).order_by(OutboxMail.id)))


def _audit() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "complaint").order_by(AuditEntry.seq)))


def _filed(app, world, lang: str | None = "en", institution: str = "child") -> Complaint:
    assert _file(client_as(app, lang=lang), world[institution]).status_code == 302
    return _complaints()[-1]


def _acknowledged(app, world, **kwargs) -> Complaint:
    complaint = _filed(app, world, **kwargs)
    services.acknowledge(world["staff"], complaint)
    return complaint


def _assigned(app, world, **kwargs) -> Complaint:
    complaint = _acknowledged(app, world, **kwargs)
    services.assign(world["staff"], complaint, world["handler"].id, [world["operator"].id])
    return complaint


# --------------------------------------------------------------------------- filing


@pytest.mark.parametrize(("lang", "greeting", "locale"), [("en", "Hello Zofia Skarżąca,", "en"),
                                                          (None, "Dzień dobry, Zofia Skarżąca,", "pl")])
def test_anyone_files_a_complaint_and_gets_its_number_in_the_pages_language(app, world, lang, greeting, locale):
    client = client_as(app, lang=lang)
    form = client.get("/complaints/new").get_data(as_text=True)
    assert "Fundacja Skargowa" in form and "Ośrodek Skargowy" in form and "Fundacja Obca" in form
    response = _file(client, world["child"])
    assert response.status_code == 302 and response.headers["Location"].endswith("/complaints/filed")
    [complaint] = _complaints()
    assert (complaint.user_id, complaint.locale, complaint.status, complaint.text) == (None, locale, ComplaintStatus.FILED, TEXT)
    page = client.get("/complaints/filed").get_data(as_text=True)
    assert str(complaint.id) in page and EMAIL in page
    [mail] = _mails(EMAIL)
    assert mail.body.startswith(greeting) and TEXT in mail.body and str(complaint.id) in mail.subject
    assert mail.user_id is None
    # The certifying institution's staff are told (a validating one's complaint is theirs), in their language.
    for person in (world["staff"], world["staff2"]):
        [note] = _mails(person.email)
        assert note.body.startswith("Dzień dobry, ") and f"/complaints/{complaint.id}" in note.body
    assert not _mails(world["child_staff"].email)
    # Another browser sees no confirmation (there is nothing to guess: no page per number).
    assert client_as(app).get("/complaints/filed").headers["Location"].endswith("/complaints/new")


def test_a_logged_in_person_gets_name_and_address_prefilled_and_the_complaint_on_their_account(app, world):
    candidate = world["candidate"]
    client = client_as(app, candidate)
    form = client.get("/complaints/new").get_data(as_text=True)
    assert 'value="Karol Kandydat"' in form and 'value="karol@example.pl"' in form
    response = _file(client, world["ic"], name="Karol Kandydat", email="karol@example.pl")
    assert response.status_code == 302
    [complaint] = _complaints()
    assert complaint.user_id == candidate.id and complaint.institution_id == world["ic"].id
    [mail] = _mails("karol@example.pl")
    assert mail.user_id == candidate.id and mail.body.startswith("Hello Karol Kandydat,")


def test_the_footer_links_to_the_form(app, world):
    assert 'href="/complaints/new"' in client_as(app).get("/").get_data(as_text=True)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("overrides", "message"), [
    ({"institution_id": ""}, "Choose the institution from the list."),
    ({"institution_id": "999999"}, "Not a valid choice"),
    ({"institution_id": "99999999999999999999"}, "Not a valid choice"),
    ({"name": "   "}, "Enter your name"),
    ({"name": "N" * 201}, "Shorten the name to at most 200 characters."),
    ({"email": "not-an-address"}, "Enter a valid e-mail address."),
    ({"email": ""}, "Enter your e-mail address"),
    ({"text": ""}, "Describe what you complain about."),
    ({"text": " \n\t "}, "Describe what you complain about."),
    ({"text": "x" * (services.MAX_TEXT + 1)}, "Shorten the complaint to at most 5000 characters."),
    ({"text": "Skarga\x00"}, "Remove the invisible control character (NUL)"),
    ({"privacy": ""}, "Confirm that you have read the information on your personal data."),
])
def test_bad_input_is_refused_next_to_the_field_keeping_what_was_typed(app, world, overrides, message):
    client = client_as(app)
    response = _file(client, world["child"], **overrides)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page and 'class="error"' in page
    for key, value in {"name": NAME, "email": EMAIL, "text": TEXT}.items():
        if key not in overrides:
            assert value in page
    assert not _complaints() and not db.session.scalars(select(OutboxMail)).all()


def test_a_form_for_a_removed_institution_is_refused_by_the_service(app, world):
    with force_locale("en"), pytest.raises(services.ComplaintError, match="Choose the institution") as refused:
        services.file_complaint(institution_id=999_999, name=NAME, email=EMAIL, text=TEXT, locale="en")
    assert refused.value.field == "institution_id"


def test_hostile_text_is_shown_escaped(app, world):
    hostile_name = '<script>alert("name")</script>'
    hostile_text = '<img src=x onerror=alert(1)><b>bold</b>\n"quoted" & more'
    client = client_as(app)
    # Sent back with an error: what was typed is kept, escaped.
    refused = _file(client, world["child"], name=hostile_name, text=hostile_text, email="bad")
    assert refused.status_code == 400
    assert "<script>alert" not in refused.get_data(as_text=True) and "<img src=x" not in refused.get_data(as_text=True)
    assert "&lt;script&gt;" in refused.get_data(as_text=True)
    assert _file(client, world["child"], name=hostile_name, text=hostile_text).status_code == 302
    complaint = _complaints()[-1]
    staff = client_as(app, world["staff"])
    for path in ("/complaints/", f"/complaints/{complaint.id}"):
        page = staff.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page
        assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in page
    page = staff.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;bold&lt;/b&gt;" in page


# --------------------------------------------------------------------------- the rate limit


def test_filing_is_rate_limited_per_address_without_counting_refused_forms(app, world):
    app.config["COMPLAINT_RATE_LIMIT"] = "2 per hour"
    client = client_as(app)
    for _attempt in range(4):  # corrections cost nothing
        assert _file(client, world["child"], text="").status_code == 400
    assert [_file(client, world["child"]).status_code for _n in range(2)] == [302, 302]
    response = _file(client, world["child"])
    assert response.status_code == 429 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Too many attempts. Please wait a moment and try again." in page and "Traceback" not in page
    assert len(_complaints()) == 2
    assert client.get("/complaints/new").status_code == 200  # reading the form is not limited
    # Another address is not held up; the 429 page speaks Polish to a Polish page.
    assert _file(client_as(app), world["child"]).status_code == 302
    polish = client_as(app, lang=None)
    for _n in range(2):
        assert _file(polish, world["child"]).status_code == 302
    limited = _file(polish, world["child"])
    assert limited.status_code == 429 and "Zbyt wiele prób" in limited.get_data(as_text=True)


def test_the_limit_is_configured(app):
    assert app.config["COMPLAINT_RATE_LIMIT"] == "5 per hour"


# --------------------------------------------------------------------------- the staff's procedure


def test_acknowledge_assign_close_mail_the_complainant_at_each_step_in_their_language(app, world):
    complaint = _filed(app, world, lang=None)  # filed from a Polish page: the replies are Polish
    staff, handler = client_as(app, world["staff"]), client_as(app, world["handler"])
    page = staff.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert NAME in page and TEXT in page and "Acknowledge the complaint" in page
    assert "Assign a handler" not in page  # acknowledged first

    response = staff.post(f"/complaints/{complaint.id}/acknowledge")
    assert response.status_code == 302
    assert complaint.status == ComplaintStatus.ACKNOWLEDGED and complaint.acknowledged_by_id == world["staff"].id
    assert len(_mails(EMAIL)) == 2 and _mails(EMAIL)[-1].body.startswith("Dzień dobry, Zofia Skarżąca,")

    page = staff.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "Assign a handler" in page and "Olaf Operator" in page and "Halina Rozpatrująca" in page
    response = staff.post(f"/complaints/{complaint.id}/assign",
                          data={"handler": str(world["handler"].id), "concerned": [str(world["operator"].id)]})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(complaint)
    assert complaint.status == ComplaintStatus.ASSIGNED and complaint.handler_id == world["handler"].id
    told = _mails(EMAIL)[-1]
    assert told.body.startswith("Dzień dobry,") and "Halina" not in told.body and "Rozpatrująca" not in told.body
    [to_handler] = _mails(world["handler"].email)
    assert to_handler.body.startswith("Hello Halina,") and f"/complaints/{complaint.id}" in to_handler.body

    # The other staff see it read-only; the handler records the outcome.
    other_view = client_as(app, world["staff2"]).get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "Only the handler records the outcome." in other_view and "Close with this outcome" not in other_view
    assert "Close with this outcome" in handler.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    response = handler.post(f"/complaints/{complaint.id}/close", data={"outcome": OUTCOME})
    assert response.status_code == 302
    db.session.refresh(complaint)
    assert complaint.status == ComplaintStatus.CLOSED and complaint.outcome == OUTCOME
    assert complaint.closed_by_id == world["handler"].id
    closed = _mails(EMAIL)[-1]
    assert closed.body.startswith("Dzień dobry,") and OUTCOME in closed.body and len(_mails(EMAIL)) == 4
    assert OUTCOME in handler.get(f"/complaints/{complaint.id}").get_data(as_text=True)

    # Everything audited, people by id only, free text as a digest.
    entries = _audit()
    assert [e.action for e in entries] == ["complaint.filed", "complaint.acknowledged", "complaint.assigned",
                                           "complaint.closed"]
    assert entries[0].actor_id is None and entries[0].institution_id == world["ic"].id
    assert entries[2].after == {"status": "assigned", "handler_id": world["handler"].id,
                                "concerned_ids": [world["operator"].id]}
    assert entries[3].after["justification"] == audit_log.text_digest(OUTCOME)
    payload = json.dumps([audit_log._payload(e) for e in entries], ensure_ascii=False)
    for personal in (NAME, EMAIL, TEXT, OUTCOME, "Zofia"):
        assert personal not in payload
    # The audit page names the handler and the persons concerned.
    audit_page = staff.get("/audit/").get_data(as_text=True)
    assert "Complaint assigned to a handler" in audit_page and "Olaf Operator" in audit_page


def test_an_english_complaint_is_answered_in_english(app, world):
    complaint = _filed(app, world, lang="en")
    services.acknowledge(world["staff"], complaint)
    services.assign(world["staff"], complaint, world["handler"].id, [])
    services.close(world["handler"], complaint, OUTCOME)
    assert [m.body.split("\n")[0] for m in _mails(EMAIL)] == ["Hello Zofia Skarżąca,"] * 4


def test_steps_out_of_order_are_refused_with_a_reason(app, world):
    complaint = _filed(app, world)
    staff = client_as(app, world["staff"])
    response = staff.post(f"/complaints/{complaint.id}/assign", data={"handler": str(world["handler"].id)})
    assert response.status_code == 400 and "Acknowledge the complaint first" in response.get_data(as_text=True)
    assert staff.post(f"/complaints/{complaint.id}/acknowledge").status_code == 302
    again = staff.post(f"/complaints/{complaint.id}/acknowledge")
    assert again.status_code == 400 and "already been acknowledged" in again.get_data(as_text=True)
    early = client_as(app, world["handler"]).post(f"/complaints/{complaint.id}/close", data={"outcome": OUTCOME})
    assert early.status_code == 404  # not their complaint (yet)
    with force_locale("en"), pytest.raises(services.ComplaintError, match="Only the complaint's handler"):
        services.close(world["staff"], complaint, OUTCOME)
    assert complaint.status == ComplaintStatus.ACKNOWLEDGED and len(_mails(EMAIL)) == 2


def test_the_outcome_is_required_and_only_the_handler_records_it(app, world):
    complaint = _assigned(app, world)
    handler = client_as(app, world["handler"])
    for outcome, message in (("", "Write the outcome: the complainant receives it."),
                             ("   ", "Write the outcome: the complainant receives it."),
                             ("x" * (services.MAX_OUTCOME + 1), "Shorten the outcome to at most 5000 characters.")):
        response = handler.post(f"/complaints/{complaint.id}/close", data={"outcome": outcome})
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    other = client_as(app, world["staff2"]).post(f"/complaints/{complaint.id}/close", data={"outcome": OUTCOME})
    assert other.status_code == 400 and "Only the complaint&#39;s handler records its outcome." in other.get_data(as_text=True)
    assert complaint.status == ComplaintStatus.ASSIGNED and complaint.outcome is None
    assert handler.post(f"/complaints/{complaint.id}/close", data={"outcome": OUTCOME}).status_code == 302
    twice = handler.post(f"/complaints/{complaint.id}/close", data={"outcome": "Inny wynik"})
    assert twice.status_code == 400 and "already closed" in twice.get_data(as_text=True)
    db.session.refresh(complaint)
    assert complaint.outcome == OUTCOME


# --------------------------------------------------------------------------- who may handle it


def _assign(app, world, complaint, handler, concerned=(), by="staff"):
    return client_as(app, world[by]).post(f"/complaints/{complaint.id}/assign", data={
        "handler": str(handler.id), "concerned": [str(person.id) for person in concerned]})


def test_a_person_concerned_cannot_handle_it(app, world):
    complaint = _acknowledged(app, world)
    response = _assign(app, world, complaint, world["handler"], concerned=[world["handler"], world["operator"]])
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Halina Rozpatrująca is among the persons the complaint concerns and so cannot handle it." in page
    # What was chosen is kept: both ticks and the handler.
    ticked = set(re.findall(r'<input checked id="concerned-\d+" name="concerned" type="checkbox" value="(\d+)"', page))
    assert ticked == {str(world["handler"].id), str(world["operator"].id)}
    assert f'<option selected value="{world["handler"].id}">' in page
    assert complaint.status == ComplaintStatus.ACKNOWLEDGED and complaint.handler_id is None
    assert len(_mails(EMAIL)) == 2 and not _mails(world["handler"].email)


def test_the_assigning_person_if_concerned_cannot_pick_themself(app, world):
    complaint = _acknowledged(app, world)
    response = _assign(app, world, complaint, world["staff"], concerned=[world["staff"]])
    assert response.status_code == 400
    assert "You are among the persons the complaint concerns: you cannot assign it to yourself." in response.get_data(as_text=True)
    # Not concerned, they may handle it themself; or give it to another.
    assert _assign(app, world, complaint, world["staff2"], concerned=[world["staff"]]).status_code == 302
    assert complaint.handler_id == world["staff2"].id


def test_the_complainant_cannot_handle_their_own_complaint(app, world):
    # Filed from the staff member's account …
    staff2 = world["staff2"]
    assert _file(client_as(app, staff2), world["ic"], name=staff2.full_name, email=staff2.email).status_code == 302
    own = _complaints()[-1]
    services.acknowledge(world["staff"], own)
    page = client_as(app, world["staff"]).get(f"/complaints/{own.id}").get_data(as_text=True)
    assert "Sylwia Druga (filed this complaint)" in page
    response = _assign(app, world, own, staff2)
    assert response.status_code == 400
    assert "Sylwia Druga filed this complaint: a complainant cannot handle their own complaint." in response.get_data(as_text=True)
    # … nor assign it.
    response = _assign(app, world, own, world["handler"], by="staff2")
    assert response.status_code == 400
    assert "You filed this complaint: another member of staff assigns its handler." in response.get_data(as_text=True)
    # … and without an account, from the same address (case aside).
    assert _file(client_as(app), world["ic"], email=world["handler"].email.upper()).status_code == 302
    anonymous = _complaints()[-1]
    services.acknowledge(world["staff"], anonymous)
    response = _assign(app, world, anonymous, world["handler"])
    assert response.status_code == 400 and "Halina Rozpatrująca filed this complaint" in response.get_data(as_text=True)


def test_only_active_staff_and_appeals_members_of_the_handling_institution_may_handle(app, world):
    complaint = _acknowledged(app, world)
    cannot = "cannot handle complaints of Fundacja Skargowa: only its active staff and appeals-panel members can."
    # The institutions' own people are named with the reason: a validating institution's staff, an operator.
    for outsider in ("child_staff", "operator"):
        response = _assign(app, world, complaint, world[outsider])
        assert response.status_code == 400 and f"{world[outsider].full_name} {cannot}" in response.get_data(as_text=True)
    # Anyone else is not named (an id sent by hand must not tell whose it is).
    generic = ("Choose the handler from the list: only the active staff and appeals-panel members of Fundacja Skargowa "
               "can handle its complaints.")
    for outsider in ("other_appeals", "candidate"):
        response = _assign(app, world, complaint, world[outsider])
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and generic in page and world[outsider].full_name not in page, outsider
    for damaged in ("99999999999999999999", "abc", "-1"):
        response = client_as(app, world["staff"]).post(f"/complaints/{complaint.id}/assign", data={"handler": damaged})
        assert response.status_code == 400 and generic in response.get_data(as_text=True)
    assert "Choose the handler from the list." in \
        client_as(app, world["staff"]).post(f"/complaints/{complaint.id}/assign", data={}).get_data(as_text=True)
    with force_locale("en"):
        assert services.handler_refusal(complaint, world["appeals2"], set()) is None
        assert services.handler_refusal(complaint, world["staff2"], set()) is None
    # A person concerned must be one of the institutions' people.
    for concerned in ([str(world["other_staff"].id)], ["abc"]):
        response = client_as(app, world["staff"]).post(f"/complaints/{complaint.id}/assign", data={
            "handler": str(world["handler"].id), "concerned": concerned})
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and "Tick the persons concerned from the list." in page
        assert world["other_staff"].full_name not in page
    # Someone whose account is deactivated no longer may.
    world["appeals2"].active = False
    db.session.commit()
    with force_locale("en"):
        assert services.handler_refusal(complaint, world["appeals2"], set()) == f"Adam Komisyjny {cannot}"
    assert complaint.status == ComplaintStatus.ACKNOWLEDGED and complaint.handler_id is None


# --------------------------------------------------------------------------- who sees what


def test_another_institutions_people_get_404_and_a_candidate_403(app, world):
    complaint = _assigned(app, world)
    base = f"/complaints/{complaint.id}"
    for who in ("other_staff", "other_appeals", "child_staff", "appeals2"):
        client = client_as(app, world[who])
        assert client.get(base).status_code == 404, who
        assert client.post(f"{base}/close", data={"outcome": "x"}).status_code == 404, who
        assert NAME not in client.get("/complaints/").get_data(as_text=True), who
    for who in ("other_staff", "child_staff"):
        client = client_as(app, world[who])
        assert client.post(f"{base}/acknowledge").status_code == 404
        assert client.post(f"{base}/assign", data={"handler": str(world["other_staff"].id)}).status_code == 404
    candidate = client_as(app, world["candidate"])
    assert candidate.get("/complaints/").status_code == 403 and candidate.get(base).status_code == 403
    assert client_as(app).get("/complaints/").headers["Location"].startswith("/auth/login")
    assert client_as(app, world["handler"]).post(f"{base}/acknowledge").status_code == 403  # staff's step
    db.session.refresh(complaint)
    assert complaint.status == ComplaintStatus.ASSIGNED and complaint.outcome is None


def test_the_list_filters_and_shows_age(app, world):
    first = _assigned(app, world)
    first.filed_at -= timedelta(days=3)
    db.session.commit()
    second = _filed(app, world, institution="ic")
    services.close(world["handler"], first, OUTCOME)
    staff = client_as(app, world["staff"])

    def rows(client, **query) -> list[str]:
        response = client.get("/complaints/", query_string=query)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        shown = [c for c in (first, second) if f'data-complaint="{c.id}"' in page]
        return [str(c.id) for c in sorted(shown, key=lambda c: page.index(f'data-complaint="{c.id}"'))]

    assert rows(staff) == [str(second.id)]  # open ones by default
    assert rows(staff, status="") == [str(second.id), str(first.id)]
    assert rows(staff, status="closed") == [str(first.id)]
    assert rows(staff, status="", institution_id=str(world["child"].id)) == [str(first.id)]
    assert rows(staff, status="", mine="y") == []
    handler = client_as(app, world["handler"])
    assert rows(handler, status="") == [str(first.id)]  # only the one they handle
    page = staff.get("/complaints/", query_string={"status": "closed"}).get_data(as_text=True)
    assert "<td>3</td>" in page
    bad = staff.get("/complaints/", query_string={"status": "bogus", "institution_id": str(world["other"].id)})
    assert bad.status_code == 400 and bad.get_data(as_text=True).count("Not a valid choice") == 2


def test_age_is_counted_in_warsaw_calendar_days(app, world):
    from datetime import UTC, date, datetime

    complaint = _filed(app, world)
    # 23:30 UTC on 31 March is already 1 April in Warsaw (summer time).
    complaint.filed_at = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    assert services.age_days(complaint, on=date(2026, 4, 1)) == 0
    assert services.age_days(complaint, on=date(2026, 4, 3)) == 2
