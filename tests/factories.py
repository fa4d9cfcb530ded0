"""Factory helpers: one function per model, sensible defaults, keyword overrides."""
from __future__ import annotations

import contextlib
import itertools
import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pyotp
from sqlalchemy import select, update

from examportal.extensions import db
from examportal.models import (
    CommitteeMember,
    CompetenceKind,
    CompetenceRecord,
    Education,
    Enrolment,
    Institution,
    InstitutionKind,
    Role,
    SessionMode,
    TrainingRecord,
    User,
    UserRole,
    ValidationSession,
    utcnow,
)
from examportal.security import hash_password
from examportal.validators import pesel_with_checksum

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


def make_institution(name: str | None = None, parent: Institution | None = None, qualifications=None,
                     **kwargs) -> Institution:
    """A certifying institution, or (``parent``) a validating one — by default authorised for every
    qualification its certifying institution holds; pass ``qualifications=()`` for none."""
    n = next(_counter)
    if qualifications is None:
        qualifications = list(parent.qualifications) if parent is not None else ()
    institution = Institution(
        name=name or f"Instytucja {n}",
        short_name=kwargs.pop("short_name", f"I{n}"),
        kind=InstitutionKind.VALIDATING if parent else InstitutionKind.CERTIFYING,
        parent_id=parent.id if parent else None,
        **kwargs,
    )
    db.session.add(institution)
    db.session.flush()
    for qualification in qualifications:
        institution.qualifications.append(qualification)
    db.session.commit()
    return institution


def make_user(*roles: tuple[Role, Institution | None] | Role, confirmed: bool = True, second_factor: bool | None = None,
              competent: bool = True, **kwargs) -> User:
    """A user holding ``roles`` (each a Role, or (Role, institution)).

    ``second_factor``: whether an authenticator app is set up (a TOTP secret); by default the
    deciding roles have one, as they must, and candidates do not. ``competent``: an assessor or
    operator at an institution gets a competence record meeting 13881's staff requirements (see
    make_competence); False leaves them without one, for the refusals.
    """
    n = next(_counter)
    user = User(
        email=kwargs.pop("email", f"user{n}@example.pl"),
        first_name=kwargs.pop("first_name", "Jan"),
        last_name=kwargs.pop("last_name", f"Testowy{n}"),
        password_hash=hash_password(kwargs.pop("password", PASSWORD)),
        email_confirmed_at=utcnow() if confirmed else None,
        birth_date=kwargs.pop("birth_date", date(1990, 1, 1)),
        birth_place=kwargs.pop("birth_place", "Kraków"),
        **kwargs,
    )
    for entry in roles:
        role, institution = entry if isinstance(entry, tuple) else (entry, None)
        user.roles.append(UserRole(role=role, institution_id=institution.id if institution else None))
    if (user.needs_second_factor if second_factor is None else second_factor) and user.totp_secret is None:
        user.totp_secret = pyotp.random_base32()
        user.totp_enabled_at = utcnow()
    db.session.add(user)
    db.session.commit()
    if competent:
        for entry in roles:
            role, institution = entry if isinstance(entry, tuple) else (entry, None)
            kind = COMPETENCE_OF_ROLE.get(role)
            if kind is not None and institution is not None and not _has_competence(user, kind):
                make_competence(user, kind, institution)
    return user


COMPETENCE_OF_ROLE = {Role.ASSESSOR: CompetenceKind.ASSESSOR, Role.OPERATOR: CompetenceKind.OPERATOR}


def _has_competence(user: User, kind: CompetenceKind) -> bool:
    return db.session.scalar(select(CompetenceRecord.id).where(CompetenceRecord.user_id == user.id,
                                                              CompetenceRecord.kind == kind)) is not None


def make_competence(user: User, kind: CompetenceKind, institution: Institution, **kwargs) -> CompetenceRecord:
    """A competence record, by default meeting both of 13881's staff requirements (secondary
    education, 60 months supervising CRM operators, computer and troubleshooting skills), reviewed
    a year from now and verified by the person themselves (factories need no second account)."""
    record = CompetenceRecord(
        user_id=user.id, kind=kind, institution_id=institution.id,
        education=kwargs.pop("education", Education.SECONDARY),
        crm_supervision_months=kwargs.pop("crm_supervision_months", 60),
        computer_skills=kwargs.pop("computer_skills", True), troubleshooting_skills=kwargs.pop("troubleshooting_skills", True),
        verified_by_id=kwargs.pop("verified_by_id", user.id), verified_at=kwargs.pop("verified_at", utcnow()),
        review_due=kwargs.pop("review_due", date.today() + timedelta(days=365)), **kwargs,
    )
    db.session.add(record)
    db.session.commit()
    return record


def make_session(institution: Institution, qualification, **kwargs) -> ValidationSession:
    session = ValidationSession(
        institution_id=institution.id,
        qualification_id=qualification.id,
        title=kwargs.pop("title", f"Sesja {next(_counter)}"),
        starts_at=kwargs.pop("starts_at", datetime.now(UTC) + timedelta(days=7)),
        place=kwargs.pop("place", "Kraków, ul. Długa 1"),
        mode=kwargs.pop("mode", SessionMode.ONSITE),
        capacity=kwargs.pop("capacity", 10),
        **kwargs,
    )
    db.session.add(session)
    db.session.commit()
    return session


_pesel_serials = itertools.count(1)


def make_applicant(**kwargs) -> User:
    """A candidate whose identity data is complete (a valid PESEL matching the date of birth), as
    an application needs."""
    birth = kwargs.pop("birth_date", date(1990, 5, 17))
    return make_user(Role.CANDIDATE, birth_date=birth,
                     pesel=kwargs.pop("pesel", valid_pesel(birth, f"{next(_pesel_serials) % 10000:04d}")), **kwargs)


def make_published_session(institution: Institution, qualification, **kwargs) -> ValidationSession:
    """A session open for applications: published, its deadline a day before it starts (in a week)."""
    starts_at = kwargs.pop("starts_at", datetime.now(UTC) + timedelta(days=7))
    return make_session(institution, qualification, starts_at=starts_at,
                        published_at=kwargs.pop("published_at", datetime.now(UTC) - timedelta(days=1)),
                        registration_deadline=kwargs.pop("registration_deadline", starts_at - timedelta(days=1)), **kwargs)


def make_application(session: ValidationSession, candidate: User, **kwargs):
    """A submitted application (every declaration made now), straight in the database."""
    from examportal.models import Application, ApplicationStatus

    now = utcnow()
    application = Application(
        session_id=session.id, candidate_id=candidate.id, status=kwargs.pop("status", ApplicationStatus.SUBMITTED),
        submitted_at=now, identity_confirmed_at=now, consent_at=now, rodo_clause_version="2026-11",
        rules_accepted_at=now, **kwargs)
    db.session.add(application)
    db.session.commit()
    return application


def add_member(session: ValidationSession, assessor: User, declared: bool = False) -> CommitteeMember:
    member = CommitteeMember(session_id=session.id, assessor_id=assessor.id,
                             declared_at=utcnow() if declared else None)
    db.session.add(member)
    db.session.commit()
    return member


def enrol(session: ValidationSession, candidate: User, checked_in: bool = True) -> Enrolment:
    """``candidate`` enrolled in ``session``; checked in on exam day by the session's operator when
    the session has one (``checked_in=False``: not yet), as the theory test's unlock requires."""
    enrolment = Enrolment(session_id=session.id, candidate_id=candidate.id)
    if checked_in and session.operator_id is not None:
        enrolment.checked_in_at = datetime.now(UTC)
        enrolment.checked_in_by_id = session.operator_id
        enrolment.identity_document = "id_card"
    db.session.add(enrolment)
    db.session.commit()
    return enrolment


def check_in_everyone(session: ValidationSession) -> None:
    """Every enrolled candidate of ``session`` checked in by its operator (enrolments made by the
    application flow rather than :func:`enrol`)."""
    for enrolment in session.enrolments:
        if enrolment.checked_in_at is None:
            enrolment.checked_in_at = datetime.now(UTC)
            enrolment.checked_in_by_id = session.operator_id
            enrolment.identity_document = "id_card"
    db.session.commit()


def record_training(trainer: User, candidate: User, institution: Institution) -> TrainingRecord:
    record = TrainingRecord(trainer_id=trainer.id, candidate_id=candidate.id, institution_id=institution.id)
    db.session.add(record)
    db.session.commit()
    return record


def valid_pesel(birth: date = date(1990, 5, 17), serial: str = "0123") -> str:
    month = birth.month + {1800: 80, 1900: 0, 2000: 20}[birth.year // 100 * 100]
    return pesel_with_checksum(f"{birth.year % 100:02d}{month:02d}{birth.day:02d}{serial}")


_client_addresses = itertools.count(1)


def client_as(app, user=None, lang: str | None = "en", address: str | None = None):
    """A fresh test client, logged in as ``user`` through the real login form (anonymous when None).

    Each client gets its own remote address, so logging in many people in one test
    stays under the per-address login rate limit. ``lang`` picks the interface
    language first (English by default, so tests may assert on English msgids).
    Every request gets its own user, locale and CSRF token (see fresh_globals_per_request).
    """
    from flask import request_started

    request_started.connect(_clear_request_globals, app)  # idempotent; lives as long as the app
    n = next(_client_addresses)
    client = app.test_client()
    # Loopback addresses (127.0.0.0/8), as the development mailbox answers only this machine.
    # (``address``: this one instead, e.g. an exam room's; the login session is bound to it.)
    # Each a different one (never a network's .0 or broadcast .255; 254 hosts per /24).
    block, host = divmod(n, 254)
    client.environ_base["REMOTE_ADDR"] = address or f"127.{block // 256 % 256}.{block % 256}.{host + 1}"
    if lang:
        client.post(f"/lang/{lang}")
    if user is not None:
        response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        pass_second_step(client, user, response)
    return client


# --------------------------------------------------------------------------- second factor

SECOND_STEP = "/auth/two-factor"
SETUP_STEP = "/auth/two-factor/setup"


def totp_code(user: User) -> str:
    """The code ``user``'s authenticator app shows now.

    The portal accepts a time-step's code once. Logging one person in twice within 30 seconds
    happens only in tests, where it stands for two logins minutes apart: so the step last used
    is forgotten first, and the rule itself stays as strict as in production.
    """
    secret, last_step = db.session.execute(
        select(User.totp_secret, User.totp_last_step).where(User.id == user.id)).one()
    assert secret, f"{user.email} has no second factor set up"
    if last_step is not None and last_step >= int(time.time()) // 30:
        db.session.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
        db.session.commit()
    return pyotp.TOTP(secret).now()


def secret_on_setup_page(html: str) -> str:
    """The key the set-up page shows for typing into an app (grouped by four)."""
    match = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', html)
    assert match, html[:500]
    return match.group(1).replace(" ", "")


def pass_second_step(client, user: User, response):
    """Finish a login whose password step answered ``response``, as the person would: a code
    from the app, or — for a deciding role without a second factor — setting the app up."""
    path = urlsplit(response.headers.get("Location", "")).path
    if path == SECOND_STEP:
        response = client.post(SECOND_STEP, data={"code": totp_code(user)})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    elif path == SETUP_STEP:
        secret = secret_on_setup_page(client.get(SETUP_STEP).get_data(as_text=True))
        response = client.post(SETUP_STEP, data={"code": pyotp.TOTP(secret).now()})
        assert response.status_code == 200 and 'id="recovery-codes"' in response.get_data(as_text=True), \
            response.get_data(as_text=True)[:500]
    return response


# --------------------------------------------------------------------------- theory test

TEST_CRITERIA = ("1.1.a", "1.1.b", "1.1.c", "1.1.d", "1.1.e", "1.2.a", "1.3.a", "1.3.b", "2.5.c")


def theory_item_dicts(per_criterion: int = 5, criteria=TEST_CRITERIA) -> list[dict]:
    """A small synthetic item bank: every question type, ``per_criterion`` items per test criterion."""
    shapes = [
        {"type": "single_choice", "options": ["a", "b", "c", "d"], "key": ["b"]},
        {"type": "multiple_choice", "options": ["a", "b", "c", "d"], "key": ["a", "c"]},
        {"type": "true_false", "key": True},
        {"type": "ordering", "options": ["s1", "s2", "s3"], "key": ["s1", "s2", "s3"]},
        {"type": "matching", "premises": ["p1", "p2"], "responses": ["r1", "r2", "r3"], "key": {"p1": "r2", "p2": "r1"}},
    ]
    items = []
    for code in criteria:
        for n in range(per_criterion):
            shape = shapes[(len(items)) % len(shapes)]
            item = {"id": f"t-{code}-{n:03d}", "version": 1, "type": shape["type"], "criteria": [code],
                    "stem": {"pl": f"Pytanie {code} nr {n}", "en": f"Question {code} no. {n}"}, "key": shape["key"],
                    "difficulty": round(0.45 + 0.1 * (n % 5), 2),
                    "review": {"state": "approved", "author": "Autor testowy", "reviewer": "Recenzent testowy"}}
            for part in ("options", "premises", "responses"):
                if part in shape:
                    item[part] = [{"id": i, "text": {"pl": f"{part} {i} ({code}/{n})"}} for i in shape[part]]
            items.append(item)
    return items


def write_theory_bank(directory, per_criterion: int = 5) -> str:
    """Write the synthetic bank as one YAML file in ``directory``; returns the directory path."""
    import yaml

    path = directory / "items.yaml"
    path.write_text(yaml.safe_dump(theory_item_dicts(per_criterion), allow_unicode=True), encoding="utf-8")
    return str(directory)


def make_attempt(enrolment: Enrolment, status=None, **kwargs):
    """A theory attempt for ``enrolment`` (not started unless ``status`` says otherwise)."""
    from examportal.models import AttemptStatus, TheoryAttempt

    attempt = TheoryAttempt(enrolment_id=enrolment.id, candidate_id=enrolment.candidate_id,
                            session_id=enrolment.session_id, seed=kwargs.pop("seed", 12345),
                            time_limit_seconds=kwargs.pop("time_limit_seconds", 45 * 60),
                            status=status or AttemptStatus.NOT_STARTED, **kwargs)
    db.session.add(attempt)
    db.session.commit()
    return attempt


def sit_theory_test(enrolment: Enrolment, correct: int, at: datetime):
    """``enrolment``'s candidate takes the real theory test from ``at``: the first ``correct`` questions
    answered right, the rest unanswered, submitted after 20 minutes and released an hour after ``at``;
    then the practical task, finished. Returns the attempt."""
    from examportal.models import AttemptStatus
    from examportal.theory import services as theory

    attempt = make_attempt(enrolment, status=AttemptStatus.UNLOCKED)
    theory.start(attempt, now=at)
    for ai in attempt.items[:correct]:
        key = ai.snapshot["item"]["key"]
        theory.save_answer(attempt, ai.position, "true" if key is True else key, ai.position, now=at + timedelta(minutes=1))
    theory.submit(attempt, now=at + timedelta(minutes=20))
    attempt.released_at = at + timedelta(hours=1)
    db.session.commit()
    make_practical_attempt(enrolment)
    return attempt


def make_theory_result(enrolment, qualification, passed: bool = True, failed_criteria=(), released: bool = True):
    """A submitted, scored theory attempt for ``enrolment`` (per-criterion results given), released by default."""
    from examportal.models import AttemptStatus, TheoryAttempt

    codes = [c.code for s in qualification.outcome_sets for o in s.outcomes for c in o.criteria if c.method == "test"]
    scores = {code: {"points": 0 if code in failed_criteria else 3, "max": 3,
                     "percent": 0.0 if code in failed_criteria else 100.0, "passed": code not in failed_criteria}
              for code in codes}
    now = utcnow()
    attempt = TheoryAttempt(
        enrolment_id=enrolment.id, candidate_id=enrolment.candidate_id, session_id=enrolment.session_id,
        status=AttemptStatus.SUBMITTED, seed=1, time_limit_seconds=2700, started_at=now, deadline_at=now,
        submitted_at=now, score_points=27, score_max=30, score_percent=90.0 if passed else 40.0, passed=passed,
        criterion_scores=scores, released_at=now if released else None,
    )
    db.session.add(attempt)
    db.session.commit()
    return attempt


# The app fixture keeps one app context pushed for the whole test, and Flask reuses it for every
# request of the test client, so `g` (Flask-Login's user, Flask-Babel's locale, Flask-WTF's
# token) would carry over from one request — and one client — to the next.
def _clear_request_globals(sender, **extra) -> None:
    from flask import g

    # Everything a request may leave in g: the user, the locale, the CSRF token, the sandbox
    # workspace ... A real request starts with an empty g.
    g.__dict__.clear()


@contextlib.contextmanager
def fresh_globals_per_request(app):
    """Give every request its own user, locale and CSRF token, as in production (use in a fixture)."""
    from flask import request_started

    request_started.connect(_clear_request_globals, app)
    try:
        yield
    finally:
        request_started.disconnect(_clear_request_globals, app)


def make_practical_attempt(enrolment, finished: bool = True, **kwargs):
    """A practical attempt for ``enrolment`` in an empty exam workspace: finished by the candidate by
    default, else still running."""
    from examportal.models import PracticalAttempt, PracticalStatus
    from examportal.practical.services import owner_ref
    from sandbox_crm import api as sandbox_api

    now = utcnow()
    workspace = sandbox_api.create_workspace("Egzamin", owner_ref(enrolment.candidate), purpose="exam",
                                             scenario_code=kwargs.get("scenario_code", "hurtownia-czesci"))
    attempt = PracticalAttempt(
        enrolment_id=enrolment.id, candidate_id=enrolment.candidate_id, session_id=enrolment.session_id,
        scenario_code=kwargs.pop("scenario_code", "hurtownia-czesci"), workspace_id=workspace.id,
        started_at=now - timedelta(minutes=60), deadline_at=now + timedelta(minutes=30),
        status=PracticalStatus.FINISHED if finished else PracticalStatus.IN_PROGRESS,
        finished_at=now if finished else None, **kwargs,
    )
    db.session.add(attempt)
    db.session.commit()
    return attempt


# --------------------------------------------------------------------------- renewals

#: The smallest file the upload checks accept as a PDF.
EVIDENCE_PDF = b"%PDF-1.4\n% zaswiadczenie o zatrudnieniu\n%%EOF\n"


def expiring(certificate, valid_until: date):
    """Date ``certificate`` back so that it is valid until ``valid_until`` (issued five years before)."""
    from examportal.certification.rules import add_years

    certificate.issued_on, certificate.valid_until = add_years(valid_until, -5), valid_until
    db.session.commit()
    return certificate


def make_renewal(certificate, periods=None, evidence=None):
    """The holder's renewal application for ``certificate`` (in its window) through the service: by
    default one period covering the validity up to yesterday and one PDF as evidence."""
    from examportal.certification import rules as certificate_rules
    from examportal.renewals import services as renewals
    from examportal.uploads import read_upload

    if periods is None:
        periods = [renewals.PeriodInput("Hurtownia Części Sp. z o.o.", "specjalista ds. obsługi klienta (CRM)",
                                        certificate.issued_on, certificate_rules.today() - timedelta(days=1))]
    if evidence is None:
        evidence = [renewals.EvidenceInput(read_upload("zaswiadczenie.pdf", EVIDENCE_PDF), "Zaświadczenie pracodawcy")]
    return renewals.submit(certificate.holder, certificate, periods, evidence, declared=True)


def accept_renewal_evidence(assessor, application, note=None):
    """``assessor`` (assigned and declared) accepts every piece of evidence of the renewal and
    confirms every declared period as shown by it: ready for a positive decision."""
    from examportal.renewals import services as renewals

    for item in list(application.evidence):
        renewals.judge(assessor, application, item.id, "accepted", note)
    for period in list(application.periods):
        renewals.judge_period(assessor, application, period.id, True)
    return application


def run_together(app, work, arguments) -> tuple[list, list]:
    """Run ``work(argument)`` in one thread per argument, each in its own app context; returns
    (results, errors). On PostgreSQL they start at the same moment; on SQLite they take turns."""
    sqlite = db.engine.dialect.name == "sqlite"
    barrier, turn = threading.Barrier(len(arguments)), threading.Lock()
    results, errors = [], []

    def run(argument):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                if sqlite:
                    with turn:
                        results.append(work(argument))
                else:
                    results.append(work(argument))
            except Exception as error:  # reported by the test: any failure of a thread fails it
                errors.append(repr(error))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors
