"""The right to see one's exam work: asked within review_request_days of the validation decision
being sent, granted (for a set number of days) or refused with a reason by staff of the certifying
institution; while open, the candidate reads — only reads — their theory answers with the key, the
replay of their practical exam and the committee's per-criterion results and justification; before
the grant, after a refusal or after it closes: not found. Mails and audit at each step."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from examportal.appeals import reviews, rules
from examportal.extensions import db
from examportal.models import (
    AttemptItem,
    AuditEntry,
    CriterionResult,
    WorkReview,
    WorkReviewStatus,
    utcnow,
)
from sandbox_crm import actionlog
from sandbox_crm import api as sandbox_api
from sandbox_crm.host import Actor
from tests.appealtools import appeal_world, body, file_appeal, mails_to, ready_for_review, refusal_of, sent_days_ago
from tests.factories import client_as, make_practical_attempt, make_theory_result

SNAPSHOT = {
    "item": {"id": "t-1.1.a-001", "version": 1, "type": "single_choice", "criteria": ["1.1.a"],
             "stem": {"pl": "Które źródło danych klienta jest wiarygodne?", "en": "Which source of customer data is reliable?"},
             "key": ["b"],
             "options": [{"id": "a", "text": {"pl": "Plotka z forum"}}, {"id": "b", "text": {"pl": "Rejestr KRS (klucz)"}}]},
    "presented": {"options": ["b", "a"]},
}


@pytest.fixture
def world(app, qualification):
    w = appeal_world(qualification)
    enrolment = w["enrolment"]
    attempt = make_theory_result(enrolment, qualification, passed=False, failed_criteria=("1.1.a",))
    db.session.add(AttemptItem(attempt_id=attempt.id, position=1, item_id="t-1.1.a-001", item_version=1,
                               fingerprint="0" * 64, snapshot=SNAPSHOT, response=["a"], points=0.0))
    practical = make_practical_attempt(enrolment)
    workspace = sandbox_api.get_workspace(practical.workspace_id)
    actionlog.record(workspace, "create", "company", 1, "Firma Kandydatki Sp. z o.o.", {"name": [None, "Firma Kandydatki"]},
                     actor=Actor(ref=f"user:{w['candidate'].id}", name=w["candidate"].full_name))
    criterion = next(c for s in qualification.outcome_sets for o in s.outcomes for c in o.criteria if c.code == "2.4.a")
    db.session.add(CriterionResult(enrolment_id=enrolment.id, criterion_id=criterion.id, met=False,
                                   note="Nie utworzono szansy sprzedaży w lejku.", recorded_by_id=w["chair"].id,
                                   recorded_at=utcnow()))
    db.session.commit()
    return w


def entries(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def request_url(world) -> str:
    return f"/appeals/work-reviews/request/{world['enrolment'].id}"


def the_review() -> WorkReview:
    db.session.expire_all()
    return db.session.scalars(select(WorkReview)).one()


def test_the_candidate_asks_from_the_result_page_and_staff_are_mailed(app, world):
    client = client_as(app, world["candidate"])
    page = body(client.get(f"/committee/result/{world['enrolment'].id}"))
    assert f'action="{request_url(world)}"' in page
    assert client.post(request_url(world)).status_code == 302
    review = the_review()
    assert review.status == WorkReviewStatus.REQUESTED and review.sent_on == rules.today()
    assert entries("work_review.requested")
    assert any(m.subject == "A candidate asks to see their exam work" for m in mails_to(world["staff"]))
    assert not mails_to(world["child_staff"])
    assert "requested" in body(client.get(f"/committee/result/{world['enrolment'].id}"))
    response = client.post(request_url(world))
    assert response.status_code == 400 and "You have already asked to see your exam work" in body(response)


def test_the_request_window_is_review_request_days_of_the_decision_being_sent(app, world):
    client = client_as(app, world["candidate"])
    sent_days_ago(world["decision"], 8)
    end = rules.date_text(rules.today() - timedelta(days=1))
    response = client.post(request_url(world))
    assert response.status_code == 400 and f"ended on {end}" in body(response)
    assert f"ended on {end}" in body(client.get(f"/committee/result/{world['enrolment'].id}"))
    assert db.session.scalars(select(WorkReview)).all() == []
    sent_days_ago(world["decision"], 7)
    assert client.post(request_url(world)).status_code == 302


def test_only_the_candidate_asks_and_only_after_the_decision(app, world, qualification):
    for who in ("other", "staff", "panel1"):
        assert client_as(app, world[who]).post(request_url(world)).status_code == 404
    db.session.delete(world["decision"])
    db.session.commit()
    response = client_as(app, world["candidate"]).post(request_url(world))
    assert response.status_code == 400 and "once the committee&#39;s decision has been sent" in body(response)
    assert "only the candidate" in refusal_of(lambda: reviews.request(world["other"], world["enrolment"])).lower()


def test_granted_the_candidate_reads_the_work_read_only_until_it_closes(app, world):
    reviews.request(world["candidate"], world["enrolment"])
    review = the_review()
    candidate = client_as(app, world["candidate"])
    work = f"/appeals/work-reviews/{review.id}"
    assert candidate.get(work).status_code == 404  # not granted yet
    staff = client_as(app, world["staff"])
    listing = body(staff.get("/appeals/staff/work-reviews"))
    assert f'data-review="{review.id}"' in listing and world["candidate"].full_name in listing
    assert staff.post(f"/appeals/staff/work-reviews/{review.id}/grant", data={f"grant-{review.id}-days": "3"}).status_code == 302
    review = the_review()
    assert review.status == WorkReviewStatus.GRANTED and review.decided_by_id == world["staff"].id
    assert rules.review_last_day(review.open_until) == rules.today() + timedelta(days=3)
    mail = mails_to(world["candidate"])[-1]
    assert mail.subject == "You may see your exam work" and work in mail.body
    page = candidate.get(work)
    assert page.status_code == 200
    text = body(page)
    # The theory answer with the key, the practical replay, the committee's results and justification.
    assert "Which source of customer data is reliable?" in text
    assert "Plotka z forum" in text and "Rejestr KRS (klucz)" in text and 'class="key"' in text
    assert "Firma Kandydatki Sp. z o.o." in text and 'id="stmt-' in text
    assert 'id="criterion-2.4.a"' in text and "Nie utworzono szansy sprzedaży w lejku." in text
    assert world["decision"].justification in text
    # Read only: no form on the page.
    assert "<form" not in text.split('id="content"')[1]
    assert f'href="{work}"' in body(candidate.get("/appeals/"))
    # Another candidate, staff and the panel's outsiders never see it.
    for who in ("other", "staff", "panel1"):
        assert client_as(app, world[who]).get(work).status_code == 404
    # Once it closes: not found.
    review.open_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert candidate.get(work).status_code == 404
    assert "It was open through" in body(candidate.get("/appeals/"))


def test_staff_refuse_with_a_reason_that_the_candidate_receives(app, world):
    reviews.request(world["candidate"], world["enrolment"])
    review = the_review()
    staff = client_as(app, world["staff"])
    url = f"/appeals/staff/work-reviews/{review.id}/refuse"
    response = staff.post(url, data={f"refuse-{review.id}-reason": "  "})
    assert response.status_code == 400 and "Give the reason for the refusal" in body(response)
    reason = "Wniosek dotyczy sesji, której materiały są w archiwum zewnętrznym."
    assert staff.post(url, data={f"refuse-{review.id}-reason": reason}).status_code == 302
    review = the_review()
    assert review.status == WorkReviewStatus.REFUSED and review.refusal_reason == reason
    assert reason in mails_to(world["candidate"])[-1].body
    [entry] = entries("work_review.refused")
    assert reason not in str(entry.after)
    assert client_as(app, world["candidate"]).get(f"/appeals/work-reviews/{review.id}").status_code == 404
    assert reason in body(client_as(app, world["candidate"]).get("/appeals/"))
    response = staff.post(f"/appeals/staff/work-reviews/{review.id}/grant", data={f"grant-{review.id}-days": "7"})
    assert response.status_code == 400 and "already been decided" in body(response)
    # After a refusal the candidate may ask again within the window.
    assert client_as(app, world["candidate"]).post(request_url(world)).status_code == 302


@pytest.mark.parametrize("days", ["0", "31", "-1", "abc", "", "99999999999999999999"])
def test_the_days_granted_must_be_one_to_thirty(app, world, days):
    reviews.request(world["candidate"], world["enrolment"])
    review = the_review()
    response = client_as(app, world["staff"]).post(f"/appeals/staff/work-reviews/{review.id}/grant",
                                                   data={f"grant-{review.id}-days": days})
    assert response.status_code == 400 and "1 to 30" in body(response)
    assert the_review().status == WorkReviewStatus.REQUESTED


def test_only_staff_of_the_certifying_institution_decide(app, world, qualification):
    reviews.request(world["candidate"], world["enrolment"])
    review = the_review()
    foreign = appeal_world(qualification, letter="W")
    for staff in (world["child_staff"], foreign["staff"]):
        client = client_as(app, staff)
        assert f'data-review="{review.id}"' not in body(client.get("/appeals/staff/work-reviews?status=all"))
        assert client.post(f"/appeals/staff/work-reviews/{review.id}/grant",
                           data={f"grant-{review.id}-days": "7"}).status_code == 404
        assert client.post(f"/appeals/staff/work-reviews/{review.id}/refuse",
                           data={f"refuse-{review.id}-reason": "x"}).status_code == 404
    assert client_as(app, world["candidate"]).post(f"/appeals/staff/work-reviews/{review.id}/grant").status_code == 403
    assert the_review().status == WorkReviewStatus.REQUESTED
    assert client_as(app, world["staff"]).get("/appeals/staff/work-reviews?status=bogus").status_code == 400


def test_the_panel_reads_the_same_work_after_declaring(app, world):
    appeal = ready_for_review(world, file_appeal(world))
    page = client_as(app, world["panel1"]).get(f"/appeals/panel/{appeal.id}/work")
    assert page.status_code == 200 and "Rejestr KRS (klucz)" in body(page) and "Firma Kandydatki Sp. z o.o." in body(page)
