"""The operator's controls on the practical exam, from the one console the theory test uses: extra
time, pause and resume, incident notes; their refusals, their audit and the session record; the
clock they move (the deadline, expiry, the candidate's countdown, the committee's page); a paused
workspace takes no changes; and who may act."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from flask_login import login_user
from sqlalchemy import func, select

from examportal.extensions import db
from examportal.models import (
    AuditEntry,
    OperatorAction,
    OperatorActionKind,
    PracticalAttempt,
    PracticalStatus,
    Role,
    ValidationSession,
    utcnow,
)
from examportal.operator import services as operator_services
from examportal.practical import services
from sandbox_crm import api as sandbox_api
from sandbox_crm.models.workspace import Workspace
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_institution,
    make_practical_attempt,
    make_session,
    make_theory_result,
    make_user,
)
from tests.statements import statements

PAUSED = "The operator has paused your practical exam"


@pytest.fixture
def world(app, qualification):
    vcc = make_institution("Fundacja Operatorska", qualifications=[qualification])
    elsewhere = make_institution("Inna Fundacja", qualifications=[qualification])
    operator = make_user((Role.OPERATOR, vcc), first_name="Olga", last_name="Operatorka")
    colleague = make_user((Role.OPERATOR, vcc), first_name="Igor", last_name="Kolega")
    foreign_operator = make_user((Role.OPERATOR, elsewhere), first_name="Feliks", last_name="Obcy")
    session = make_session(vcc, qualification, title="Sesja z operatorem", operator_id=operator.id)
    other_session = make_session(vcc, qualification, title="Druga sesja", operator_id=operator.id)
    foreign_session = make_session(elsewhere, qualification, title="Obca sesja", operator_id=foreign_operator.id)
    candidate = make_user(Role.CANDIDATE, first_name="Zofia", last_name="Zdająca")
    rival = make_user(Role.CANDIDATE, first_name="Adam", last_name="Sąsiad")
    stranger = make_user(Role.CANDIDATE, first_name="Ewa", last_name="Zdrugiej")
    enrolment, rival_enrolment = enrol(session, candidate), enrol(session, rival)
    stranger_enrolment = enrol(other_session, stranger)
    for e in (enrolment, rival_enrolment, stranger_enrolment):
        make_theory_result(e, qualification)
    assessor = make_user((Role.ASSESSOR, vcc), first_name="Edward", last_name="Oceniający")
    add_member(session, assessor, declared=True)
    return {"session": session, "other_session": other_session, "foreign_session": foreign_session,
            "operator": operator, "colleague": colleague, "foreign_operator": foreign_operator,
            "candidate": candidate, "rival": rival, "stranger": stranger, "enrolment": enrolment,
            "rival_enrolment": rival_enrolment, "stranger_enrolment": stranger_enrolment, "assessor": assessor}


def _start(app, world, who="candidate", enrolment="enrolment"):
    client = client_as(app, world[who])
    response = client.post(f"/practical/enrolments/{world[enrolment].id}/start", data={"confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return client, db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == world[enrolment].id))


def _act(client, session_id, attempt=None, **data):
    form = {"target": f"p{attempt.id}" if attempt is not None else "0", "kind": "incident", "minutes": "", "reason": ""}
    form.update({k: str(v) for k, v in data.items()})
    return client.post(f"/operator/sessions/{session_id}/actions", data=form)


def _fresh(attempt) -> PracticalAttempt:
    db.session.expire_all()
    return db.session.get(PracticalAttempt, attempt.id)


def _actions() -> list[OperatorAction]:
    return list(db.session.scalars(select(OperatorAction).order_by(OperatorAction.id)))


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def _statements(workspace_id: int) -> int:
    return len(sandbox_api.action_log(workspace_id))


def _companies(workspace_id: int) -> int:
    from sandbox_crm.models import Company

    return db.session.scalar(select(func.count()).select_from(Company).where(Company.workspace_id == workspace_id))


# --------------------------------------------------------------------------- each action works and is audited


def test_extra_time_moves_the_deadline_everywhere_and_is_recorded(app, world):
    candidate, attempt = _start(app, world)
    console = client_as(app, world["operator"])
    before = services.seconds_left(attempt, utcnow())
    response = _act(console, world["session"].id, attempt, kind="extra_time", minutes=10, reason="the computer restarted")
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    attempt = _fresh(attempt)
    assert attempt.extra_seconds == 600
    assert services.deadline(attempt) == attempt.deadline_at + timedelta(minutes=10)
    assert services.seconds_left(attempt, utcnow()) >= before + 600 - 5
    # Recorded once, on the practical attempt, and audited on the attempt and as the record.
    [action] = _actions()
    assert (action.kind, action.minutes, action.practical_attempt_id, action.attempt_id, action.operator_id) == \
        (OperatorActionKind.EXTRA_TIME, 10, attempt.id, None, world["operator"].id)
    [change] = _audit("practical.operator.extra_time")
    assert change.object_id == str(attempt.id) and change.before["extra_seconds"] == 0 and change.after["extra_seconds"] == 600
    [record] = _audit("operator.extra_time")
    assert record.after["practical_attempt_id"] == attempt.id and record.after["minutes"] == 10
    # The candidate's countdown, the overview and the JSON clock follow.
    sheet = candidate.get(f"/sandbox/w/{attempt.workspace_id}/").get_data(as_text=True)
    assert int(re.search(r'data-seconds-left="(\d+)"', sheet).group(1)) >= before + 600 - 5
    state = candidate.get(f"/practical/enrolments/{world['enrolment'].id}/status.json").get_json()
    assert state["running"] and not state["paused"] and state["seconds_left"] >= before + 600 - 5
    assert state["until_text"].startswith("until ")
    # The session record names the part and the candidate.
    page = console.get(f"/operator/sessions/{world['session'].id}").get_data(as_text=True)
    assert "time added to the practical exam +10 min" in page and "Zofia Zdająca" in page
    assert "the computer restarted" in page


def test_pause_and_resume_are_recorded_and_audited(app, world):
    _candidate, attempt = _start(app, world)
    console = client_as(app, world["operator"])
    assert _act(console, world["session"].id, attempt, kind="pause", reason="fire alarm").status_code == 302
    attempt = _fresh(attempt)
    assert services.is_paused(attempt) and attempt.status == PracticalStatus.IN_PROGRESS
    rows = console.get(f"/operator/sessions/{world['session'].id}/status.json").get_json()["practical"]
    mine = next(r for r in rows if r["practical_attempt_id"] == attempt.id)
    assert mine["status"] == "paused" and mine["status_label"] == "paused"
    assert _act(console, world["session"].id, attempt, kind="resume", reason="all clear").status_code == 302
    attempt = _fresh(attempt)
    assert not services.is_paused(attempt) and attempt.paused_seconds_total >= 0
    assert [a.kind for a in _actions()] == [OperatorActionKind.PAUSE, OperatorActionKind.RESUME]
    assert _audit("practical.operator.pause")[0].after["paused_at"] is not None
    assert _audit("practical.operator.resume")[0].after["paused_at"] is None
    assert len(_audit("operator.pause")) == len(_audit("operator.resume")) == 1
    page = console.get(f"/operator/sessions/{world['session'].id}").get_data(as_text=True)
    assert "practical exam paused" in page and "practical exam resumed" in page and "fire alarm" in page


def test_an_incident_note_changes_no_clock_and_may_follow_the_end(app, world):
    candidate, attempt = _start(app, world)
    console = client_as(app, world["operator"])
    assert _act(console, world["session"].id, attempt, reason="asked for water").status_code == 302
    attempt = _fresh(attempt)
    assert (attempt.extra_seconds, attempt.paused_at, attempt.paused_seconds_total) == (0, None, 0)
    assert not [e for e in db.session.scalars(select(AuditEntry)) if e.action.startswith("practical.operator.")]
    candidate.post(f"/practical/enrolments/{world['enrolment'].id}/finish", data={"confirm": "y"})
    assert _act(console, world["session"].id, attempt, reason="complained afterwards about the mouse").status_code == 302
    incidents = _audit("operator.incident")
    assert len(incidents) == 2 and all(e.after["practical_attempt_id"] == attempt.id for e in incidents)
    page = console.get(f"/operator/sessions/{world['session'].id}").get_data(as_text=True)
    assert page.count("incident in the practical exam") == 2


# --------------------------------------------------------------------------- the clock


def test_a_pause_of_n_minutes_pushes_the_deadline_by_n(app, world):
    _client, attempt = _start(app, world)
    session, operator = world["session"], world["operator"]
    t0 = attempt.started_at + timedelta(minutes=20)
    left = services.seconds_left(attempt, t0)
    services.operator_action(session, operator, OperatorActionKind.PAUSE, "power cut", attempt, now=t0)
    # The clock stands while paused, and expiry leaves the attempt alone.
    assert services.seconds_left(attempt, t0 + timedelta(minutes=7)) == left
    assert services.ends_at(attempt, t0 + timedelta(minutes=7)) == t0 + timedelta(minutes=7, seconds=left)
    services.operator_action(session, operator, OperatorActionKind.RESUME, "power back", attempt,
                             now=t0 + timedelta(minutes=7))
    attempt = _fresh(attempt)
    assert attempt.paused_seconds_total == 7 * 60
    assert services.deadline(attempt) == attempt.deadline_at + timedelta(minutes=7)
    assert services.seconds_left(attempt, t0 + timedelta(minutes=7)) == left
    # Extra time adds to it; the attempt ends at the moved deadline, not before.
    services.operator_action(session, operator, OperatorActionKind.EXTRA_TIME, "late start", attempt, minutes=3,
                             now=t0 + timedelta(minutes=8))
    attempt = _fresh(attempt)
    end = attempt.deadline_at + timedelta(minutes=10)
    assert services.deadline(attempt) == end
    assert not services.expire_if_overdue(attempt, end - timedelta(seconds=1))
    assert services.expire_if_overdue(attempt, end + timedelta(minutes=5))
    attempt = _fresh(attempt)
    assert attempt.status == PracticalStatus.TIMED_OUT and attempt.finished_at == end


def test_expiry_does_not_end_a_paused_attempt(app, world, runner):
    candidate, attempt = _start(app, world)
    console = client_as(app, world["operator"])
    assert _act(console, world["session"].id, attempt, kind="pause", reason="candidate unwell").status_code == 302
    attempt = _fresh(attempt)
    # Paused with 9 minutes left; the original deadline has long passed since.
    now = utcnow()
    attempt.started_at, attempt.deadline_at = now - timedelta(minutes=120), now - timedelta(minutes=1)
    attempt.paused_at = now - timedelta(minutes=10)
    db.session.commit()
    assert services.expire_overdue() == []
    assert "ended 0 overdue" in runner.invoke(args=["practical", "expire"]).output
    assert candidate.get(f"/sandbox/w/{attempt.workspace_id}/").status_code == 200  # a request meeting it
    assert console.get(f"/operator/sessions/{world['session'].id}").status_code == 200
    attempt = _fresh(attempt)
    assert attempt.is_running and not sandbox_api.get_workspace(attempt.workspace_id).is_frozen
    assert services.seconds_left(attempt, utcnow()) == 9 * 60
    # Resumed, the 9 minutes run again; the command then leaves it until they are over.
    assert _act(console, world["session"].id, attempt, kind="resume", reason="feels better").status_code == 302
    attempt = _fresh(attempt)
    assert 9 * 60 - 5 <= services.seconds_left(attempt, utcnow()) <= 9 * 60
    assert services.expire_overdue() == []
    assert [a.id for a in services.expire_overdue(utcnow() + timedelta(minutes=10))] == [attempt.id]


def test_the_committee_sees_the_moved_end_and_the_pause(app, world):
    _client, attempt = _start(app, world)
    console = client_as(app, world["operator"])
    _act(console, world["session"].id, attempt, kind="extra_time", minutes=30, reason="late start")
    _act(console, world["session"].id, attempt, kind="pause", reason="network down")
    with app.test_request_context():  # the evidence links are URLs
        view = services.committee_view(world["enrolment"], "en")
    attempt = _fresh(attempt)
    assert view.paused and view.ends_at >= attempt.deadline_at + timedelta(minutes=30)
    page = client_as(app, world["assessor"]).get(f"/committee/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    assert "paused by the operator" in page and "in progress until" in page


# --------------------------------------------------------------------------- no changes while paused


def test_the_workspace_takes_no_changes_while_paused(app, world):
    candidate, attempt = _start(app, world)
    workspace_id = attempt.workspace_id
    assert candidate.post(f"/sandbox/w/{workspace_id}/companies/new", data={"name": "Przed Pauzą Sp. z o.o."}).status_code == 302
    console = client_as(app, world["operator"])
    assert _act(console, world["session"].id, attempt, kind="pause", reason="fire alarm").status_code == 302
    companies, statements = _companies(workspace_id), _statements(workspace_id)

    # The host adapter refuses the change; reading stays open.
    with app.test_request_context():
        login_user(world["candidate"])
        workspace = db.session.get(Workspace, workspace_id)
        can_access = app.extensions["sandbox_crm"].can_access
        assert can_access(workspace, False) and not can_access(workspace, True)

    # A real change is refused with the reason, and nothing is written or logged.
    refused = candidate.post(f"/sandbox/w/{workspace_id}/companies/new", data={"name": "W Pauzie Sp. z o.o."})
    assert refused.status_code == 409 and PAUSED in refused.get_data(as_text=True)
    page = candidate.get(f"/sandbox/w/{workspace_id}/companies")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert PAUSED in body and 'data-paused="true"' in body and "Finish the practical exam" not in body
    assert _companies(workspace_id) == companies and _statements(workspace_id) == statements
    # The countdown stands still; finishing waits for the resume.
    state = candidate.get(f"/practical/enrolments/{world['enrolment'].id}/status.json").get_json()
    assert state["paused"] and state["running"]
    overview = candidate.get(f"/practical/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    assert PAUSED in overview and "Finish the practical exam" not in overview
    finish = candidate.post(f"/practical/enrolments/{world['enrolment'].id}/finish", data={"confirm": "y"})
    assert finish.status_code == 409 and PAUSED in finish.get_data(as_text=True)
    assert _fresh(attempt).is_running

    assert _act(console, world["session"].id, attempt, kind="resume", reason="all clear").status_code == 302
    assert candidate.post(f"/sandbox/w/{workspace_id}/companies/new", data={"name": "Po Pauzie Sp. z o.o."}).status_code == 302
    assert _companies(workspace_id) == companies + 1
    page = candidate.get(f"/sandbox/w/{workspace_id}/").get_data(as_text=True)
    assert 'data-paused="false"' in page and "Finish the practical exam" in page


def test_a_pause_tells_no_one_else_about_the_workspace(app, world):
    _candidate, attempt = _start(app, world)
    console = client_as(app, world["operator"])
    _act(console, world["session"].id, attempt, kind="pause", reason="fire alarm")
    rival = client_as(app, world["rival"])
    response = rival.post(f"/sandbox/w/{attempt.workspace_id}/companies/new", data={"name": "X Sp. z o.o."})
    assert response.status_code == 404 and PAUSED not in response.get_data(as_text=True)


# --------------------------------------------------------------------------- refusals


def test_refusals_say_why_and_record_nothing(app, world):
    _candidate, attempt = _start(app, world)
    console = client_as(app, world["operator"])
    session_id = world["session"].id
    cases = [
        ({"kind": "pause", "reason": "   "}, "Give the reason"),
        ({"kind": "extra_time", "reason": "late"}, "from 1 to 240"),
        ({"kind": "extra_time", "minutes": 0, "reason": "late"}, "from 1 to 240"),
        ({"kind": "extra_time", "minutes": -5, "reason": "late"}, "from 1 to 240"),
        ({"kind": "extra_time", "minutes": 241, "reason": "late"}, "from 1 to 240"),
        ({"kind": "extra_time", "minutes": 100000, "reason": "late"}, "from 1 to 240"),
        ({"kind": "resume", "reason": "nothing to resume"}, "is not paused"),
        ({"kind": "unlock", "reason": "start"}, "The practical exam is not unlocked"),
    ]
    for data, message in cases:
        response = _act(console, session_id, attempt, **data)
        assert response.status_code == 400, data
        assert message in response.get_data(as_text=True), data
    assert _actions() == []
    assert _act(console, session_id, attempt, kind="pause", reason="fire alarm").status_code == 302
    again = _act(console, session_id, attempt, kind="pause", reason="fire alarm again")
    assert again.status_code == 400 and "already paused" in again.get_data(as_text=True)
    assert [a.kind for a in _actions()] == [OperatorActionKind.PAUSE]
    # What the operator typed stays in the form.
    assert "fire alarm again" in again.get_data(as_text=True)


@pytest.mark.parametrize("ending", ["finished", "timed_out"])
def test_an_ended_attempt_keeps_its_clock(app, world, ending):
    candidate, attempt = _start(app, world)
    if ending == "finished":
        candidate.post(f"/practical/enrolments/{world['enrolment'].id}/finish", data={"confirm": "y"})
    else:  # the time is up; the operator's request is the one that meets it
        attempt.started_at, attempt.deadline_at = utcnow() - timedelta(minutes=120), utcnow() - timedelta(minutes=1)
        db.session.commit()
    console = client_as(app, world["operator"])
    for kind, minutes in (("extra_time", 5), ("pause", ""), ("resume", "")):
        response = _act(console, world["session"].id, attempt, kind=kind, minutes=minutes, reason="too late")
        assert response.status_code == 400 and "has ended" in response.get_data(as_text=True), kind
    attempt = _fresh(attempt)
    assert attempt.status.value == ending and attempt.extra_seconds == 0 and attempt.paused_at is None
    assert _actions() == []


def test_another_sessions_attempt_is_refused(app, world):
    _candidate, attempt = _start(app, world, "stranger", "stranger_enrolment")
    console = client_as(app, world["operator"])  # operates both sessions
    response = _act(console, world["session"].id, attempt, kind="pause", reason="wrong room")
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    with pytest.raises(services.PracticalError, match="not in this session"), force_locale("en"):
        services.operator_action(world["session"], world["operator"], OperatorActionKind.PAUSE, "wrong room", attempt)
    assert _actions() == [] and not _fresh(attempt).paused_at
    # In its own session the same attempt may be paused.
    assert _act(console, world["other_session"].id, attempt, kind="pause", reason="right room").status_code == 302


def test_the_service_refuses_what_the_form_would_not_send(app, world):
    _candidate, attempt = _start(app, world)
    session = world["session"]
    for operator, kind, reason, minutes, message in (
            (world["colleague"], OperatorActionKind.PAUSE, "fire", None, "Only the session's exam-system operator"),
            (world["operator"], OperatorActionKind.INCIDENT, "  ", None, "Give the reason"),
            (world["operator"], OperatorActionKind.EXTRA_TIME, "late", None, "from 1 to 240"),
            (world["operator"], OperatorActionKind.EXTRA_TIME, "late", 0, "from 1 to 240"),
            (world["operator"], OperatorActionKind.EXTRA_TIME, "late", operator_services.MAX_EXTRA_MINUTES + 1,
             "from 1 to 240")):
        with pytest.raises(services.PracticalError, match=message), force_locale("en"):
            services.operator_action(session, operator, kind, reason, attempt, minutes=minutes)
        db.session.rollback()
    assert _actions() == []
    assert services.operator_action(session, world["operator"], OperatorActionKind.EXTRA_TIME, "late", attempt,
                                    minutes=operator_services.MAX_EXTRA_MINUTES).minutes == 240


# --------------------------------------------------------------------------- who may act


def test_only_the_sessions_operator_acts(app, world):
    candidate, attempt = _start(app, world)
    session_id = world["session"].id
    assert _act(candidate, session_id, attempt, kind="pause", reason="I need a break").status_code == 403
    assert _act(client_as(app, world["rival"]), session_id, attempt, kind="extra_time", minutes=60,
                reason="more time").status_code == 403
    assert _act(client_as(app, world["colleague"]), session_id, attempt, kind="pause", reason="x").status_code == 404
    foreign = client_as(app, world["foreign_operator"])
    assert _act(foreign, session_id, attempt, kind="pause", reason="x").status_code == 404
    # Nor through their own session's console.
    assert _act(foreign, world["foreign_session"].id, attempt, kind="pause", reason="x").status_code == 400
    assert _actions() == [] and not _fresh(attempt).paused_at
    # A candidate's clock is theirs alone.
    assert client_as(app, world["rival"]).get(f"/practical/enrolments/{world['enrolment'].id}/status.json").status_code == 404
    assert client_as(app, world["operator"]).get(
        f"/practical/enrolments/{world['enrolment'].id}/status.json").status_code == 403


# --------------------------------------------------------------------------- the console and the record


def test_the_console_lists_the_practical_exam_with_one_form(app, world):
    console = client_as(app, world["operator"])
    page = console.get(f"/operator/sessions/{world['session'].id}").get_data(as_text=True)
    assert "No candidate has started the practical exam yet." in page
    _client, attempt = _start(app, world)
    page = console.get(f"/operator/sessions/{world['session'].id}").get_data(as_text=True)
    assert f'data-practical-attempt="{attempt.id}"' in page
    assert '<optgroup label="Practical exam">' in page and f'value="p{attempt.id}"' in page
    assert page.count(f'action="/operator/sessions/{world["session"].id}/actions"') == 1  # one form for both parts
    json = console.get(f"/operator/sessions/{world['session'].id}/status.json").get_json()
    [row] = json["practical"]
    assert row["candidate"] == "Zofia Zdająca" and row["status"] == "in_progress" and row["time_left"] > 0
    assert "rows" in json  # the theory rows as before


def test_operator_actions_concern_only_their_candidate(app, world):
    _client, attempt = _start(app, world)
    services.operator_action(world["session"], world["operator"], OperatorActionKind.INCIDENT, "noisy", attempt)
    operator_services.record(world["session"], world["operator"], OperatorActionKind.INCIDENT, "room too warm", None,
                             utcnow())
    db.session.commit()

    def concerning(enrolment):
        return sorted(db.session.scalars(select(OperatorAction.reason).where(
            operator_services.concerning(enrolment.id))))

    assert concerning(world["enrolment"]) == ["noisy", "room too warm"]
    assert concerning(world["rival_enrolment"]) == ["room too warm"]


def test_the_case_page_writes_nothing_and_shows_an_overdue_attempt_as_ended(app, world):
    """Opening a candidate's case (GET) neither ends an overdue practical attempt nor creates the
    assessor's scoresheet: the page shows the attempt as ended by the deadline; the candidate's
    next request (or the scheduler) ends it, and the sheet is made with the first scores saved."""
    from sqlalchemy import event

    from examportal.models import PracticalStatus, Scoresheet

    _client, attempt = _start(app, world)
    attempt.started_at, attempt.deadline_at = utcnow() - timedelta(hours=2), utcnow() - timedelta(minutes=1)
    db.session.commit()
    writes: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement)

    assessor = client_as(app, world["assessor"])
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = assessor.get(f"/committee/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert "ended by the deadline" in page and "in progress until" not in page
    assert not [w for w in writes if "audit_entry" not in w], writes
    assert _fresh(attempt).status == PracticalStatus.IN_PROGRESS
    assert db.session.query(Scoresheet).count() == 0


def test_the_practical_console_reads_the_candidates_in_one_query(app, world):
    """The console's practical rows (polled every 5 s) ask the database as often for many
    candidates as for few: the candidates' names come in one query, not one per row."""
    session_id = world["session"].id

    def polled() -> int:
        db.session.expunge_all()
        with statements() as seen:
            rows = services.console_rows(db.session.get(ValidationSession, session_id))
        assert rows and all(row["status"] == "in_progress" for row in rows)
        return len(seen)

    make_practical_attempt(world["enrolment"], finished=False)
    few = polled()
    session = db.session.get(ValidationSession, session_id)
    for n in range(5):
        make_practical_attempt(enrol(session, make_user(Role.CANDIDATE, last_name=f"Kandydat {n}")), finished=False)
    assert polled() == few
