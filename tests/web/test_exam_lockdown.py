"""While the theory test runs, the candidate sees only the test; the server refuses the rest."""
import pytest

from examportal.extensions import db
from examportal.models import AttemptStatus, Role
from examportal.theory import services
from tests import factories
from tests.factories import client_as


@pytest.fixture
def running(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    institution = factories.make_institution(qualifications=[qualification])
    session = factories.make_session(institution, qualification)
    candidate = factories.make_user(Role.CANDIDATE)
    enrolment = factories.enrol(session, candidate)
    attempt = factories.make_attempt(enrolment, status=AttemptStatus.UNLOCKED)
    services.start(attempt)
    return {"candidate": candidate, "enrolment": enrolment, "attempt": attempt, "qualification": qualification}


def test_other_pages_send_the_candidate_back_to_the_test(app, running):
    client = client_as(app, running["candidate"])
    attempt = running["attempt"]
    page = client.get(f"/theory/attempts/{attempt.id}/q/3")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "My sessions" not in body and "/sessions/mine" not in body  # no site navigation
    for path in ("/dashboard", "/sessions/mine", f"/practical/enrolments/{running['enrolment'].id}",
                 "/qualifications/13881", "/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith(f"/theory/attempts/{attempt.id}/q/3"), path  # where they were
    response = client.post(f"/practical/enrolments/{running['enrolment'].id}/practice", data={"scenario": "x"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 403 and "theory test is running" in response.get_json()["error"]
    # The test's own pages, and logging out, stay open.
    assert client.post(f"/theory/attempts/{attempt.id}/heartbeat").status_code == 200
    assert client.get(f"/theory/attempts/{attempt.id}/review").status_code == 200


def test_everything_opens_again_after_the_submission(app, running):
    client = client_as(app, running["candidate"])
    attempt = running["attempt"]
    services.submit(attempt)
    db.session.commit()
    assert client.get("/sessions/mine").status_code == 200
    assert "/sessions/mine" in client.get("/dashboard").get_data(as_text=True)


def test_continue_opens_the_last_question_seen(app, running):
    client = client_as(app, running["candidate"])
    attempt = running["attempt"]
    client.post(f"/theory/attempts/{attempt.id}/heartbeat", data={"position": "7"})
    page = client.get(f"/theory/enrolments/{running['enrolment'].id}").get_data(as_text=True)
    assert f"/theory/attempts/{attempt.id}/q/7" in page
    # Another browser: the last question answered.
    other = client_as(app, running["candidate"])
    item = attempt.items[11]
    key = item.snapshot["item"]["key"]
    services.save_answer(attempt, item.position, "true" if key is True else key, 1)
    assert f"/theory/attempts/{attempt.id}/q/12" in other.get(f"/theory/enrolments/{running['enrolment'].id}").get_data(as_text=True)
    # Junk positions are ignored, never a 500.
    for junk in ("0", "999", "abc", "²", "99999999999999999999"):
        assert client.post(f"/theory/attempts/{attempt.id}/heartbeat", data={"position": junk}).status_code == 200


def test_a_second_window_that_reuses_a_sequence_number_is_told_it_is_stale(app, running):
    attempt = running["attempt"]
    first, second = client_as(app, running["candidate"]), client_as(app, running["candidate"])
    items = [i for i in attempt.items if i.snapshot["item"]["type"] == "single_choice"][:2]
    options = [[oid for oid, _t in services.candidate_display(i, "pl")["options"]] for i in items]
    url = f"/theory/attempts/{attempt.id}/answer"
    assert first.post(url, data={"position": items[0].position, "seq": "5", "answer": options[0][0]}).status_code == 200
    # The same answer again (a replay from the page's queue): acknowledged.
    again = first.post(url, data={"position": items[0].position, "seq": "5", "answer": options[0][0]})
    assert again.status_code == 200 and again.get_json()["seq"] == 5
    # Another window, loaded earlier, gives its own answer the same number: refused as stale, not lost silently.
    response = second.post(url, data={"position": items[1].position, "seq": "5", "answer": options[1][0]})
    assert response.status_code == 409 and response.get_json()["stale"] is True
    assert "open in another window" in response.get_json()["error"]
    response = second.post(url, data={"position": items[0].position, "seq": "5", "answer": options[0][1]})
    assert response.status_code == 409
    db.session.expire_all()
    assert items[0].response == services.read_page_answer({"answer": options[0][0]}, items[0])


def test_an_ordering_answer_with_a_non_ascii_digit_is_a_clear_error(app, running):
    attempt = running["attempt"]
    item = next(i for i in attempt.items if i.snapshot["item"]["type"] == "ordering")
    first = services.candidate_display(item, "pl")["options"][0][0]
    response = client_as(app, running["candidate"]).post(
        f"/theory/attempts/{attempt.id}/answer", data={"position": item.position, "seq": "9", f"order-{first}": "²"},
        headers={"Accept": "application/json"})
    assert response.status_code == 400 and "position from 1 to" in response.get_json()["error"]


def test_the_user_and_the_running_test_are_read_in_one_query(app, running):
    """Every request of a logged-in candidate asks who they are and whether their test runs: one
    statement answers both, and the lockdown asks nothing more (the test's pages then find the
    attempt already loaded)."""
    from sqlalchemy import event

    client = client_as(app, running["candidate"])
    attempt_id = running["attempt"].id
    db.session.expunge_all()  # nothing of the set-up's objects lent to the request
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()).lower())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert client.get(f"/theory/attempts/{attempt_id}/review").status_code == 200
        assert client.get("/sessions/mine").status_code == 302  # refused by the lockdown
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    users = [s for s in statements if s.startswith("select") and "from user_account" in s]
    assert len(users) == 2  # one per request
    assert all("theory_attempt" in s for s in users)  # the running test comes with the user
    # ... and nothing else looks the candidate's running test up again.
    assert not [s for s in statements if s not in users and "theory_attempt.candidate_id" in s]
