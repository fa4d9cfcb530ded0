"""The staff's progress page of a session: every candidate with the stage reached (from the records
of applications, both exam parts, the committee and certification), filters by stage, a message to
the ticked candidates and their export as formula-safe CSV; the same number of queries for a few
candidates as for 200."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from examportal.extensions import db
from examportal.models import (
    Application,
    ApplicationStatus,
    AttemptStatus,
    AuditEntry,
    CriterionScore,
    Enrolment,
    EnrolmentStatus,
    OutboxMail,
    PracticalAttempt,
    PracticalStatus,
    Role,
    Scoresheet,
    TheoryAttempt,
    User,
    ValidationDecision,
    utcnow,
)
from examportal.sessions import progress
from tests.certtools import certification_world, make_certificate
from tests.factories import (
    client_as,
    enrol,
    make_attempt,
    make_institution,
    make_practical_attempt,
    make_session,
    make_theory_result,
    make_user,
)


def application(session, candidate, status=ApplicationStatus.SUBMITTED, enrolment=None) -> Application:
    now = utcnow()
    row = Application(session_id=session.id, candidate_id=candidate.id, status=status, submitted_at=now,
                      identity_confirmed_at=now, consent_at=now, rodo_clause_version="2026-01", rules_accepted_at=now,
                      enrolment_id=enrolment.id if enrolment else None,
                      waiting_since=now if status == ApplicationStatus.WAITING else None)
    db.session.add(row)
    db.session.commit()
    return row


def interview_score(enrolment, member, qualification) -> Scoresheet:
    criterion = next(c for s in qualification.outcome_sets for o in s.outcomes for c in o.criteria if c.method == "interview")
    sheet = Scoresheet(enrolment_id=enrolment.id, member_id=member.id, submitted_at=utcnow())
    db.session.add(sheet)
    db.session.flush()
    db.session.add(CriterionScore(scoresheet_id=sheet.id, criterion_id=criterion.id, met=True, interview_notes="Odpowiedź pełna."))
    db.session.commit()
    return sheet


@pytest.fixture
def world(app, qualification):
    """One candidate at every stage of the session of a certification world."""
    w = certification_world(qualification)
    session = w["session"]
    certified, decided, negative = w["enrolments"]
    make_certificate(certified, w["staff"])
    decision = db.session.scalar(select(ValidationDecision).where(ValidationDecision.enrolment_id == negative.id))
    decision.positive, decision.justification = False, "Nie potwierdzono efektu 2.4."
    db.session.commit()

    def candidate(last_name: str, **kwargs) -> User:
        return make_user(Role.CANDIDATE, first_name=kwargs.pop("first_name", "Kandydat"), last_name=last_name, **kwargs)

    people = {"certified": w["candidates"][0], "decided": w["candidates"][1], "negative": w["candidates"][2]}
    people["applied"] = candidate("Zgłoszona")
    application(session, people["applied"])
    people["waiting"] = candidate("Oczekująca")
    application(session, people["waiting"], ApplicationStatus.WAITING)
    people["accepted"] = candidate("Przyjęta")
    application(session, people["accepted"], ApplicationStatus.ACCEPTED, enrol(session, people["accepted"]))
    people["theory_running"] = candidate("Teoria-Trwa")
    now = utcnow()
    make_attempt(enrol(session, people["theory_running"]), AttemptStatus.IN_PROGRESS, started_at=now, deadline_at=now + timedelta(minutes=45))
    people["theory_done"] = candidate("Teoria-Zdana")
    make_theory_result(enrol(session, people["theory_done"]), qualification, released=False)
    people["recognised"] = candidate("Uznana")
    recognised = enrol(session, people["recognised"])
    recognised.theory_recognized_from_id = decided.id
    people["practical_running"] = candidate("Praktyka-Trwa")
    running = enrol(session, people["practical_running"])
    make_theory_result(running, qualification)
    make_practical_attempt(running, finished=False)
    people["practical_done"] = candidate("Praktyka-Oddana")
    done = enrol(session, people["practical_done"])
    make_theory_result(done, qualification)
    make_practical_attempt(done)
    people["absent"] = candidate("Nieobecna")
    absent = enrol(session, people["absent"])
    absent.practical_absent_at, absent.practical_absent_by_id = utcnow(), w["operator"].id
    people["not_admitted"] = candidate("Niedopuszczona")
    make_theory_result(enrol(session, people["not_admitted"]), qualification, passed=False)
    people["interview"] = candidate("Rozmowa")
    interviewed = enrol(session, people["interview"])
    make_theory_result(interviewed, qualification)
    make_practical_attempt(interviewed)
    interview_score(interviewed, session.committee[0], qualification)
    people["withdrawn"] = candidate("Wycofana")
    enrol(session, people["withdrawn"]).status = EnrolmentStatus.WITHDRAWN
    db.session.commit()
    w["people"] = people
    return w


EXPECTED = {
    # who: (stage, theory, practical)
    "applied": ("applied", None, None),
    "waiting": ("applied", None, None),
    "accepted": ("accepted", "not_started", "not_started"),
    "theory_running": ("theory", "in_progress", "not_started"),
    "theory_done": ("theory", "submitted", "not_started"),
    "recognised": ("theory", "recognised", "not_started"),
    "practical_running": ("practical", "submitted", "running"),
    "practical_done": ("practical", "submitted", "submitted"),
    "absent": ("practical", "not_started", "absent"),
    "not_admitted": ("practical", "submitted", "not_admitted"),
    "interview": ("interview", "submitted", "submitted"),
    "decided": ("decided", "not_started", "not_started"),
    "negative": ("decided", "not_started", "not_started"),
    "certified": ("certified", "not_started", "not_started"),
    "withdrawn": ("withdrawn", "not_started", "not_started"),
}


def progress_url(session, **query) -> str:
    return f"/sessions/{session.id}/progress" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_every_candidate_is_at_their_stage(app, world):
    rows = {row.candidate.id: row for row in progress.progress_rows(world["session"])}
    people = world["people"]
    assert set(rows) == {p.id for p in people.values()}
    for who, (stage, theory, practical) in EXPECTED.items():
        row = rows[people[who].id]
        assert row.stage == stage, who
        assert (row.theory.state if row.theory else None) == theory, who
        assert row.practical == practical, who
    assert rows[people["decided"].id].positive is True and rows[people["negative"].id].positive is False
    assert rows[people["certified"].id].certificate.number.startswith("VCC/13881/")
    assert rows[people["interview"].id].interview_sheets == 1
    assert rows[people["waiting"].id].application.status == ApplicationStatus.WAITING
    assert rows[people["theory_done"].id].theory.percent == 90.0


def test_the_bulk_practical_state_agrees_with_the_committees(app, world):
    from examportal.committee.services import practical_state

    rows = progress.progress_rows(world["session"])
    for row in rows:
        if row.enrolment is not None:
            committee = practical_state(row.enrolment)
            assert row.practical == {"missing": "not_started", "taken": "submitted"}.get(committee, committee), row.candidate.last_name


def test_the_page_shows_the_stages_and_filters_them(app, world):
    session, people = world["session"], world["people"]
    client = client_as(app, world["child_staff"])
    page = client.get(progress_url(session)).get_data(as_text=True)
    stages = dict(re.findall(r'data-candidate="(\d+)" data-stage="(\w+)"', page))
    assert stages == {str(people[who].id): stage for who, (stage, _t, _p) in EXPECTED.items()}
    assert "theory test (3)" in page and "practical exam (4)" in page and "all candidates (15)" in page
    certified = progress.progress_rows(session)
    number = next(r.certificate.number for r in certified if r.certificate)
    assert number in page and "scored by 1 member(s)" in page and "on the waiting list" in page
    assert "recognised from an earlier session" in page and "not admitted (theory test failed)" in page
    only = client.get(progress_url(session, stage="practical")).get_data(as_text=True)
    assert set(re.findall(r'data-stage="(\w+)"', only)) == {"practical"}
    assert len(re.findall(r'data-candidate="', only)) == 4
    # An unknown stage is no filter (a closed choice falls back to all).
    assert len(re.findall(r'data-candidate="', client.get(progress_url(session, stage="nonsense")).get_data(as_text=True))) == 15
    assert "No candidate is at this stage." in client.get(progress_url(make_session(world["child"], session.qualification),
                                                                       stage="theory")).get_data(as_text=True)


def test_the_session_page_links_the_progress_page(app, world):
    page = client_as(app, world["staff"]).get(f"/sessions/{world['session'].id}").get_data(as_text=True)
    assert progress_url(world["session"]) in page


def test_staff_of_another_institution_get_404_and_other_roles_403(app, world):
    session = world["session"]
    stranger = make_user((Role.STAFF, make_institution("Warto Szkolić")))
    client = client_as(app, stranger)
    assert client.get(progress_url(session)).status_code == 404
    for action in ("message", "export"):
        response = client.post(f"{progress_url(session)}/{action}", data={"candidates": str(world["people"]["applied"].id),
                                                                         "subject": "Temat", "body": "Treść"})
        assert response.status_code == 404
    for user in (world["people"]["accepted"], make_user((Role.ASSESSOR, world["ic"])), make_user((Role.OPERATOR, world["ic"]))):
        assert client_as(app, user).get(progress_url(session)).status_code == 403
    assert db.session.scalar(select(OutboxMail).where(OutboxMail.subject == "Temat")) is None


# --------------------------------------------------------------------------- bulk actions


def test_a_message_goes_to_the_ticked_candidates_only_and_is_audited_by_count(app, world):
    session, people = world["session"], world["people"]
    chosen = [people["applied"], people["accepted"], people["withdrawn"]]
    client = client_as(app, world["staff"])
    response = client.post(f"{progress_url(session)}/message", data={
        "candidates": [str(p.id) for p in chosen], "subject": "Zmiana sali\r\nBcc: evil@example.com",
        "body": "Egzamin odbędzie się w sali 204."})
    assert response.status_code == 302
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.subject.like("Zmiana sali%"))).all()
    assert sorted(m.recipient for m in mails) == sorted(p.email for p in chosen)
    for mail in mails:
        assert mail.subject == "Zmiana sali Bcc: evil@example.com"  # one line: no header can be injected
        assert "Egzamin odbędzie się w sali 204." in mail.body and session.title in mail.body
    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "session.candidates_messaged")).all()
    assert entry.after == {"count": 3} and entry.object_id == str(session.id) and entry.institution_id == session.institution_id
    assert "sali 204" not in str(entry.after) and "Zmiana" not in str(entry.after)
    assert "The message has been queued for 3 candidate(s)." in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    ({"subject": "Temat", "body": "Treść wiadomości"}, "Choose at least one candidate."),
    ({"candidates": "PICK", "subject": "", "body": "Treść wiadomości"}, "Write the subject of the message."),
    ({"candidates": "PICK", "subject": "Temat do zachowania", "body": "   "}, "Write the message."),
    ({"candidates": "abc", "subject": "Temat do zachowania", "body": "Treść wiadomości"}, "Choose at least one candidate."),
    ({"candidates": "99999999999999999999", "subject": "Temat do zachowania", "body": "Treść wiadomości"}, "is not a valid choice"),
    ({"candidates": "PICK", "subject": "T" * 201, "body": "Treść wiadomości"}, "Field cannot be longer than 200 characters."),
    ({"candidates": "PICK", "subject": "Temat do zachowania", "body": "Treść wiadomości\x00"}, "Remove the invisible control character"),
])
def test_a_bad_message_is_refused_and_what_was_typed_is_kept(app, world, data, message):
    session, people = world["session"], world["people"]
    if data.get("candidates") == "PICK":
        data = {**data, "candidates": str(people["accepted"].id)}
    response = client_as(app, world["staff"]).post(f"{progress_url(session)}/message", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page.replace("&#39;", "'")
    if data.get("subject") == "Temat do zachowania":
        assert 'value="Temat do zachowania"' in page
    if data.get("body", "").strip():
        assert data["body"] in page
    if data.get("candidates") == str(people["accepted"].id):
        assert f'value="{people["accepted"].id}" id="pick-{people["accepted"].id}" class="pick" checked' in page
    assert db.session.scalar(select(OutboxMail).where(OutboxMail.body.like("%Treść wiadomości%"))) is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "session.candidates_messaged")) is None


def test_another_sessions_candidate_cannot_be_messaged_or_exported(app, world, qualification):
    other_session = make_session(world["child"], qualification)
    outsider = make_user(Role.CANDIDATE, last_name="Obca")
    enrol(other_session, outsider)
    client = client_as(app, world["staff"])
    for action in ("message", "export"):
        response = client.post(f"{progress_url(world['session'])}/{action}", data={
            "candidates": [str(world["people"]["accepted"].id), str(outsider.id)], "subject": "Temat", "body": "Treść"})
        assert response.status_code == 400 and f"'{outsider.id}' is not a valid choice" in response.get_data(as_text=True).replace("&#39;", "'")
    assert db.session.scalar(select(OutboxMail).where(OutboxMail.subject == "Temat")) is None
    with pytest.raises(progress.ProgressRuleError):
        progress.message_candidates(world["staff"], world["session"], [outsider.id], "Temat", "Treść")


def test_the_export_is_formula_safe_and_audited_by_count(app, world):
    session, people = world["session"], world["people"]
    people["accepted"].first_name = "@SUM(1+1)"
    people["accepted"].last_name = '=HYPERLINK("http://evil.example","Kliknij")'
    db.session.commit()
    chosen = [people["accepted"], people["certified"]]
    response = client_as(app, world["staff"]).post(f"{progress_url(session)}/export",
                                                   data={"candidates": [str(p.id) for p in chosen]})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"sesja-{session.id}-postepy.csv" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:4] == ["First name", "Last name", "E-mail", "Stage"]
    assert len(rows) == 3
    by_email = {row[2]: row for row in rows[1:]}
    hostile = by_email[people["accepted"].email]
    assert hostile[0] == "'@SUM(1+1)" and hostile[1] == '\'=HYPERLINK("http://evil.example","Kliknij")' and hostile[3] == "accepted (enrolled)"
    certified = by_email[people["certified"].email]
    assert certified[3] == "certified" and certified[-1].startswith("VCC/13881/")
    for row in rows[1:]:
        assert all(not cell or cell[0] not in "=+-@\t\r" for cell in row)
    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "session.progress_exported")).all()
    assert entry.after == {"count": 2}
    nothing = client_as(app, world["staff"]).post(f"{progress_url(session)}/export", data={})
    assert nothing.status_code == 400 and "Choose at least one candidate." in nothing.get_data(as_text=True)


# --------------------------------------------------------------------------- efficiency


def _queries(app, client, path: str) -> int:
    seen = []
    engine = db.engine
    db.session.expire_all()  # what the test itself loaded must not spare the page a query

    def count(_conn, _cursor, statement, *_args):
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):  # the test's transaction, not the page
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def _many_candidates(session, qualification, count: int) -> None:
    """``count`` more candidates with an accepted application, a submitted theory test, a finished
    practical part and, for every other one, the committee's decision (rows written directly: fast)."""
    now = utcnow()
    users = [User(email=f"masowy{n}@example.pl", password_hash="x", first_name="Masowy", last_name=f"Kandydat{n:03d}")
             for n in range(count)]
    db.session.add_all(users)
    db.session.flush()
    enrolments = [Enrolment(session_id=session.id, candidate_id=u.id) for u in users]
    db.session.add_all(enrolments)
    db.session.flush()
    for n, (user, enrolment) in enumerate(zip(users, enrolments, strict=True)):
        db.session.add(Application(session_id=session.id, candidate_id=user.id, status=ApplicationStatus.ACCEPTED,
                                   submitted_at=now, identity_confirmed_at=now, consent_at=now, rodo_clause_version="2026-01",
                                   rules_accepted_at=now, enrolment_id=enrolment.id))
        db.session.add(TheoryAttempt(enrolment_id=enrolment.id, candidate_id=user.id, session_id=session.id, seed=n,
                                     time_limit_seconds=2700, status=AttemptStatus.SUBMITTED, started_at=now, submitted_at=now,
                                     score_percent=80.0, passed=True, released_at=now))
        db.session.add(PracticalAttempt(enrolment_id=enrolment.id, candidate_id=user.id, session_id=session.id,
                                        scenario_code="hurtownia-czesci", workspace_id=1_000_000 + n, started_at=now,
                                        deadline_at=now + timedelta(hours=1), finished_at=now, status=PracticalStatus.FINISHED))
        if n % 2:
            db.session.add(ValidationDecision(enrolment_id=enrolment.id, positive=True, decided_by_id=user.id, decided_at=now,
                                              protocol_pdf=b"%PDF-1.4", protocol_sha256="0" * 64))
    db.session.commit()


def test_the_page_asks_as_many_queries_for_200_candidates_as_for_15(app, world, qualification):
    session = world["session"]
    client = client_as(app, world["staff"])
    path = progress_url(session)
    few = _queries(app, client, path)
    _many_candidates(session, qualification, 200)
    many = _queries(app, client, path)
    assert many == few, (few, many)
    assert few < 40
    page = client.get(path).get_data(as_text=True)
    assert len(re.findall(r'data-candidate="', page)) == 215
