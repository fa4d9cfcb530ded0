"""Demo data: two certifying institutions modelled on the seed's, their validating
institutions, one account for every role, a scheduled session with its committee, and a finished
session whose candidate holds a certificate (the register and the verification page have one)."""
from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from question_bank import items as bank
from question_bank.definition import available_definitions

from .certification import services as certification
from .committee import services as committee
from .extensions import db
from .models import (
    AttemptStatus,
    AuditorMandate,
    Certificate,
    CommitteeMember,
    CompetenceKind,
    CompetenceRecord,
    CriterionResult,
    Education,
    Enrolment,
    Institution,
    InstitutionKind,
    OperatorActionKind,
    Qualification,
    Role,
    SessionMode,
    SessionStatus,
    TrainingRecord,
    User,
    UserRole,
    ValidationDecision,
    ValidationSession,
    utcnow,
)
from .qualifications.services import load_file
from .security import hash_password, public_url
from .sessions.services import WARSAW, declare_impartiality
from .theory import services as theory
from .theory.scoring import item_of
from .validators import pesel_with_checksum

DEMO_PASSWORD = "demo-haslo-2026"  # noqa: S105  (printed for the demo accounts on purpose)
# The authenticator-app key of every demo account of a deciding role, outside production only
# (printed, and in the README): type it into an app, or print the current code with pyotp.
DEMO_TOTP_SECRET = "DEMOEXAMPORTALTOTPKEYFORSTAFF234"  # noqa: S105  (printed for the demo accounts on purpose)

INSTITUTIONS = [
    # name, short name, kind, parent short name, city
    ("Fundacja VCC", "VCC", InstitutionKind.CERTIFYING, None, "Kraków"),
    ("Warto Szkolić spółka z ograniczoną odpowiedzialnością", "Warto Szkolić", InstitutionKind.CERTIFYING, None, "Warszawa"),
    ("Ośrodek Walidacji VCC Kraków", "VCC Kraków", InstitutionKind.VALIDATING, "VCC", "Kraków"),
    ("Centrum Egzaminacyjne Warto Szkolić Łódź", "WS Łódź", InstitutionKind.VALIDATING, "Warto Szkolić", "Łódź"),
]

# e-mail, first, last, roles as (role, institution short name or None)
PEOPLE: list[tuple[str, str, str, list[tuple[Role, str | None]]]] = [
    ("admin@demo.examportal.pl", "Adam", "Administrator", [(Role.ADMIN, None)]),
    ("staff.vcc@demo.examportal.pl", "Beata", "Nowak", [(Role.STAFF, "VCC")]),
    ("staff.ws@demo.examportal.pl", "Cezary", "Wiśniewski", [(Role.STAFF, "Warto Szkolić")]),
    ("operator@demo.examportal.pl", "Dorota", "Zielińska", [(Role.OPERATOR, "VCC Kraków")]),
    ("asesor1@demo.examportal.pl", "Edward", "Kamiński", [(Role.ASSESSOR, "VCC")]),
    ("asesor2@demo.examportal.pl", "Felicja", "Lewandowska", [(Role.ASSESSOR, "VCC")]),
    ("asesor3@demo.examportal.pl", "Grzegorz", "Dąbrowski", [(Role.ASSESSOR, "VCC"), (Role.APPEALS, "VCC")]),
    ("odwolania@demo.examportal.pl", "Halina", "Wójcik", [(Role.APPEALS, "VCC")]),
    # A second appeals-panel member free to hear an appeal of the demo's certificate holder (asesor3
    # trained them): a panel needs two.
    ("odwolania2@demo.examportal.pl", "Lucyna", "Pawlak", [(Role.APPEALS, "VCC")]),
    ("audytor@demo.examportal.pl", "Kinga", "Zawadzka", [(Role.AUDITOR, "VCC")]),
    ("kandydat@demo.examportal.pl", "Irena", "Kowalczyk", [(Role.CANDIDATE, None)]),
    ("kandydat2@demo.examportal.pl", "Jacek", "Mazur", [(Role.CANDIDATE, None)]),
]


FINISHED_SESSION = "Sesja walidacyjna CRM — demo, zakończona"
#: The candidate of the finished session, who holds the demo certificate.
CERTIFIED = "kandydat2@demo.examportal.pl"
#: What the committee members of the finished session signed (the text of the declaration form, in Polish).
DECLARATION = ("Oświadczam, że zachowuję bezstronność wobec kandydatów wymienionych powyżej: żaden z nich nie był "
               "przeze mnie przygotowywany do tej kwalifikacji i nie występuje u mnie konflikt interesów.")


def _person(email: str, first: str, last: str, roles: list[tuple[Role, str | None]],
            institutions: dict[str, Institution]) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, first_name=first, last_name=last, password_hash=hash_password(DEMO_PASSWORD),
                    email_confirmed_at=utcnow(), rodo_consent_at=utcnow(), rodo_clause_version="2026-11",
                    birth_date=date(1990, 5, 17), birth_place="Kraków")
        db.session.add(user)
    for role, short in roles:
        institution_id = institutions[short].id if short else None
        if not user.has_role(role, institution_id) if institution_id else not user.has_role(role):
            user.roles.append(UserRole(role=role, institution_id=institution_id))
    if _fixed_second_factor() and user.needs_second_factor and user.totp_secret is None:
        user.totp_secret = DEMO_TOTP_SECRET
        user.totp_enabled_at = utcnow()
    return user


#: The demo assessors' and operator's competence as VCC's staff verified it (e-mail → education,
#: months supervising CRM operators): every one meets 13881's staff requirements.
COMPETENCE = {
    "operator@demo.examportal.pl": (CompetenceKind.OPERATOR, Education.SECONDARY, 0),
    "asesor1@demo.examportal.pl": (CompetenceKind.ASSESSOR, Education.HIGHER, 96),
    "asesor2@demo.examportal.pl": (CompetenceKind.ASSESSOR, Education.SECONDARY, 72),
    "asesor3@demo.examportal.pl": (CompetenceKind.ASSESSOR, Education.HIGHER, 61),
}


def _competence_records(people: dict[str, User], institutions: dict[str, Institution]) -> None:
    """The competence records of the demo assessors and operator (made once: a reload keeps them)."""
    verifier = people["staff.vcc@demo.examportal.pl"]
    for email, (kind, education, months) in COMPETENCE.items():
        user = people[email]
        if db.session.scalar(select(CompetenceRecord.id).where(CompetenceRecord.user_id == user.id,
                                                                CompetenceRecord.kind == kind)) is not None:
            continue
        institution_id = next(r.institution_id for r in user.roles if r.role.value == kind.value)
        db.session.add(CompetenceRecord(
            user_id=user.id, kind=kind, institution_id=institution_id or institutions["VCC"].id, education=education,
            crm_supervision_months=months, computer_skills=True, troubleshooting_skills=kind == CompetenceKind.OPERATOR,
            note="Dyplom i świadectwa pracy sprawdzone (dane demonstracyjne).", verified_by_id=verifier.id,
            verified_at=utcnow(), review_due=(datetime.now(UTC) + timedelta(days=365)).date()))


def _fixed_second_factor() -> bool:
    """A known second-factor key is for trying the portal out, never for a production database."""
    return current_app.config.get("ENV_NAME") != "production"


def _auditor_mandate(auditor: User, institution: Institution, staff: User) -> None:
    """The demo auditor reads VCC's records of the last two years, for three months from loading."""
    if db.session.scalar(select(AuditorMandate).where(AuditorMandate.user_id == auditor.id)) is None:
        day = datetime.now(UTC).date()
        db.session.add(AuditorMandate(user_id=auditor.id, institution_id=institution.id,
                                      period_from=day.replace(year=day.year - 2, month=1, day=1), period_to=day,
                                      expires_on=day + timedelta(days=90), granted_by_id=staff.id))


def load_demo() -> list[str]:
    """Create (or complete) the demo data; returns the lines to print: logins for every role."""
    for path in available_definitions():
        load_file(path)
    qualification = db.session.scalar(select(Qualification).where(Qualification.code == "13881"))
    if qualification is None:
        raise LookupError("the demo needs the qualification 13881 in question_bank/qualifications")

    institutions: dict[str, Institution] = {}
    for name, short, kind, parent, city in INSTITUTIONS:
        institution = db.session.scalar(select(Institution).where(Institution.name == name))
        if institution is None:
            institution = Institution(name=name, short_name=short, kind=kind, city=city,
                                      parent_id=institutions[parent].id if parent else None)
            db.session.add(institution)
            db.session.flush()
        institutions[short] = institution
        # Certifying institutions and, through them, their validating institutions are authorised.
        if qualification not in institution.qualifications:
            institution.qualifications.append(qualification)

    people = {email: _person(email, first, last, roles, institutions) for email, first, last, roles in PEOPLE}
    people["kandydat@demo.examportal.pl"].pesel = people["kandydat@demo.examportal.pl"].pesel or pesel_with_checksum("9005170123")
    people[CERTIFIED].pesel = people[CERTIFIED].pesel or pesel_with_checksum("9005170457")
    db.session.flush()
    _competence_records(people, institutions)

    session = db.session.scalar(select(ValidationSession).where(ValidationSession.title == "Sesja walidacyjna CRM — demo"))
    if session is None:
        session = ValidationSession(
            institution_id=institutions["VCC Kraków"].id, qualification_id=qualification.id,
            title="Sesja walidacyjna CRM — demo",
            # Tomorrow at 09:00 in Warsaw, the institution's day (a UTC "tomorrow" is Warsaw's today
            # between 23:00 and midnight UTC, which put the session into reports of today).
            starts_at=datetime.combine(datetime.now(WARSAW).date() + timedelta(days=1), time(9, 0),
                                       WARSAW).astimezone(UTC),
            place="ul. Długa 1, Kraków, sala 12", mode=SessionMode.ONSITE, capacity=12,
            operator_id=people["operator@demo.examportal.pl"].id, created_by_id=people["staff.vcc@demo.examportal.pl"].id,
        )
        db.session.add(session)
        session.committee.append(CommitteeMember(assessor_id=people["asesor1@demo.examportal.pl"].id, is_chair=True))
        session.committee.append(CommitteeMember(assessor_id=people["asesor2@demo.examportal.pl"].id))
        # Checked in as on exam day (identity card compared), so the operator may unlock the test now.
        session.enrolments.append(Enrolment(candidate_id=people["kandydat@demo.examportal.pl"].id,
                                            checked_in_at=datetime.now(UTC),
                                            checked_in_by_id=people["operator@demo.examportal.pl"].id,
                                            identity_document="id_card"))
        # asesor3 trained kandydat2: the system will refuse to put them together.
        db.session.add(TrainingRecord(trainer_id=people["asesor3@demo.examportal.pl"].id,
                                      candidate_id=people["kandydat2@demo.examportal.pl"].id,
                                      institution_id=institutions["VCC"].id, course="Kurs CRM dla handlowców"))
    _open_session(qualification, institutions, people)
    _auditor_mandate(people["audytor@demo.examportal.pl"], institutions["VCC"], people["staff.vcc@demo.examportal.pl"])
    db.session.commit()
    certificate = _certificate(_finished_session(qualification, institutions, people), people)

    lines = ["", f"Demo accounts (password for all: {DEMO_PASSWORD}):"]
    for email, _first, _last, roles in PEOPLE:
        lines.append(f"  {', '.join(r.value for r, _ in roles):<20} {email}")
    if _fixed_second_factor():
        lines += [
            "",
            "Every account but the candidates' then asks for a code from an authenticator app (TOTP).",
            f"Add the key {DEMO_TOTP_SECRET} to an app (FreeOTP, Aegis, Google Authenticator ...), or print the current code:",
            f"  .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\"",
            "Each code works once: for a second login within 30 s, wait for the next one.",
        ]
    else:
        lines += ["", "Every account but the candidates' sets up an authenticator app at its first login."]
    lines += [
        "",
        f"Demo certificate {certificate.number} of {certificate.holder_name} (the second candidate's account):",
        f"  the register: {public_url('certification.register')}",
        f"  verification (its QR code): {public_url('verify.show', code=certificate.verification_code)}",
    ]
    return lines


OPEN_SESSION = "Sesja walidacyjna CRM — nabór otwarty"


def _open_session(qualification: Qualification, institutions: dict[str, Institution],
                  people: dict[str, User]) -> ValidationSession:
    """A session three weeks ahead, published with a deadline and a fee: any candidate may apply."""
    session = db.session.scalar(select(ValidationSession).where(ValidationSession.title == OPEN_SESSION))
    if session is not None:
        return session
    starts_at = (datetime.now(UTC) + timedelta(days=21)).replace(hour=8, minute=0, second=0, microsecond=0)
    session = ValidationSession(
        institution_id=institutions["VCC Kraków"].id, qualification_id=qualification.id, title=OPEN_SESSION,
        starts_at=starts_at, place="ul. Długa 1, Kraków, sala 14", mode=SessionMode.ONSITE, capacity=10,
        operator_id=people["operator@demo.examportal.pl"].id, created_by_id=people["staff.vcc@demo.examportal.pl"].id,
        published_at=datetime.now(UTC), registration_deadline=starts_at - timedelta(days=7), fee_pln=Decimal("950.00"),
    )
    db.session.add(session)
    session.committee.append(CommitteeMember(assessor_id=people["asesor1@demo.examportal.pl"].id, is_chair=True))
    session.committee.append(CommitteeMember(assessor_id=people["asesor2@demo.examportal.pl"].id))
    return session


def _finished_session(qualification: Qualification, institutions: dict[str, Institution],
                      people: dict[str, User]) -> ValidationSession:
    """A session two weeks ago whose committee signed their declarations, with one candidate."""
    session = db.session.scalar(select(ValidationSession).where(ValidationSession.title == FINISHED_SESSION))
    if session is None:
        starts_at = (datetime.now(UTC) - timedelta(days=14)).replace(hour=8, minute=0, second=0, microsecond=0)
        session = ValidationSession(
            institution_id=institutions["VCC Kraków"].id, qualification_id=qualification.id, title=FINISHED_SESSION,
            starts_at=starts_at, place="ul. Długa 1, Kraków, sala 12", mode=SessionMode.ONSITE, capacity=12,
            status=SessionStatus.CLOSED, operator_id=people["operator@demo.examportal.pl"].id,
            created_by_id=people["staff.vcc@demo.examportal.pl"].id)
        db.session.add(session)
        session.committee.append(CommitteeMember(assessor_id=people["asesor1@demo.examportal.pl"].id, is_chair=True))
        session.committee.append(CommitteeMember(assessor_id=people["asesor2@demo.examportal.pl"].id))
        session.enrolments.append(Enrolment(candidate_id=people[CERTIFIED].id))
        db.session.commit()
    for member in session.committee:
        if not member.has_declared:
            declare_impartiality(member, DECLARATION, None)
    return session


def _validated(session: ValidationSession, enrolment: Enrolment) -> ValidationDecision:
    """The committee's positive decision, with every criterion recorded as met and its protocol.

    The candidate's theory test is taken first (:func:`_theory_test_taken`), so the protocol states
    its result; the practical task behind the criteria is recorded as its outcome only. The protocol
    is rendered from those records as the committee's own decision renders it. (A database whose
    demo decision predates the theory test keeps its protocol: a decided protocol is never redone.)
    """
    decision = committee.decision_for(enrolment)
    if decision is not None:
        return decision
    _theory_test_taken(session, enrolment)
    chair = next(member for member in session.committee if member.is_chair)
    decided_at = session.starts_at + timedelta(hours=6)
    for criterion in committee.all_criteria(enrolment):
        db.session.add(CriterionResult(enrolment_id=enrolment.id, criterion_id=criterion.id, met=True,
                                       recorded_by_id=chair.assessor_id, recorded_at=decided_at))
    db.session.flush()
    decision = ValidationDecision(enrolment_id=enrolment.id, positive=True, decided_by_id=chair.assessor_id,
                                  decided_at=decided_at, notified_at=decided_at)
    decision.enrolment = enrolment
    decision.protocol_pdf = committee.protocol_pdf(enrolment, decision)
    decision.protocol_sha256 = hashlib.sha256(decision.protocol_pdf).hexdigest()
    db.session.add(decision)
    db.session.commit()
    return decision


#: The questions the demo candidate leaves unanswered (the others get the key): a pass short of full marks.
DEMO_UNANSWERED = 3


def _theory_test_taken(session: ValidationSession, enrolment: Enrolment) -> None:
    """The candidate's theory test on the session's day: checked in (recorded as the check-in
    records it: the session is closed now, and the check-in service refuses a closed session), then
    through the test's own services — the operator's unlock, the start, the answers, the
    submission, scored, the results released — so the protocol shows the result the committee saw."""
    attempt = theory.prepare(enrolment)
    if attempt is None:
        return
    operator = session.operator
    signal = session.starts_at + timedelta(minutes=15)
    if attempt.status != AttemptStatus.SUBMITTED:
        if enrolment.checked_in_at is None and operator is not None:
            enrolment.checked_in_at, enrolment.checked_in_by_id = session.starts_at, operator.id
            enrolment.identity_document = "id_card"
        if attempt.status == AttemptStatus.NOT_STARTED and operator is not None:
            theory.operator_action(session, operator, OperatorActionKind.UNLOCK, "Sygnał rozpoczęcia testu",
                                   attempt=attempt, now=signal)
        theory.start(attempt, now=signal)
        answered = attempt.items[:len(attempt.items) - DEMO_UNANSWERED]
        for seq, attempt_item in enumerate(answered, start=1):
            theory.save_answer(attempt, attempt_item.position, bank.key_response(item_of(attempt_item)), seq,
                               now=signal + timedelta(minutes=seq), attempt_item=attempt_item)
        theory.submit(attempt, now=signal + timedelta(minutes=len(answered) + 5))
    submitted = attempt.submitted_at
    if submitted is not None and attempt.released_at is None and operator is not None:  # released, as on the day
        theory.release_results(session, operator, now=submitted + timedelta(minutes=30))


def _certificate(session: ValidationSession, people: dict[str, User]) -> Certificate:
    """The candidate's certificate, through the services: the certification decision of a staff
    member who took no part in the validation, then the certificate numbered and rendered."""
    enrolment = next(e for e in session.enrolments if e.candidate_id == people[CERTIFIED].id)
    _validated(session, enrolment)
    staff = people["staff.vcc@demo.examportal.pl"]
    decision = certification.certification_decision(enrolment)
    if decision is None:
        decision, = certification.decide(staff, session, [enrolment.id], True, None)
    return certification.render_issued(certification.issue_certificate(decision, staff), staff)
