"""The practical exam: eligibility, the scenario's workspace, the task sheet beside the CRM, the
deadline and finishing, who may see the workspace, and what the committee's case page shows."""
from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from examportal.extensions import db
from examportal.models import AuditEntry, PracticalAttempt, PracticalStatus, PracticeWorkspace, Role, utcnow
from examportal.practical import services
from question_bank.scenarios import SCENARIOS_DIR
from sandbox_crm import api as sandbox_api
from sandbox_crm.models.workspace import Workspace
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_institution,
    make_session,
    make_theory_result,
    make_user,
    record_training,
)


@pytest.fixture
def world(app, qualification):
    vcc = make_institution("Fundacja VCC", qualifications=[qualification])
    other_institution = make_institution("Inna Instytucja", qualifications=[qualification])
    session = make_session(vcc, qualification, title="Sesja CRM — praktyka")
    candidate = make_user(Role.CANDIDATE, first_name="Zofia", last_name="Żółkiewska")
    rival = make_user(Role.CANDIDATE, first_name="Adam", last_name="Sąsiad")
    enrolment = enrol(session, candidate)
    rival_enrolment = enrol(session, rival)
    make_theory_result(enrolment, qualification)
    make_theory_result(rival_enrolment, qualification)
    signed = make_user((Role.ASSESSOR, vcc), first_name="Edward", last_name="Podpisany")
    unsigned = make_user((Role.ASSESSOR, vcc), first_name="Felicja", last_name="Niepodpisana")
    trainer = make_user((Role.ASSESSOR, vcc), first_name="Gerard", last_name="Trener")
    outsider = make_user((Role.ASSESSOR, vcc), first_name="Hanna", last_name="Spoza")
    add_member(session, signed, declared=True)
    add_member(session, unsigned, declared=False)
    add_member(session, trainer, declared=True)
    record_training(trainer, candidate, vcc)
    staff = make_user((Role.STAFF, vcc), first_name="Irena", last_name="Kadrowa")
    foreign_staff = make_user((Role.STAFF, other_institution), first_name="Jerzy", last_name="Obcy")
    return {"session": session, "candidate": candidate, "rival": rival, "enrolment": enrolment,
            "rival_enrolment": rival_enrolment, "signed": signed, "unsigned": unsigned, "trainer": trainer,
            "outsider": outsider, "staff": staff, "foreign_staff": foreign_staff, "qualification": qualification}


def _start(app, world, user_key="candidate", enrolment_key="enrolment"):
    client = client_as(app, world[user_key])
    response = client.post(f"/practical/enrolments/{world[enrolment_key].id}/start", data={"confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    attempt = db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == world[enrolment_key].id))
    assert response.headers["Location"].endswith(f"/sandbox/w/{attempt.workspace_id}/")
    return client, attempt


def _audit_actions():
    return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def _overdue(attempt):
    attempt.started_at = utcnow() - timedelta(minutes=120)
    attempt.deadline_at = utcnow() - timedelta(minutes=1)
    db.session.commit()


# --------------------------------------------------------------------------- pure rules


def test_assignment_is_deterministic_and_spreads_neighbours():
    codes = ["c", "a", "b"]
    ids = [11, 12, 13, 14]
    picks = [services.assign_scenario(codes, ids, e, session_id=3) for e in ids]
    assert picks == [services.assign_scenario(codes, ids, e, session_id=3) for e in ids]
    assert picks[0] != picks[1] != picks[2] != picks[0]
    assert picks[3] == picks[0]  # round robin


def test_seconds_left_counts_down_to_zero(world):
    now = utcnow()
    attempt = PracticalAttempt(started_at=now, deadline_at=now + timedelta(minutes=90),
                               status=PracticalStatus.IN_PROGRESS)
    assert services.seconds_left(attempt, now) == 90 * 60
    assert services.seconds_left(attempt, now + timedelta(minutes=91)) == 0


# --------------------------------------------------------------------------- eligibility and start


def test_refused_before_the_theory_is_passed(app, world, qualification):
    late = make_user(Role.CANDIDATE)
    enrolment = enrol(world["session"], late)
    client = client_as(app, late)
    page = client.get(f"/practical/enrolments/{enrolment.id}").get_data(as_text=True)
    assert "result has been released and is a pass" in page
    response = client.post(f"/practical/enrolments/{enrolment.id}/start", data={"confirm": "y"})
    assert response.status_code == 409
    assert "result has been released and is a pass" in response.get_data(as_text=True)
    make_theory_result(enrolment, qualification, passed=False)
    assert client.post(f"/practical/enrolments/{enrolment.id}/start", data={"confirm": "y"}).status_code == 409
    assert db.session.scalar(select(PracticalAttempt)) is None


def test_a_passed_theory_opens_the_practical_only_once_released(app, world, qualification):
    """Before the release every candidate is refused alike, so a refusal reveals no result."""
    late = make_user(Role.CANDIDATE)
    enrolment = enrol(world["session"], late)
    attempt = make_theory_result(enrolment, qualification, passed=True, released=False)
    client = client_as(app, late)
    assert client.post(f"/practical/enrolments/{enrolment.id}/start", data={"confirm": "y"}).status_code == 409
    attempt.released_at = attempt.submitted_at
    db.session.commit()
    assert client.post(f"/practical/enrolments/{enrolment.id}/start", data={"confirm": "y"}).status_code == 302


def test_the_theory_is_not_required_when_the_qualification_says_so(app, world, qualification):
    qualification.settings = {**qualification.settings, "theory_required_for_practical": False}
    db.session.commit()
    late = make_user(Role.CANDIDATE)
    enrolment = enrol(world["session"], late)
    client = client_as(app, late)
    assert client.post(f"/practical/enrolments/{enrolment.id}/start", data={"confirm": "y"}).status_code == 302


def test_start_needs_the_confirmation_and_an_own_enrolment(app, world):
    client = client_as(app, world["candidate"])
    response = client.post(f"/practical/enrolments/{world['enrolment'].id}/start", data={})
    assert response.status_code == 400
    assert "Tick the box" in response.get_data(as_text=True)
    assert client.post(f"/practical/enrolments/{world['rival_enrolment'].id}/start", data={"confirm": "y"}).status_code == 404
    assert client.get("/practical/enrolments/999999").status_code == 404
    assert db.session.scalar(select(PracticalAttempt)) is None


def test_start_creates_a_workspace_from_the_assigned_scenario(app, world):
    client, attempt = _start(app, world)
    scenario = services.attempt_scenario(attempt)
    workspace = sandbox_api.get_workspace(attempt.workspace_id)
    assert workspace.purpose == "exam"
    assert workspace.owner_ref == f"user:{world['candidate'].id}"
    assert workspace.scenario_code == scenario.code
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=scenario.time_limit_minutes)
    companies = client.get(f"/sandbox/w/{attempt.workspace_id}/companies").get_data(as_text=True)
    assert scenario.seed["companies"][0]["name"] in companies
    assert "practical.started" in _audit_actions()
    # Starting again (a double click) keeps the same attempt and workspace.
    again = client.post(f"/practical/enrolments/{world['enrolment'].id}/start", data={"confirm": "y"})
    assert again.headers["Location"].endswith(f"/sandbox/w/{attempt.workspace_id}/")
    assert len(db.session.scalars(select(PracticalAttempt)).all()) == 1


def test_neighbours_in_a_session_get_different_scenarios(app, world):
    _client, mine = _start(app, world)
    _client, theirs = _start(app, world, "rival", "rival_enrolment")
    assert mine.scenario_code != theirs.scenario_code
    assert mine.workspace_id != theirs.workspace_id


def test_the_task_sheet_and_countdown_stand_beside_every_sandbox_page(app, world):
    client, attempt = _start(app, world)
    scenario = services.attempt_scenario(attempt)
    for path in ("", "companies", "contacts", "tasks/", "import"):
        page = client.get(f"/sandbox/w/{attempt.workspace_id}/{path}")
        assert page.status_code == 200, path
        body = page.get_data(as_text=True)
        assert 'class="task-sheet"' in body
        assert scenario.tasks[0].text[:60] in body
        assert 'role="timer"' in body and "Time left:" in body
        assert "Finish the practical exam" in body
    overview = client.get(f"/practical/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    assert "Continue in the CRM" in overview


# --------------------------------------------------------------------------- the end


def test_the_deadline_freezes_the_workspace_and_writes_are_refused(app, world):
    client, attempt = _start(app, world)
    _overdue(attempt)
    response = client.post(f"/sandbox/w/{attempt.workspace_id}/companies/new", data={"name": "Spóźniona Sp. z o.o."})
    assert response.status_code == 403
    db.session.refresh(attempt)
    assert attempt.status == PracticalStatus.TIMED_OUT
    assert attempt.finished_at == attempt.deadline_at
    assert sandbox_api.get_workspace(attempt.workspace_id).is_frozen
    assert "practical.timed_out" in _audit_actions()
    page = client.get(f"/sandbox/w/{attempt.workspace_id}/")
    assert page.status_code == 200
    assert "The practical exam has ended" in page.get_data(as_text=True)
    assert "Finish the practical exam" not in page.get_data(as_text=True)


def test_a_read_after_the_deadline_also_ends_the_attempt(app, world):
    client, attempt = _start(app, world)
    _overdue(attempt)
    assert client.get(f"/sandbox/w/{attempt.workspace_id}/companies").status_code == 200
    db.session.refresh(attempt)
    assert attempt.status == PracticalStatus.TIMED_OUT


def test_the_expire_command_ends_overdue_attempts(app, world, runner):
    _client, attempt = _start(app, world)
    _overdue(attempt)
    result = runner.invoke(args=["practical", "expire"])
    assert "ended 1 overdue" in result.output
    assert sandbox_api.get_workspace(attempt.workspace_id).is_frozen


def test_finish_freezes_the_workspace(app, world):
    client, attempt = _start(app, world)
    assert client.post(f"/sandbox/w/{attempt.workspace_id}/companies/new",
                       data={"name": "Nowa Firma Sp. z o.o."}).status_code == 302
    refused = client.post(f"/practical/enrolments/{world['enrolment'].id}/finish", data={})
    assert refused.status_code == 400
    assert not sandbox_api.get_workspace(attempt.workspace_id).is_frozen
    response = client.post(f"/practical/enrolments/{world['enrolment'].id}/finish", data={"confirm": "y"})
    assert response.status_code == 302
    db.session.refresh(attempt)
    assert attempt.status == PracticalStatus.FINISHED and attempt.finished_at is not None
    assert sandbox_api.get_workspace(attempt.workspace_id).is_frozen
    assert client.post(f"/sandbox/w/{attempt.workspace_id}/companies/new",
                       data={"name": "Jeszcze Jedna Sp. z o.o."}).status_code == 403
    assert "practical.finished" in _audit_actions()
    overview = client.get(f"/practical/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    assert "read-only" in overview
    # Finishing twice changes nothing.
    client.post(f"/practical/enrolments/{world['enrolment'].id}/finish", data={"confirm": "y"})
    assert _audit_actions().count("practical.finished") == 1


# --------------------------------------------------------------------------- who sees the workspace


def test_another_candidate_cannot_see_the_workspace(app, world):
    _client, attempt = _start(app, world)
    rival = client_as(app, world["rival"])
    assert rival.get(f"/sandbox/w/{attempt.workspace_id}/").status_code == 404
    assert rival.post(f"/sandbox/w/{attempt.workspace_id}/companies/new", data={"name": "X"}).status_code == 404
    assert client_as(app, None).get(f"/sandbox/w/{attempt.workspace_id}/").status_code == 404


@pytest.mark.parametrize("who, read, write", [
    ("signed", 200, 403),
    ("staff", 200, 403),
    ("unsigned", 404, 404),
    ("trainer", 404, 404),
    ("outsider", 404, 404),
    ("foreign_staff", 404, 404),
])
def test_committee_and_staff_read_only(app, world, who, read, write):
    _client, attempt = _start(app, world)
    client = client_as(app, world[who])
    assert client.get(f"/sandbox/w/{attempt.workspace_id}/companies").status_code == read
    assert client.post(f"/sandbox/w/{attempt.workspace_id}/companies/new",
                       data={"name": "Obca Firma Sp. z o.o."}).status_code == write
    if read == 200:
        page = client.get(f"/sandbox/w/{attempt.workspace_id}/").get_data(as_text=True)
        assert 'class="task-sheet"' in page
        assert "Finish the practical exam" not in page


# --------------------------------------------------------------------------- the committee's case page


def test_the_case_page_shows_checks_replay_and_the_xapi_log(app, world):
    client, attempt = _start(app, world)
    assert client.post(f"/sandbox/w/{attempt.workspace_id}/companies/new",
                       data={"name": "Kandydacka Firma Sp. z o.o.", "nip": "8381679687"}).status_code == 302
    client.post(f"/practical/enrolments/{world['enrolment'].id}/finish", data={"confirm": "y"})
    scenario = services.attempt_scenario(attempt)

    assessor = client_as(app, world["signed"])
    page = assessor.get(f"/committee/enrolments/{world['enrolment'].id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Practical task" in body
    assert scenario.title.en in body or scenario.title.pl in body
    assert f"/sandbox/w/{attempt.workspace_id}/" in body
    assert "Evidence checks" in body and 'id="check-1.2.b"' in body and 'id="check-2.5.f"' in body
    checks = sandbox_api.run_evidence_checks(attempt.workspace_id)
    if checks:
        assert any(label in body for label in ("met", "not met", "can't tell"))
    assert "Replay of the candidate&#39;s actions" in body or "Replay of the candidate's actions" in body
    assert "Kandydacka Firma Sp. z o.o." in body  # the create statement in the replay
    # Verbs and object types by their names, not the log's codes (create, company, freeze).
    assert "<strong>creation</strong> company" in body and "<strong>closing of the workspace</strong>" in body

    download = assessor.get(f"/committee/enrolments/{world['enrolment'].id}/practical/xapi.json")
    assert download.status_code == 200
    assert download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    statements = json.loads(download.get_data(as_text=True))
    verbs = [s["verb"]["display"]["en-US"] for s in statements]
    assert "create" in verbs and "freeze" in verbs
    assert all(s["actor"]["account"]["name"] for s in statements)
    assert "practical.log_exported" in _audit_actions()


def test_the_case_page_before_the_practical_and_refusals(app, world):
    assessor = client_as(app, world["signed"])
    body = assessor.get(f"/committee/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    assert "has not started the practical exam yet" in body
    assert assessor.get(f"/committee/enrolments/{world['enrolment'].id}/practical/xapi.json").status_code == 404
    _start(app, world)
    trainer = client_as(app, world["trainer"])
    assert trainer.get(f"/committee/enrolments/{world['enrolment'].id}/practical/xapi.json").status_code == 404
    assert "Practical task" not in trainer.get(f"/committee/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    outsider = client_as(app, world["outsider"])
    assert outsider.get(f"/committee/enrolments/{world['enrolment'].id}/practical/xapi.json").status_code == 404


# --------------------------------------------------------------------------- practice


def test_practice_opens_a_fresh_workspace_each_time(app, world):
    client = client_as(app, world["candidate"])
    codes = [s.code for s in services.scenarios_for(world["qualification"], "practice")]
    first = client.post(f"/practical/enrolments/{world['enrolment'].id}/practice", data={"scenario": codes[0]})
    second = client.post(f"/practical/enrolments/{world['enrolment'].id}/practice", data={"scenario": codes[0]})
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] != second.headers["Location"]
    practices = db.session.scalars(select(PracticeWorkspace)).all()
    assert len(practices) == 2
    for practice in practices:
        workspace = sandbox_api.get_workspace(practice.workspace_id)
        assert workspace.purpose == "practice" and workspace.owner_ref == f"user:{world['candidate'].id}"
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Practice — not assessed" in page and 'role="timer"' not in page
    assert client.post(f"/sandbox/w/{practices[0].workspace_id}/companies/new",
                       data={"name": "Ćwiczebna Sp. z o.o."}).status_code == 302
    assert client_as(app, world["rival"]).get(first.headers["Location"]).status_code == 404
    assert client_as(app, world["signed"]).get(first.headers["Location"]).status_code == 404
    assert "practical.practice_opened" in _audit_actions()
    overview = client.get(f"/practical/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    assert overview.count("/sandbox/w/") >= 2


@pytest.mark.parametrize("data", [{}, {"scenario": "nie-istnieje"}, {"scenario": "../../etc/passwd"}])
def test_practice_with_a_bad_scenario_is_a_clear_400(app, world, data):
    client = client_as(app, world["candidate"])
    response = client.post(f"/practical/enrolments/{world['enrolment'].id}/practice", data=data)
    assert response.status_code == 400
    assert db.session.scalar(select(PracticeWorkspace)) is None


# --------------------------------------------------------------------------- exam and practice apart


def _codes(world, purpose):
    return {s.code for s in services.scenarios_for(world["qualification"], purpose)}


def test_practice_offers_only_practice_scenarios(app, world):
    exam, practice = _codes(world, "exam"), _codes(world, "practice")
    assert len(exam) >= 3 and practice and not exam & practice
    page = client_as(app, world["candidate"]).get(f"/practical/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    offered = set(re.findall(r'<option[^>]*value="([^"]+)"', page))
    assert offered == practice
    catalogue = services.scenario_catalogue(world["qualification"])
    for code in exam:
        assert catalogue[code].title.en not in page and catalogue[code].title.pl not in page
        assert catalogue[code].tasks[0].text[:60] not in page


@pytest.mark.parametrize("code", ["biuro-rachunkowe", "hurtownia-czesci", "sklep-internetowy"])
def test_a_forged_exam_scenario_for_practice_is_a_clear_400(app, world, code):
    assert code in _codes(world, "exam")
    workspaces_before = db.session.scalar(select(func.count()).select_from(Workspace))
    client = client_as(app, world["candidate"])
    response = client.post(f"/practical/enrolments/{world['enrolment'].id}/practice", data={"scenario": code})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Choose one of the listed practice scenarios." in body
    assert services.scenario_catalogue(world["qualification"])[code].tasks[0].text[:60] not in body
    assert db.session.scalar(select(PracticeWorkspace)) is None
    assert db.session.scalar(select(func.count()).select_from(Workspace)) == workspaces_before
    assert "practical.practice_opened" not in _audit_actions()


def test_the_service_refuses_an_exam_scenario_for_practice(app, world):
    for code in _codes(world, "exam"):
        with pytest.raises(services.PracticalError, match=r"practice scenarios|scenariuszy ćwiczeniowych"):
            services.open_practice(world["candidate"], world["qualification"], code)
    assert db.session.scalar(select(PracticeWorkspace)) is None


def test_the_exam_never_assigns_the_practice_scenario(app, world, qualification):
    exam, practice = _codes(world, "exam"), _codes(world, "practice")
    # More candidates than scenarios of both kinds, so the round robin goes all the way round.
    enrolments = [world["enrolment"], world["rival_enrolment"]]
    for n in range(len(exam) + len(practice)):
        extra = make_user(Role.CANDIDATE, first_name="Kandydat", last_name=f"Nr {n}")
        enrolments.append(enrol(world["session"], extra))
        make_theory_result(enrolments[-1], qualification)
    assigned = set()
    for enrolment in enrolments:
        attempt = services.start(enrolment)
        assigned.add(attempt.scenario_code)
        assert sandbox_api.get_workspace(attempt.workspace_id).scenario_code == attempt.scenario_code
    assert assigned == exam
    assert not assigned & practice


def test_the_exam_does_not_fall_back_to_a_practice_scenario(app, world, tmp_path):
    for code in _codes(world, "practice"):
        shutil.copy(SCENARIOS_DIR / f"{code}.yaml", tmp_path)
    app.config["PRACTICAL_SCENARIOS_DIR"] = str(tmp_path)
    assert _codes(world, "exam") == set()
    client = client_as(app, world["candidate"])
    response = client.post(f"/practical/enrolments/{world['enrolment'].id}/start", data={"confirm": "y"})
    assert response.status_code == 409
    assert "No practical scenario is available" in response.get_data(as_text=True)
    assert db.session.scalar(select(PracticalAttempt)) is None


def test_the_practice_scenario_opens_a_real_workspace_with_its_sheet(app, world):
    client = client_as(app, world["candidate"])
    for code in _codes(world, "practice"):
        scenario = services.scenario_of(world["qualification"], code)
        response = client.post(f"/practical/enrolments/{world['enrolment'].id}/practice", data={"scenario": code})
        assert response.status_code == 302, response.get_data(as_text=True)[:800]
        practice = db.session.scalar(select(PracticeWorkspace).where(PracticeWorkspace.scenario_code == code))
        workspace = sandbox_api.get_workspace(practice.workspace_id)
        assert workspace.purpose == "practice" and workspace.scenario_code == code
        assert sandbox_api.action_log(workspace.id) == []
        dashboard = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Practice — not assessed" in dashboard and 'role="timer"' not in dashboard
        assert scenario.tasks[-1].text[:60] in dashboard
        companies = client.get(f"/sandbox/w/{workspace.id}/companies").get_data(as_text=True)
        for company in scenario.seed["companies"]:
            assert company["name"] in companies
        for path in ("contacts", "products", "tasks/", "import"):
            assert client.get(f"/sandbox/w/{workspace.id}/{path}").status_code == 200, path
        # The candidate can do the work: add the company of task 2.
        assert client.post(f"/sandbox/w/{workspace.id}/companies/new",
                           data={"name": "Meble Nowy Dom Sp. z o.o.", "nip": "7399282186"}).status_code == 302


def test_an_old_practice_workspace_of_an_exam_scenario_shows_no_exam_sheet(app, world):
    """Practice workspaces opened before the scenarios became exam-only keep working, without the sheet."""
    code = sorted(_codes(world, "exam"))[0]
    scenario = services.scenario_of(world["qualification"], code)
    workspace = sandbox_api.create_workspace(label="Stara praktyka", owner_ref=f"user:{world['candidate'].id}",
                                             seed={"companies": [{"name": "Firma Ćwiczebna"}]},
                                             purpose="practice", scenario_code=code)
    db.session.add(PracticeWorkspace(user_id=world["candidate"].id, qualification_id=world["qualification"].id,
                                     scenario_code=code, workspace_id=workspace.id))
    db.session.commit()
    page = client_as(app, world["candidate"]).get(f"/sandbox/w/{workspace.id}/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'class="task-sheet"' not in body
    assert scenario.tasks[0].text[:60] not in body


# --------------------------------------------------------------------------- every scenario seeds


def test_every_scenario_seeds_a_real_workspace(app, world):
    scenarios = services.scenario_catalogue(world["qualification"])
    assert len(scenarios) >= 3
    for scenario in scenarios.values():
        workspace = sandbox_api.create_workspace(label=scenario.title.pl, owner_ref=f"user:{world['candidate'].id}",
                                                 seed=scenario.seed, purpose="practice", scenario_code=scenario.code)
        db.session.commit()
        assert sandbox_api.get_workspace(workspace.id).scenario_code == scenario.code
        assert sandbox_api.action_log(workspace.id) == []  # the starting state is not the candidate's work
        client = client_as(app, world["candidate"])
        companies = client.get(f"/sandbox/w/{workspace.id}/companies").get_data(as_text=True)
        for company in scenario.seed["companies"]:
            assert company["name"].replace('"', "&#34;") in companies or company["name"] in companies
        products = client.get(f"/sandbox/w/{workspace.id}/products").get_data(as_text=True)
        assert scenario.seed["products"][0]["name"] in products
        imports = client.get(f"/sandbox/w/{workspace.id}/import").get_data(as_text=True)
        assert scenario.seed["leads_csv"][0]["name"] in imports
        # The deliberately faulty rows are there for the candidate to catch in the import preview.
        source_ids = sorted({int(n) for n in re.findall(rf"/sandbox/w/{workspace.id}/import/(\d+)", imports)})
        preview = client.get(f"/sandbox/w/{workspace.id}/import/{source_ids[0]}").get_data(as_text=True)
        assert "checksum is wrong" in preview, scenario.code
        assert "Duplicate" in preview, scenario.code
