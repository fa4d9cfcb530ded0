"""``flask demo load``: idempotent, prints a login for every role, every login works, and it leaves
one certificate issued through the services that the public verification page confirms."""
from __future__ import annotations

import hashlib
import io
import re

import pyotp
import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import func, select

from examportal.certification import services as certification
from examportal.demo import DEMO_UNANSWERED
from examportal.extensions import db
from examportal.i18n import percent
from examportal.models import (
    AttemptItem,
    AttemptStatus,
    AuditEntry,
    Certificate,
    CertificationDecision,
    CommitteeMember,
    Criterion,
    Enrolment,
    Institution,
    OperatorAction,
    OperatorActionKind,
    OutboxMail,
    Qualification,
    Role,
    TheoryAttempt,
    TrainingRecord,
    User,
    UserRole,
    ValidationDecision,
    ValidationSession,
)
from examportal.models.qualification import institution_qualification
from examportal.validators import is_valid_pesel
from tests.factories import fresh_globals_per_request


@pytest.fixture(autouse=True)
def _fresh_globals_per_request(app):
    with fresh_globals_per_request(app):
        yield


COUNTED = (User, UserRole, Institution, Qualification, Criterion, ValidationSession, CommitteeMember,
           Enrolment, TrainingRecord, AuditEntry, OutboxMail, ValidationDecision, CertificationDecision, Certificate,
           TheoryAttempt, AttemptItem)


def counts() -> dict[str, int]:
    result = {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in COUNTED}
    result["institution_qualification"] = db.session.scalar(select(func.count()).select_from(institution_qualification))
    return result


def printed_accounts(output: str) -> tuple[str, dict[str, list[str]]]:
    """The printed password and, for each e-mail, the roles printed beside it."""
    password = re.search(r"password for all: (\S+?)\)?:?$", output, re.M)
    assert password, output
    accounts = {}
    for roles, email in re.findall(r"^\s+([a-z, ]+?)\s+(\S+@\S+)\s*$", output, re.M):
        accounts[email] = [r.strip() for r in roles.split(",")]
    return password.group(1), accounts


@pytest.fixture
def demo_output(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_load_twice_is_idempotent(runner, demo_output):
    first = counts()
    assert first["User"] >= 6 and first["Institution"] >= 2 and first["ValidationSession"] >= 1
    assert first["Criterion"] == 39
    assert first["Certificate"] == 1

    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert counts() == first
    assert result.output == demo_output


def test_demo_load_prints_a_login_for_every_role(demo_output):
    password, accounts = printed_accounts(demo_output)
    assert password
    printed_roles = {role for roles in accounts.values() for role in roles}
    assert printed_roles >= {role.value for role in Role}
    for email, roles in accounts.items():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None, email
        assert set(roles) == set(user.role_names), email


def test_every_demo_account_logs_in_with_the_printed_password(app, demo_output):
    password, accounts = printed_accounts(demo_output)
    assert len(accounts) >= 6
    key = re.search(r"Add the key ([A-Z2-7]{32}) to an app", demo_output).group(1)
    for n, email in enumerate(accounts, start=1):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"127.0.1.{n}"  # one address each: under the login rate limit
        response = client.post("/auth/login", data={"email": email, "password": password})
        assert response.status_code == 302, (email, response.get_data(as_text=True)[:300])
        user = db.session.scalar(select(User).where(User.email == email))
        if user.needs_second_factor:  # the printed key gives the code
            assert response.headers["Location"].endswith("/auth/two-factor")
            response = client.post("/auth/two-factor", data={"code": pyotp.TOTP(key).now()})
            assert response.status_code == 302, (email, response.get_data(as_text=True)[:300])
        assert response.headers["Location"].endswith("/dashboard")
        dashboard = client.get("/dashboard")
        assert dashboard.status_code == 200, email
        assert user.full_name in dashboard.get_data(as_text=True)

        wrong = app.test_client()
        wrong.environ_base["REMOTE_ADDR"] = f"127.0.2.{n}"
        assert wrong.post("/auth/login", data={"email": email, "password": password + "x"}).status_code == 200


def test_demo_accounts_are_ready_to_use(demo_output):
    users = db.session.scalars(select(User)).all()
    for user in users:
        assert user.email_confirmed_at is not None, user.email
        assert user.rodo_consent_at is not None, user.email
        assert user.active
    candidate = db.session.scalar(select(User).where(User.email == "kandydat@demo.examportal.pl"))
    assert candidate.pesel and is_valid_pesel(candidate.pesel)
    for role in (Role.OPERATOR, Role.ASSESSOR, Role.APPEALS, Role.STAFF):
        holders = db.session.scalars(select(UserRole).where(UserRole.role == role)).all()
        assert holders and all(r.institution_id is not None for r in holders), role


def test_demo_load_has_help(runner):
    result = runner.invoke(args=["demo", "load", "--help"])
    assert result.exit_code == 0
    assert "idempotent" in result.output


def test_the_demo_certificate_is_issued_and_verifies(app, demo_output):
    certificate = db.session.scalars(select(Certificate)).one()
    holder = db.session.scalar(select(User).where(User.email == "kandydat2@demo.examportal.pl"))
    assert certificate.holder_id == holder.id
    stored = db.session.scalar(select(Certificate.pdf).where(Certificate.id == certificate.id))
    assert stored.startswith(b"%PDF") and hashlib.sha256(stored).hexdigest() == certificate.pdf_sha256
    # Decided by staff of the certifying institution who took no part in the validation.
    decision = certificate.decision
    assert decision.positive and decision.validation_decision.positive
    assert decision.decided_by.has_role(Role.STAFF, certificate.institution_id)
    assert certification.involvement(decision.decided_by, certificate.enrolment) is None
    assert certificate.number in demo_output and f"/verify/{certificate.verification_code}" in demo_output

    page = app.test_client().get(f"/verify/{certificate.verification_code}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert certificate.number in text and "Jacek Mazur" in text
    assert "status-valid" in text
    assert holder.pesel not in text


def test_the_demo_protocol_shows_the_theory_test_behind_the_decision(demo_output):
    """The certified candidate took the theory test through its services (drawn, answered,
    submitted, scored, released): the protocol states that result, not "no test result"."""
    certificate = db.session.scalars(select(Certificate)).one()
    attempt = db.session.scalars(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == certificate.enrolment_id)).one()
    assert attempt.status == AttemptStatus.SUBMITTED and attempt.passed and attempt.released_at is not None
    assert attempt.started_at < attempt.submitted_at < certificate.decision.validation_decision.decided_at
    # Every answer given is the key; the last DEMO_UNANSWERED questions are left: a pass short of full marks.
    total = len(attempt.items)
    assert float(attempt.score_percent) == round(100 * (total - DEMO_UNANSWERED) / total, 2)
    # Unlocked by the session's operator, in the session record.
    assert db.session.scalars(select(OperatorAction).where(OperatorAction.attempt_id == attempt.id,
                                                           OperatorAction.kind == OperatorActionKind.UNLOCK)).one()
    protocol = certificate.decision.validation_decision.protocol_pdf
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(protocol)).pages).split())
    assert "brak wyniku testu" not in text
    with force_locale("pl"):  # written the Polish way, as the document is Polish: "91,67 %"
        score = " ".join(percent(attempt.score_percent).split())
    assert "," in score and f"test teoretyczny: {score}" in text and "zaliczona" in text


def test_a_new_candidate_finds_an_open_session_to_apply_to(app, demo_output):
    """The demo's published session is listed for candidates, with its deadline, fee and free places."""
    from examportal.demo import OPEN_SESSION
    from tests.factories import client_as, make_user

    candidate = make_user(Role.CANDIDATE)
    page = client_as(app, candidate).get("/applications/sessions")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert OPEN_SESSION in text and "950" in text
    session = db.session.scalar(select(ValidationSession).where(ValidationSession.title == OPEN_SESSION))
    assert session.published_at is not None and session.registration_deadline < session.starts_at
    assert client_as(app, candidate).get(f"/applications/sessions/{session.id}").status_code == 200
