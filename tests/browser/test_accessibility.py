"""Accessibility: axe-core finds no serious or critical violation on the pages a candidate uses, in
the portal and in the sandbox CRM; the theory test can be taken with the keyboard alone; the test
page offers larger text and high contrast.

axe is the vendored ``vendor/axe.min.js`` (see ``vendor/README.md``), loaded by ``a11y.py``.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import OperatorActionKind, Role, TheoryAttempt
from examportal.practical import services as practical
from examportal.theory import services as theory
from tests.browser.a11y import Audit, violations
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_institution,
    make_practical_attempt,
    make_session,
    make_theory_result,
    make_user,
    write_theory_bank,
)

pytestmark = pytest.mark.browser

ITEM_TYPES = ("single_choice", "multiple_choice", "true_false", "ordering", "matching")


def _decide_positive(app, enrolment, chair, member) -> None:
    """Both members score every criterion "met", the chair records the results and proposes a positive
    decision, the other member approves it: the candidate's result page then shows a decision."""
    from examportal.committee import services as committee

    csrf, app.config["WTF_CSRF_ENABLED"] = app.config.get("WTF_CSRF_ENABLED", True), False  # test clients post bare forms
    try:
        _score_and_decide(app, committee, enrolment, chair, member)
    finally:
        app.config["WTF_CSRF_ENABLED"] = csrf
    assert committee.decision_for(enrolment) is not None


def _score_and_decide(app, committee, enrolment, chair, member) -> None:
    for assessor in (chair, member):
        data = {"submit": "1"}
        for criterion in committee.scored_criteria(enrolment):
            data[f"c-{criterion.id}-met"] = "" if criterion.interview_follow_up else "met"
            if criterion.method == "interview" and not criterion.interview_follow_up:
                data[f"c-{criterion.id}-notes"] = f"Odpowiedź kandydata ({criterion.code})."
        response = client_as(app, assessor).post(f"/committee/enrolments/{enrolment.id}/scores", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)
    chair_client = client_as(app, chair)
    results = {"record": "1", **{f"r-{c.id}-met": "met" for c in committee.committee_criteria(enrolment)}}
    assert chair_client.post(f"/committee/enrolments/{enrolment.id}/results", data=results).status_code == 302
    assert chair_client.post(f"/committee/enrolments/{enrolment.id}/decision",
                             data={"outcome": "positive"}).status_code == 302
    assert client_as(app, member).post(f"/committee/enrolments/{enrolment.id}/vote",
                                       data={"vote": "approve"}).status_code == 302


@pytest.fixture
def candidate(app, qualification, tmp_path):
    """A candidate in two sessions: one whose theory test the operator has unlocked, one decided."""
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    institution = make_institution(qualifications=[qualification])
    operator = make_user((Role.OPERATOR, institution))
    person = make_user(Role.CANDIDATE, first_name="Łucja", last_name="Dostępna", locale="en")
    open_session = make_session(institution, qualification, title="Sesja z testem", operator_id=operator.id)
    taking = enrol(open_session, person)
    theory.operator_action(open_session, operator, OperatorActionKind.UNLOCK, "session opened")

    decided_session = make_session(institution, qualification, title="Sesja rozstrzygnięta")
    chair, member = make_user((Role.ASSESSOR, institution)), make_user((Role.ASSESSOR, institution))
    add_member(decided_session, chair, declared=True).is_chair = True
    add_member(decided_session, member, declared=True)
    decided = enrol(decided_session, person)
    make_theory_result(decided, qualification)
    make_practical_attempt(decided)
    db.session.commit()
    _decide_positive(app, decided, chair, member)
    return {"user": person, "taking": taking, "decided": decided}


def _attempt(enrolment) -> TheoryAttempt:
    db.session.expire_all()
    return db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == enrolment.id))


def _show_question_of_type(page: Page, attempt: TheoryAttempt, kind: str) -> int:
    position = next(i.position for i in attempt.items if i.snapshot["item"]["type"] == kind)
    page.locator(f".question-map [data-go='{position}']").click()
    page.wait_for_selector(f"form#q-{position}:not([hidden])")
    return position


def test_the_audit_finds_what_it_should(page):
    """The harness is no formality: an image without a text alternative and an unlabelled field are caught."""
    page.goto("/auth/login")
    assert violations(page) == []
    page.locator("form").first.evaluate(
        "form => form.insertAdjacentHTML('beforeend', '<img src=\"/static/app.css\"><input type=\"text\" name=\"x\">')")
    assert {v["id"] for v in violations(page)} >= {"image-alt", "label"}


def test_candidate_pages_have_no_serious_accessibility_violations(new_page, candidate):
    audit = Audit()
    page = new_page()
    page.goto("/auth/register")
    audit.check(page, "registration")
    page.locator("main button[type=submit]").click()  # nothing filled in: every error shown
    expect(page.locator("main .error").first).to_be_visible()
    audit.check(page, "registration with errors")
    page.goto("/auth/login")
    audit.check(page, "login")

    page = new_page(candidate["user"])
    page.goto("/sessions/mine")
    audit.check(page, "my sessions")
    taking = candidate["taking"]
    page.goto(f"/theory/enrolments/{taking.id}")
    audit.check(page, "theory overview (unlocked)")
    page.get_by_role("button", name="Start the test").click()
    page.wait_for_selector("#theory")
    page.wait_for_load_state("load")  # theory.js has run: the question map switches questions on the page
    attempt = _attempt(taking)
    for kind in ITEM_TYPES:
        _show_question_of_type(page, attempt, kind)
        audit.check(page, f"theory question ({kind})")
    page.locator(".question-map button[data-go=review]").click()
    page.wait_for_url("**/review")
    audit.check(page, "review")
    page.get_by_role("button", name="Submit the test").click()  # without the confirmation: the error
    expect(page.locator("main .error").first).to_be_visible()
    audit.check(page, "review with an error")
    page.get_by_label("I have checked my answers").check()
    page.get_by_role("button", name="Submit the test").click()
    page.wait_for_url(f"**/theory/enrolments/{taking.id}")
    audit.check(page, "theory overview (submitted)")
    page.goto(f"/practical/enrolments/{taking.id}")
    audit.check(page, "practical overview")

    decided = candidate["decided"]
    page.goto(f"/theory/enrolments/{decided.id}")
    expect(page.locator("#theory-result")).to_be_visible()
    audit.check(page, "theory overview (released result)")
    page.goto(f"/practical/enrolments/{decided.id}")
    audit.check(page, "practical overview (finished)")
    page.goto(f"/committee/result/{decided.id}")
    expect(page.get_by_text("All learning outcomes confirmed")).to_be_visible()
    audit.check(page, "result")
    audit.assert_clean()


def _practice_workspace(page: Page, enrolment_id: int, qualification) -> int:
    page.goto(f"/practical/enrolments/{enrolment_id}")
    code = practical.scenarios_for(qualification, "practice")[0].code
    page.select_option("#scenario", code)
    page.get_by_role("button", name="Open a practice workspace").click()
    page.wait_for_url(re.compile(r"/sandbox/w/\d+/$"))
    return int(re.search(r"/sandbox/w/(\d+)/", page.url).group(1))


def test_sandbox_pages_have_no_serious_accessibility_violations(new_page, candidate, qualification):
    audit = Audit()
    page = new_page(candidate["user"])
    ws = _practice_workspace(page, candidate["taking"].id, qualification)
    base = f"/sandbox/w/{ws}"
    audit.check(page, "sandbox dashboard")
    for path, where in (("/contacts", "contacts"), ("/companies", "companies"), ("/opportunities/", "opportunities"),
                        ("/board", "opportunities board"), ("/reports", "reports")):
        page.goto(base + path)
        audit.check(page, where)
    page.get_by_role("button", name="Generate report").click()
    expect(page.locator(".report-result h2")).to_be_visible()
    audit.check(page, "report result")
    page.goto(base + "/contacts/new")
    audit.check(page, "new contact form")
    audit.assert_clean()
