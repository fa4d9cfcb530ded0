"""The committee's rules that protect a decision's validity against bending: declarations name the
candidates they cover, the decision follows the qualification's rule, the committee is not changed
once it proposed, every decision-maker assessed the candidate first, an ineligible member's vote
does not count, final scores wait for the practical part, the audit log does not break blind
scoring, and a decided candidate stays in the session."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.audit import services as audit_log
from examportal.committee import services as committee
from examportal.extensions import db
from examportal.models import AuditEntry, ProposalStatus, Role, UserRole, utcnow
from examportal.sessions import services as sessions
from tests.factories import client_as, enrol, make_applicant, make_practical_attempt, make_theory_result, make_user
from tests.remedytools import decide, validation_world

DECLARATION = "Oświadczam, że jestem bezstronny."


def _score(enrolment, user, not_met=(), submit=True):
    """``user`` saves their scores on ``enrolment`` (every criterion met but ``not_met``), submitted by default."""
    member = committee.member_of(enrolment, user)
    entries = {c.id: committee.ScoreEntry(
        None if c.interview_follow_up else c.code not in not_met,
        f"Brak dowodu dla {c.code}." if c.code in not_met else "",
        "Notatki z rozmowy." if c.method == "interview" else "") for c in committee.scored_criteria(enrolment)}
    return committee.save_scores(member, enrolment, entries, submit=submit)


def _record(enrolment, chair, not_met=()):
    committee.record_results(committee.member_of(enrolment, chair), enrolment,
                             {c.id: (c.code not in not_met, "Po naradzie komisji." if c.code in not_met else "")
                              for c in committee.committee_criteria(enrolment)})


def _refusal(error_class, action) -> str:
    with force_locale("en"), pytest.raises(error_class) as caught:
        action()
    db.session.rollback()
    return str(caught.value)


def _body(response) -> str:
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- declarations name their candidates


def _declared_through_the_service(w):
    """``w``'s committee signs its declarations through the service, naming the one candidate."""
    for member in w["session"].committee:
        member.declared_at = None
    db.session.commit()
    for member in list(w["session"].committee):
        sessions.declare_impartiality(member, DECLARATION, None)


def _late_candidate(w, qualification):
    late = sessions.enrol_candidate(w["session"], make_applicant(first_name="Lech", last_name="Późny"))
    make_theory_result(late, qualification)
    make_practical_attempt(late)
    return late


def test_a_candidate_enrolled_after_the_declarations_is_not_assessed_without_one(app, qualification):
    w = validation_world(qualification, short_name="PD")
    _declared_through_the_service(w)
    late = _late_candidate(w, qualification)
    chair = committee.member_of(late, w["chair"])

    message = _refusal(committee.CommitteeRuleError, lambda: _score(late, w["chair"]))
    assert "enrolled after you signed your declaration" in message and "Sign a declaration for them" in message
    with force_locale("en"):
        assert committee.scoring_refusal(chair, late) == message
        assert committee.may_record(chair, late) is False  # so no results, no proposal, no vote
    # The first candidate, named in the declarations, is assessed as before.
    assert committee.scoring_refusal(chair, w["enrolment"]) is None


def test_a_member_declares_again_for_a_candidate_enrolled_since(app, qualification):
    w = validation_world(qualification, short_name="PE")
    _declared_through_the_service(w)
    late = _late_candidate(w, qualification)
    client = client_as(app, w["chair"])
    url = f"/sessions/{w['session'].id}/committee-view"

    page = _body(client.get(url))
    assert "enrolled after you signed your declaration" in page and "Lech Późny" in page
    assert f"/committee/enrolments/{late.id}\"" not in page and f"/committee/enrolments/{w['enrolment'].id}\"" in page
    response = client.post(url, data={"confirm": "y", "covered": str(late.id)})
    assert response.status_code == 302

    db.session.expire_all()
    chair = committee.member_of(late, w["chair"])
    assert committee.scoring_refusal(chair, late) is None
    assert f"Lech Późny (enrolment no. {late.id})" in chair.declaration_text
    assert chair.declaration_text.startswith(DECLARATION) and "Zofia Kandydatka" in chair.declaration_text  # the first stays
    last = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "committee.impartiality_declared")
                              .order_by(AuditEntry.seq.desc())).first()
    assert last.object_id == str(chair.id) and last.after["enrolment_ids"] == [late.id]
    _score(late, w["chair"])  # now assessed
    # Nothing left to declare: a further signature is refused.
    with force_locale("en"), pytest.raises(sessions.SessionRuleError, match="already signed"):
        sessions.declare_impartiality(chair, DECLARATION, None)
    # The other member has not declared for the late candidate yet: staff see it.
    staff_page = _body(client_as(app, w["staff"]).get(f"/sessions/{w['session'].id}"))
    assert "to sign for 1 candidate(s) enrolled since" in staff_page


# --------------------------------------------------------------------------- the decision follows the rule


def test_a_negative_decision_needs_an_unmet_criterion(app, qualification):
    w = validation_world(qualification, short_name="PN")
    e = w["enrolment"]
    for user in (w["chair"], w["member"]):
        _score(e, user)
    _record(e, w["chair"])
    assert committee.summary(e).granted is True
    chair = committee.member_of(e, w["chair"])
    message = _refusal(committee.CommitteeRuleError, lambda: committee.propose(
        chair, e, False, "Komisja uznała, że kandydat nie jest gotowy do pracy z klientem."))
    assert "A negative decision needs a criterion not met" in message
    assert committee.proposals(e) == []
    assert committee.propose(chair, e, True, None).status == ProposalStatus.OPEN  # the decision the results support


def test_a_positive_decision_needs_every_criterion_met(app, qualification):
    w = validation_world(qualification, short_name="PP")
    e = w["enrolment"]
    for user in (w["chair"], w["member"]):
        _score(e, user, not_met=("2.1.a",))
    _record(e, w["chair"], not_met=("2.1.a",))
    chair = committee.member_of(e, w["chair"])
    message = _refusal(committee.CommitteeRuleError, lambda: committee.propose(chair, e, True, None))
    assert "A positive decision needs every learning outcome confirmed" in message and "2.1.a" in message


# --------------------------------------------------------------------------- the committee that proposed decides


def _disputed_then_rejected(w):
    e = w["enrolment"]
    for user in (w["chair"], w["member"]):
        _score(e, user)
    _record(e, w["chair"])
    chair = committee.member_of(e, w["chair"])
    committee.propose(chair, e, True, None)
    committee.vote(committee.member_of(e, w["member"]), e, False, "Kandydat nie zaprojektował lejka (2.1).")
    assert committee.open_proposal(e).status == ProposalStatus.DISPUTED
    extra = committee.appoint_extra_member(w["staff"], e, w["spare"])  # the one change allowed after a dissent
    sessions.declare_impartiality(extra, DECLARATION, None)
    _score(e, w["spare"], not_met=("2.1.a",))
    committee.vote(extra, e, False, "Zgadzam się z członkiem komisji: lejek nie powstał.")
    assert committee.proposals(e)[-1].status == ProposalStatus.REJECTED
    return extra


def test_the_committee_cannot_be_stacked_after_a_dissent(app, qualification):
    w = validation_world(qualification, short_name="PS")
    extra = _disputed_then_rejected(w)
    ally = make_user((Role.ASSESSOR, w["ic"]), first_name="Adam", last_name="Sojusznik")

    message = _refusal(sessions.SessionRuleError, lambda: sessions.add_assessor(w["session"], ally))
    assert "already proposed a decision" in message and "can no longer change" in message
    assert sessions.membership(w["session"], ally) is None
    # Nor taken off: neither a standing member nor the member appointed for the candidate.
    for member in (w["session"].committee[1], extra):
        assert "can no longer change" in _refusal(sessions.SessionRuleError, lambda m=member: sessions.remove_assessor(m))
    assert len(committee.committee_for(w["enrolment"])) == 3

    # The staff page offers neither and says why.
    page = _body(client_as(app, w["staff"]).get(f"/sessions/{w['session'].id}"))
    assert "can no longer change" in page and "Add to the committee" not in page and "/remove" not in page


def test_the_committee_changes_freely_before_any_proposal(app, qualification):
    w = validation_world(qualification, short_name="PF")
    member = sessions.add_assessor(w["session"], w["spare"])
    sessions.remove_assessor(member)
    assert sessions.membership(w["session"], w["spare"]) is None


# --------------------------------------------------------------------------- every decision-maker assessed first


def test_a_chair_appointed_after_the_results_cannot_propose_without_their_own_assessment(app, qualification):
    w = validation_world(qualification, short_name="PC")
    e = w["enrolment"]
    for user in (w["chair"], w["member"]):
        _score(e, user)
    _record(e, w["chair"])
    new_chair = sessions.add_assessor(w["session"], w["spare"], is_chair=True)
    sessions.declare_impartiality(new_chair, DECLARATION, None)
    message = _refusal(committee.CommitteeRuleError, lambda: committee.propose(new_chair, e, True, None))
    assert "Submit your own scores first" in message
    assert committee.proposals(e) == []
    # After their own assessment the new chair proposes.
    _score(e, w["spare"])
    assert committee.propose(new_chair, e, True, None).status == ProposalStatus.OPEN


# --------------------------------------------------------------------------- only eligible members' votes count


def test_a_proposal_a_member_found_to_have_trained_the_candidate_took_part_in_is_withdrawn(app, qualification):
    """Three members; the chair proposed, one approved; then that member is found to have trained
    the candidate. Their approval may not carry the decision: the proposal is withdrawn when the
    training is recorded, the trainer votes no more, and the two who may assess the candidate (the
    qualification's minimum) propose and decide without them; the protocol names only those two."""
    w = validation_world(qualification, short_name="PT")
    e = w["enrolment"]
    third = sessions.add_assessor(w["session"], w["spare"])
    sessions.declare_impartiality(third, DECLARATION, None)
    for user in (w["chair"], w["member"], w["spare"]):
        _score(e, user)
    _record(e, w["chair"])
    committee.propose(committee.member_of(e, w["chair"]), e, True, None)
    committee.vote(committee.member_of(e, w["member"]), e, True, None)
    sessions.record_training(w["staff"], w["ic"], w["member"], w["candidate"], "Kurs przygotowawczy CRM")

    assert committee.open_proposal(e) is None and committee.proposals(e)[-1].status == ProposalStatus.WITHDRAWN
    assert "There is no proposed decision" in _refusal(committee.CommitteeRuleError,
                                                       lambda: committee.vote(third, e, True, None))
    with force_locale("en"):
        assert "You trained this candidate" in committee.vote_refusal(committee.member_of(e, w["member"]), e)
    assert [m.assessor_id for m in committee.deciding_members(e)] == [w["chair"].id, w["spare"].id]
    committee.propose(committee.member_of(e, w["chair"]), e, True, None)
    committee.vote(third, e, True, None)
    decision = committee.decision_for(e)
    assert decision is not None and decision.positive
    assert {v.member_id for v in decision.proposal.votes} == {committee.member_of(e, w["chair"]).id, third.id}


def _trainer_chair_after_a_proposal(w):
    """The committee of two scored, the chair recorded the results and proposed; the member has not
    voted yet when the chair is found to have trained the candidate."""
    e = w["enrolment"]
    for user in (w["chair"], w["member"]):
        _score(e, user)
    _record(e, w["chair"])
    committee.propose(committee.member_of(e, w["chair"]), e, True, None)
    sessions.record_training(w["staff"], w["ic"], w["chair"], w["candidate"], "Kurs przygotowawczy CRM")
    return e


def test_a_committee_left_below_its_minimum_by_a_trainer_gets_a_member_in_their_place(app, qualification):
    """A committee of two whose chair is found to have trained the candidate after proposing: the
    proposal is withdrawn, nobody may act for the candidate (one person is never a committee), and the
    staff page offers to appoint a member in the chair's place. The member appointed declares,
    scores; the member left records the results again and proposes; the new member decides with
    them. The session's other candidates and the standing committee are untouched."""
    w = validation_world(qualification, short_name="PR")
    e = _trainer_chair_after_a_proposal(w)
    assert committee.proposals(e)[-1].status == ProposalStatus.WITHDRAWN
    with force_locale("en"):
        message = committee.quorum_refusal(e)
    assert "trained this candidate" in message and "appoint a member in their place" in message
    member = committee.member_of(e, w["member"])
    assert "trained this candidate" in _refusal(committee.CommitteeRuleError, lambda: committee.propose(member, e, True, None))

    staff = client_as(app, w["staff"])
    page = _body(staff.get(f"/sessions/{w['session'].id}"))
    assert "Czesław Przewodniczący trained this candidate and may not assess them" in page
    response = staff.post(f"/sessions/{w['session'].id}/enrolments/{e.id}/extra-member",
                          data={"assessor_id": str(w["spare"].id)})
    assert response.status_code == 302
    replacement = committee.member_of(e, w["spare"])
    assert replacement.enrolment_id == e.id and replacement.replaces_id == committee.member_of(e, w["chair"]).id
    assert "in place of one who may not assess them: Stanisław Nowy" in _body(staff.get(f"/sessions/{w['session'].id}"))

    sessions.declare_impartiality(replacement, DECLARATION, None)
    assert committee.quorum_refusal(e) is None
    # The results the trainer recorded do not stand: the member left records them again.
    _score(e, w["spare"])
    assert "record them again" in _refusal(committee.CommitteeRuleError, lambda: committee.propose(member, e, True, None))
    assert committee.may_record(member, e)
    _record(e, w["member"])
    committee.propose(member, e, True, None)
    committee.vote(replacement, e, True, None)
    decision = committee.decision_for(e)
    assert decision is not None and decision.positive
    assert {m.assessor_id for m in committee.deciding_members(e)} == {w["member"].id, w["spare"].id}
    assert len(w["session"].committee) == 2  # the standing committee is as it was


def test_no_member_is_appointed_for_a_candidate_who_needs_none(app, qualification):
    """Nothing to replace and no dissent: the appointment is refused with the reason."""
    w = validation_world(qualification, short_name="PN")
    message = _refusal(committee.CommitteeRuleError,
                       lambda: committee.appoint_extra_member(w["staff"], w["enrolment"], w["spare"]))
    assert "in place of a member who may not assess the candidate" in message
    assert committee.committee_for(w["enrolment"]) == list(w["session"].committee)


# --------------------------------------------------------------------------- final scores wait for the practical part


@pytest.mark.parametrize("state", ["running", "missing"])
def test_no_scores_are_submitted_on_a_practical_part_not_yet_done(app, qualification, state):
    w = validation_world(qualification, short_name="PR")
    late = enrol(w["session"], make_applicant(first_name="Roman", last_name="Wtrakcie"))
    make_theory_result(late, qualification)
    if state == "running":
        make_practical_attempt(late, finished=False)
    assert committee.practical_state(late) == state

    message = _refusal(committee.CommitteeRuleError, lambda: _score(late, w["chair"]))
    assert "save your scores as a draft" in message
    assert committee.stored_scoresheet(committee.member_of(late, w["chair"]), late) is None
    # A draft is saved; the page offers no submit button and says why.
    sheet = _score(late, w["chair"], submit=False)
    assert not sheet.is_submitted and sheet.scores
    page = _body(client_as(app, w["chair"]).get(f"/committee/enrolments/{late.id}"))
    assert "save your scores as a draft" in page and 'name="submit"' not in page

    # Sheets submitted before this rule do not let the results be recorded either.
    for user in (w["chair"], w["member"]):
        _score(late, user, submit=False).submitted_at = utcnow()
    db.session.commit()
    message = _refusal(committee.CommitteeRuleError, lambda: _record(late, w["chair"]))
    assert message == {"running": "The candidate's practical part is still running.",
                       "missing": "The candidate has not taken the practical part. If they did not come, the operator "
                                  "or the chair records them as absent."}[state]
    assert committee.results(late) == {}


def test_scores_are_submitted_once_the_absence_is_recorded(app, qualification):
    w = validation_world(qualification, short_name="PA")
    late = enrol(w["session"], make_applicant(first_name="Roman", last_name="Nieobecny"))
    make_theory_result(late, qualification)
    committee.record_practical_absence(w["operator"], late, "Kandydat nie przyszedł na część praktyczną.")
    assert _score(late, w["chair"]).is_submitted


# --------------------------------------------------------------------------- the audit log and blind scoring


def test_an_assessor_who_is_also_staff_does_not_read_the_others_scores_before_submitting(app, qualification):
    w = validation_world(qualification, short_name="PB")
    e = w["enrolment"]
    w["member"].roles.append(UserRole(role=Role.STAFF, institution_id=w["ic"].id))
    db.session.commit()
    sheet = _score(e, w["chair"], not_met=("2.1.c",))
    member_client = client_as(app, w["member"])
    assert member_client.get(f"/committee/enrolments/{e.id}/consolidation").status_code == 302  # still blind here
    page = _body(member_client.get("/audit/?action=committee.scores_submitted"))
    assert "2.1.c" not in page, "the chair's verdict on 2.1.c is readable in the audit log before the member submits"
    assert "Scores submitted" in page  # who submitted, and when, is still there

    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "committee.scores_submitted")).all()
    assert set(entry.after) == {"enrolment_id", "assessor_id", "scores_digest"}
    assert entry.object_id == str(sheet.id) and entry.after["enrolment_id"] == e.id
    assert entry.after["scores_digest"] == committee.scores_digest(sheet)  # the sheet as submitted
    sheet.scores[0].comment = "Zmienione po złożeniu."
    assert committee.scores_digest(sheet) != entry.after["scores_digest"]
    db.session.rollback()


def test_verdicts_in_older_audit_entries_are_not_shown(app, qualification):
    w = validation_world(qualification, short_name="PL")
    e = w["enrolment"]
    sheet = _score(e, w["chair"], not_met=("2.1.c",))
    audit_log.record("committee.scores_submitted", sheet, after={  # as entries were written before
        "enrolment_id": e.id, "assessor_id": w["chair"].id, "scores": {"2.1.c": False, "2.1.d": True}},
        institution_id=w["ic"].id)
    db.session.commit()
    page = _body(client_as(app, w["staff"]).get("/audit/?action=committee.scores_submitted"))
    assert "2.1.c" not in page and "2.1.d" not in page
    assert "kept in its own record, not shown in the audit log" in page


def test_a_member_appointed_after_a_dissent_does_not_read_the_results_and_votes_before_the_decision(app, qualification):
    """The extra member scores after the chair's results, the proposal and the dissent were logged;
    as staff they may read the log. Until the candidate is decided, those entries say who acted and
    when, not what they recorded or voted; once decided, everything is readable again."""
    w = validation_world(qualification, short_name="PX")
    e = w["enrolment"]
    for user in (w["chair"], w["member"]):
        _score(e, user, not_met=("2.1.a",))
    _record(e, w["chair"], not_met=("2.1.a",))
    committee.propose(committee.member_of(e, w["chair"]), e, False, "Nie potwierdzono efektu 2.1.a.")
    committee.vote(committee.member_of(e, w["member"]), e, False, "Lejek sprzedażowy jednak powstał.")
    extra = committee.appoint_extra_member(w["staff"], e, w["spare"])
    w["spare"].roles.append(UserRole(role=Role.STAFF, institution_id=w["ic"].id))
    db.session.commit()
    sessions.declare_impartiality(extra, DECLARATION, None)
    spare = client_as(app, w["spare"])
    page = _body(spare.get("/audit/?action=committee."))
    assert "Results recorded" in page or "results_recorded" in page  # the entries are there
    for secret in ("2.1.a", "Nie potwierdzono efektu", "Lejek sprzedażowy"):
        assert secret not in page, f"{secret!r} is readable by the member still to score"
    staff_page = _body(client_as(app, w["staff"]).get("/audit/?action=committee."))
    assert "2.1.a" in staff_page  # staff who sit on no committee of the candidate read them whole

    _score(e, w["spare"], not_met=("2.1.a",))
    committee.vote(extra, e, True, None)
    assert committee.decision_for(e) is not None
    assert "2.1.a" in _body(spare.get("/audit/?action=committee."))


# --------------------------------------------------------------------------- a decided candidate stays


def test_a_decided_candidate_is_not_withdrawn_from_the_session(app, qualification):
    w = validation_world(qualification, short_name="PW")
    e = w["enrolment"]
    assert decide(e, [w["chair"], w["member"]]).positive
    message = _refusal(sessions.SessionRuleError, lambda: sessions.withdraw_enrolment(e))
    assert "can no longer be withdrawn" in message and "appeal or a recorded correction" in message
    db.session.expire_all()
    assert e.status.value == "enrolled"
    page = _body(client_as(app, w["staff"]).get(f"/sessions/{w['session'].id}"))
    assert "can no longer be withdrawn" in page and f"/enrolments/{e.id}/withdraw" not in page


def test_a_candidate_under_a_proposed_decision_is_not_withdrawn(app, qualification):
    w = validation_world(qualification, short_name="PV")
    e = w["enrolment"]
    for user in (w["chair"], w["member"]):
        _score(e, user)
    _record(e, w["chair"])
    committee.propose(committee.member_of(e, w["chair"]), e, True, None)
    message = _refusal(sessions.SessionRuleError, lambda: sessions.withdraw_enrolment(e))
    assert "is voting on it" in message
    # An undecided candidate of the same session is still withdrawn.
    other = enrol(w["session"], make_applicant(first_name="Olga", last_name="Rezygnująca"))
    sessions.withdraw_enrolment(other)
    assert other.status.value == "withdrawn"


def test_a_committee_waiting_for_a_signature_says_whose(app, qualification):
    """Two members, one not signed yet: the committee is complete, so the message names who still
    signs, rather than asking the institution to complete the committee."""
    w = validation_world(qualification, short_name="PQ")
    member = committee.member_of(w["enrolment"], w["member"])
    member.declared_at = None
    db.session.commit()
    with force_locale("en"):
        message = committee.quorum_refusal(w["enrolment"])
    assert "Still to sign: Maria Członkini" in message and "complete the committee" not in message
