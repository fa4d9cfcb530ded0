"""Factory helpers: one function per model, sensible defaults, keyword overrides."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone

from examportal.extensions import db
from examportal.models import (
    CommitteeMember,
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


def make_institution(name: str | None = None, parent: Institution | None = None, qualifications=(), **kwargs) -> Institution:
    n = next(_counter)
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


def make_user(*roles: tuple[Role, Institution | None] | Role, confirmed: bool = True, **kwargs) -> User:
    """A user holding ``roles`` (each a Role, or (Role, institution))."""
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
    for role in roles:
        role, institution = role if isinstance(role, tuple) else (role, None)
        user.roles.append(UserRole(role=role, institution_id=institution.id if institution else None))
    db.session.add(user)
    db.session.commit()
    return user


def make_session(institution: Institution, qualification, **kwargs) -> ValidationSession:
    session = ValidationSession(
        institution_id=institution.id,
        qualification_id=qualification.id,
        title=kwargs.pop("title", f"Sesja {next(_counter)}"),
        starts_at=kwargs.pop("starts_at", datetime.now(timezone.utc) + timedelta(days=7)),
        place=kwargs.pop("place", "Kraków, ul. Długa 1"),
        mode=kwargs.pop("mode", SessionMode.ONSITE),
        capacity=kwargs.pop("capacity", 10),
        **kwargs,
    )
    db.session.add(session)
    db.session.commit()
    return session


def add_member(session: ValidationSession, assessor: User, declared: bool = False) -> CommitteeMember:
    member = CommitteeMember(session_id=session.id, assessor_id=assessor.id,
                             declared_at=utcnow() if declared else None)
    db.session.add(member)
    db.session.commit()
    return member


def enrol(session: ValidationSession, candidate: User) -> Enrolment:
    enrolment = Enrolment(session_id=session.id, candidate_id=candidate.id)
    db.session.add(enrolment)
    db.session.commit()
    return enrolment


def record_training(trainer: User, candidate: User, institution: Institution) -> TrainingRecord:
    record = TrainingRecord(trainer_id=trainer.id, candidate_id=candidate.id, institution_id=institution.id)
    db.session.add(record)
    db.session.commit()
    return record


def valid_pesel(birth: date = date(1990, 5, 17), serial: str = "0123") -> str:
    month = birth.month + {1800: 80, 1900: 0, 2000: 20}[birth.year // 100 * 100]
    return pesel_with_checksum(f"{birth.year % 100:02d}{month:02d}{birth.day:02d}{serial}")


_client_addresses = itertools.count(1)


def client_as(app, user=None, lang: str | None = "en"):
    """A fresh test client, logged in as ``user`` through the real login form (anonymous when None).

    Each client gets its own remote address, so logging in many people in one test
    stays under the per-address login rate limit. ``lang`` picks the interface
    language first (English by default, so tests may assert on English msgids).
    """
    n = next(_client_addresses)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    if lang:
        client.post(f"/lang/{lang}")
    if user is not None:
        response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client
