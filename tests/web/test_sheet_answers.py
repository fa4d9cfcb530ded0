"""Answers beside the task sheet: the candidate records what they read in the CRM (saved in the
workspace's action log, refused once the exam ended or while it is paused, the typed text kept),
and the committee sees the values recorded beside the interview on them (2.3.e)."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import PracticalAttempt, Role, utcnow
from examportal.practical import services
from question_bank.scenarios import SCENARIOS_DIR
from sandbox_crm import api as sandbox_api
from sandbox_crm.models.sales import Pipeline
from sandbox_crm.services import opportunities as opp_service
from tests.factories import add_member, client_as, enrol, make_institution, make_session, make_theory_result, make_user

SCENARIO = "hurtownia-czesci"


@pytest.fixture
def world(app, qualification, tmp_path):
    # One exam scenario only, so the candidate's sheet (tasks 8 and 9 ask for answers) is known.
    shutil.copy(SCENARIOS_DIR / f"{SCENARIO}.yaml", tmp_path)
    app.config["PRACTICAL_SCENARIOS_DIR"] = str(tmp_path)
    vcc = make_institution("Fundacja VCC", qualifications=[qualification])
    session = make_session(vcc, qualification, title="Sesja CRM — odpowiedzi")
    candidate = make_user(Role.CANDIDATE, first_name="Zofia", last_name="Żółkiewska")
    rival = make_user(Role.CANDIDATE, first_name="Adam", last_name="Sąsiad")
    enrolment, rival_enrolment = enrol(session, candidate), enrol(session, rival)
    make_theory_result(enrolment, qualification)
    make_theory_result(rival_enrolment, qualification)
    assessor = make_user((Role.ASSESSOR, vcc), first_name="Edward", last_name="Podpisany")
    add_member(session, assessor, declared=True)
    return {"candidate": candidate, "rival": rival, "enrolment": enrolment, "rival_enrolment": rival_enrolment,
            "assessor": assessor}


def _start(app, world):
    client = client_as(app, world["candidate"])
    response = client.post(f"/practical/enrolments/{world['enrolment'].id}/start", data={"confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    attempt = db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == world["enrolment"].id))
    assert attempt.scenario_code == SCENARIO
    return client, attempt


def _url(world, task: int) -> str:
    return f"/practical/enrolments/{world['enrolment'].id}/answers/{task}"


def _answers_logged(attempt) -> list:
    return [s for s in sandbox_api.action_log(attempt.workspace_id) if s.verb == "answer"]


def _true_stage_values(attempt) -> str:
    """What the board shows for the sheet's pipeline now, written as a candidate would (the attempt's
    variant draws its own figures)."""
    pipeline = db.session.scalar(select(Pipeline).where(Pipeline.workspace_id == attempt.workspace_id,
                                                        Pipeline.name == "Sprzedaż standardowa"))
    workspace = sandbox_api.get_workspace(attempt.workspace_id)
    summary = opp_service.pipeline_summary(workspace, pipeline)
    return "; ".join(f"{row.stage.name}: {row.value:.0f} zł" for row in summary.stages)


def test_the_sheet_beside_the_crm_has_answer_fields_and_saving_logs_the_answer(app, world):
    client, attempt = _start(app, world)
    scenario = services.attempt_scenario(attempt)
    prompts = {task.number: task.answer for task in scenario.tasks if task.answer}
    assert set(prompts) == {8, 9}
    page = client.get(f"/sandbox/w/{attempt.workspace_id}/companies").get_data(as_text=True)
    for number, prompt in prompts.items():
        assert prompt.split("„")[0].strip() in page
        assert f'action="{_url(world, number)}"' in page
    back = f"/sandbox/w/{attempt.workspace_id}/companies"
    response = client.post(_url(world, 8), data={"text": "wykonane 1, w toku 1, zaległe 2", "next": back})
    assert response.status_code == 303 and response.headers["Location"].endswith(back)
    [statement] = _answers_logged(attempt)
    assert statement.object_id == "8" and statement.actor_ref == f"user:{world['candidate'].id}"
    assert statement.result == {"text": "wykonane 1, w toku 1, zaległe 2"}
    page = client.get(back).get_data(as_text=True)
    assert "Your answer to task 8 is saved." in page and "wykonane 1, w toku 1, zaległe 2</textarea>" in page
    overview = client.get(f"/practical/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    assert "Your answers beside the task sheet" in overview and "wykonane 1, w toku 1, zaległe 2" in overview


def test_an_empty_or_too_long_answer_is_refused_with_the_text_kept(app, world):
    client, attempt = _start(app, world)
    response = client.post(_url(world, 9), data={"text": "   "})
    assert response.status_code == 400
    assert "Write what you read in the CRM, then save." in response.get_data(as_text=True)
    long_text = "Zapytanie " + "9" * sandbox_api.MAX_ANSWER_LENGTH
    response = client.post(_url(world, 9), data={"text": long_text})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"at most {sandbox_api.MAX_ANSWER_LENGTH} characters" in body and long_text in body
    assert _answers_logged(attempt) == []


def test_a_paused_or_ended_exam_refuses_answers_and_keeps_the_text(app, world):
    client, attempt = _start(app, world)
    attempt.paused_at = utcnow()
    db.session.commit()
    response = client.post(_url(world, 8), data={"text": "wykonane 2 (pauza)"})
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "paused your practical exam" in body and "wykonane 2 (pauza)</textarea>" in body
    attempt.paused_at = None
    db.session.commit()
    assert client.post(f"/practical/enrolments/{world['enrolment'].id}/finish", data={"confirm": "y"}).status_code == 302
    response = client.post(_url(world, 8), data={"text": "wykonane 2 (po końcu)"})
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "answers can no longer be changed" in body and "wykonane 2 (po końcu)</textarea>" in body
    assert _answers_logged(attempt) == []


def test_only_the_attempts_candidate_answers_and_only_where_the_sheet_asks(app, world):
    client, attempt = _start(app, world)
    rival = client_as(app, world["rival"])
    assert rival.post(_url(world, 8), data={"text": "cudza odpowiedź"}).status_code == 404
    assessor = client_as(app, world["assessor"])
    assert assessor.post(_url(world, 8), data={"text": "odpowiedź komisji"}).status_code == 403
    assert client.post(_url(world, 1), data={"text": "zadanie bez pola"}).status_code == 404
    rival_url = f"/practical/enrolments/{world['rival_enrolment'].id}/answers/8"
    assert rival.post(rival_url, data={"text": "jeszcze nie zaczęte"}).status_code == 404
    assert _answers_logged(attempt) == []


def test_a_next_off_the_site_returns_to_the_exam_page(app, world):
    client, _attempt = _start(app, world)
    response = client.post(_url(world, 8), data={"text": "wykonane 1", "next": "//evil.example/"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/practical/enrolments/{world['enrolment'].id}")


def _beside_the_interview(body: str) -> str:
    """The readings block of the case page, checked to stand in 2.3.e's row after its interview questions."""
    row = body.index("<code>2.3.e</code>", body.index('class="table scoresheet"'))
    questions = body.index("Interview questions", row)
    start = body.index('class="readings small"', row)
    assert questions < start < body.index("<code>", row + 10)
    return body[start:body.index("</div>", start)]


def test_the_committee_sees_the_recorded_and_true_values_beside_the_interview(app, world):
    client, attempt = _start(app, world)
    recorded = _true_stage_values(attempt)
    assert client.post(_url(world, 9), data={"text": recorded}).status_code == 303
    assessor = client_as(app, world["assessor"])
    body = assessor.get(f"/committee/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    beside = _beside_the_interview(body)
    assert "Values per stage the candidate recorded in the practical task" in beside
    assert recorded in beside and "answer to task 9" in beside
    assert beside.count('badge ok">agrees') == 3 and "differs" not in beside
    check = body[body.index('id="check-2.3.d"'):body.index("</tr>", body.index('id="check-2.3.d"'))]
    assert '<span class="badge ok">met</span>' in check


def test_the_committee_sees_a_wrong_reading_as_differing(app, world):
    client, _attempt = _start(app, world)
    assert client.post(_url(world, 9), data={"text": "Zapytanie: 1 zł, Oferta wysłana: 2 zł"}).status_code == 303
    assessor = client_as(app, world["assessor"])
    body = assessor.get(f"/committee/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    beside = _beside_the_interview(body)
    assert beside.count("differs") == 2 and "not recorded" in beside  # Negocjacje left out
