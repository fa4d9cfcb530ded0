"""The theory test in a real browser: offline queue and replay, resume after reload, operator's extra time,
the other questions fetched after the page of one."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import AttemptStatus, OperatorActionKind, Role, TheoryAttempt, utcnow
from examportal.theory import services
from tests.browser.held import HeldRequest, pause_now
from tests.factories import enrol, make_institution, make_session, make_user, write_theory_bank

pytestmark = pytest.mark.browser


@pytest.fixture
def exam(app, qualification, tmp_path):
    """A session with an operator and one candidate, the test unlocked; the page fetches the other
    questions at once (no random wait)."""
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    app.config["THEORY_PREFETCH_SPREAD_SECONDS"] = 0
    ic = make_institution(qualifications=[qualification])
    operator = make_user((Role.OPERATOR, ic))
    session = make_session(ic, qualification, operator_id=operator.id)
    candidate = make_user(Role.CANDIDATE)
    enrolment = enrol(session, candidate)
    services.operator_action(session, operator, OperatorActionKind.UNLOCK, "session opened")
    return {"session": session, "operator": operator, "candidate": candidate, "enrolment": enrolment}


def _attempt(enrolment) -> TheoryAttempt:
    db.session.expire_all()
    return db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == enrolment.id))


def _start(new_page, exam, loaded=True):
    page = new_page(exam["candidate"])
    page.goto(f"/theory/enrolments/{exam['enrolment'].id}")
    page.click("#attempt-status button[type=submit]")
    page.wait_for_selector("#theory")
    # "#theory" is there before theory.js (at the end of <body>) has run; by "load" it has, so the
    # question buttons switch questions on the page instead of posting the form.
    page.wait_for_load_state("load")
    if loaded:  # every question's form on the page: the test goes on offline
        page.wait_for_selector("#theory[data-questions=loaded]", state="attached")
    return page


def _answer_visible_question(page):
    """Give some answer to the question on screen, whatever its type."""
    form = page.locator("form.question:not([hidden])")
    radios = form.locator("input[type=radio][name=answer]")
    checks = form.locator("input[type=checkbox][name=answer]")
    selects = form.locator("select")
    if radios.count():
        radios.first.check()
    elif checks.count():
        checks.first.check()
    else:
        for index in range(selects.count()):
            select = selects.nth(index)
            name = select.get_attribute("name")
            if name.startswith("order-"):
                select.select_option(str(index + 1))
            else:
                select.select_option(index=1)
    return int(form.get_attribute("data-position"))


def _next(page):
    page.locator("form.question:not([hidden]) button[value=next]").click()


def _clock(page) -> int:
    return int(page.locator("#clock").get_attribute("data-seconds"))


def test_offline_answers_are_queued_and_replayed(new_page, exam):
    page = _start(new_page, exam)
    attempt = _attempt(exam["enrolment"])
    queue_key = f"theory-queue-{attempt.id}"
    answered = [_answer_visible_question(page)]
    page.wait_for_selector("#save-status.save-saved")
    _next(page)
    answered.append(_answer_visible_question(page))
    page.wait_for_function(f"() => localStorage.getItem('{queue_key}') === '[]'")

    page.context.set_offline(True)
    for _ in range(3):
        _next(page)
        answered.append(_answer_visible_question(page))
    page.wait_for_selector("#save-status.save-queued")
    assert len(page.evaluate(f"JSON.parse(localStorage.getItem('{queue_key}'))")) >= 3
    assert "answered" in page.locator(f'.question-map [data-go="{answered[-1]}"]').get_attribute("class")

    page.context.set_offline(False)
    page.wait_for_function(f"() => localStorage.getItem('{queue_key}') === '[]'")
    attempt = _attempt(exam["enrolment"])
    saved = {i.position for i in attempt.items if i.is_answered}
    assert set(answered) <= saved


def test_an_answer_given_before_the_script_arrives_is_saved(new_page, exam):
    """On a slow connection the question is on screen before theory.js runs: an answer given in that
    moment has no change listener yet, and is saved once the script takes the page over."""
    page = new_page(exam["candidate"])
    script = HeldRequest(page, "**/static/theory.js*")
    page.goto(f"/theory/enrolments/{exam['enrolment'].id}")
    page.click("#attempt-status button[type=submit]")
    page.wait_for_selector("#theory-messages", state="attached")  # after every form, before the held script
    position = _answer_visible_question(page)
    script.wait()
    assert page.evaluate("document.getElementById('save-status').className") == ""
    script.release()
    page.wait_for_selector("#save-status.save-saved")
    attempt = _attempt(exam["enrolment"])
    assert {i.position for i in attempt.items if i.is_answered} == {position}


def test_reload_resumes_with_the_time_left(new_page, exam):
    page = _start(new_page, exam)
    attempt = _attempt(exam["enrolment"])
    # The start click was answered with the first question's page; the bar shows its own address.
    assert page.url.endswith(f"/theory/attempts/{attempt.id}/q/1"), page.url
    documents = []

    def note(request):
        if request.resource_type == "document":
            documents.append((request.method, request.url))

    page.on("request", note)
    # Ten minutes have already gone by on the server's clock.
    attempt.deadline_at -= timedelta(minutes=10)
    db.session.commit()
    page.reload()
    page.wait_for_selector("#theory")
    # The reload asks for the question (nothing sent again to the start).
    assert [(method, url.split("/theory/")[1]) for method, url in documents] == [("GET", f"attempts/{attempt.id}/q/1")]
    before, at = _clock(page), time.monotonic()
    assert 43 * 60 <= before <= 44 * 60  # 54 minutes less the ten gone by
    time.sleep(2)
    page.reload()
    page.wait_for_selector("#theory")
    after = _clock(page)
    expected = before - (time.monotonic() - at)
    assert abs(after - expected) <= 2


def test_when_the_time_is_up_the_page_asks_the_server_once_at_a_time(new_page, exam):
    """At zero the clock asks the server (a heartbeat) every second until the test has ended; a
    whole room's time ends together, so while one heartbeat waits for its answer no other is sent."""
    page = _start(new_page, exam)
    attempt = _attempt(exam["enrolment"])
    attempt.deadline_at = utcnow() + timedelta(seconds=2)
    db.session.commit()
    page.reload()
    page.wait_for_selector("#theory")
    held = HeldRequest(page, "**/heartbeat")
    held.wait()  # the clock reached zero and asked
    page.wait_for_timeout(3500)  # three more ticks at zero, the answer still not there
    assert len(held.routes) == 1, len(held.routes)
    assert _clock(page) == 0
    held.release()  # the server ends the test: the page goes to the test's overview
    page.wait_for_url(f"**/theory/enrolments/{exam['enrolment'].id}")
    assert _attempt(exam["enrolment"]).status == AttemptStatus.SUBMITTED


def test_a_heartbeat_asked_for_while_one_waits_goes_once_it_is_answered(new_page, exam):
    """The page tells the server which question it shows (a heartbeat); switching again while
    that one waits sends the newer position once it is answered, not never."""
    page = _start(new_page, exam)
    held = HeldRequest(page, "**/heartbeat")
    _next(page)  # question 2
    held.wait()
    _next(page)  # question 3, while the first waits
    page.wait_for_timeout(300)
    assert len(held.routes) == 1
    with page.expect_request("**/heartbeat") as second:
        held.release()
    assert "position=3" in (second.value.post_data or "")


def test_a_heartbeat_unanswered_for_long_is_given_up_and_asked_again(new_page, exam):
    page = new_page(exam["candidate"])
    page.clock.install()
    page.goto(f"/theory/enrolments/{exam['enrolment'].id}")
    page.click("#attempt-status button[type=submit]")
    page.wait_for_selector("#theory")
    page.wait_for_load_state("load")
    pause_now(page)
    held = HeldRequest(page, "**/heartbeat")
    _next(page)  # the page tells the server the question shown: a heartbeat, now
    held.wait()
    page.clock.run_for(14_000)  # the next one due meanwhile waits for it
    page.wait_for_timeout(300)
    assert len(held.routes) == 1
    page.clock.run_for(1_500)  # unanswered for 15 s: given up, and the one due goes
    page.wait_for_timeout(300)
    assert len(held.routes) == 2, len(held.routes)


def test_operator_extra_time_reaches_the_candidate_clock(new_page, exam):
    candidate_page = _start(new_page, exam)
    attempt = _attempt(exam["enrolment"])
    before = _clock(candidate_page)

    console = new_page(exam["operator"])
    console.goto(f"/operator/sessions/{exam['session'].id}")
    console.select_option("select[name=target]", str(attempt.id))
    console.check("input[name=kind][value=extra_time]")
    console.fill("input[name=minutes]", "10")
    console.fill("textarea[name=reason]", "The candidate's computer restarted")
    console.click("form[action$='/actions'] button[type=submit]")
    console.wait_for_selector("#actions li:has-text('restarted')")
    assert _attempt(exam["enrolment"]).extra_seconds == 600

    # The next contact (an autosave here; a heartbeat otherwise) re-syncs the clock.
    _answer_visible_question(candidate_page)
    candidate_page.wait_for_function(f"() => parseInt(document.getElementById('clock').dataset.seconds) > {before + 9 * 60}")
    assert _clock(candidate_page) <= before + 10 * 60


def test_going_to_review_right_after_answering_counts_that_answer(new_page, exam):
    page = _start(new_page, exam)
    # Slow every autosave down, so the click on "Review and submit" comes while the save is in flight.
    page.route("**/answer", lambda route: (time.sleep(0.8), route.continue_()))
    _answer_visible_question(page)
    page.locator(".question-map button[data-go=review]").click()
    page.wait_for_url("**/review")
    assert page.locator("main tbody .badge.ok").count() == 1  # question 1 shows as answered


def _show_question_of_type(page, attempt, kind) -> int:
    position = next(i.position for i in attempt.items if i.snapshot["item"]["type"] == kind)
    page.locator(f".question-map [data-go='{position}']").first.click()
    page.wait_for_selector(f"form#q-{position}:not([hidden])")
    return position


def test_an_ordering_question_is_not_reported_unsaved_while_steps_are_being_placed(new_page, exam):
    page = _start(new_page, exam)
    attempt = _attempt(exam["enrolment"])
    position = _show_question_of_type(page, attempt, "ordering")
    selects = page.locator(f"form#q-{position} select")
    selects.nth(0).select_option("1")
    # Placing: no "not saved" error, nothing sent.
    page.wait_for_selector("#save-status.save-pending")
    assert "Not saved" not in page.locator("#save-status").inner_text()
    for index in range(1, selects.count()):
        selects.nth(index).select_option(str(index + 1))
    page.wait_for_selector("#save-status.save-saved")
    item = next(i for i in _attempt(exam["enrolment"]).items if i.position == position)
    assert item.response is not None and len(item.response) == selects.count()


def test_a_reload_shows_the_answers_still_queued_in_this_browser(new_page, exam):
    """The autosave cannot reach the server (the pages still load): a changed answer waits in this
    browser's queue. A reload shows it, not the older answer the server holds, and sends it once
    the server answers again."""
    page = _start(new_page, exam)
    attempt = _attempt(exam["enrolment"])
    position = _show_question_of_type(page, attempt, "single_choice")

    def stored():
        return next(i for i in _attempt(exam["enrolment"]).items if i.position == position).response

    radio = f"form#q-{position} input[type=radio][name=answer]"
    page.locator(radio).nth(0).check()
    page.wait_for_selector("#save-status.save-saved")
    first = stored()
    assert first is not None
    page.route("**/answer", lambda route: route.abort())
    page.locator(radio).nth(1).check()
    page.wait_for_selector("#save-status.save-queued")
    queued = page.locator(radio).nth(1).get_attribute("value")

    page.reload()  # the page comes back with the server's answer; the queue's newer one is shown
    page.wait_for_selector("#save-status.save-queued")
    assert page.locator(f"{radio}[value='{queued}']").is_checked()
    assert page.locator(radio).nth(0).get_attribute("value") != queued and not page.locator(radio).nth(0).is_checked()
    assert stored() == first

    page.unroute("**/answer")
    page.wait_for_selector("#save-status.save-saved", timeout=20000)  # the queue is flushed every 5 s
    assert stored() not in (None, first)


def test_the_older_tab_learns_it_is_stale(new_page, exam):
    page = _start(new_page, exam)
    attempt = _attempt(exam["enrolment"])
    other = page.context.new_page()  # a second tab of the same browser
    other.goto(page.url)
    other.wait_for_selector("#theory")
    _answer_visible_question(other)
    other.wait_for_selector("#save-status.save-saved")
    # The first tab is told, stops saving, and offers a reload.
    page.wait_for_selector("#stale-note:not([hidden])")
    assert page.locator("form.question:not([hidden]) input, form.question:not([hidden]) select").first.is_disabled()
    assert attempt.id


def test_the_page_comes_with_its_question_and_fetches_the_others_when_needed(app, new_page, exam):
    app.config["THEORY_PREFETCH_SPREAD_SECONDS"] = 3600  # the prefetch would come much later
    page = _start(new_page, exam, loaded=False)
    # The page's own question and the next one's form (hidden): "Next" needs no round trip.
    assert [f.get_attribute("data-position") for f in page.locator("form.question").all()] == ["1", "2"]
    assert page.locator("form#q-2").is_hidden()
    total = int(page.locator("#theory").get_attribute("data-total"))
    page.context.set_offline(True)
    _next(page)
    page.wait_for_selector("form#q-2:not([hidden])")
    # Offline before the others came: the candidate is told, stays on the question, loses nothing.
    _next(page)
    page.wait_for_selector("#save-status.save-error")
    told = page.locator("#theory-messages").get_attribute("data-unavailable")
    assert told and page.locator("#save-status").inner_text() == told
    assert page.locator("form.question:not([hidden])").get_attribute("data-position") == "2"
    # Back online: going on fetches every question's form at once.
    page.context.set_offline(False)
    _next(page)
    page.wait_for_selector("form#q-3:not([hidden])")
    assert page.locator("form.question").count() == total
    assert page.locator("#theory").get_attribute("data-questions") == "loaded"
    position = _answer_visible_question(page)
    page.wait_for_selector("#save-status.save-saved")
    assert position == 3 and 3 in {i.position for i in _attempt(exam["enrolment"]).items if i.is_answered}
