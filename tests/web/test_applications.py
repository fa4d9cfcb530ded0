"""Applications through the web: staff publish a session, candidates find it and apply (identity
confirmed, declarations, accommodation needs), withdraw; staff accept or reject on the session's
page; every refusal says why."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.applications import services
from examportal.extensions import db
from examportal.models import (
    Application,
    ApplicationStatus,
    AuditEntry,
    Enrolment,
    EnrolmentStatus,
    OutboxMail,
    Role,
    SessionMode,
    SessionStatus,
    ValidationSession,
    utcnow,
)
from tests.factories import (
    client_as,
    make_applicant,
    make_application,
    make_institution,
    make_published_session,
    make_session,
    make_user,
    valid_pesel,
)

APPLY = {"identity_confirmed": "y", "consent": "y", "rodo_read": "y", "rules_accepted": "y", "extra_time_minutes": "0"}


@pytest.fixture
def world(app, qualification):
    ic = make_institution("Fundacja Aplikacji", qualifications=[qualification], city="Kraków", address="ul. Długa 1")
    child = make_institution("Ośrodek Aplikacji", parent=ic)
    staff = make_user((Role.STAFF, ic), first_name="Beata", last_name="Kadrowa", locale="en")
    session = make_published_session(child, qualification, title="SESJA-OTWARTA", capacity=2,
                                      fee_pln=Decimal("350.00"), place="Kraków, ul. Długa 1")
    candidate = make_applicant(first_name="Celina", last_name="Kandydacka", locale="en")
    return {"ic": ic, "child": child, "staff": staff, "session": session, "candidate": candidate,
            "qualification": qualification}


def body(response) -> str:
    return response.get_data(as_text=True)


def entries(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def mails_to(user) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.user_id == user.id).order_by(OutboxMail.id)))


def applications_of(user) -> list[Application]:
    db.session.expire_all()
    return list(db.session.scalars(select(Application).where(Application.candidate_id == user.id)))


def request(**overrides) -> services.ApplicationRequest:
    values = {"identity_confirmed": True, "consent": True, "rodo_read": True, "rules_accepted": True}
    return services.ApplicationRequest(**(values | overrides))


# --------------------------------------------------------------------------- publishing a session


SESSION_FORM = {"title": "Sesja z naborem", "starts_at": "2027-03-10T09:00", "mode": "onsite", "place": "Kraków",
                "capacity": "12", "registration_deadline": "2027-03-01T23:59", "fee_pln": "350,50", "published": "y"}


def test_staff_publish_a_session_with_a_deadline_in_warsaw_time_and_a_fee(app, world):
    client = client_as(app, world["staff"])
    response = client.post("/sessions/new", data=dict(SESSION_FORM, institution_id=world["ic"].id,
                                                     qualification_id=world["qualification"].id))
    assert response.status_code == 302
    session = db.session.scalar(select(ValidationSession).where(ValidationSession.title == "Sesja z naborem"))
    assert session.published_at is not None
    assert session.registration_deadline == datetime(2027, 3, 1, 22, 59, tzinfo=UTC)  # 23:59 in Warsaw, winter
    assert session.fee_pln == Decimal("350.50")
    [entry] = [e for e in entries("session.created") if e.object_id == str(session.id)]
    assert entry.after["fee_pln"] == "350.50" and entry.after["registration_deadline"].startswith("2027-03-01T22:59")

    # The edit form shows the deadline in Warsaw time and the publication; unticking it closes applications.
    page = body(client.get(f"/sessions/{session.id}/edit"))
    assert 'value="2027-03-01T23:59"' in page and 'value="350.50"' in page
    assert '<input checked id="published" name="published" type="checkbox" value="y">' in page
    first_published = session.published_at
    data = dict(SESSION_FORM, fee_pln="0")
    assert client.post(f"/sessions/{session.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert session.published_at == first_published and session.fee_pln == Decimal("0.00")  # publishing again keeps the moment
    data.pop("published")
    assert client.post(f"/sessions/{session.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert session.published_at is None


@pytest.mark.parametrize("overrides, field, message", [
    ({"registration_deadline": "2027-03-10T09:00"}, "registration_deadline", "must be before the session starts"),
    ({"registration_deadline": "2027-04-01T09:00"}, "registration_deadline", "must be before the session starts"),
    ({"registration_deadline": ""}, "registration_deadline", "Set the deadline for applications before publishing"),
    ({"registration_deadline": "soon"}, "registration_deadline", "Enter the date and time as YYYY-MM-DD HH:MM."),
    ({"registration_deadline": "0001-01-01T00:00"}, "registration_deadline", "Enter a date between"),
    ({"fee_pln": "-5"}, "fee_pln", "The fee cannot be negative."),
    ({"fee_pln": "trzysta"}, "fee_pln", "Enter the fee in złoty, e.g. 350 or 350,00."),
    ({"fee_pln": "350,555"}, "fee_pln", "at most two decimal places"),
    ({"fee_pln": "1000000"}, "fee_pln", "The fee cannot exceed"),
])
@pytest.mark.parametrize("page", ["new", "edit"])
def test_publication_errors_are_clear_and_keep_the_typed_values(app, world, page, overrides, field, message):
    client = client_as(app, world["staff"])
    data = dict(SESSION_FORM, institution_id=world["ic"].id, qualification_id=world["qualification"].id, **overrides)
    url = "/sessions/new" if page == "new" else f"/sessions/{world['session'].id}/edit"
    before = db.session.scalar(select(ValidationSession.fee_pln).where(ValidationSession.id == world["session"].id))
    response = client.post(url, data=data)
    assert response.status_code == 400
    page_text = body(response)
    assert message in page_text and f'id="{field}-error"' in page_text
    if overrides[field]:
        assert f'value="{overrides[field]}"' in page_text  # what was typed stays
    db.session.expire_all()
    assert db.session.scalar(select(ValidationSession).where(ValidationSession.title == "Sesja z naborem")) is None
    assert world["session"].fee_pln == before


def test_the_service_refuses_a_deadline_after_the_start_and_a_negative_fee(app, world):
    from examportal.sessions import services as sessions

    data = {"title": "T", "institution_id": world["ic"].id, "qualification_id": world["qualification"].id,
            "starts_at": datetime(2027, 3, 10, 9), "place": "P", "mode": "onsite", "capacity": 5, "published": True}
    with force_locale("en"):
        with pytest.raises(sessions.SessionRuleError, match="must be before the session starts"):
            sessions.create_session(world["staff"], data | {"registration_deadline": datetime(2027, 3, 11)})
        with pytest.raises(sessions.SessionRuleError, match="Set the deadline for applications before publishing"):
            sessions.create_session(world["staff"], data | {"registration_deadline": None})
        with pytest.raises(sessions.SessionRuleError, match="The fee cannot be negative"):
            sessions.create_session(world["staff"], data | {"registration_deadline": datetime(2027, 3, 1),
                                                            "fee_pln": Decimal("-1")})


# --------------------------------------------------------------------------- the list of open sessions


def test_candidates_see_published_open_sessions_in_warsaw_time(app, world, qualification):
    now = datetime.now(UTC)
    remote = make_published_session(world["ic"], qualification, title="SESJA-ZDALNA", mode=SessionMode.REMOTE,
                                    place="Pokój wideo 7", starts_at=datetime(2027, 7, 1, 8, 0, tzinfo=UTC),
                                    registration_deadline=datetime(2027, 6, 20, 21, 59, tzinfo=UTC), capacity=1)
    make_session(world["ic"], qualification, title="SESJA-NIEOPUBLIKOWANA")
    make_published_session(world["ic"], qualification, title="SESJA-PO-TERMINIE", registration_deadline=now - timedelta(hours=1))
    make_published_session(world["ic"], qualification, title="SESJA-ROZPOCZETA", starts_at=now - timedelta(hours=1),
                           registration_deadline=now - timedelta(days=1))
    make_published_session(world["ic"], qualification, title="SESJA-ODWOLANA", status=SessionStatus.CANCELLED)
    make_published_session(world["ic"], qualification, title="SESJA-JUTRO-PUBLIKOWANA", published_at=now + timedelta(days=1))
    from tests.factories import enrol

    enrol(remote, make_user(Role.CANDIDATE))  # its only place is taken
    page = body(client_as(app, world["candidate"]).get("/applications/sessions"))
    assert "SESJA-OTWARTA" in page and "SESJA-ZDALNA" in page
    for hidden in ("SESJA-NIEOPUBLIKOWANA", "SESJA-PO-TERMINIE", "SESJA-ROZPOCZETA", "SESJA-ODWOLANA", "SESJA-JUTRO-PUBLIKOWANA"):
        assert hidden not in page
    row = page[page.index(f'data-session="{remote.id}"'):]
    row = row[:row.index("</tr>")].replace("\u202f", " ")  # CLDR puts a narrow space before AM/PM
    assert "7/1/27, 10:00 AM" in row  # 08:00 UTC is 10:00 in Warsaw in summer
    assert "6/20/27, 11:59 PM" in row
    assert "remote (Pokój wideo 7)" in row and "full: waiting list" in row and "not announced" in row
    assert "13881" in row and world["ic"].name in row
    open_row = page[page.index(f'data-session="{world["session"].id}"'):]
    assert "350.00 zł" in open_row[:open_row.index("</tr>")] and ">2<" in open_row[:open_row.index("</tr>")]
    # Staff and other roles are not candidates: the list is theirs only.
    assert client_as(app, world["staff"]).get("/applications/sessions").status_code == 403


def test_the_candidates_desk_and_my_sessions_lead_to_the_list(app, world):
    client = client_as(app, world["candidate"])
    for url in ("/dashboard", "/sessions/mine"):
        page = body(client.get(url))
        assert 'href="/applications/sessions"' in page and 'href="/applications/mine"' in page
    assert "Apply to a session open for applications" in body(client.get("/sessions/mine"))


# --------------------------------------------------------------------------- applying


def test_a_candidate_applies_with_declarations_and_accommodation_needs(app, world):
    candidate, session = world["candidate"], world["session"]
    client = client_as(app, candidate)
    page = body(client.get(f"/applications/sessions/{session.id}"))
    assert "Celina Kandydacka" in page and "*******" + candidate.pesel[-4:] in page and candidate.pesel not in page
    assert "Information on the processing of personal data" in page and "The rules of the validation" in page
    response = client.post(f"/applications/sessions/{session.id}", data=dict(
        APPLY, extra_time_minutes="30", needs_large_font="y", needs_other="Stolik dla wózka",
        recognition_requested="y", recognition_note="Sesja z marca"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/applications/mine")
    [application] = applications_of(candidate)
    assert application.status == ApplicationStatus.SUBMITTED and application.session_id == session.id
    assert application.rodo_clause_version == "2026-11"
    assert application.identity_confirmed_at and application.consent_at and application.rules_accepted_at
    assert (application.extra_time_minutes, application.needs_large_font, application.needs_reader) == (30, True, False)
    assert application.needs_other == "Stolik dla wózka" and application.recognition_note == "Sesja z marca"
    [entry] = entries("application.submitted")
    assert entry.after["needs_other"] is True and "Stolik" not in str(entry.after)  # free text stays out of the chain
    [mail] = mails_to(candidate)
    assert mail.subject == "Your application has been received" and "SESJA-OTWARTA" in mail.body
    mine = body(client.get("/applications/mine"))
    assert "SESJA-OTWARTA" in mine and "waiting for the formal check" in mine
    # The list now says so, and applying again is refused.
    assert "You applied: waiting for the formal check" in body(client.get("/applications/sessions"))
    again = client.post(f"/applications/sessions/{session.id}", data=APPLY)
    assert again.status_code == 400 and "You have already applied to this session" in body(again)
    assert len(applications_of(candidate)) == 1


@pytest.mark.parametrize("missing, message", [
    ("identity_confirmed", "Confirm that your data is correct"),
    ("consent", "Without this consent we cannot process your application."),
    ("rodo_read", "Read the information on the processing of personal data"),
    ("rules_accepted", "Read the rules of the validation"),
])
def test_every_declaration_is_required_and_typed_text_is_kept(app, world, missing, message):
    client = client_as(app, world["candidate"])
    data = dict(APPLY, needs_other="Potrzebuję lupy")
    data.pop(missing)
    response = client.post(f"/applications/sessions/{world['session'].id}", data=data)
    assert response.status_code == 400
    page = body(response)
    assert message in page and "Potrzebuję lupy" in page
    assert applications_of(world["candidate"]) == []


@pytest.mark.parametrize("minutes", ["-1", "241", "abc", "1e3", "99999999999999999999", "12\x00"])
def test_bad_extra_time_is_refused_with_a_message(app, world, minutes):
    response = client_as(app, world["candidate"]).post(f"/applications/sessions/{world['session'].id}",
                                                       data=dict(APPLY, extra_time_minutes=minutes))
    assert response.status_code == 400
    assert 'id="extra_time_minutes-error"' in body(response)
    assert applications_of(world["candidate"]) == []


def test_the_service_refuses_applications_with_the_reason(app, world, qualification):
    candidate, now = world["candidate"], datetime.now(UTC)
    unpublished = make_session(world["ic"], qualification)
    late = make_published_session(world["ic"], qualification, registration_deadline=now - timedelta(minutes=1))
    started = make_published_session(world["ic"], qualification, starts_at=now - timedelta(minutes=5),
                                     registration_deadline=now - timedelta(days=1))
    with force_locale("en"):
        for session, message in ((unpublished, "This session is not open for applications."),
                                 (late, "The deadline for applications to this session has passed."),
                                 (started, "This session has already started")):
            with pytest.raises(services.ApplicationError, match=message):
                services.apply(candidate, session, request())
        with pytest.raises(services.ApplicationError, match="make every declaration"):
            services.apply(candidate, world["session"], request(rules_accepted=False))
        with pytest.raises(services.ApplicationError, match="from 0 to 240"):
            services.apply(candidate, world["session"], request(extra_time_minutes=241))
        services.apply(candidate, world["session"], request())
        with pytest.raises(services.ApplicationError, match="You have already applied"):
            services.apply(candidate, world["session"], request())
        staff = world["staff"]
        with pytest.raises(services.ApplicationError, match="Only a candidate's account can apply"):
            services.apply(staff, world["session"], request())
    assert len(applications_of(candidate)) == 1


def test_two_applications_at_once_hit_the_unique_index_and_get_a_translated_refusal(app, world, monkeypatch):
    candidate, session = world["candidate"], world["session"]
    services.apply(candidate, session, request())
    # As if a second request ran alongside the first: its own check saw no application yet.
    monkeypatch.setattr(services, "open_application", lambda *_args: None)
    with force_locale("en"), pytest.raises(services.ApplicationError, match="You have already applied"):
        services.apply(candidate, session, request())
    assert len(applications_of(candidate)) == 1


def test_an_unpublished_session_is_not_found_for_candidates(app, world, qualification):
    hidden = make_session(world["ic"], qualification, title="SESJA-UKRYTA")
    client = client_as(app, world["candidate"])
    for response in (client.get(f"/applications/sessions/{hidden.id}"),
                     client.post(f"/applications/sessions/{hidden.id}", data=APPLY)):
        assert response.status_code == 404 and "SESJA-UKRYTA" not in body(response)
    assert client.get("/applications/sessions/999999").status_code == 404


def test_a_closed_session_says_why_instead_of_offering_the_form(app, world, qualification):
    late = make_published_session(world["ic"], qualification, title="SESJA-ZAMKNIETA",
                                  registration_deadline=datetime.now(UTC) - timedelta(hours=2))
    client = client_as(app, world["candidate"])
    page = body(client.get(f"/applications/sessions/{late.id}"))
    assert "The deadline for applications to this session has passed." in page and 'id="application-form"' not in page
    response = client.post(f"/applications/sessions/{late.id}", data=APPLY)
    assert response.status_code == 400 and "The deadline for applications to this session has passed." in body(response)
    assert applications_of(world["candidate"]) == []


# --------------------------------------------------------------------------- identity data


def test_a_candidate_without_identity_data_completes_it_first(app, world):
    candidate = make_user(Role.CANDIDATE, first_name="Bez", last_name="Peselu", birth_date=None, birth_place=None)
    client = client_as(app, candidate)
    session = world["session"]
    page = body(client.get(f"/applications/sessions/{session.id}"))
    assert "Complete your data" in page and 'id="application-form"' not in page
    refused = client.post(f"/applications/sessions/{session.id}", data=APPLY)
    assert refused.status_code == 400 and "Complete your identity data first" in body(refused)

    url = f"/applications/identity?session={session.id}"
    bad = client.post(url, data={"birth_date": "1985-02-03", "birth_place": "Gdańsk", "has_pesel": "yes",
                                 "pesel": valid_pesel(date(1990, 5, 17), "4321")})
    assert bad.status_code == 400 and "The PESEL number does not match the date of birth." in body(bad)
    assert 'value="Gdańsk"' in body(bad)
    # Someone else's PESEL is refused by the database's unique index, with a message.
    taken = valid_pesel(date(1985, 2, 3), "1111")
    make_user(Role.CANDIDATE, pesel=taken)
    clash = client.post(url, data={"birth_date": "1985-02-03", "birth_place": "Gdańsk", "has_pesel": "yes", "pesel": taken})
    assert clash.status_code == 400 and "This PESEL number cannot be saved with your account" in body(clash)
    db.session.expire_all()
    assert candidate.pesel is None and candidate.birth_date is None  # nothing half-saved

    ok = client.post(url, data={"birth_date": "1985-02-03", "birth_place": "Gdańsk", "has_pesel": "no",
                                "id_document_type": "passport", "id_document_number": " AB123456 "})
    assert ok.status_code == 302 and ok.headers["Location"].endswith(f"/applications/sessions/{session.id}")
    db.session.expire_all()
    assert (candidate.birth_date, candidate.id_document_type, candidate.id_document_number) == (
        date(1985, 2, 3), "passport", "AB123456")
    [entry] = entries("account.identity_completed")
    assert entry.after == {"fields": ["birth_date", "birth_place", "id_document"]}
    page = body(client.get(f"/applications/sessions/{session.id}"))
    assert 'id="application-form"' in page and "AB123456" in page
    # Complete now: the identity page says so and changes nothing.
    assert "Your identity data is complete." in body(client.get("/applications/identity"))
    assert client.post("/applications/identity", data={"birth_date": "2000-01-01"}).status_code == 302
    db.session.expire_all()
    assert candidate.birth_date == date(1985, 2, 3)


# --------------------------------------------------------------------------- withdrawing


def test_a_candidate_withdraws_a_submitted_application_and_may_apply_again(app, world):
    candidate, session = world["candidate"], world["session"]
    application = services.apply(candidate, session, request())
    client = client_as(app, candidate)
    assert client.post(f"/applications/{application.id}/withdraw").status_code == 302
    db.session.expire_all()
    assert application.status == ApplicationStatus.WITHDRAWN
    assert [e.after["status"] for e in entries("application.withdrawn")] == ["withdrawn"]
    response = client.post(f"/applications/{application.id}/withdraw")
    assert response.status_code == 302
    assert "This application has already been decided or withdrawn." in body(client.get("/applications/mine"))
    services.apply(candidate, session, request())  # the partial unique index lets a new one in
    assert sorted(a.status.value for a in applications_of(candidate)) == ["submitted", "withdrawn"]


def test_nobody_withdraws_someone_elses_application(app, world):
    application = services.apply(world["candidate"], world["session"], request())
    other = make_applicant()
    assert client_as(app, other).post(f"/applications/{application.id}/withdraw").status_code == 404
    with force_locale("en"), pytest.raises(services.ApplicationError, match="This is not your application"):
        services.withdraw(other, application)
    db.session.expire_all()
    assert application.status == ApplicationStatus.SUBMITTED


# --------------------------------------------------------------------------- the formal check


def test_staff_accept_the_candidate_is_enrolled_with_the_accommodation_fee_and_a_mail(app, world):
    candidate, session, staff = world["candidate"], world["session"], world["staff"]
    application = services.apply(candidate, session, request(extra_time_minutes=30, needs_large_font=True,
                                                             needs_reader=True, needs_other="Stolik dla wózka"))
    client = client_as(app, staff)
    page = body(client.get(f"/sessions/{session.id}"))
    assert 'id="applications"' in page and "Celina Kandydacka" in page and "Places left: 2 of 2." in page
    assert f'name="accept-{application.id}-extra_time_minutes"' in page and 'value="30"' in page
    assert "larger font; a reader; Stolik dla wózka" in page  # the request comes filled in
    response = client.post(f"/applications/{application.id}/accept", data={
        f"accept-{application.id}-extra_time_minutes": "25",
        f"accept-{application.id}-accommodations": "Czcionka 16 pt; lektor"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/sessions/{session.id}#applications")
    db.session.expire_all()
    assert application.status == ApplicationStatus.ACCEPTED and application.decided_by_id == staff.id
    enrolment = application.enrolment
    assert enrolment.session_id == session.id and enrolment.status == EnrolmentStatus.ENROLLED
    assert (enrolment.extra_time_minutes, enrolment.accommodations) == (25, "Czcionka 16 pt; lektor")
    assert enrolment.fee_pln == Decimal("350.00") and enrolment.fee_reason is None
    [entry] = entries("application.accepted")
    assert entry.after["enrolment_id"] == enrolment.id and entry.after["extra_time_minutes"] == 25
    assert entries("session.candidate_enrolled")[0].object_id == str(enrolment.id)
    mail = mails_to(candidate)[-1]
    assert mail.subject == "Your application has been accepted"
    assert session.place in mail.body and "Polish time" in mail.body and "bring an identity document" in mail.body
    assert "25 minutes" in mail.body
    local = session.starts_at.astimezone(services.sessions.WARSAW)
    assert f"{local.hour % 12 or 12}:{local.minute:02d}" in mail.body  # the date and time in Warsaw
    # The candidate sees the session date; the staff page shows the seat taken and the accommodation.
    mine = body(client_as(app, candidate).get("/applications/mine"))
    assert 'class="session-date"' in mine and "25 minutes" in mine
    page = body(client.get(f"/sessions/{session.id}"))
    assert "Places left: 1 of 2." in page and "Czcionka 16 pt; lektor" in page
    # Decided: a second decision is refused.
    with force_locale("en"), pytest.raises(services.ApplicationError, match="already been decided"):
        services.reject(staff, application, "za późno")


def test_accepting_with_the_request_as_asked_and_a_free_session_leaves_the_fee_to_staff(app, world, qualification):
    free = make_published_session(world["ic"], qualification, fee_pln=Decimal("0.00"))
    application = services.apply(world["candidate"], free, request(needs_reader=True))
    with force_locale("en"):
        outcome = services.accept(world["staff"], application)
    enrolment = outcome.application.enrolment
    assert outcome.fee_to_record and enrolment.fee_pln is None  # a 0 zł fee needs its reason: staff record it
    assert (enrolment.extra_time_minutes, enrolment.accommodations) == (0, "a reader")
    client = client_as(app, world["staff"])
    second = services.apply(make_applicant(), free, request())
    response = client.post(f"/applications/{second.id}/accept", data={}, follow_redirects=True)
    assert "The announced fee is 0 zł: record the candidate&#39;s fee" in body(response)


def test_staff_reject_with_a_reason_the_candidate_is_told_how_to_appeal(app, world):
    candidate, session, staff = world["candidate"], world["session"], world["staff"]
    application = services.apply(candidate, session, request())
    client = client_as(app, staff)
    empty = client.post(f"/applications/{application.id}/reject", data={f"reject-{application.id}-reason": "   "})
    assert empty.status_code == 400
    assert "Give the reason for the rejection" in body(empty) and f'id="reject-{application.id}-reason-error"' in body(empty)
    db.session.expire_all()
    assert application.status == ApplicationStatus.SUBMITTED
    with force_locale("en"), pytest.raises(services.ApplicationError, match="Give the reason for the rejection"):
        services.reject(staff, application, "")
    reason = "Brak wymaganego dokumentu potwierdzającego wykształcenie."
    response = client.post(f"/applications/{application.id}/reject", data={f"reject-{application.id}-reason": reason})
    assert response.status_code == 302
    db.session.expire_all()
    assert application.status == ApplicationStatus.REJECTED and application.rejection_reason == reason
    assert application.enrolment_id is None
    [entry] = entries("application.rejected")
    assert reason not in str(entry.after) and entry.after["reason"].startswith("text:hmac-sha256:")
    until = (application.decided_at.astimezone(services.sessions.WARSAW) + timedelta(days=14)).date()
    mail = mails_to(candidate)[-1]
    assert mail.subject == "Your application has been rejected" and reason in mail.body
    assert "within 14 days" in mail.body and world["ic"].name in mail.body
    mine = body(client_as(app, candidate).get("/applications/mine"))
    assert reason in mine and "You may appeal against this decision within 14 days" in mine
    assert until.strftime("%b") in mine and str(until.day) in mine
    assert "Kraków" in mine  # the institution's contact (its address, having no contact settings)


def test_the_institutions_contact_settings_are_given_for_an_appeal(app, world):
    from examportal.models import InstitutionSettings

    db.session.add(InstitutionSettings(institution_id=world["ic"].id, contact_email="odwolania@fundacja.example",
                                       contact_phone="+48 12 000 00 00", reminder_days=[]))
    db.session.commit()
    application = services.apply(world["candidate"], world["session"], request())
    services.reject(world["staff"], application, "Niekompletny wniosek")
    assert "odwolania@fundacja.example" in mails_to(world["candidate"])[-1].body
    mine = body(client_as(app, world["candidate"]).get("/applications/mine"))
    assert 'href="mailto:odwolania@fundacja.example"' in mine and "+48 12 000 00 00" in mine


def test_staff_may_decide_after_the_deadline_but_not_once_the_session_started(app, world, qualification):
    now = datetime.now(UTC)
    session = make_published_session(world["ic"], qualification, registration_deadline=now + timedelta(hours=1))
    application = services.apply(world["candidate"], session, request())
    session.registration_deadline = now - timedelta(hours=1)
    db.session.commit()
    assert services.accept(world["staff"], application).application.status == ApplicationStatus.ACCEPTED
    other = make_applicant()
    late = make_application(session, other)
    session.starts_at = now - timedelta(minutes=1)
    db.session.commit()
    with force_locale("en"), pytest.raises(services.ApplicationError, match="The session has started or is closed"):
        services.accept(world["staff"], late)
    services.reject(world["staff"], late, "Sesja już trwa")  # a rejection still may be given
    db.session.expire_all()
    assert late.status == ApplicationStatus.REJECTED


def test_staff_of_another_institution_cannot_decide(app, world, qualification):
    application = services.apply(world["candidate"], world["session"], request())
    stranger_ic = make_institution("Obca Fundacja", qualifications=[qualification])
    stranger = make_user((Role.STAFF, stranger_ic), locale="en")
    client = client_as(app, stranger)
    assert client.post(f"/applications/{application.id}/accept", data={}).status_code == 404
    assert client.post(f"/applications/{application.id}/reject", data={f"reject-{application.id}-reason": "x"}).status_code == 404
    with force_locale("en"), pytest.raises(services.ApplicationError, match="Only staff of the institution"):
        services.accept(stranger, application)
    db.session.expire_all()
    assert application.status == ApplicationStatus.SUBMITTED
    # The validating institution's own staff decide too.
    child_staff = make_user((Role.STAFF, world["child"]), locale="en")
    assert client_as(app, child_staff).post(f"/applications/{application.id}/accept", data={}).status_code == 302


def test_an_application_refused_by_the_enrolment_rules_stays_open_with_the_reason(app, world):
    from tests.factories import add_member, record_training

    trainer = make_user((Role.ASSESSOR, world["ic"]), first_name="Trener")
    add_member(world["session"], trainer)
    record_training(trainer, world["candidate"], world["ic"])
    application = services.apply(world["candidate"], world["session"], request())
    response = client_as(app, world["staff"]).post(f"/applications/{application.id}/accept", data={})
    assert response.status_code == 400 and "committee member(s)" in body(response)
    db.session.expire_all()
    assert application.status == ApplicationStatus.SUBMITTED and application.enrolment_id is None
    assert db.session.scalar(select(Enrolment).where(Enrolment.candidate_id == world["candidate"].id)) is None


# --------------------------------------------------------------------------- seats and the waiting list


def _fill(session, n: int) -> list[Application]:
    """``n`` accepted applications (the session's places taken)."""
    accepted = []
    for _ in range(n):
        application = make_application(session, make_applicant())
        accepted.append(services.accept(make_user((Role.STAFF, session.institution)), application).application)
    return accepted


def test_a_full_session_puts_the_application_on_the_waiting_list_and_a_freed_seat_moves_it_up(app, world):
    session, staff = world["session"], world["staff"]
    first, second = _fill(session, 2)
    waiting = [make_application(session, make_applicant(locale="en")) for _ in range(2)]
    client = client_as(app, staff)
    response = client.post(f"/applications/{waiting[0].id}/accept", data={}, follow_redirects=True)
    assert "The session is full" in body(response)
    services.accept(staff, waiting[1])
    db.session.expire_all()
    assert [a.status for a in waiting] == [ApplicationStatus.WAITING] * 2
    assert waiting[0].waiting_since <= waiting[1].waiting_since and waiting[0].enrolment_id is None
    assert mails_to(waiting[0].candidate)[-1].subject == "You are on the waiting list"
    assert "Places left: 0 of 2." in body(client.get(f"/sessions/{session.id}"))

    # Staff withdraw an enrolled candidate: the first in line moves up to the formal check, mailed.
    assert client.post(f"/sessions/{session.id}/enrolments/{first.enrolment_id}/withdraw").status_code == 302
    db.session.expire_all()
    assert waiting[0].status == ApplicationStatus.SUBMITTED and waiting[1].status == ApplicationStatus.WAITING
    assert mails_to(waiting[0].candidate)[-1].subject == "A place has become free in the session"
    assert [e.object_id for e in entries("application.moved_up")] == [str(waiting[0].id)]
    assert services.accept(staff, waiting[0]).application.status == ApplicationStatus.ACCEPTED
    assert services.seats.seats_left(session) == 0
    # The candidate of an accepted application withdraws it before the session: the seat frees again.
    second_candidate_client = client_as(app, second.candidate)
    assert second_candidate_client.post(f"/applications/{second.id}/withdraw").status_code == 302
    db.session.expire_all()
    assert second.status == ApplicationStatus.WITHDRAWN and second.enrolment.status == EnrolmentStatus.WITHDRAWN
    assert waiting[1].status == ApplicationStatus.SUBMITTED


def test_a_moved_up_application_keeps_its_place_if_the_session_fills_again(app, world):
    session, staff = world["session"], world["staff"]
    first, _second = _fill(session, 2)
    in_line = make_application(session, make_applicant())
    services.accept(staff, in_line)
    db.session.expire_all()
    joined = in_line.waiting_since
    from examportal.sessions import services as sessions

    sessions.withdraw_enrolment(first.enrolment)
    db.session.expire_all()
    assert in_line.status == ApplicationStatus.SUBMITTED and in_line.waiting_since == joined  # the seat is promised
    _fill(session, 1)  # staff accept someone else first
    services.accept(staff, in_line)
    db.session.expire_all()
    assert in_line.status == ApplicationStatus.WAITING and in_line.waiting_since == joined  # back in its old place


def test_more_places_move_the_waiting_list_up(app, world):
    session, staff = world["session"], world["staff"]
    _fill(session, 2)
    in_line = [make_application(session, make_applicant()) for _ in range(3)]
    for application in in_line:
        services.accept(staff, application)
    response = client_as(app, staff).post(f"/sessions/{session.id}/edit", data={
        "title": session.title, "starts_at": services.sessions.utc_to_local(session.starts_at).strftime("%Y-%m-%dT%H:%M"),
        "mode": "onsite", "place": session.place, "capacity": "4", "published": "y", "fee_pln": "350",
        "registration_deadline": services.sessions.utc_to_local(session.registration_deadline).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    db.session.expire_all()
    assert [a.status.value for a in in_line] == ["submitted", "submitted", "waiting"]


def test_a_candidate_withdrawing_a_moved_up_application_passes_the_seat_on(app, world):
    session, staff = world["session"], world["staff"]
    first, _ = _fill(session, 2)
    in_line = [make_application(session, make_applicant()) for _ in range(2)]
    for application in in_line:
        services.accept(staff, application)
    from examportal.sessions import services as sessions

    sessions.withdraw_enrolment(first.enrolment)
    db.session.expire_all()
    assert [a.status.value for a in in_line] == ["submitted", "waiting"]
    services.withdraw(in_line[0].candidate, in_line[0])
    db.session.expire_all()
    assert [a.status.value for a in in_line] == ["withdrawn", "submitted"]


def test_nothing_moves_up_once_the_session_has_started(app, world):
    session, staff = world["session"], world["staff"]
    first, _ = _fill(session, 2)
    in_line = make_application(session, make_applicant())
    services.accept(staff, in_line)
    session.starts_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    from examportal.sessions import services as sessions

    sessions.withdraw_enrolment(first.enrolment)
    db.session.expire_all()
    assert in_line.status == ApplicationStatus.WAITING
    with force_locale("en"), pytest.raises(services.ApplicationError, match="The session has started"):
        services.withdraw(first.candidate, first)
