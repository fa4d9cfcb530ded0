"""The question page renders its own question, the next one's form (hidden) and the map of all; the
other questions' forms come in one fragment the script fetches afterwards; the review page and a
heartbeat read no item text."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from examportal.extensions import db
from examportal.models import AttemptStatus, Role
from examportal.theory import services
from tests import factories


@pytest.fixture
def running(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    institution = factories.make_institution(qualifications=[qualification])
    session = factories.make_session(institution, qualification)
    candidate = factories.make_user(Role.CANDIDATE)
    enrolment = factories.enrol(session, candidate)
    attempt = factories.make_attempt(enrolment, status=AttemptStatus.UNLOCKED)
    services.start(attempt)
    choice = next(i for i in attempt.items if i.snapshot["item"]["type"] == "single_choice")
    db.session.commit()
    return {"candidate": candidate, "attempt": attempt, "choice": choice, "total": len(attempt.items)}


def _forms(html: str) -> list[tuple[int, bool]]:
    """(position, hidden) of every question form in ``html``."""
    return [(int(position), "hidden" in rest.split(">", 1)[0])
            for position, rest in re.findall(r'<form method="post" id="q-(\d+)"(.*?)>', html, re.S)]


def _item_reads(seen: list[str]) -> list[str]:
    return [sql for sql in seen if re.match(r"\s*SELECT", sql) and re.search(r"\sFROM attempt_item\b", sql)]


def _recorded():
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    return seen, record


def test_the_page_renders_its_question_and_the_next_with_the_map_of_all(app, running):
    attempt, choice = running["attempt"], running["choice"]
    option = services.candidate_display(choice, "pl")["options"][0][0]
    client = factories.client_as(app, running["candidate"])
    url = f"/theory/attempts/{attempt.id}/answer"
    assert client.post(url, data={"position": choice.position, "seq": "1", "answer": option, "flagged": "1"}).status_code == 200
    seen, record = _recorded()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = client.get(f"/theory/attempts/{attempt.id}/q/3")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and _forms(html) == [(3, False), (4, True)]  # the next one hidden
    assert f'data-total="{running["total"]}"' in html and f"Question 3 of {running['total']}" in html
    assert len(re.findall(r'class="map', html)) == running["total"]
    answered = re.search(rf'data-go="{choice.position}"\s+class="([^"]+)"', html).group(1)
    assert "answered" in answered.split() and "flagged" in answered.split()
    # The two items' snapshots in one query (the question shown and the next); the map reads
    # positions and answers only.
    with_snapshot = [sql for sql in _item_reads(seen) if "attempt_item.snapshot" in sql]
    assert len(with_snapshot) == 1 and "attempt_item.position >=" in with_snapshot[0], _item_reads(seen)
    # The last question's page has no next one; a position past the end is not found.
    last = client.get(f"/theory/attempts/{attempt.id}/q/{running['total']}").get_data(as_text=True)
    assert _forms(last) == [(running["total"], False)]
    assert client.get(f"/theory/attempts/{attempt.id}/q/{running['total'] + 1}").status_code == 404


def test_the_questions_fragment_has_every_form_hidden_with_its_answer(app, running):
    attempt, choice = running["attempt"], running["choice"]
    option = services.candidate_display(choice, "pl")["options"][1][0]
    client = factories.client_as(app, running["candidate"])
    client.post(f"/theory/attempts/{attempt.id}/answer", data={"position": choice.position, "seq": "1", "answer": option})
    response = client.get(f"/theory/attempts/{attempt.id}/questions")  # open while the test runs (lockdown)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html  # a fragment, not a page
    assert _forms(html) == [(n, True) for n in range(1, running["total"] + 1)]
    form = html[html.index(f'id="q-{choice.position}"'):]
    form = form[:form.index("</form>")]
    assert re.search(rf'value="{option}"\s+checked', form)
    # Nobody else's: another candidate is not told the attempt exists.
    other = factories.client_as(app, factories.make_user(Role.CANDIDATE))
    assert other.get(f"/theory/attempts/{attempt.id}/questions").status_code == 404


def test_the_questions_fragment_of_a_submitted_test_is_refused_with_the_reason(app, running):
    attempt = running["attempt"]
    services.submit(attempt)
    client = factories.client_as(app, running["candidate"])
    response = client.get(f"/theory/attempts/{attempt.id}/questions", headers={"Accept": "application/json"})
    assert response.status_code == 409 and "submitted" in response.get_json()["error"]


def test_the_review_page_and_a_repeated_heartbeat_read_no_item_text(app, running):
    attempt = running["attempt"]
    client = factories.client_as(app, running["candidate"])
    beat = f"/theory/attempts/{attempt.id}/heartbeat"
    assert client.post(beat, data={"position": "4"}).status_code == 200
    seen, record = _recorded()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        review = client.get(f"/theory/attempts/{attempt.id}/review")
        assert client.post(beat, data={"position": "4"}).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert review.status_code == 200
    assert f"You have answered 0 of {running['total']} questions." in review.get_data(as_text=True)
    reads = _item_reads(seen)
    assert len(reads) == 1 and "snapshot" not in reads[0], reads  # the review's list; the heartbeat none
    # "Continue the test" still opens the question the heartbeat remembered.
    page = client.get(f"/theory/enrolments/{attempt.enrolment_id}").get_data(as_text=True)
    assert f"/theory/attempts/{attempt.id}/q/4" in page
