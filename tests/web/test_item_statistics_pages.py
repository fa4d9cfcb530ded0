"""Staff read item statistics of their institutions' submitted tests, on screen and as CSV."""
import csv
import io

import pytest

from examportal.extensions import db
from examportal.models import AttemptItem, AttemptStatus, Role, utcnow
from tests.factories import enrol, make_attempt, make_institution, make_session, make_user


def _submitted_attempt(session, answers):
    """A submitted attempt whose items are ``answers``: [(item_id, chosen option, correct?)]."""
    candidate = make_user(Role.CANDIDATE)
    now = utcnow()
    attempt = make_attempt(enrol(session, candidate), status=AttemptStatus.SUBMITTED, started_at=now,
                           deadline_at=now, submitted_at=now)
    for position, (item_id, chosen, correct) in enumerate(answers, start=1):
        item = {"id": item_id, "type": "single_choice", "key": ["a"],
                "options": [{"id": o, "text": {"pl": o}} for o in "abcd"]}
        db.session.add(AttemptItem(attempt_id=attempt.id, position=position, item_id=item_id, item_version=1,
                                   fingerprint="0" * 64, snapshot={"item": item, "presented": {}},
                                   response=chosen, points=1.0 if correct else 0.0))
    db.session.commit()
    return attempt


@pytest.fixture
def world(app, qualification):
    a = make_institution("Instytucja A", qualifications=[qualification])
    b = make_institution("Instytucja B", qualifications=[qualification])
    session_a = make_session(a, qualification, title="Sesja A")
    session_b = make_session(b, qualification, title="Sesja B")
    for n in range(6):
        _submitted_attempt(session_a, [("Q-EASY", "a", True), ("Q-SPLIT", "a" if n < 3 else "c", n < 3)])
    _submitted_attempt(session_b, [("Q-FOREIGN", "a", True)])
    return {"a": a, "b": b, "session_a": session_a, "session_b": session_b, "staff": make_user((Role.STAFF, a))}


def test_staff_see_their_items_only(world, client, login):
    login(world["staff"])
    page = client.get("/theory/statistics")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Q-EASY" in body and "Q-SPLIT" in body and "Q-FOREIGN" not in body
    assert "1,00" in body and "0,50" in body  # facility of the two items (a Polish page: decimal comma)
    # The error rates of the theory decision on the current bank and rule, by true ability.
    reliability = body.split('id="reliability"')[1]
    assert "13881" in reliability and "0,75" in reliability and "0,45" in reliability


def test_csv_export(world, client, login):
    login(world["staff"])
    response = client.get(f"/theory/statistics.csv?session={world['session_a'].id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    split = next(r for r in rows if r["item_id"] == "Q-SPLIT")
    assert split["responses"] == "6" and split["facility"] == "0.500"
    assert "a:3" in split["option_counts"] and "c:3" in split["option_counts"]


def test_another_institutions_session_is_not_found_and_bad_input_is_clear(world, client, login):
    login(world["staff"])
    assert client.get(f"/theory/statistics?session={world['session_b'].id}").status_code == 404
    assert client.get(f"/theory/statistics.csv?session={world['session_b'].id}").status_code == 404
    assert client.get("/theory/statistics?session=abc").status_code == 400


def test_candidates_cannot_read_statistics(world, client, login):
    login(make_user(Role.CANDIDATE))
    assert client.get("/theory/statistics").status_code == 403
