"""Exam mode: an exam workspace shows no hint that judges the work against what is assessed (the
SMART checklist, RODO and completeness flags, chart advice, next-step prompts); a practice
workspace keeps them. The goal fields stay in both, under neutral labels in an exam."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from customers_helpers import company, contact
from sales_factories import make_pipeline, stage_named
from sqlalchemy import select

from sandbox_crm.api import create_workspace
from sandbox_crm.coaching import coaching_allowed
from sandbox_crm.models import Workspace
from sandbox_crm.models.sales import Pipeline
from sandbox_crm.services import imports

# A goal that is not SMART: too general, no justification, a deadline in the past (as the form
# sends it, and as the service takes it).
POOR_GOAL = {"goal_specific": "More sales", "goal_metric": "revenue", "goal_target": "150000",
             "goal_deadline": "2020-01-01"}
POOR_GOAL_VALUES = POOR_GOAL | {"goal_target": Decimal("150000"), "goal_deadline": date(2020, 1, 1)}
GOAL_INPUTS = ('name="goal_specific"', 'name="goal_metric"', 'name="goal_target"', 'name="goal_deadline"',
               'name="goal_achievable"', 'name="goal_relevance"')

# What coaching looks like on each page: every marker shows in practice, none in an exam.
COACHING = {
    "/pipelines/": ['<th>SMART</th>', "missing</span>"],
    "/pipelines/{pipeline}": ["SMART check", "smart-missing", "Why realistic", "Stage goal (SMART, optional)"],
    "/pipelines/{pipeline}/edit": ["Specific: what exactly is to be achieved", "Time-bound: deadline",
                                   "Sales goal (SMART)", "smart-hint", "Stages should fit the type of customer"],
    "/pipelines/new": ["Measurable: target value", "Sales goal (SMART)",
                       "Stages should fit the type of customer"],
    "/stages/{stage}/edit": ["Stage goal (SMART)", "Achievable: why it is realistic", "smart-hint"],
    "/contacts": ["no legal basis", "none (to be fixed)", "Incomplete data"],
    "/contacts/{contact}": ["must not be processed until a basis is recorded", "No legal basis of processing",
                            "Data source not recorded"],
    "/companies": ["Incomplete data for"],
    "/companies/{company}": ["Data completeness", "missing:", "badge badge--danger"],
    "/": ["Contacts without a legal basis"],
    "/reports": ["Which presentation?", "Compare values between groups or two periods"],
    "/log": ["Specific: what exactly is to be achieved"],
    "/import/{source}": ["No legal basis of processing: the contact will be flagged."],
}
# Words that name what 2.1.a assesses: no page of an exam workspace carries them.
SMART_WORDS = ("SMART", "Specific:", "Measurable:", "Achievable:", "Relevant:", "Time-bound")


@pytest.fixture
def built(sandbox_app, sandbox_session):
    """A workspace of the given purpose with work that practice would coach on."""

    def _build(purpose: str) -> tuple[Workspace, dict[str, int]]:
        with sandbox_app.test_request_context():
            ws = create_workspace(f"{purpose} workspace", "user:1", purpose=purpose)
            pipeline = make_pipeline(ws, stages=(("Lead", 10, ()), ("Offer", 50, ())), **POOR_GOAL_VALUES)
            stage = stage_named(pipeline, "Offer")
            stage.goal_specific = "Offers"
            firm = company(ws, name="Alfa sp. z o.o.")
            person = contact(ws, company=firm, first_name="Jan", last_name="Kowalski")
            source = imports.save_source(ws, name="leady.csv", kind="csv",
                                         content="Firma;Osoba;E-mail\nBeta S.A.;Ewa Lis;ewa@beta.pl\n")
            sandbox_session.commit()
            return ws, {"pipeline": pipeline.id, "stage": stage.id, "contact": person.id, "company": firm.id,
                        "source": source.id}

    return _build


def _pages(client, ws, ids) -> dict[str, str]:
    pages = {}
    for path in COACHING:
        response = client.get(f"/sandbox/w/{ws.id}" + path.format(**ids))
        assert response.status_code == 200, path
        pages[path] = response.get_data(as_text=True)
    return pages


def test_only_a_practice_workspace_coaches():
    assert coaching_allowed(Workspace(label="p", owner_ref="u", purpose="practice"))
    assert not coaching_allowed(Workspace(label="e", owner_ref="u", purpose="exam"))
    assert not coaching_allowed(Workspace(label="x", owner_ref="u", purpose="retake"))  # unknown: no coaching
    assert not coaching_allowed(None)


def test_practice_pages_coach(built, login_as):
    ws, ids = built("practice")
    pages = _pages(login_as("user:1"), ws, ids)
    for path, markers in COACHING.items():
        for marker in markers:
            assert marker in pages[path], f"practice {path}: {marker!r} missing"


def test_exam_pages_do_not_coach(built, login_as):
    ws, ids = built("exam")
    pages = _pages(login_as("user:1"), ws, ids)
    for path, markers in COACHING.items():
        for marker in markers:
            assert marker not in pages[path], f"exam {path}: {marker!r} shown"
        for word in SMART_WORDS:
            assert word not in pages[path], f"exam {path}: {word!r} shown"
    # The goal fields stay, as plain inputs under neutral labels.
    for path in ("/pipelines/{pipeline}/edit", "/pipelines/new", "/stages/{stage}/edit"):
        for name in GOAL_INPUTS:
            assert name in pages[path], f"exam {path}: {name} missing"
        for label in ("Goal", "Measure", "Target value", "Deadline", "Resources and assumptions",
                      "Business context"):
            assert f">{label}</label>" in pages[path], f"exam {path}: label {label!r}"
    assert "Resources and assumptions" in pages["/pipelines/{pipeline}"]
    assert "Stage goal (optional)" in pages["/pipelines/{pipeline}"]
    # Plain CRM facts stay: the goal's figures, the contact's missing basis as a plain dash.
    assert "2020" in pages["/pipelines/{pipeline}"] and "Jan Kowalski" in pages["/contacts"]


@pytest.mark.parametrize("purpose", ["practice", "exam"])
def test_saving_a_goal_flashes_a_verdict_only_in_practice(purpose, built, login_as, sandbox_session):
    ws, _ids = built(purpose)
    client = login_as("user:1")
    response = client.post(f"/sandbox/w/{ws.id}/pipelines/new", data={
        "name": "Hotels", "currency": "PLN", **POOR_GOAL}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert sandbox_session.scalar(select(Pipeline).where(Pipeline.workspace_id == ws.id,
                                                         Pipeline.name == "Hotels")).goal_target == 150000
    pipeline = sandbox_session.scalar(select(Pipeline).where(Pipeline.workspace_id == ws.id,
                                                             Pipeline.name == "Hotels"))
    stage = client.post(f"/sandbox/w/{ws.id}/pipelines/{pipeline.id}/stages",
                        data={"name": "Lead", "probability": "10", "goal_specific": "x"}, follow_redirects=True)
    stage_page = stage.get_data(as_text=True)
    if purpose == "practice":
        assert "The pipeline goal is not SMART yet" in page and "Now add its stages." in page
        assert "The stage goal is not SMART yet" in stage_page and "Attach the tasks it needs." in stage_page
    else:
        assert "Pipeline Hotels created." in page and "Stage Lead added." in stage_page
        for text in (page, stage_page):
            assert "not SMART" not in text and "Now add its stages" not in text
            assert "Attach the tasks it needs" not in text and "smart-" not in text


@pytest.mark.parametrize("purpose", ["practice", "exam"])
def test_a_refused_goal_form_keeps_the_typed_values_and_hints_only_in_practice(purpose, built, login_as):
    ws, ids = built(purpose)
    response = login_as("user:1").post(f"/sandbox/w/{ws.id}/pipelines/{ids['pipeline']}/edit", data={
        "name": "", "currency": "PLN", "goal_specific": "Sell to hotels", "goal_target": "lots"})
    page = response.get_data(as_text=True)
    assert "Sell to hotels" in page and 'value="lots"' in page and "Enter a name." in page
    assert ("smart-hint" in page) is (purpose == "practice")
    assert ("Specific: what exactly is to be achieved" in page) is (purpose == "practice")


def test_the_exam_import_still_flags_suspect_rows(built, login_as, sandbox_app, sandbox_session):
    """The importer's own checks are CRM behaviour, not coaching: an exam shows them too."""
    ws, _ids = built("exam")
    with sandbox_app.test_request_context():
        source = imports.save_source(ws, name="x.csv", kind="csv",
                                     content="Firma;NIP;E-mail\nGamma sp.j.;1234567890;biuro@@gamma\n")
        sandbox_session.commit()
    page = login_as("user:1").get(f"/sandbox/w/{ws.id}/import/{source.id}").get_data(as_text=True)
    assert "NIP checksum is wrong" in page and "valid e-mail" in page
    assert 'name="decision_1" value="" checked' in page
