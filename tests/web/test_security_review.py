"""Security review: each test shows a hole that was found, and stays as its regression test."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from examportal.extensions import db
from examportal.models import PracticalAttempt, Role, utcnow
from sandbox_crm import api as sandbox_api
from sandbox_crm.models import ActionStatement
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_institution,
    make_practical_attempt,
    make_session,
    make_theory_result,
    make_user,
)

# --------------------------------------------------------------------------- the exam workspace's action log


@pytest.fixture
def exam(app, qualification):
    """A candidate with a started practical exam, a declared assessor and the institution's staff."""
    vcc = make_institution("Fundacja VCC", qualifications=[qualification])
    session = make_session(vcc, qualification)
    candidate = make_user(Role.CANDIDATE)
    enrolment = enrol(session, candidate)
    make_theory_result(enrolment, qualification)
    assessor = make_user((Role.ASSESSOR, vcc))
    add_member(session, assessor, declared=True)
    staff = make_user((Role.STAFF, vcc))
    candidate_client = client_as(app, candidate)
    response = candidate_client.post(f"/practical/enrolments/{enrolment.id}/start", data={"confirm": "y"})
    assert response.status_code == 302
    attempt = db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == enrolment.id))
    return {"candidate": candidate_client, "assessor": client_as(app, assessor), "staff": client_as(app, staff),
            "attempt": attempt, "ws": attempt.workspace_id}


# Every list whose filtering is an action of the candidate (it counts as evidence for 2.3 / 2.5).
FILTER_URLS = [
    "/sandbox/w/{ws}/opportunities/?q=x&apply=1",
    "/sandbox/w/{ws}/board?apply=1",
    "/sandbox/w/{ws}/tasks/?q=x&apply=1",
    "/sandbox/w/{ws}/contacts?q=x",
    "/sandbox/w/{ws}/companies?q=x",
    "/sandbox/w/{ws}/log?verb=create",
    "/sandbox/w/{ws}/log/xapi.json",
    "/sandbox/w/{ws}/reports?run=1",
]


def _statements(ws_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ActionStatement)
                             .where(ActionStatement.workspace_id == ws_id))


@pytest.mark.parametrize("url", FILTER_URLS)
def test_nobody_adds_to_a_frozen_exam_workspaces_log(exam, url):
    """After the deadline the log is closed evidence: a filter the candidate (or anyone) applies
    then must not add a statement the evidence checks would count."""
    attempt = exam["attempt"]
    attempt.started_at = utcnow() - timedelta(minutes=120)
    attempt.deadline_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert exam["candidate"].get(f"/sandbox/w/{exam['ws']}/").status_code == 200
    assert sandbox_api.get_workspace(exam["ws"]).is_frozen
    before = _statements(exam["ws"])
    for who in ("candidate", "assessor", "staff"):
        response = exam[who].get(url.format(ws=exam["ws"]))
        assert response.status_code in (200, 302), (who, response.status_code)
    assert _statements(exam["ws"]) == before


@pytest.mark.parametrize("url", FILTER_URLS)
def test_an_examiner_leaves_no_statement_in_a_running_exams_log(exam, url):
    """An assessor or staff member only looks: their filtering is not the candidate's evidence."""
    before = _statements(exam["ws"])
    for who in ("assessor", "staff"):
        response = exam[who].get(url.format(ws=exam["ws"]))
        assert response.status_code in (200, 302), (who, response.status_code)
    assert _statements(exam["ws"]) == before
    # The candidate's own filtering is still recorded.
    exam["candidate"].get(FILTER_URLS[0].format(ws=exam["ws"]))
    assert _statements(exam["ws"]) == before + 1


# --------------------------------------------------------------------------- links in mail


def _last_mail_to(email: str):
    from examportal.models import OutboxMail

    db.session.expire_all()
    return db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == email)
                              .order_by(OutboxMail.id.desc())).first()


def test_a_password_reset_link_ignores_a_forged_host_header(app):
    """Reset-link poisoning: whoever asks for a victim's reset with ``Host: evil.example`` must not
    get the victim a link (and its token) to evil.example. Links use PUBLIC_BASE_URL."""
    app.config["PUBLIC_BASE_URL"] = "https://egzaminy.example.pl"
    victim = make_user((Role.STAFF, make_institution("IC")))
    client = app.test_client()
    response = client.post("/auth/reset", data={"email": victim.email},
                           headers={"Host": "evil.example"}, base_url="http://evil.example")
    assert response.status_code == 302
    body = _last_mail_to(victim.email).body
    assert "evil.example" not in body
    assert "https://egzaminy.example.pl/auth/reset/" in body


def test_a_confirmation_link_ignores_a_forged_host_header(app):
    app.config["PUBLIC_BASE_URL"] = "https://egzaminy.example.pl/"
    client = app.test_client()
    data = {"email": "nowy@example.pl", "password": "Dlugie-haslo-123!", "password_confirm": "Dlugie-haslo-123!",
            "first_name": "Jan", "last_name": "Nowak", "has_pesel": "no", "id_document_type": "passport",
            "id_document_number": "AB1234567", "birth_date": "1990-05-17", "birth_place": "Kraków",
            "rodo_consent": "y", "phone": ""}
    client.post("/auth/register", data=data, headers={"Host": "evil.example"}, base_url="http://evil.example")
    mail = _last_mail_to("nowy@example.pl")
    assert mail is not None
    assert "evil.example" not in mail.body
    assert "https://egzaminy.example.pl/auth/confirm/" in mail.body


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("key", [
    "a" * 64,
    "changeme" * 4,
    "secret-secret-secret-secret-secret",
    "0" * 31 + "1",
])
def test_production_refuses_a_guessable_secret_key(monkeypatch, key):
    """The session cookie is signed with SECRET_KEY: a guessable key lets anyone forge a session
    (log in as staff). Long but trivial keys are refused like short ones."""
    from examportal.config import ProductionConfig

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", key)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        ProductionConfig.check()


def test_production_accepts_a_random_secret_key(monkeypatch):
    import secrets

    from examportal.config import ProductionConfig

    monkeypatch.setattr(ProductionConfig, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", secrets.token_hex(32))
    monkeypatch.setattr(ProductionConfig, "CREDENTIAL_KEY", secrets.token_hex(32))
    for key in (secrets.token_hex(32), secrets.token_urlsafe(32)):
        monkeypatch.setattr(ProductionConfig, "SECRET_KEY", key)
        ProductionConfig.check()


@pytest.mark.parametrize("credential_key", [None, "", "short", "a" * 40, "same-as-secret"])
def test_production_refuses_a_missing_weak_or_reused_credential_key(monkeypatch, credential_key):
    """CREDENTIAL_KEY seals the keys that sign every credential: missing, guessable or equal to
    another key (one leak would give both) is refused at start."""
    import secrets

    from examportal.config import ProductionConfig

    secret = secrets.token_hex(32)
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", secret)
    monkeypatch.setattr(ProductionConfig, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", secrets.token_hex(32))
    monkeypatch.setattr(ProductionConfig, "CREDENTIAL_KEY", secret if credential_key == "same-as-secret" else credential_key)
    with pytest.raises(RuntimeError, match="CREDENTIAL_KEY"):
        ProductionConfig.check()


@pytest.mark.parametrize("uri", ["memory://", ""])
def test_production_refuses_a_rate_limit_store_per_worker(monkeypatch, uri):
    """With memory:// each gunicorn worker counts login attempts separately (30 of 40 wrong
    passwords passed with 3 workers): production needs a shared store."""
    import secrets

    from examportal.config import ProductionConfig

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", secrets.token_hex(32))
    monkeypatch.setattr(ProductionConfig, "RATELIMIT_STORAGE_URI", uri)
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        ProductionConfig.check()


# --------------------------------------------------------------------------- committee records


def test_staff_cannot_remove_an_assessor_who_has_submitted_scores(app, qualification):
    """A submitted scoresheet is part of the validation record: taking its author off the committee
    (which deletes the sheet with the membership) would let staff drop a dissenting verdict and
    leave the rest of the committee to decide alone."""
    from examportal.committee import services as committee
    from examportal.models import CommitteeMember, Scoresheet

    vcc = make_institution("Fundacja VCC", qualifications=[qualification])
    session = make_session(vcc, qualification)
    chair = make_user((Role.ASSESSOR, vcc))
    dissenter = make_user((Role.ASSESSOR, vcc))
    chair_m = add_member(session, chair, declared=True)
    chair_m.is_chair = True
    dissenter_m = add_member(session, dissenter, declared=True)
    enrolment = enrol(session, make_user(Role.CANDIDATE))
    make_theory_result(enrolment, qualification)
    make_practical_attempt(enrolment)  # final scores wait for the practical part
    staff = make_user((Role.STAFF, vcc))
    db.session.commit()
    entries = {c.id: committee.ScoreEntry(met=False, comment="Brak dowodu") for c in committee.scored_criteria(enrolment)
               if not c.interview_follow_up}
    committee.save_scores(dissenter_m, enrolment, entries, submit=True)
    member_id = dissenter_m.id

    response = client_as(app, staff).post(f"/sessions/{session.id}/committee/{member_id}/remove")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(CommitteeMember, member_id) is not None
    sheet = db.session.scalar(select(Scoresheet).where(Scoresheet.member_id == member_id))
    assert sheet is not None and sheet.is_submitted


def test_staff_can_still_remove_an_assessor_who_has_not_scored(app, qualification):
    from examportal.models import CommitteeMember

    vcc = make_institution("Fundacja VCC", qualifications=[qualification])
    session = make_session(vcc, qualification)
    member = add_member(session, make_user((Role.ASSESSOR, vcc)), declared=True)
    staff = make_user((Role.STAFF, vcc))
    db.session.commit()
    member_id = member.id
    assert client_as(app, staff).post(f"/sessions/{session.id}/committee/{member_id}/remove").status_code == 302
    db.session.expire_all()
    assert db.session.get(CommitteeMember, member_id) is None


def test_a_committee_member_enrolled_in_the_same_session_cannot_assess_themselves(app, qualification):
    """Someone who is both on the committee and a candidate of the session must not reach their
    own case: no scoring, no consolidation, no decision on themselves."""
    from examportal.committee import services as committee

    vcc = make_institution("Fundacja VCC", qualifications=[qualification])
    session = make_session(vcc, qualification)
    person = make_user((Role.ASSESSOR, vcc), Role.CANDIDATE)
    add_member(session, person, declared=True)
    add_member(session, make_user((Role.ASSESSOR, vcc)), declared=True)
    enrolment = enrol(session, person)
    make_theory_result(enrolment, qualification)
    db.session.commit()
    member = committee.member_of(enrolment, person)
    assert committee.scoring_refusal(member, enrolment) is not None
    assert not committee.may_record(member, enrolment)
    page = client_as(app, person).get(f"/committee/enrolments/{enrolment.id}").get_data(as_text=True)
    assert 'name="submit"' not in page


def test_dev_mailbox_is_only_for_this_machine(client):
    assert client.get("/dev/mailbox/").status_code == 200
    assert client.get("/dev/mailbox/", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 404


def test_rate_limits_see_the_client_behind_a_trusted_proxy(app_factory):
    app = app_factory(TRUSTED_PROXIES=1, LOGIN_ADDRESS_RATE_LIMIT="2 per minute")
    with app.app_context():
        from examportal.extensions import limiter

        limiter.reset()  # counters may live in Redis between runs
        client = app.test_client()

        def attempt(ip, n):  # each attempt at another account: only the limit per address decides
            return client.post("/auth/login", data={"email": f"x{n}@example.pl", "password": "wrong"},
                               headers={"X-Forwarded-For": ip}, environ_base={"REMOTE_ADDR": "127.0.0.9"}).status_code

        assert [attempt("198.51.100.1", n) for n in range(3)] == [200, 200, 429]
        assert attempt("198.51.100.2", 3) == 200  # another client behind the same proxy is not locked out
