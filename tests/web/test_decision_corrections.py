"""Recorded corrections of a final validation decision: the one service behind both routes (an upheld
appeal, and staff after a voided theory item changed a decision), its rule (the decision after the
correction is what the committee's rule gives, never chosen), the original decision kept and shown as
corrected, the candidate mailed, certification following the corrected state."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.certification import services as certification
from examportal.committee import corrections
from examportal.committee import services as committee
from examportal.extensions import db
from examportal.models import (
    AuditEntry,
    DecisionCorrection,
    OutboxMail,
    Role,
    ValidationDecision,
)
from examportal.theory import voiding
from tests import factories
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_institution,
    make_session,
    make_user,
)
from tests.remedytools import decide

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    ic = make_institution("Fundacja Sprostowań", qualifications=[qualification])
    session = make_session(ic, qualification, title="Sesja z testem")
    chair, member = make_user((Role.ASSESSOR, ic)), make_user((Role.ASSESSOR, ic))
    add_member(session, chair, declared=True).is_chair = True
    add_member(session, member, declared=True)
    db.session.commit()
    return {"ic": ic, "session": session, "chair": chair, "member": member,
            "staff": make_user((Role.STAFF, ic), locale="en"), "staff2": make_user((Role.STAFF, ic)),
            "stranger": make_user((Role.STAFF, make_institution("Inna fundacja", qualifications=[qualification])))}


def _sit(world, correct: int):
    """A candidate's released test with ``correct`` right answers (of 36), and a finished practical task."""
    candidate = make_user(Role.CANDIDATE, locale="en")
    enrolment = enrol(world["session"], candidate)
    return enrolment, factories.sit_theory_test(enrolment, correct, T0)


def _decided(world, correct):
    enrolment, attempt = _sit(world, correct)
    return enrolment, attempt, decide(enrolment, [world["chair"], world["member"]])


def _mails_to(user):
    return db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == user.email).order_by(OutboxMail.id)).all()


def test_staff_correct_a_positive_decision_a_voided_item_turned_negative(app, world):
    enrolment, attempt, decision = _decided(world, correct=22)  # 61.1 %: passed
    assert decision.positive
    protocol = decision.protocol_pdf
    for ai in attempt.items[:2]:  # two answered items voided: 20 of 34 = 58.8 %, not passed
        voiding.void_item(world["staff"], ai.item_id, "Klucz niejednoznaczny.")
    assert attempt.passed is False
    staff = client_as(app, world["staff"])
    voided = staff.get("/theory/voided").get_data(as_text=True)
    url = f"/theory/voided/decisions/{decision.id}/correct"
    assert url in voided and "Record a correction" in voided

    page = staff.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "1.1.a" in text and "The decision then stands: negative" in text
    response = staff.post(url, data={"reason": ""})
    assert response.status_code == 400 and "Give the reason for the correction" in response.get_data(as_text=True)
    assert db.session.scalar(select(DecisionCorrection)) is None
    response = staff.post(url, data={"reason": "Unieważniono dwa wadliwe pytania testu."})
    assert response.status_code == 302

    correction = db.session.scalar(select(DecisionCorrection))
    assert correction.appeal_id is None and correction.corrected_by_id == world["staff"].id
    assert (correction.positive_before, correction.positive_after) == (True, False)
    assert set(correction.criteria) == {c.code for c in committee.all_criteria(enrolment) if c.method == "test"}
    assert all(change == {"before": True, "after": False} for change in correction.criteria.values())
    db.session.expire_all()
    kept = db.session.get(ValidationDecision, decision.id)
    assert kept.positive and kept.protocol_pdf == protocol  # the decision itself is never changed
    assert corrections.standing_positive(kept) is False
    assert committee.decisions_to_correct({world["ic"].id}) == []  # nothing left to correct
    mail = _mails_to(enrolment.candidate)[-1]
    assert mail.subject == "A correction of your validation result" and "Unieważniono" in mail.body
    assert "negative" in mail.body
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "committee.decision_corrected")) is not None
    # Certification follows the decision as it stands: no longer positive.
    with force_locale("en"):
        assert "positive validation decision" in certification.decision_refusal(world["staff2"], enrolment)
    # The candidate's page shows the original decision as corrected.
    result = client_as(app, enrolment.candidate).get(f"/committee/result/{enrolment.id}").get_data(as_text=True)
    assert "Negative" in result and "corrected" in result and "Unieważniono" in result
    # A second correction of the same change is refused: the decision is no longer affected.
    response = staff.post(url, data={"reason": "Jeszcze raz."})
    assert response.status_code == 400 and "nothing to correct" in response.get_data(as_text=True)


def test_a_voided_item_that_turns_a_fail_into_a_pass_makes_the_decision_positive(app, world):
    enrolment, attempt = _sit(world, correct=21)  # 58.3 %: not passed
    decision = decide(enrolment, [world["chair"], world["member"]])
    assert decision.positive is False
    voiding.void_item(world["staff"], attempt.items[-1].item_id, "Pytanie spoza zakresu.")  # unanswered: 60 %
    with force_locale("en"):
        assert "positive validation decision" in certification.decision_refusal(world["staff2"], enrolment)
    corrections.correct_after_voiding(world["staff"], decision, "Pytanie spoza zakresu unieważnione.")
    db.session.commit()
    assert corrections.standing_positive(decision) is True and decision.positive is False
    assert certification.decision_refusal(world["staff2"], enrolment) is None
    # The staff member who recorded the correction took part in the decision now: not the certifier.
    with force_locale("en"):
        assert "took part in their validation decision" in certification.decision_refusal(world["staff"], enrolment)
    page = client_as(app, world["chair"]).get(f"/committee/enrolments/{enrolment.id}/consolidation")
    assert "corrected" in page.get_data(as_text=True)


def test_the_rule_not_the_caller_decides_the_corrected_result(app, world):
    enrolment, _attempt = _sit(world, correct=30)
    decision = decide(enrolment, [world["chair"], world["member"]], not_met=("2.4.a", "2.5.a"))
    with force_locale("en"):
        preview = corrections.preview(decision, {"2.4.a": True})
        assert preview.positive_after is False and preview.unmet_after == ["2.5.a"]
        with pytest.raises(corrections.CorrectionError, match="changes no criterion"):
            corrections.preview(decision, {"2.4.a": False})
        with pytest.raises(corrections.CorrectionError, match="Unknown criterion"):
            corrections.preview(decision, {"9.9.z": True})
        with pytest.raises(corrections.CorrectionError, match="reason"):
            corrections.record(world["staff"], decision, {"2.4.a": True}, "  ")
    first = corrections.record(world["staff"], decision, {"2.4.a": True}, "Dowód odnaleziony w dzienniku.")
    assert (first.positive_before, first.positive_after) == (False, False)
    second = corrections.record(world["staff"], decision, {"2.5.a": True}, "Drugi dowód odnaleziony.")
    assert (second.positive_before, second.positive_after) == (False, True)
    assert [c.id for c in corrections.corrections(decision)] == [first.id, second.id]


def test_only_staff_of_the_institution_correct_and_only_affected_decisions(app, world):
    enrolment, _attempt, decision = _decided(world, correct=30)
    url = f"/theory/voided/decisions/{decision.id}/correct"
    # Not affected by any voided item: the page says so and refuses the post.
    staff = client_as(app, world["staff"])
    page = staff.get(url)
    assert page.status_code == 200 and "nothing to correct" in page.get_data(as_text=True)
    response = staff.post(url, data={"reason": "Bez powodu."})
    assert response.status_code == 400 and db.session.scalar(select(DecisionCorrection)) is None
    # Another institution's staff: not found; anyone else: forbidden.
    assert client_as(app, world["stranger"]).get(url).status_code == 404
    assert client_as(app, world["stranger"]).post(url, data={"reason": "x"}).status_code == 404
    assert client_as(app, world["chair"]).get(url).status_code == 403
    assert client_as(app, enrolment.candidate).post(url, data={"reason": "x"}).status_code == 403
    with force_locale("en"):
        assert "Only staff of the institution" in corrections.voiding_refusal(world["stranger"], decision)
        with pytest.raises(corrections.CorrectionError, match="Only staff"):
            corrections.correct_after_voiding(world["stranger"], decision, "Próba.")
