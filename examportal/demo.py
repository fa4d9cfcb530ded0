"""Demo data: two certifying institutions modelled on the seed's, their validating
institutions, one account for every role, a scheduled session with its committee."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from question_bank.definition import available_definitions

from .extensions import db
from .models import (
    CommitteeMember,
    Enrolment,
    Institution,
    InstitutionKind,
    Qualification,
    Role,
    SessionMode,
    TrainingRecord,
    User,
    UserRole,
    ValidationSession,
    utcnow,
)
from .qualifications.services import load_file
from .security import hash_password
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
    ("kandydat@demo.examportal.pl", "Irena", "Kowalczyk", [(Role.CANDIDATE, None)]),
    ("kandydat2@demo.examportal.pl", "Jacek", "Mazur", [(Role.CANDIDATE, None)]),
]


def _person(email: str, first: str, last: str, roles, institutions) -> User:
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


def _fixed_second_factor() -> bool:
    """A known second-factor key is for trying the portal out, never for a production database."""
    return current_app.config.get("ENV_NAME") != "production"


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
        if kind == InstitutionKind.CERTIFYING and qualification not in institution.qualifications:
            institution.qualifications.append(qualification)

    people = {email: _person(email, first, last, roles, institutions) for email, first, last, roles in PEOPLE}
    people["kandydat@demo.examportal.pl"].pesel = people["kandydat@demo.examportal.pl"].pesel or pesel_with_checksum("9005170123")
    db.session.flush()

    session = db.session.scalar(select(ValidationSession).where(ValidationSession.title == "Sesja walidacyjna CRM — demo"))
    if session is None:
        session = ValidationSession(
            institution_id=institutions["VCC Kraków"].id, qualification_id=qualification.id,
            title="Sesja walidacyjna CRM — demo",
            starts_at=(datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0),
            place="ul. Długa 1, Kraków, sala 12", mode=SessionMode.ONSITE, capacity=12,
            operator_id=people["operator@demo.examportal.pl"].id, created_by_id=people["staff.vcc@demo.examportal.pl"].id,
        )
        db.session.add(session)
        session.committee.append(CommitteeMember(assessor_id=people["asesor1@demo.examportal.pl"].id, is_chair=True))
        session.committee.append(CommitteeMember(assessor_id=people["asesor2@demo.examportal.pl"].id))
        session.enrolments.append(Enrolment(candidate_id=people["kandydat@demo.examportal.pl"].id))
        # asesor3 trained kandydat2: the system will refuse to put them together.
        db.session.add(TrainingRecord(trainer_id=people["asesor3@demo.examportal.pl"].id,
                                      candidate_id=people["kandydat2@demo.examportal.pl"].id,
                                      institution_id=institutions["VCC"].id, course="Kurs CRM dla handlowców"))
    db.session.commit()

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
    return lines
