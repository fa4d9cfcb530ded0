"""Pages that poll the server ask once at a time: while an answer is awaited (a room of a thousand
makes the operator's status slow, a busy server the candidate's) no other request of the kind is
sent, and polling goes on once the answer has come. The pages' clocks are Playwright's, so the
polls fall due without the test waiting for them."""
from __future__ import annotations

import pytest

from examportal.models import Role
from tests.browser.held import HeldRequest
from tests.factories import enrol, make_institution, make_session, make_user

pytestmark = pytest.mark.browser


def _polls_once_at_a_time(page, every_ms: int) -> None:
    held = HeldRequest(page, "**/status.json")
    page.clock.run_for(every_ms + 500)
    held.wait()
    page.clock.run_for(min(2 * every_ms, 14_000))  # more polls due, short of the 15 s it is given
    page.wait_for_timeout(500)  # (real time) for any request they sent to reach the route
    assert len(held.routes) == 1, len(held.routes)
    with page.expect_response("**/status.json"):
        held.release()
    page.wait_for_timeout(300)  # the answer read and shown (real time: the page's clock stands)
    with page.expect_request("**/status.json"):  # and the next poll goes out when due
        page.clock.run_for(every_ms + 500)


def _gives_up_a_request_held_too_long(page, every_ms: int) -> None:
    held = HeldRequest(page, "**/status.json")
    page.clock.run_for(every_ms + 500)
    held.wait()
    page.clock.run_for(15_000)  # unanswered for 15 s: given up
    page.wait_for_timeout(300)  # (real time) the page learns it was given up
    page.clock.run_for(every_ms)
    page.wait_for_timeout(300)
    assert len(held.routes) == 2, len(held.routes)


def test_the_operator_console(new_page, qualification):
    institution = make_institution(qualifications=[qualification])
    operator = make_user((Role.OPERATOR, institution))
    session = make_session(institution, qualification, operator_id=operator.id)
    enrol(session, make_user(Role.CANDIDATE))
    console = new_page(operator)
    console.clock.install()
    console.goto(f"/operator/sessions/{session.id}")
    _polls_once_at_a_time(console, 5_000)
    console.reload()
    _gives_up_a_request_held_too_long(console, 5_000)


def test_the_candidates_practical_exam(exam_page):
    exam_page.clock.install()
    exam_page.reload()
    exam_page.wait_for_selector("aside.task-sheet .countdown")
    _polls_once_at_a_time(exam_page, 15_000)
    exam_page.reload()
    _gives_up_a_request_held_too_long(exam_page, 15_000)
