"""Voiding a faulty item: the only route to change a test criterion. Every attempt that drew it is
rescored by the system; recorded results follow where no decision was made; a final decision is
never changed, only listed to staff."""
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.committee import services as committee
from examportal.extensions import db
from examportal.models import AuditEntry, DecisionProposal, ProposalStatus, Role, ValidationDecision, VoidedItem
from examportal.theory import services as theory
from examportal.theory import voiding
from tests import factories
from tests.factories import add_member, client_as, enrol, make_institution, make_session, make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    ic = make_institution("Fundacja Certyfikująca", qualifications=[qualification])
    branch = make_institution("Ośrodek", parent=ic)
    session = make_session(ic, qualification)
    chair, member = make_user((Role.ASSESSOR, ic)), make_user((Role.ASSESSOR, ic))
    add_member(session, chair, declared=True).is_chair = True
    add_member(session, member, declared=True)
    db.session.commit()
    return {"ic": ic, "branch": branch, "session": session, "chair": chair, "member": member,
            "staff": make_user((Role.STAFF, ic)), "branch_staff": make_user((Role.STAFF, branch))}


def _sit(world, correct: int):
    """A candidate's submitted and released test with ``correct`` right answers, the rest unanswered."""
    enrolment = enrol(world["session"], make_user(Role.CANDIDATE))
    return enrolment, factories.sit_theory_test(enrolment, correct, T0)


def _void(world, item_id, reason="Dwie odpowiedzi są poprawne."):
    return voiding.void_item(world["staff"], item_id, reason)


def test_voiding_rescores_every_attempt_that_drew_the_item(world):
    enrolment, attempt = _sit(world, correct=21)  # 21 of 36 = 58.3 %: not passed
    assert attempt.passed is False
    unanswered = attempt.items[-1].item_id
    other_enrolment, other = _sit(world, correct=30)
    report = _void(world, unanswered)
    assert attempt in report.rescored and attempt in report.changed
    assert attempt.score_max == 35 and attempt.score_percent == pytest.approx(60.0) and attempt.passed is True
    assert (other in report.rescored) == any(ai.item_id == unanswered for ai in other.items)
    assert other.passed is True
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "theory.rescored")).all()
    assert {e.object_id for e in entries} >= {str(attempt.id)}
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "theory.item_voided")).after["item_id"] == unanswered
    # A voided item is never drawn again, and later submissions do not count it.
    assert unanswered not in {item.id for item in theory.bank_items()}
    assert enrolment and other_enrolment


def test_voiding_is_refused_with_a_reason(world):
    _enrolment, attempt = _sit(world, correct=20)
    item_id = attempt.items[0].item_id
    with force_locale("en"):
        with pytest.raises(voiding.VoidError, match="reason the item is faulty"):
            _void(world, item_id, reason="   ")
        with pytest.raises(voiding.VoidError, match="no item"):
            _void(world, "no-such-item")
        with pytest.raises(voiding.VoidError, match="certifying institution's staff"):
            voiding.void_item(world["branch_staff"], item_id, "Błąd.")
        with pytest.raises(voiding.VoidError, match="certifying institution's staff"):
            voiding.void_item(world["chair"], item_id, "Błąd.")
        _void(world, item_id)
        with pytest.raises(voiding.VoidError, match="already been voided"):
            _void(world, item_id)
    assert db.session.scalar(select(VoidedItem)).item_id == item_id


def _results(enrolment):
    return {c.id: (True, "") for c in committee.committee_criteria(enrolment)}


def _sheets(world, enrolment):
    for who in ("chair", "member"):
        member = committee.member_of(enrolment, world[who])
        entries = {c.id: committee.ScoreEntry(True if not c.interview_follow_up else None, "",
                                              "Notatki z rozmowy." if c.method == "interview" else "")
                   for c in committee.scored_criteria(enrolment)}
        committee.save_scores(member, enrolment, entries, submit=True)


def test_recorded_results_follow_and_an_open_proposal_is_withdrawn(world):
    enrolment, attempt = _sit(world, correct=22)  # 61.1 %: passed
    _sheets(world, enrolment)
    chair = committee.member_of(enrolment, world["chair"])
    committee.record_results(chair, enrolment, _results(enrolment))
    committee.propose(chair, enrolment, True, None)
    # Voiding an item the candidate answered correctly: 21 of 35 = 60 % still passes; voiding two fails.
    answered = [ai.item_id for ai in attempt.items[:2]]
    _void(world, answered[0])
    assert attempt.passed is True and committee.open_proposal(enrolment) is not None
    report = _void(world, answered[1])
    assert attempt.passed is False and attempt in report.followed["withdrawn"]
    proposal = db.session.scalar(select(DecisionProposal))
    assert proposal.status == ProposalStatus.WITHDRAWN
    assert all(not r.met for code, r in committee.results(enrolment).items() if r.criterion.method == "test")
    # The committee decides on the new results (a positive decision is no longer possible).
    with force_locale("en"), pytest.raises(committee.CommitteeRuleError, match="Unmet"):
        committee.propose(chair, enrolment, True, None)


def test_a_final_decision_is_never_changed_but_listed_for_correction(app, world):
    enrolment, attempt = _sit(world, correct=22)
    _sheets(world, enrolment)
    chair = committee.member_of(enrolment, world["chair"])
    committee.record_results(chair, enrolment, _results(enrolment))
    committee.propose(chair, enrolment, True, None)
    committee.vote(committee.member_of(enrolment, world["member"]), enrolment, True, None)
    decision = db.session.scalar(select(ValidationDecision))
    assert decision.positive
    protocol = decision.protocol_pdf
    for ai in attempt.items[:2]:
        _void(world, ai.item_id)
    db.session.expire_all()
    decision = db.session.scalar(select(ValidationDecision))
    assert decision.positive and decision.protocol_pdf == protocol  # untouched
    assert all(r.met for r in committee.results(enrolment).values())  # the record it rests on, too
    listed = committee.decisions_to_correct({world["ic"].id})
    assert [d.id for d, _changed in listed] == [decision.id]
    assert set(listed[0][1].values()) == {(True, False)}
    # Staff see it on the voided-items page; another institution's staff do not.
    page = client_as(app, world["staff"]).get("/theory/voided").get_data(as_text=True)
    assert "Decisions the rescoring would change" in page and enrolment.candidate.full_name in page
    stranger = make_user((Role.STAFF, make_institution("Inna fundacja")))
    assert enrolment.candidate.full_name not in client_as(app, stranger).get("/theory/voided").get_data(as_text=True)


def test_the_voiding_form(app, world):
    _enrolment, attempt = _sit(world, correct=20)
    item_id = attempt.items[0].item_id
    staff = client_as(app, world["staff"])
    response = staff.post("/theory/voided", data={"item_id": item_id, "reason": ""})
    assert response.status_code == 400 and "Give the reason the item is faulty" in response.get_data(as_text=True)
    assert item_id in response.get_data(as_text=True)  # what was typed is kept
    response = staff.post("/theory/voided", data={"item_id": "<script>x</script>", "reason": "Błąd."})
    assert response.status_code == 400 and "<script>x" not in response.get_data(as_text=True)
    response = staff.post("/theory/voided", data={"item_id": item_id, "reason": "Klucz niejednoznaczny."})
    assert response.status_code == 200 and "rescored" in response.get_data(as_text=True)
    assert db.session.scalar(select(VoidedItem)).reason == "Klucz niejednoznaczny."
    # The branch's staff see the page but may not void.
    branch = client_as(app, world["branch_staff"])
    assert "Void an item" not in branch.get("/theory/voided").get_data(as_text=True)
    other = attempt.items[1].item_id
    response = branch.post("/theory/voided", data={"item_id": other, "reason": "Błąd."})
    assert response.status_code == 400 and db.session.scalar(select(VoidedItem).where(VoidedItem.item_id == other)) is None
