"""The theory test through the web: the candidate's plain-form flow, autosave JSON, the operator's
console and its reasons, release of results, the committee's view, and who may see what."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import (
    AttemptStatus,
    AuditEntry,
    Institution,
    OperatorAction,
    Role,
    TheoryAttempt,
    User,
    ValidationSession,
    utcnow,
)
from examportal.theory.services import page_ids
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_institution,
    make_session,
    make_theory_result,
    make_user,
    record_training,
    write_theory_bank,
)
from tests.statements import statements


@pytest.fixture
def world(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    ic = make_institution("Fundacja T", qualifications=[qualification])
    operator = make_user((Role.OPERATOR, ic), first_name="Olga")
    other_operator = make_user((Role.OPERATOR, ic), first_name="Inny")
    staff = make_user((Role.STAFF, ic))
    assessor = make_user((Role.ASSESSOR, ic))
    session = make_session(ic, qualification, operator_id=operator.id)
    candidate = make_user(Role.CANDIDATE, first_name="Kasia")
    rival = make_user(Role.CANDIDATE, first_name="Rafał")
    enrolment = enrol(session, candidate)
    rival_enrolment = enrol(session, rival)
    member = add_member(session, assessor, declared=False)
    return locals()


def _act(client, session_id, **data):
    form = {"target": "0", "kind": "incident", "minutes": "", "reason": ""}
    form.update({k: str(v) for k, v in data.items()})
    return client.post(f"/operator/sessions/{session_id}/actions", data=form)


def _attempt(world, who="enrolment") -> TheoryAttempt:
    db.session.expire_all()
    return db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == world[who].id))


def _form_answer(attempt_item) -> dict:
    """The correct answer to a synthetic item as the plain form sends it (in the page's opaque ids)."""
    item, presented = attempt_item.snapshot["item"], attempt_item.snapshot["presented"]
    key, page = item["key"], page_ids(attempt_item)
    if item["type"] == "true_false":
        return {"answer": page["true" if key else "false"]}
    if item["type"] == "ordering":
        return {f"order-{page[oid]}": str(key.index(oid) + 1) for oid in presented["options"]}
    if item["type"] == "matching":
        return {f"match-{page[p]}": page[r] for p, r in key.items()}
    return {"answer": [page[k] for k in key] if item["type"] == "multiple_choice" else page[key[0]]}


def test_the_button_of_the_waiting_page_starts_the_test_once_unlocked_without_a_reload(app, world):
    """The candidate waits on the page they opened at check-in; when the operator unlocks the test,
    its button (and its CSRF token) starts it: the whole room need not reload at the signal."""
    session, enrolment = world["session"], world["enrolment"]
    console = client_as(app, world["operator"])
    assert console.get(f"/operator/sessions/{session.id}").status_code == 200  # the attempts exist, locked
    candidate = client_as(app, world["candidate"])
    app.config["WTF_CSRF_ENABLED"] = True
    waiting = candidate.get(f"/theory/enrolments/{enrolment.id}").get_data(as_text=True)
    assert 'data-status="not_started"' in waiting and "Start the test" in waiting
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', waiting).group(1)
    app.config["WTF_CSRF_ENABLED"] = False
    assert _act(console, session.id, kind="unlock", reason="Session opened at 9:00").status_code == 302
    app.config["WTF_CSRF_ENABLED"] = True
    response = candidate.post(f"/theory/enrolments/{enrolment.id}/start", data={"csrf_token": token})
    attempt = _attempt(world)
    # Answered with the first question's page itself (no redirect at the moment the room starts).
    assert response.status_code == 200 and "Question 1 of" in response.get_data(as_text=True)
    assert f'data-question-url="/theory/attempts/{attempt.id}/q/0"' in response.get_data(as_text=True)
    # Locked down like every page of the running test: no site navigation.
    assert "My sessions" not in response.get_data(as_text=True) and '<a class="brand"' not in response.get_data(as_text=True)
    # The language switch comes back to the question, not to the start (which only takes a POST).
    assert f'name="next" value="/theory/attempts/{attempt.id}/q/1"' in response.get_data(as_text=True)
    assert attempt.status == AttemptStatus.IN_PROGRESS


def test_the_whole_flow_without_javascript(app, world):
    session, operator = world["session"], world["operator"]
    candidate = client_as(app, world["candidate"])
    # Locked until the operator unlocks it.
    page = candidate.get(f"/theory/enrolments/{world['enrolment'].id}")
    assert page.status_code == 200 and "The test is locked" in page.get_data(as_text=True)
    assert "Start the test" in page.get_data(as_text=True)  # pressed too early, it says the test is still locked:
    early = candidate.post(f"/theory/enrolments/{world['enrolment'].id}/start", follow_redirects=True)
    assert "The test cannot be started yet. Wait for the operator to unlock it." in early.get_data(as_text=True)
    assert _attempt(world) is None  # attempts exist once the operator opens the console

    console = client_as(app, operator)
    assert console.get(f"/operator/sessions/{session.id}").status_code == 200
    assert _attempt(world).status == AttemptStatus.NOT_STARTED
    response = _act(console, session.id, kind="unlock", reason="Session opened at 9:00")
    assert response.status_code == 302
    assert _attempt(world).status == AttemptStatus.UNLOCKED

    page = candidate.get(f"/theory/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    assert "Start the test" in page
    response = candidate.post(f"/theory/enrolments/{world['enrolment'].id}/start")
    attempt = _attempt(world)
    assert response.status_code == 200 and "Question 1 of 36" in response.get_data(as_text=True)
    assert attempt.status == AttemptStatus.IN_PROGRESS and len(attempt.items) == 36

    page = candidate.get(f"/theory/attempts/{attempt.id}/q/1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Question 1 of 36" in html and "theory.js" in html
    assert "<script>" not in html  # CSP: scripts only from files

    # Answer every question correctly by plain form posts; flag question 2.
    for ai in attempt.items:
        data = _form_answer(ai) | {"go": "next"}
        if ai.position == 2:
            data["flagged"] = "1"
        response = candidate.post(f"/theory/attempts/{attempt.id}/q/{ai.position}", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert response.headers["Location"].endswith(f"/theory/attempts/{attempt.id}/review")
    review = candidate.get(f"/theory/attempts/{attempt.id}/review").get_data(as_text=True)
    assert "You have answered 36 of 36 questions." in review and "flagged" in review

    # The submission needs the confirmation tick.
    assert candidate.post(f"/theory/attempts/{attempt.id}/submit", data={}).status_code == 400
    response = candidate.post(f"/theory/attempts/{attempt.id}/submit", data={"confirm": "y"})
    assert response.status_code == 302
    attempt = _attempt(world)
    assert attempt.status == AttemptStatus.SUBMITTED and attempt.score_points == 36 and attempt.passed
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"theory.started", "theory.submitted", "theory.operator.unlock", "operator.unlock"} <= actions

    # Nothing is accepted after the submission.
    response = candidate.post(f"/theory/attempts/{attempt.id}/answer",
                              data=_form_answer(attempt.items[0]) | {"position": "1", "seq": "999"})
    assert response.status_code == 409

    # Results are hidden until staff release them.
    page = candidate.get(f"/theory/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    assert "theory-result-pending" in page and "theory-result\"" not in page
    staff = client_as(app, world["staff"])
    assert staff.get(f"/theory/sessions/{session.id}/results").status_code == 200
    assert staff.post(f"/theory/sessions/{session.id}/results", data={}).status_code == 400
    assert staff.post(f"/theory/sessions/{session.id}/results", data={"confirm": "y"}).status_code == 302
    page = candidate.get(f"/theory/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    assert 'id="theory-result"' in page and "passed" in page and "1.1.a" in page

    # The committee sees the breakdown only after the declaration of impartiality.
    committee = client_as(app, world["assessor"])
    response = committee.get(f"/theory/sessions/{session.id}/committee/{attempt.id}")
    assert response.status_code == 302 and "committee-view" in response.headers["Location"]
    committee.post(f"/sessions/{session.id}/committee-view", data={"confirm": "y"})
    assert committee.get(f"/theory/sessions/{session.id}/committee").status_code == 200
    detail = committee.get(f"/theory/sessions/{session.id}/committee/{attempt.id}").get_data(as_text=True)
    assert "Answer given" in detail and "Key" in detail and attempt.items[0].item_id in detail

    # A member who trained the candidate may not assess them, so neither may they read their answers.
    record_training(world["assessor"], world["candidate"], world["ic"])
    refused = committee.get(f"/theory/sessions/{session.id}/committee/{attempt.id}")
    assert refused.status_code == 403
    assert "You trained this candidate, so you may not assess them." in refused.get_data(as_text=True)
    results = committee.get(f"/theory/sessions/{session.id}/committee").get_data(as_text=True)
    assert "You trained this candidate" in results
    assert f"/committee/{attempt.id}" not in results


def test_autosave_json_ack_replay_and_bad_input(app, world):
    console = client_as(app, world["operator"])
    _act(console, world["session"].id, kind="unlock", reason="start")
    candidate = client_as(app, world["candidate"])
    candidate.post(f"/theory/enrolments/{world['enrolment'].id}/start")
    attempt = _attempt(world)
    url = f"/theory/attempts/{attempt.id}/answer"
    first = attempt.items[0]
    data = _form_answer(first) | {"position": "1", "seq": "1"}
    response = candidate.post(url, data=data, headers={"Accept": "application/json"})
    assert response.status_code == 200
    ack = response.get_json()
    assert ack["seq"] == 1 and ack["applied"] and 0 < ack["time_left"] <= 54 * 60
    replay = candidate.post(url, data=data).get_json()
    assert replay["saved_at"] == ack["saved_at"]
    # Bad input: a clear JSON error, never a 500.
    choice_item = next(i for i in attempt.items if i.snapshot["item"]["type"] == "single_choice")
    choice, bank_id = choice_item.position, choice_item.snapshot["presented"]["options"][0]
    ordering = next(i for i in attempt.items if i.snapshot["item"]["type"] == "ordering")
    clash = dict(zip((f"order-{p}" for p in page_ids(ordering).values()), ("1", "1", "9"), strict=False))
    for bad in ({"position": "x", "seq": "2"}, {"position": "1", "seq": ""}, {"position": "77", "seq": "3"},
                {"position": str(choice), "seq": "4", "answer": "<script>"},
                {"position": str(ordering.position), "seq": "5", **clash},
                {"position": str(choice), "seq": "6", "answer": bank_id}):  # a bank id, not the page's
        response = candidate.post(url, data=bad, headers={"Accept": "application/json"})  # as the script asks
        assert response.status_code in (400, 404) and response.get_json()["error"]
    heartbeat = candidate.post(f"/theory/attempts/{attempt.id}/heartbeat").get_json()
    assert heartbeat["status"] == "in_progress" and heartbeat["last_seq"] == 1


def test_plain_form_bad_answer_shows_an_error(app, world):
    console = client_as(app, world["operator"])
    _act(console, world["session"].id, kind="unlock", reason="start")
    candidate = client_as(app, world["candidate"])
    candidate.post(f"/theory/enrolments/{world['enrolment'].id}/start")
    attempt = _attempt(world)
    choice = next(i.position for i in attempt.items if i.snapshot["item"]["type"] == "single_choice")
    response = candidate.post(f"/theory/attempts/{attempt.id}/q/{choice}", data={"answer": "not-an-option!", "go": "next"})
    assert response.status_code == 400 and 'role="alert"' in response.get_data(as_text=True)
    assert not _attempt(world).items[choice - 1].is_answered
    # Moving on without choosing anything is not an error.
    response = candidate.post(f"/theory/attempts/{attempt.id}/q/{choice}", data={"go": "next"})
    assert response.status_code == 302


def test_operator_actions_require_a_reason_and_are_recorded(app, world):
    session = world["session"]
    console = client_as(app, world["operator"])
    response = _act(console, session.id, kind="unlock", reason="  ")
    assert response.status_code == 400 and "Give the reason" in response.get_data(as_text=True)
    assert db.session.query(OperatorAction).count() == 0
    assert _act(console, session.id, kind="extra_time", reason="late start").status_code == 400  # no minutes
    assert _act(console, session.id, kind="unlock", reason="start").status_code == 302
    candidate = client_as(app, world["candidate"])
    candidate.post(f"/theory/enrolments/{world['enrolment'].id}/start")
    attempt = _attempt(world)
    assert _act(console, session.id, kind="extra_time", minutes=5, target=attempt.id,
                reason="the computer restarted").status_code == 302
    assert _act(console, session.id, kind="pause", reason="fire alarm").status_code == 302
    assert _attempt(world).status == AttemptStatus.PAUSED
    saved = candidate.post(f"/theory/attempts/{attempt.id}/answer", data={"position": "1", "seq": "1"})
    assert saved.status_code == 409 and saved.get_json()["status"] == "paused"
    assert _act(console, session.id, kind="resume", reason="all clear").status_code == 302
    assert _act(console, session.id, kind="incident", reason="candidate asked for water").status_code == 302
    assert _attempt(world).extra_seconds == 300
    rows = console.get(f"/operator/sessions/{session.id}/status.json").get_json()["rows"]
    mine = next(r for r in rows if r["attempt_id"] == attempt.id)
    assert mine["status"] == "in_progress" and mine["connection"] == "online" and mine["extra_minutes"] == 5
    kinds = [a.kind.value for a in db.session.scalars(select(OperatorAction).order_by(OperatorAction.id))]
    assert kinds == ["unlock", "extra_time", "pause", "resume", "incident"]
    page = console.get(f"/operator/sessions/{session.id}").get_data(as_text=True)
    assert "the computer restarted" in page and "operator.js" in page


def test_authorization(app, world):
    session = world["session"]
    console = client_as(app, world["operator"])
    _act(console, session.id, kind="unlock", reason="start")
    candidate = client_as(app, world["candidate"])
    candidate.post(f"/theory/enrolments/{world['enrolment'].id}/start")
    attempt = _attempt(world)
    rival = client_as(app, world["rival"])
    # Another candidate's enrolment and attempt: 404.
    assert rival.get(f"/theory/enrolments/{world['enrolment'].id}").status_code == 404
    assert rival.get(f"/theory/attempts/{attempt.id}/q/1").status_code == 404
    assert rival.post(f"/theory/attempts/{attempt.id}/answer", data={"position": "1", "seq": "1"}).status_code == 404
    assert rival.get(f"/theory/attempts/{attempt.id}/review").status_code == 404
    # Not the session's operator: 404; not an operator at all: 403.
    other = client_as(app, world["other_operator"])
    assert other.get(f"/operator/sessions/{session.id}").status_code == 404
    assert other.get(f"/operator/sessions/{session.id}/status.json").status_code == 404
    assert _act(other, session.id, kind="pause", reason="x").status_code == 404
    assert rival.get(f"/operator/sessions/{session.id}").status_code == 403
    # A candidate cannot release results; an assessor not on the committee sees nothing.
    assert rival.post(f"/theory/sessions/{session.id}/results", data={"confirm": "y"}).status_code == 403
    # The candidate whose test runs is sent back to it from any other page.
    assert candidate.get(f"/operator/sessions/{session.id}").status_code == 302
    outsider = client_as(app, make_user((Role.ASSESSOR, make_institution())))
    assert outsider.get(f"/theory/sessions/{session.id}/committee").status_code == 404
    # Staff of another institution: 404.
    foreign_staff = client_as(app, make_user((Role.STAFF, make_institution())))
    assert foreign_staff.get(f"/theory/sessions/{session.id}/results").status_code == 404


def test_refresh_resumes_with_the_server_time(app, world):
    console = client_as(app, world["operator"])
    _act(console, world["session"].id, kind="unlock", reason="start")
    candidate = client_as(app, world["candidate"])
    candidate.post(f"/theory/enrolments/{world['enrolment'].id}/start")
    attempt = _attempt(world)
    attempt.deadline_at = attempt.deadline_at.replace(microsecond=0) - (attempt.deadline_at - attempt.started_at) / 3
    db.session.commit()
    # "Another computer": a new client, logged in afresh.
    again = client_as(app, world["candidate"])
    html = again.get(f"/theory/attempts/{attempt.id}/q/3").get_data(as_text=True)
    seconds = int(re.search(r'data-time-left="(\d+)"', html).group(1))
    assert 35 * 60 <= seconds <= 36 * 60 + 1  # two thirds of 54 minutes


def test_deadline_passed_on_contact_submits(app, world):
    console = client_as(app, world["operator"])
    _act(console, world["session"].id, kind="unlock", reason="start")
    candidate = client_as(app, world["candidate"])
    candidate.post(f"/theory/enrolments/{world['enrolment'].id}/start")
    attempt = _attempt(world)
    attempt.deadline_at = attempt.started_at
    db.session.commit()
    response = candidate.get(f"/theory/attempts/{attempt.id}/q/1")
    assert response.status_code == 302
    assert _attempt(world).status == AttemptStatus.SUBMITTED and _attempt(world).submitted_by_deadline
    assert "automatically" in candidate.get(f"/theory/enrolments/{world['enrolment'].id}").get_data(as_text=True)


@pytest.mark.parametrize("express", [True, False])
def test_a_page_at_0_00_finds_its_test_ended(app, world, monkeypatch, express):
    """The time left is given in whole seconds rounded up: less than a second before the end the
    heartbeat says 1 (the page shows 0:01), and the heartbeat the page sends at 0:00 ends the test,
    whichever way the heartbeat is answered (the express lane or the full view)."""
    from examportal.theory import express as lane
    from examportal.theory import services
    from examportal.theory import views as theory_views

    app.config["THEORY_EXPRESS_AUTOSAVE"] = express
    _act(client_as(app, world["operator"]), world["session"].id, kind="unlock", reason="start")
    candidate = client_as(app, world["candidate"])
    candidate.post(f"/theory/enrolments/{world['enrolment'].id}/start")
    attempt = _attempt(world)
    end = attempt.deadline_at
    beat = f"/theory/attempts/{attempt.id}/heartbeat"
    for module in (theory_views, lane, services):
        monkeypatch.setattr(module, "utcnow", lambda: end - timedelta(seconds=0.4))
    assert candidate.post(beat, data={"position": "1"}).get_json() | {"last_seq": 0} == \
        {"status": "in_progress", "time_left": 1, "last_seq": 0}
    for module in (theory_views, lane, services):
        monkeypatch.setattr(module, "utcnow", lambda: end)
    assert candidate.post(beat, data={"position": "1"}).get_json()["status"] == "submitted"
    assert _attempt(world).status == AttemptStatus.SUBMITTED and _attempt(world).submitted_by_deadline


def test_a_start_clicked_again_shows_the_question_reached_and_a_finished_test_its_result(app, world):
    """A second click (another tab, a form sent again by a reload) starts nothing again: it leads to
    the question the candidate was on; once the test is submitted, to the waiting page's result."""
    _act(client_as(app, world["operator"]), world["session"].id, kind="unlock", reason="start")
    candidate = client_as(app, world["candidate"])
    start = f"/theory/enrolments/{world['enrolment'].id}/start"
    assert candidate.post(start).status_code == 200
    attempt = _attempt(world)
    started_at = attempt.started_at
    assert candidate.get(f"/theory/attempts/{attempt.id}/q/5").status_code == 200
    again = candidate.post(start)  # the lockdown: while the test runs, everything else leads back to it
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/theory/attempts/{attempt.id}/q/5")
    # ... without the warning other pages get: this is the test's own start sent again.
    assert "other pages open after you submit it" not in candidate.get(again.headers["Location"]).get_data(as_text=True)
    assert "other pages open after you submit it" in candidate.get("/sessions/mine", follow_redirects=True).get_data(as_text=True)
    db.session.expire_all()
    assert _attempt(world).started_at == started_at
    assert len([e for e in db.session.scalars(select(AuditEntry.action)) if e == "theory.started"]) == 1
    assert candidate.post(f"/theory/attempts/{attempt.id}/submit", data={"confirm": "y"}).status_code == 302
    finished = candidate.post(start)
    assert finished.status_code == 302 and finished.headers["Location"].endswith(f"/theory/enrolments/{world['enrolment'].id}")


def test_expire_command(app, world, runner):
    console = client_as(app, world["operator"])
    _act(console, world["session"].id, kind="unlock", reason="start")
    client_as(app, world["candidate"]).post(f"/theory/enrolments/{world['enrolment'].id}/start")
    attempt = _attempt(world)
    attempt.deadline_at = attempt.started_at
    db.session.commit()
    result = runner.invoke(args=["theory", "expire"])
    assert result.exit_code == 0 and "submitted 1" in result.output
    assert _attempt(world).status == AttemptStatus.SUBMITTED


def _answer_fields(html: str) -> tuple[set[str], set[str]]:
    """The names and values of every answer field in the question page's forms."""
    names = set(re.findall(r'name="((?:answer|order-|match-)[^"]*)"', html))
    values = set(re.findall(r'<(?:input|option)[^>]*name="answer"[^>]*value="([^"]*)"', html))
    values |= set(re.findall(r'<option value="([^"]+)"', html))
    return names, values


def test_the_page_never_gives_the_key_away(app, world):
    """No option, premise or response id of any item type reaches the page, its forms or the
    autosave answer; the page's ids are unrelated between two attempts at the same items."""
    console = client_as(app, world["operator"])
    _act(console, world["session"].id, kind="unlock", reason="start")
    pages = {}
    for who, enrolment in (("candidate", "enrolment"), ("rival", "rival_enrolment")):
        client = client_as(app, world[who])
        client.post(f"/theory/enrolments/{world[enrolment].id}/start")
        attempt = _attempt(world, enrolment)
        html = client.get(f"/theory/attempts/{attempt.id}/q/1").get_data(as_text=True)
        pages[who] = (attempt, html, client)
    seen_types = set()
    page_ids_by_item: dict[str, list[set[str]]] = {}
    for attempt, html, _client in pages.values():
        names, values = _answer_fields(html)
        suffixes = {name.split("-", 1)[1] for name in names if "-" in name}
        for attempt_item in attempt.items:
            presented = attempt_item.snapshot["presented"]
            seen_types.add(attempt_item.snapshot["item"]["type"])
            bank_ids = {i for part in ("options", "premises", "responses") for i in presented.get(part, [])}
            assert not bank_ids & (values | suffixes), attempt_item.item_id
            assert not bank_ids & set(re.findall(r'(?:value|name|id|for|data-[a-z-]+)="([^"]*)"', html))
            page_ids_by_item.setdefault(attempt_item.item_id, []).append(set(page_ids(attempt_item).values()))
    assert seen_types == {"single_choice", "multiple_choice", "true_false", "ordering", "matching"}
    shared = [ids for ids in page_ids_by_item.values() if len(ids) == 2]
    assert shared, "the two attempts drew no item in common"
    assert all(not first & second for first, second in shared)
    # The autosave round trip speaks page ids in and says nothing of the key back.
    attempt, _html, client = pages["candidate"]
    item = attempt.items[0]
    response = client.post(f"/theory/attempts/{attempt.id}/answer",
                           data=_form_answer(item) | {"position": "1", "seq": "1"})
    assert response.status_code == 200
    bank_ids = {i for part in ("options", "premises", "responses") for i in item.snapshot["presented"].get(part, [])}
    assert not any(f'"{i}"' in response.get_data(as_text=True) for i in bank_ids)
    db.session.expire_all()
    from examportal.theory.scoring import item_of, points_for

    assert points_for(item_of(item), item.response) == 1.0  # stored in the bank's ids: the key scores it


def test_the_committee_list_asks_the_database_as_often_for_many_candidates_as_for_few(app, world):
    """A session of a thousand candidates: the list reads the attempts, their candidates and
    enrolments, and whom the member trained in one query each, not a few per row."""
    session_id, assessor_id, ic_id = world["session"].id, world["assessor"].id, world["ic"].id
    world["member"].declared_at = utcnow()
    db.session.commit()
    committee = client_as(app, world["assessor"])

    def statements_for_the_list() -> int:
        db.session.expunge_all()
        with statements() as seen:
            page = committee.get(f"/theory/sessions/{session_id}/committee")
        assert page.status_code == 200
        return len(seen)

    def add_candidate(name: str) -> User:
        candidate = make_user(Role.CANDIDATE, first_name=name)
        session = db.session.get(ValidationSession, session_id)
        make_theory_result(enrol(session, candidate), session.qualification)
        return candidate

    for n in range(2):
        add_candidate(f"Kandydat {n}")
    db.session.commit()
    few = statements_for_the_list()
    trainee = add_candidate("Uczeń")
    record_training(db.session.get(User, assessor_id), trainee, db.session.get(Institution, ic_id))
    for n in range(2, 10):
        add_candidate(f"Kandydat {n}")
    db.session.commit()
    assert statements_for_the_list() == few
    page = committee.get(f"/theory/sessions/{session_id}/committee").get_data(as_text=True)
    assert page.count("You trained this candidate") == 1 and page.count("Kandydat ") == 10
