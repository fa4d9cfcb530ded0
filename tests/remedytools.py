"""Helpers for the tests of appeal remedies and recorded corrections: a validation decided by a real
committee through the services (a real protocol PDF), and an appeal row as the panel leaves it —
built directly, so these tests do not depend on the appeals core's own steps."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from examportal.certification.rules import today
from examportal.committee import services as committee
from examportal.extensions import db
from examportal.models import (
    Appeal,
    AppealPanelMember,
    AppealRemedy,
    AppealStatus,
    AppealSubject,
    Enrolment,
    Role,
    User,
    ValidationDecision,
    utcnow,
)
from tests.factories import (
    add_member,
    enrol,
    make_applicant,
    make_institution,
    make_practical_attempt,
    make_session,
    make_theory_result,
    make_user,
    record_training,
)

UNMET_JUSTIFICATION = "Nie spełniono kryteriów {codes}: kandydat nie wykonał tych czynności w systemie CRM."


def validation_world(qualification, *, short_name: str = "RM") -> dict[str, Any]:
    """A certifying institution with a session (its committee of two, operator, a trainer's record)
    and one candidate who passed the theory part and finished the practical task; spare assessors,
    staff and two appeals-panel members."""
    ic = make_institution(f"Fundacja {short_name}", qualifications=[qualification], short_name=short_name,
                          city="Kraków", address="ul. Długa 1")
    people = {
        "chair": make_user((Role.ASSESSOR, ic), first_name="Czesław", last_name="Przewodniczący"),
        "member": make_user((Role.ASSESSOR, ic), first_name="Maria", last_name="Członkini"),
        "spare": make_user((Role.ASSESSOR, ic), first_name="Stanisław", last_name="Nowy"),
        "spare2": make_user((Role.ASSESSOR, ic), first_name="Wanda", last_name="Nowa"),
        "trainer": make_user((Role.ASSESSOR, ic), first_name="Tadeusz", last_name="Trener"),
        "operator": make_user((Role.OPERATOR, ic), (Role.ASSESSOR, ic), first_name="Olga", last_name="Operatorka"),
        "staff": make_user((Role.STAFF, ic), first_name="Stefania", last_name="Certyfikująca", locale="en"),
        "panel": make_user((Role.APPEALS, ic), first_name="Patryk", last_name="Odwoławczy"),
        "panel2": make_user((Role.APPEALS, ic), first_name="Paulina", last_name="Odwoławcza"),
        "candidate": make_applicant(first_name="Zofia", last_name="Kandydatka", locale="en"),
    }
    session = make_session(ic, qualification, title="Sesja pierwsza", operator_id=people["operator"].id)
    add_member(session, people["chair"], declared=True).is_chair = True
    add_member(session, people["member"], declared=True)
    enrolment = enrol(session, people["candidate"])
    record_training(people["trainer"], people["candidate"], ic)
    make_theory_result(enrolment, qualification)
    make_practical_attempt(enrolment)
    db.session.commit()
    return {**people, "ic": ic, "session": session, "enrolment": enrolment}


def decide(enrolment: Enrolment, members: list[User], not_met: tuple[str, ...] = ()) -> ValidationDecision:
    """The committee ``members`` (the first is the chair) score the candidate independently, the chair
    records the results and proposes the decision (negative when ``not_met`` names criteria), every
    other member approves it: the decision is final, its protocol rendered."""
    for user in members:
        member = committee.member_of(enrolment, user)
        entries = {c.id: committee.ScoreEntry(
            None if c.interview_follow_up else c.code not in not_met,
            f"Brak dowodu dla {c.code}." if c.code in not_met else "",
            "Notatki z rozmowy." if c.method == "interview" else "") for c in committee.scored_criteria(enrolment)}
        committee.save_scores(member, enrolment, entries, submit=True)
    chair = committee.member_of(enrolment, members[0])
    committee.record_results(chair, enrolment, {c.id: (c.code not in not_met, "")
                                                for c in committee.committee_criteria(enrolment)})
    unmet = committee.summary(enrolment).unmet
    committee.propose(chair, enrolment, not unmet, UNMET_JUSTIFICATION.format(codes=", ".join(unmet)) if unmet else None)
    for user in members[1:]:
        committee.vote(committee.member_of(enrolment, user), enrolment, True, None)
    decision = committee.decision_for(enrolment)
    assert decision is not None
    return decision


def appeal_row(subject: AppealSubject, record: Any, appellant: User, institution: Any, *,
               status: AppealStatus = AppealStatus.UPHELD, remedy: AppealRemedy = AppealRemedy.NONE,
               detail: dict[str, Any] | None = None, enrolment: Enrolment | None = None, certificate: Any = None,
               panel: tuple[User, ...] = (), justification: str = "Zespół uznał zarzuty odwołania za zasadne.",
               grounds: str = "Odwołuję się, ponieważ ocena nie uwzględniła mojej pracy.") -> Appeal:
    """An appeal as a panel leaves it (upheld by default, with its remedy and parameters), its panel
    members seated and declared."""
    now, day = utcnow(), today()
    decided = status in (AppealStatus.UPHELD, AppealStatus.DISMISSED)
    appeal = Appeal(
        institution_id=institution.id, appellant_id=appellant.id, subject=subject, subject_id=record.id,
        enrolment_id=enrolment.id if enrolment is not None else None,
        certificate_id=certificate.id if certificate is not None else None, grounds=grounds,
        sent_on=day - timedelta(days=3), window_ends_on=day + timedelta(days=11), filed_at=now,
        decide_by=day + timedelta(days=30), status=status, decided_at=now if decided else None,
        justification=justification if decided else None, remedy=remedy, remedy_detail=detail)
    for n, person in enumerate(panel):
        appeal.panel.append(AppealPanelMember(member_id=person.id, is_chair=n == 0, appointed_at=now,
                                              appointed_by_id=person.id, declared_at=now,
                                              declaration="Oświadczam, że jestem bezstronny."))
    db.session.add(appeal)
    db.session.commit()
    return appeal
