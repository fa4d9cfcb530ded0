"""Factories for certification tests: a committee's positive decision, a certification decision and
its certificate, and a small world of one certifying institution with a validating one."""
from __future__ import annotations

import hashlib
from datetime import date

from examportal.certification import services
from examportal.extensions import db
from examportal.models import (
    Certificate,
    CertificationDecision,
    Enrolment,
    Role,
    User,
    ValidationDecision,
    utcnow,
)
from tests.factories import add_member, enrol, make_institution, make_session, make_user, record_training, valid_pesel


def validation_decision(enrolment: Enrolment, positive: bool = True, decided_by: User | None = None) -> ValidationDecision:
    """The committee's final decision for ``enrolment`` (its protocol a stand-in PDF)."""
    pdf = b"%PDF-1.4 protokol"
    decision = ValidationDecision(enrolment_id=enrolment.id, positive=positive,
                                  decided_by_id=(decided_by or enrolment.candidate).id, decided_at=utcnow(),
                                  protocol_pdf=pdf, protocol_sha256=hashlib.sha256(pdf).hexdigest(),
                                  justification=None if positive else "Nie potwierdzono efektu 2.4 (kryterium 2.4.a).")
    db.session.add(decision)
    db.session.commit()
    return decision


def certification_decision(enrolment: Enrolment, staff: User, positive: bool = True) -> CertificationDecision:
    from examportal.committee.services import decision_for

    validation = decision_for(enrolment) or validation_decision(enrolment)
    decision = CertificationDecision(enrolment_id=enrolment.id, validation_decision_id=validation.id,
                                     positive=positive, reason=None if positive else "Brak wymaganych dokumentów.",
                                     decided_by_id=staff.id, decided_at=utcnow())
    db.session.add(decision)
    db.session.commit()
    return decision


def make_certificate(enrolment: Enrolment, staff: User) -> Certificate:
    """A certificate issued and rendered for ``enrolment`` through the services (a real number and PDF)."""
    decision = certification_decision(enrolment, staff)
    return services.render_issued(services.issue_certificate(decision, staff), staff)


def certification_world(qualification, *, short_name: str = "VCC") -> dict:
    """A certifying institution with a validating one; a session at the validating institution with
    its committee, operator, a trainer's record and three candidates with a positive validation.

    The committee members, the operator and the trainer also hold the staff role at the certifying
    institution: only their part in the validation stands between them and the decision."""
    ic = make_institution(f"Fundacja {short_name}", qualifications=[qualification], short_name=short_name,
                          city="Kraków", address="ul. Długa 1")
    child = make_institution(f"Ośrodek {short_name}", parent=ic, short_name=f"{short_name}-O")
    people = {
        "staff": make_user((Role.STAFF, ic), first_name="Stefania", last_name="Certyfikująca"),
        "staff2": make_user((Role.STAFF, ic), first_name="Sławomir", last_name="Drugi"),
        "child_staff": make_user((Role.STAFF, child), first_name="Celina", last_name="Oddziałowa"),
        "chair": make_user((Role.ASSESSOR, ic), (Role.STAFF, ic), first_name="Czesław", last_name="Przewodniczący"),
        "member": make_user((Role.ASSESSOR, ic), (Role.STAFF, ic), first_name="Maria", last_name="Członkini"),
        "operator": make_user((Role.OPERATOR, child), (Role.STAFF, ic), first_name="Olga", last_name="Operatorka"),
        "trainer": make_user((Role.ASSESSOR, ic), (Role.STAFF, ic), first_name="Tadeusz", last_name="Trener"),
    }
    session = make_session(child, qualification, title="Sesja certyfikacyjna", operator_id=people["operator"].id)
    add_member(session, people["chair"], declared=True).is_chair = True
    add_member(session, people["member"], declared=True)
    candidates = [
        make_user(Role.CANDIDATE, first_name="Łucja", last_name="Żółkiewska", pesel=valid_pesel(date(1990, 5, 17), "0123"),
                  birth_date=date(1990, 5, 17), email="lucja@example.pl"),
        make_user(Role.CANDIDATE, first_name="Bogdan", last_name="Świątek", pesel=valid_pesel(date(1985, 1, 2), "4567"),
                  birth_date=date(1985, 1, 2), email="bogdan@example.pl"),
        make_user(Role.CANDIDATE, first_name="Cezary", last_name="Nowak", email="cezary@example.pl"),
    ]
    enrolments = [enrol(session, c) for c in candidates]
    for enrolment in enrolments:
        validation_decision(enrolment, decided_by=people["chair"])
    record_training(people["trainer"], candidates[0], ic)
    db.session.commit()
    return {**people, "ic": ic, "child": child, "session": session, "candidates": candidates, "enrolments": enrolments}
