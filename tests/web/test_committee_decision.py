"""The decision needs every member: the chair proposes, each member approves or dissents with a reason;
a dissent brings one more member appointed by the institution, and the majority of the enlarged
committee decides. A candidate absent from the practical part, or not admitted to it, gets a decision
with its criteria not met."""
import re
from io import BytesIO

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select

from examportal.audit import services as audit_log
from examportal.committee import services
from examportal.extensions import db
from examportal.models import (
    AuditEntry,
    CommitteeMember,
    DecisionProposal,
    OutboxMail,
    PracticalAttempt,
    ProposalStatus,
    Role,
    ValidationDecision,
)
from examportal.practical import services as practical_services
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_institution,
    make_practical_attempt,
    make_session,
    make_theory_result,
    make_user,
    record_training,
)


@pytest.fixture
def world(app, qualification):
    ic = make_institution("Fundacja Certyfikująca", qualifications=[qualification])
    session = make_session(ic, qualification, title="Sesja — głosowanie")
    people = {
        "chair": make_user((Role.ASSESSOR, ic), first_name="Edward", last_name="Przewodniczący"),
        "member": make_user((Role.ASSESSOR, ic), first_name="Felicja", last_name="Członkini"),
        "spare": make_user((Role.ASSESSOR, ic), first_name="Gustaw", last_name="Dodatkowy"),
        "trainer": make_user((Role.ASSESSOR, ic), first_name="Halina", last_name="Trenerka"),
        "staff": make_user((Role.STAFF, ic)),
        "operator": make_user((Role.OPERATOR, ic)),
        "candidate": make_user(Role.CANDIDATE, first_name="Zofia", last_name="Kandydatka"),
    }
    session.operator_id = people["operator"].id
    add_member(session, people["chair"], declared=True).is_chair = True
    add_member(session, people["member"], declared=True)
    enrolment = enrol(session, people["candidate"])
    record_training(people["trainer"], people["candidate"], ic)
    make_theory_result(enrolment, qualification)
    make_practical_attempt(enrolment)
    db.session.commit()
    return {**people, "session": session, "enrolment": enrolment, "ic": ic}


def _sheet(e, not_met=()):
    data = {"submit": "1"}
    for c in services.scored_criteria(e):
        if c.interview_follow_up:
            data[f"c-{c.id}-met"] = ""
            continue
        data[f"c-{c.id}-met"] = "not_met" if c.code in not_met else "met"
        data[f"c-{c.id}-comment"] = f"Brak dowodu dla {c.code}" if c.code in not_met else ""
        if c.method == "interview":
            data[f"c-{c.id}-notes"] = f"Odpowiedź kandydata ({c.code})."
    return data


def _results(e, not_met=()):
    return {"record": "1", **{f"r-{c.id}-met": "not_met" if c.code in not_met else "met"
                              for c in services.committee_criteria(e)}}


def _as(app, world, who):
    return client_as(app, world[who])


def _ready_for_decision(app, world, not_met=()):
    """Both members score; the chair records the results. Returns the chair's client."""
    e = world["enrolment"]
    for who in ("chair", "member"):
        assert _as(app, world, who).post(f"/committee/enrolments/{e.id}/scores", data=_sheet(e, not_met)).status_code == 302
    chair = _as(app, world, "chair")
    assert chair.post(f"/committee/enrolments/{e.id}/results", data=_results(e, not_met)).status_code == 302
    return chair


def _candidate_mail(world):
    return db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == world["candidate"].email)).all()


def test_a_proposed_decision_is_final_only_when_every_member_approves(app, world):
    e = world["enrolment"]
    chair = _ready_for_decision(app, world)
    assert chair.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"}).status_code == 302
    proposal = db.session.scalar(select(DecisionProposal))
    assert proposal.status == ProposalStatus.OPEN and [v.approve for v in proposal.votes] == [True]  # the chair's
    # Not final: no decision, no mail, and the candidate's page says nothing of it.
    assert db.session.scalar(select(ValidationDecision)) is None and _candidate_mail(world) == []
    page = _as(app, world, "candidate").get(f"/committee/result/{e.id}").get_data(as_text=True)
    assert "has not decided yet" in page and "Positive" not in page
    assert _as(app, world, "candidate").get(f"/committee/enrolments/{e.id}/protocol.pdf").status_code == 404
    # The chair cannot vote again, nor propose a second decision meanwhile.
    response = chair.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"})
    assert response.status_code == 400 and "already voted" in response.get_data(as_text=True)
    assert chair.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"}).status_code == 400
    # Nor change the results the committee is voting on.
    response = chair.post(f"/committee/enrolments/{e.id}/results", data=_results(e, not_met=("2.4.a",)))
    assert response.status_code == 400 and "cannot change while the committee votes" in response.get_data(as_text=True)

    member = _as(app, world, "member")
    assert member.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"}).status_code == 302
    decision = db.session.scalar(select(ValidationDecision))
    assert decision.positive and decision.proposal_id == proposal.id
    assert proposal.status == ProposalStatus.FINAL and len(_candidate_mail(world)) == 1
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(BytesIO(decision.protocol_pdf)).pages).split())
    assert "Głosowanie nad decyzją" in text and text.count("zatwierdza") == 2 and "Brak projektów decyzji" not in text
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"committee.decision_proposed", "committee.decision_vote", "committee.decision"} <= actions


def test_a_member_votes_only_after_their_own_assessment(app, world):
    e = world["enrolment"]
    assert _as(app, world, "chair").post(f"/committee/enrolments/{e.id}/scores", data=_sheet(e)).status_code == 302
    member = services.member_of(e, world["member"])
    with force_locale("en"), pytest.raises(services.CommitteeRuleError, match="no proposed decision"):
        services.vote(member, e, True, None)
    # A proposal forged into place before the member scored: the member still cannot vote on it blind.
    chair_member = services.member_of(e, world["chair"])
    proposal = DecisionProposal(enrolment_id=e.id, positive=True, proposed_by_id=world["chair"].id,
                                proposed_at=e.created_at, status=ProposalStatus.OPEN)
    db.session.add(proposal)
    db.session.commit()
    with force_locale("en"), pytest.raises(services.CommitteeRuleError, match="Submit your own scores first"):
        services.vote(member, e, True, None)
    assert chair_member is not None and proposal.votes == []


def test_a_dissent_needs_a_reason_and_waits_for_one_more_member(app, world):
    e = world["enrolment"]
    chair = _ready_for_decision(app, world)
    chair.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"})
    member = _as(app, world, "member")
    response = member.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "dissent", "reason": "  "})
    assert response.status_code == 400 and "A dissent needs its reason" in response.get_data(as_text=True)
    reason = "Kandydat nie uzasadnił zamknięcia szansy (2.4.f) — moim zdaniem kryterium niespełnione."
    response = member.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "dissent", "reason": "x" * 10})
    assert response.status_code == 302
    proposal = db.session.scalar(select(DecisionProposal))
    assert proposal.status == ProposalStatus.DISPUTED
    assert db.session.scalar(select(ValidationDecision)) is None and _candidate_mail(world) == []
    page = member.get(f"/committee/enrolments/{e.id}/consolidation").get_data(as_text=True)
    assert "The institution appoints one more member" in page
    # The staff see the dispute on the session page, with only eligible assessors to choose from.
    staff = _as(app, world, "staff")
    page = staff.get(f"/sessions/{world['session'].id}").get_data(as_text=True)
    assert "dissented from the proposed decision" in page
    choices = re.search(rf'<select id="extra-{e.id}".*?</select>', page, re.S).group(0)
    assert world["spare"].full_name in choices
    assert world["trainer"].full_name not in choices and world["chair"].full_name not in choices
    assert reason  # the reason text itself is checked in the majority test's protocol


@pytest.mark.parametrize("who", ["trainer", "chair", "candidate", "staff"])
def test_the_extra_member_must_be_eligible(app, world, who):
    e = world["enrolment"]
    chair = _ready_for_decision(app, world)
    chair.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"})
    _as(app, world, "member").post(f"/committee/enrolments/{e.id}/vote", data={"vote": "dissent", "reason": "Nie zgadzam się."})
    staff = _as(app, world, "staff")
    url = f"/sessions/{world['session'].id}/enrolments/{e.id}/extra-member"
    response = staff.post(url, data={"assessor_id": str(world[who].id)})
    assert response.status_code == 400
    assert "has not been involved in this session and did not train the candidate" in response.get_data(as_text=True)
    for junk in ("", "abc", "-1", "99999999999999999999", "١٢"):
        assert staff.post(url, data={"assessor_id": junk}).status_code == 400
    assert services.extra_member(e) is None


def test_no_extra_member_without_a_dissent(app, world):
    e = world["enrolment"]
    _ready_for_decision(app, world)
    staff = _as(app, world, "staff")
    response = staff.post(f"/sessions/{world['session'].id}/enrolments/{e.id}/extra-member",
                          data={"assessor_id": str(world["spare"].id)})
    assert response.status_code == 400 and "only when a member has dissented" in response.get_data(as_text=True)


def _dispute_and_appoint(app, world, dissent_reason):
    e = world["enrolment"]
    chair = _ready_for_decision(app, world)
    chair.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"})
    _as(app, world, "member").post(f"/committee/enrolments/{e.id}/vote", data={"vote": "dissent", "reason": dissent_reason})
    staff = _as(app, world, "staff")
    response = staff.post(f"/sessions/{world['session'].id}/enrolments/{e.id}/extra-member",
                          data={"assessor_id": str(world["spare"].id)})
    assert response.status_code == 302
    extra = _as(app, world, "spare")
    # Only this candidate, and only after the declaration.
    assert extra.get(f"/committee/enrolments/{e.id}").status_code == 200
    assert "Sign the declaration" in extra.get(f"/committee/enrolments/{e.id}").get_data(as_text=True)
    response = extra.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"})
    assert response.status_code == 400 and "Sign the declaration" in response.get_data(as_text=True)
    assert extra.post(f"/sessions/{world['session'].id}/committee-view", data={"confirm": "y"}).status_code == 302
    # Scores independently before voting.
    response = extra.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"})
    assert response.status_code == 400 and "Submit your own scores first" in response.get_data(as_text=True)
    assert extra.post(f"/committee/enrolments/{e.id}/scores", data=_sheet(e)).status_code == 302
    return chair, extra


def test_with_one_more_member_the_majority_decides_and_the_dissent_stays_in_the_protocol(app, world):
    e = world["enrolment"]
    reason = "Kandydat nie uzasadnił zamknięcia szansy — moim zdaniem kryterium 2.4.f niespełnione."
    _chair, extra = _dispute_and_appoint(app, world, reason)
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.recipient == world["spare"].email))
    assert mail is not None
    assert extra.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"}).status_code == 302
    decision = db.session.scalar(select(ValidationDecision))
    assert decision is not None and decision.positive  # 2 of 3
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(BytesIO(decision.protocol_pdf)).pages).split())
    assert reason in text and "zdanie odrębne" in text and "Gustaw Dodatkowy" in text
    assert "członek dodatkowy" in text
    # The extra member is on no other candidate's committee.
    other = enrol(world["session"], make_user(Role.CANDIDATE))
    assert extra.get(f"/committee/enrolments/{other.id}").status_code == 404


def test_a_majority_against_rejects_the_proposal_and_the_chair_proposes_again(app, world):
    e = world["enrolment"]
    chair, extra = _dispute_and_appoint(app, world, "Kryterium 2.4.f niespełnione: brak powodu zamknięcia.")
    response = extra.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "dissent", "reason": "Zgadzam się z członkinią."})
    assert response.status_code == 302
    assert db.session.scalar(select(ValidationDecision)) is None and _candidate_mail(world) == []
    assert db.session.scalar(select(DecisionProposal)).status == ProposalStatus.REJECTED
    # The chair records the results again (the enlarged committee's scores count) and proposes anew.
    notes = {f"r-{services.committee_criteria(e)[0].id}-comment": ""}
    data = {**_results(e, not_met=("2.4.f",)), **notes,
            f"r-{next(c.id for c in services.committee_criteria(e) if c.code == '2.4.f')}-comment": "Większość komisji."}
    assert chair.post(f"/committee/enrolments/{e.id}/results", data=data).status_code == 302
    justification = "Kandydat nie podał powodu zamknięcia szansy sprzedaży (2.4.f), czego wymaga zadanie."
    assert chair.post(f"/committee/enrolments/{e.id}/decision",
                      data={"outcome": "negative", "justification": justification}).status_code == 302
    assert extra.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"}).status_code == 302
    assert db.session.scalar(select(ValidationDecision)) is None  # the member has not voted yet
    member = _as(app, world, "member")
    assert member.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"}).status_code == 302
    decision = db.session.scalar(select(ValidationDecision))
    assert decision is not None and not decision.positive
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(BytesIO(decision.protocol_pdf)).pages).split())
    assert "Projekt 1" in text and "odrzucony większością komisji" in text and "Projekt 2" in text


def test_one_dissent_in_an_enlarged_committee_of_four_is_outvoted(app, world, qualification):
    """The majority rule in general: with three standing members and one more, 3 of 4 approve."""
    e = world["enrolment"]
    third = make_user((Role.ASSESSOR, world["ic"]))
    add_member(world["session"], third, declared=True)
    world["third"] = third
    for who in ("chair", "member", "third"):
        assert _as(app, world, who).post(f"/committee/enrolments/{e.id}/scores", data=_sheet(e)).status_code == 302
    chair = _as(app, world, "chair")
    chair.post(f"/committee/enrolments/{e.id}/results", data=_results(e))
    chair.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"})
    _as(app, world, "member").post(f"/committee/enrolments/{e.id}/vote", data={"vote": "dissent", "reason": "Nie zgadzam się."})
    _as(app, world, "third").post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"})
    assert db.session.scalar(select(DecisionProposal)).status == ProposalStatus.DISPUTED
    staff = _as(app, world, "staff")
    staff.post(f"/sessions/{world['session'].id}/enrolments/{e.id}/extra-member", data={"assessor_id": str(world["spare"].id)})
    extra = _as(app, world, "spare")
    extra.post(f"/sessions/{world['session'].id}/committee-view", data={"confirm": "y"})
    extra.post(f"/committee/enrolments/{e.id}/scores", data=_sheet(e))
    assert extra.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"}).status_code == 302
    assert db.session.scalar(select(ValidationDecision)).positive


# --------------------------------------------------------------------------- absence and admission


def test_the_operator_records_a_candidate_absent_from_the_practical_part(app, world):
    e = world["enrolment"]
    db.session.delete(db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == e.id)))
    db.session.commit()
    assert services.practical_state(e) == "missing"
    operator = _as(app, world, "operator")
    url = f"/operator/sessions/{world['session'].id}/absence"
    response = operator.post(url, data={"enrolment_id": str(e.id), "note": ""})
    assert response.status_code == 400 and "Say how the absence was established" in response.get_data(as_text=True)
    assert operator.post(url, data={"enrolment_id": "x", "note": "Nie przyszła."}).status_code == 400
    # Neither a member who is not the chair may record it.
    member = _as(app, world, "member")
    response = member.post(f"/committee/enrolments/{e.id}/absence", data={"note": "Nie przyszła."})
    assert response.status_code == 400 and "chair records an absence" in response.get_data(as_text=True)
    assert operator.post(url, data={"enrolment_id": str(e.id), "note": "Nie stawiła się do 10:15."}).status_code == 302
    db.session.expire_all()
    assert e.absent_from_practical and services.practical_state(e) == "absent"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "practical.absence_recorded"))
    # Free text stays in the enrolment row; the chain keeps its keyed digest (see examportal/audit).
    assert entry.after["note"] == audit_log.text_digest("Nie stawiła się do 10:15.")
    # The candidate can no longer start it; nobody records the absence twice.
    with force_locale("en"), pytest.raises(practical_services.PracticalError, match="recorded as absent"):
        practical_services.start(e)
    assert operator.post(url, data={"enrolment_id": str(e.id), "note": "Znowu."}).status_code == 400

    # The committee scores only the interview; the simulation criteria are not met by the system.
    assert all(c.method != "simulation" for c in services.scored_criteria(e))
    chair = _ready_for_decision(app, world)
    simulation = [c.code for c in services.all_criteria(e) if c.method == "simulation"]
    recorded = services.results(e)
    assert simulation and all(recorded[code].met is False for code in simulation)
    forged = {**_results(e), f"r-{next(c.id for c in services.all_criteria(e) if c.method == 'simulation')}-met": "met"}
    chair.post("/auth/logout")
    chair = _as(app, world, "chair")
    # A positive decision is impossible; a negative one names the criteria.
    assert chair.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"}).status_code == 400
    justification = "Kandydatka nie przystąpiła do części praktycznej: kryteria " + ", ".join(simulation) + " niespełnione."
    assert chair.post(f"/committee/enrolments/{e.id}/decision",
                      data={"outcome": "negative", "justification": justification}).status_code == 302
    assert forged  # the forged form is checked below, once the proposal is closed
    _as(app, world, "member").post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"})
    decision = db.session.scalar(select(ValidationDecision))
    assert decision is not None and not decision.positive
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(BytesIO(decision.protocol_pdf)).pages).split())
    assert "kandydat nieobecny" in text


def test_the_system_sets_the_simulation_criteria_of_an_absent_candidate(app, world):
    e = world["enrolment"]
    db.session.delete(db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == e.id)))
    db.session.commit()
    chair = _as(app, world, "chair")
    assert chair.post(f"/committee/enrolments/{e.id}/absence", data={"note": "Nie przyszła."}).status_code == 302
    for who in ("chair", "member"):
        assert _as(app, world, who).post(f"/committee/enrolments/{e.id}/scores", data=_sheet(e)).status_code == 302
    simulation = next(c for c in services.all_criteria(e) if c.method == "simulation")
    forged = {**_results(e), f"r-{simulation.id}-met": "met"}
    response = chair.post(f"/committee/enrolments/{e.id}/results", data=forged)
    assert response.status_code == 400 and "set by the system" in response.get_data(as_text=True)


def test_an_absence_cannot_be_recorded_for_a_candidate_who_started(app, world):
    e = world["enrolment"]
    chair = _as(app, world, "chair")
    response = chair.post(f"/committee/enrolments/{e.id}/absence", data={"note": "Nie przyszła."})
    assert response.status_code == 400 and "they are not absent" in response.get_data(as_text=True)
    assert not e.absent_from_practical


def test_a_candidate_not_admitted_after_a_failed_theory_gets_a_decision(app, qualification):
    """The practical opens only after a passed theory test: a candidate who failed it is not left
    without a decision, and the simulation criteria are not met."""
    ic = make_institution(qualifications=[qualification])
    session = make_session(ic, qualification)
    chair, member = make_user((Role.ASSESSOR, ic)), make_user((Role.ASSESSOR, ic))
    add_member(session, chair, declared=True).is_chair = True
    add_member(session, member, declared=True)
    e = enrol(session, make_user(Role.CANDIDATE))
    make_theory_result(e, qualification, passed=False)
    db.session.commit()
    assert services.practical_state(e) == "not_admitted"
    world = {"chair": chair, "member": member, "enrolment": e}
    c = _ready_for_decision(app, world)
    unmet = services.summary(e).unmet
    justification = "Kandydat nie zaliczył części teoretycznej; niespełnione: " + ", ".join(unmet) + "."
    assert c.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "negative", "justification": justification}).status_code == 302
    _as(app, world, "member").post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"})
    assert db.session.scalar(select(ValidationDecision)) is not None


def test_a_standing_committee_member_is_not_an_extra_member(app, world):
    """The session's committee relationship lists only the standing members."""
    e = world["enrolment"]
    db.session.add(CommitteeMember(session_id=world["session"].id, assessor_id=world["spare"].id, enrolment_id=e.id))
    db.session.commit()
    db.session.expire_all()
    assert world["spare"].id not in {m.assessor_id for m in world["session"].committee}
    assert world["spare"].id in {m.assessor_id for m in services.committee_for(e)}
