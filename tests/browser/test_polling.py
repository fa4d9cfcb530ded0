"""Pages that poll the server ask once at a time: while an answer is awaited (a room of a thousand
makes the operator's status slow, a busy server the candidate's) no other request of the kind is
sent, one unanswered too long is given up, and polling goes on. The pages' clocks are Playwright's,
paused, so the polls fall due when the test moves the clock, however loaded the machine is."""
from __future__ import annotations

import pytest

from examportal.models import Role
from tests.browser.held import HeldRequest, pause_now, run_until_held
from tests.factories import enrol, make_institution, make_session, make_user

pytestmark = pytest.mark.browser


def test_the_operator_console_polls_once_at_a_time_and_gives_up_an_unanswered_poll(new_page, qualification):
    institution = make_institution(qualifications=[qualification])
    operator = make_user((Role.OPERATOR, institution))
    session = make_session(institution, qualification, operator_id=operator.id)
    enrol(session, make_user(Role.CANDIDATE))
    console = new_page(operator)
    console.clock.install()
    console.goto(f"/operator/sessions/{session.id}")
    pause_now(console)
    held = HeldRequest(console, "**/status.json")
    run_until_held(console, held)
    console.clock.run_for(13_000)  # two more polls due (every 5 s), short of the 15 s one is given
    console.wait_for_timeout(500)  # (real time) for any request they sent to reach the route
    assert len(held.routes) == 1, len(held.routes)
    with console.expect_response("**/status.json"):
        held.release()
    console.wait_for_timeout(300)  # the answer read and shown
    with console.expect_request("**/status.json"):  # and the next poll goes out when due
        console.clock.run_for(5_500)

    console.reload()
    pause_now(console)
    held = HeldRequest(console, "**/status.json")
    run_until_held(console, held)
    console.clock.run_for(15_500)  # unanswered for 15 s: given up
    console.wait_for_timeout(300)
    console.clock.run_for(5_000)  # the next poll goes
    console.wait_for_timeout(500)
    assert len(held.routes) == 2, len(held.routes)


def test_the_candidates_practical_exam_gives_up_an_unanswered_poll(exam_page):
    exam_page.clock.install()
    exam_page.reload()
    exam_page.wait_for_selector("aside.task-sheet .countdown")
    pause_now(exam_page)
    held = HeldRequest(exam_page, "**/status.json")
    run_until_held(exam_page, held)
    exam_page.clock.run_for(10_500)  # unanswered for 10 s: given up, before the next is due
    exam_page.wait_for_timeout(300)
    exam_page.clock.run_for(5_000)  # the next poll (every 15 s) goes
    exam_page.wait_for_timeout(500)
    assert len(held.routes) == 2, len(held.routes)
