"""Concurrent autosaves of one question: the highest sequence number always wins.

Real concurrent requests: two threads, each with its own client (and so its own database session
and connection), post two answers to the same question at the same moment — the newer one (seq
n+2) started first, the older one (seq n+1) right behind it — many times over. Committing, so each
request's transaction is real and the database's own locking decides.
"""
import threading

import pytest
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import AttemptAnswer, AttemptItem, AttemptStatus, AuditEntry, Role, TheoryAttempt
from examportal.theory import services
from tests import factories

TRIALS = 30


@pytest.mark.committing
def test_the_newest_answer_wins_under_concurrent_autosaves(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    institution = factories.make_institution(qualifications=[qualification])
    session = factories.make_session(institution, qualification)
    candidate = factories.make_user(Role.CANDIDATE)
    enrolment = factories.enrol(session, candidate)
    attempt = factories.make_attempt(enrolment, status=AttemptStatus.UNLOCKED)
    services.start(attempt)
    item = next(i for i in attempt.items if i.snapshot["item"]["type"] == "single_choice")
    position, options = item.position, [oid for oid, _text in services.candidate_display(item, "pl")["options"]]
    assert len(options) >= 2
    attempt_id = attempt.id
    db.session.commit()
    clients = [factories.client_as(app, candidate), factories.client_as(app, candidate)]

    def post(client, seq, option, results, barrier):
        barrier.wait()
        response = client.post(f"/theory/attempts/{attempt_id}/answer",
                               data={"position": str(position), "seq": str(seq), "answer": option})
        results[seq] = (response.status_code, response.get_json())

    for trial in range(TRIALS):
        newer, older = 2 * trial + 2, 2 * trial + 1
        results: dict[int, tuple[int, dict]] = {}
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=post, args=(clients[0], newer, options[0], results, barrier)),
                   threading.Thread(target=post, args=(clients[1], older, options[1], results, barrier))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert {code for code, _body in results.values()} == {200}, results
        assert results[newer][1]["applied"] is True, (trial, results)
        db.session.expire_all()
        current = db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id,
                                                              AttemptItem.position == position))
        assert current.answer_seq == newer, (trial, results)
        assert current.response == services.read_page_answer({"answer": options[0]}, current), (trial, results)
    history = db.session.scalars(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt_id)).all()
    assert len(history) == 2 * TRIALS  # every answer is kept in the history, applied or not


@pytest.mark.committing
def test_two_start_clicks_at_once_start_the_test_once(app, qualification, tmp_path):
    """The start's one read of the attempt is FOR UPDATE: a double click (two requests at the same
    moment, each with its own connection) starts the clock and records the start once, and both
    windows get the first question of the items drawn at check-in."""
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    institution = factories.make_institution(qualifications=[qualification])
    session = factories.make_session(institution, qualification)
    for trial in range(8):
        candidate = factories.make_user(Role.CANDIDATE)
        enrolment = factories.enrol(session, candidate)
        attempt = services.prepare(enrolment) or factories.make_attempt(enrolment)
        attempt.status = AttemptStatus.UNLOCKED
        drawn = [item.item_id for item in sorted(attempt.items, key=lambda i: i.position)]
        attempt_id, enrolment_id = attempt.id, enrolment.id
        db.session.commit()
        clients = [factories.client_as(app, candidate), factories.client_as(app, candidate)]
        results: list[tuple[int, bytes]] = []
        barrier = threading.Barrier(2)

        def click(client, barrier=barrier, results=results, enrolment_id=enrolment_id):
            barrier.wait()
            response = client.post(f"/theory/enrolments/{enrolment_id}/start")
            results.append((response.status_code, response.data if response.status_code == 200
                            else response.headers.get("Location", "").encode()))

        threads = [threading.Thread(target=click, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        # Each window gets the first question: on the page that answers the click, or — the other
        # click's start committed before this one was read — sent on to it as a running test.
        question = f"/theory/attempts/{attempt_id}/q/1".encode()
        assert len(results) == 2 and all(
            (status == 200 and b'id="theory"' in body and b'data-current="1"' in body)
            or (status == 302 and body.endswith(question)) for status, body in results), (trial, results)
        db.session.expire_all()
        started = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "theory.started",
                                                              AuditEntry.object_id == str(attempt_id))).all()
        assert len(started) == 1, (trial, started)
        items = db.session.scalars(select(AttemptItem.item_id).where(AttemptItem.attempt_id == attempt_id)
                                   .order_by(AttemptItem.position)).all()
        assert items == drawn and db.session.get(TheoryAttempt, attempt_id).status == AttemptStatus.IN_PROGRESS
