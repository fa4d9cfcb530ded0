"""The theory test without a mouse: every item type answered with Tab, Space, the arrow keys, typing
and Enter, and the test submitted; the test page's larger-text and high-contrast options."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import AttemptStatus, OperatorActionKind, Role, TheoryAttempt
from examportal.theory import services
from tests.browser.a11y import violations
from tests.factories import enrol, make_institution, make_session, make_user, theory_item_dicts, write_theory_bank

pytestmark = pytest.mark.browser

ITEMS_BY_STEM = {item["stem"]["en"]: item for item in theory_item_dicts()}
ITEM_TYPES = ("single_choice", "multiple_choice", "true_false", "ordering", "matching")


@pytest.fixture
def exam(app, qualification, tmp_path):
    """One candidate (English interface) whose theory test the operator has unlocked."""
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    institution = make_institution(qualifications=[qualification])
    operator = make_user((Role.OPERATOR, institution))
    session = make_session(institution, qualification, operator_id=operator.id)
    candidate = make_user(Role.CANDIDATE, locale="en")
    enrolment = enrol(session, candidate)
    services.operator_action(session, operator, OperatorActionKind.UNLOCK, "session opened")
    return {"candidate": candidate, "enrolment": enrolment}


def _attempt(enrolment) -> TheoryAttempt:
    db.session.expire_all()
    return db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == enrolment.id))


# --------------------------------------------------------------------------- keys only


def _is_focused(target: Locator) -> bool:
    return target.evaluate("element => element === document.activeElement")


def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until ``target`` has the focus (it must be reachable in the tab order)."""
    for _ in range(limit):
        if _is_focused(target):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"not reachable with Tab in {limit} presses: {target}")


def _choose_radio(page: Page, group: Locator, target: Locator) -> None:
    """Tab into a radio group, move with ArrowDown to ``target`` and select it with Space."""
    tab_to(page, group.first)
    for _ in range(group.count()):
        if _is_focused(target):
            page.keyboard.press("Space")
            break
        page.keyboard.press("ArrowDown")
    expect(target).to_be_checked()


def _answer_with_keys(page: Page) -> None:
    """Give the bank's key as the answer to the question on screen, with the keyboard only."""
    form = page.locator("form.question:not([hidden])")
    item = ITEMS_BY_STEM[form.locator("h1.stem").inner_text().strip()]
    key, kind = item["key"], item["type"]

    def text(part: str, oid: str) -> str:
        return next(o["text"]["pl"] for o in item[part] if o["id"] == oid)

    if kind == "single_choice":
        group = form.locator("input[name=answer]")
        _choose_radio(page, group, form.locator("label.radio", has_text=text("options", key[0])).locator("input"))
    elif kind == "true_false":
        group = form.locator("input[name=answer]")
        label = re.compile(r"^\s*True\s*$" if key else r"^\s*False\s*$")
        _choose_radio(page, group, form.locator("label.radio", has_text=label).locator("input"))
    elif kind == "multiple_choice":
        wanted = {text("options", option) for option in key}
        boxes = form.locator("label.radio:not(.flag)")
        for index in range(boxes.count()):
            box = boxes.nth(index).locator("input")
            tab_to(page, box)
            if boxes.nth(index).inner_text().strip() in wanted:
                page.keyboard.press("Space")
        for option in wanted:
            expect(form.locator("label.radio", has_text=option).locator("input")).to_be_checked()
    elif kind == "ordering":
        for place, option in enumerate(key, start=1):
            select_ = form.locator("label.order", has_text=text("options", option)).locator("select")
            tab_to(page, select_)
            page.keyboard.type(str(place))  # a closed select picks the option that starts with what is typed
            expect(select_).to_have_value(str(place))
    elif kind == "matching":
        for premise, response in key.items():
            select_ = form.locator("label.match", has_text=text("premises", premise)).locator("select")
            tab_to(page, select_)
            labels = [label.strip() for label in select_.locator("option").all_inner_texts()]
            for _ in range(labels.index(text("responses", response))):
                page.keyboard.press("ArrowDown")  # a closed select steps through its options
            expect(select_.locator("option:checked")).to_have_text(text("responses", response))
    else:  # pragma: no cover - the synthetic bank has only these types
        raise AssertionError(kind)


def test_the_theory_test_can_be_taken_with_the_keyboard_alone(new_page, exam):
    page = new_page(exam["candidate"])
    page.goto(f"/theory/enrolments/{exam['enrolment'].id}")
    tab_to(page, page.get_by_role("button", name="Start the test"))
    page.keyboard.press("Enter")
    page.wait_for_selector("#theory")
    page.wait_for_load_state("load")  # theory.js has run: the question map switches questions and moves the focus
    attempt = _attempt(exam["enrolment"])
    answered = {}
    for kind in ITEM_TYPES:
        position = next(i.position for i in attempt.items if i.snapshot["item"]["type"] == kind)
        # To the question through the question map: Tab to its number, Enter.
        tab_to(page, page.locator(f".question-map [data-go='{position}']"))
        page.keyboard.press("Enter")
        form = page.locator(f"form#q-{position}")
        expect(form).to_be_visible()
        # The focus follows to the new question's stem, so the next Tab reaches its answers.
        expect(form.locator("h1.stem")).to_be_focused()
        _answer_with_keys(page)
        answered[position] = kind
        expect(page.locator(f".question-map [data-go='{position}']")).to_have_class(re.compile(r"\banswered\b"))

    # "Save and next" (or "Previous") from the keyboard shows the neighbour and moves the focus to it.
    here = position
    button, there = ("next", here + 1) if here < len(attempt.items) else ("prev", here - 1)
    tab_to(page, page.locator(f"form#q-{here} button[value={button}]"))
    page.keyboard.press("Enter")
    expect(page.locator(f"form#q-{there} h1.stem")).to_be_focused()

    page.wait_for_function(f"() => localStorage.getItem('theory-queue-{attempt.id}') === '[]'")
    tab_to(page, page.locator(".question-map button[data-go=review]"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/review")
    expect(page.get_by_text(f"You have answered {len(answered)} of {len(attempt.items)} questions.")).to_be_visible()
    confirm = page.get_by_label("I have checked my answers")
    tab_to(page, confirm)
    page.keyboard.press("Space")
    expect(confirm).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Submit the test"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/theory/enrolments/{exam['enrolment'].id}")
    expect(page.locator(".flash").filter(has_text="Your test has been submitted")).to_be_visible()

    attempt = _attempt(exam["enrolment"])
    assert attempt.status == AttemptStatus.SUBMITTED
    points = {item.position: item.points for item in attempt.items if item.position in answered}
    assert points == dict.fromkeys(answered, 1.0), (answered, points)  # every key given, and scored


# --------------------------------------------------------------------------- display options


def _root_classes(page: Page) -> list[str]:
    return page.evaluate("() => Array.from(document.documentElement.classList)")


def _style(locator: Locator, prop: str) -> str:
    return locator.evaluate(f"element => getComputedStyle(element).{prop}")


def test_larger_text_and_high_contrast_are_kept_for_the_whole_test(new_page, exam):
    page = new_page(exam["candidate"])
    page.goto(f"/theory/enrolments/{exam['enrolment'].id}")
    page.get_by_role("button", name="Start the test").click()
    page.wait_for_selector("#theory")
    stem = page.locator("form.question:not([hidden]) h1.stem")
    larger = page.get_by_role("button", name="Larger text")
    contrast = page.get_by_role("button", name="High contrast")
    expect(larger).to_have_attribute("aria-pressed", "false")
    assert _root_classes(page) == []
    size_before = float(_style(stem, "fontSize").removesuffix("px"))
    assert _style(page.locator("body"), "color") != "rgb(0, 0, 0)"

    # Both options from the keyboard.
    tab_to(page, larger)
    page.keyboard.press("Enter")
    tab_to(page, contrast)
    page.keyboard.press("Space")
    expect(larger).to_have_attribute("aria-pressed", "true")
    expect(contrast).to_have_attribute("aria-pressed", "true")
    assert set(_root_classes(page)) == {"display-large-text", "display-high-contrast"}
    assert float(_style(stem, "fontSize").removesuffix("px")) >= 1.2 * size_before
    assert _style(page.locator("body"), "color") == "rgb(0, 0, 0)"
    assert _style(page.locator("body"), "backgroundColor") == "rgb(255, 255, 255)"
    # High contrast means at least 7:1 everywhere on the page (WCAG AAA), not only 4.5:1.
    found = violations(page, rules=("color-contrast-enhanced",), impacts=("serious", "critical", "moderate", "minor"))
    assert not found, found

    # Kept in this browser: after a reload, on the next question, on the review page.
    page.reload()
    page.wait_for_selector("#theory")
    assert set(_root_classes(page)) == {"display-large-text", "display-high-contrast"}
    expect(page.get_by_role("button", name="Larger text")).to_have_attribute("aria-pressed", "true")
    page.locator(".question-map button[data-go=review]").click()
    page.wait_for_url("**/review")
    assert set(_root_classes(page)) == {"display-large-text", "display-high-contrast"}
    assert not violations(page, rules=("color-contrast-enhanced",), impacts=("serious", "critical", "moderate", "minor"))

    # And switched off again.
    page.get_by_role("button", name="High contrast").click()
    expect(page.get_by_role("button", name="High contrast")).to_have_attribute("aria-pressed", "false")
    assert _root_classes(page) == ["display-large-text"]
    page.reload()
    assert _root_classes(page) == ["display-large-text"]
