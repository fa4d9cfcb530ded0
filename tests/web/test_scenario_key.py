"""The scenario's key: shown to committee members beside the evidence, never reachable by a candidate.

The candidate walk requests every GET route of the application as the candidate of a running
practical attempt, with the candidate's own objects in the URL (their enrolment, session,
attempt, workspace and the workspace's records), and looks for any of the key's words for
assessors (notes, alternatives) in what comes back.
"""
from __future__ import annotations

import html
import io
import re

import pytest
from flask import url_for
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.routing import BuildError

from examportal.extensions import db
from examportal.models import PracticalAttempt, Role
from examportal.practical import services
from sandbox_crm.models import Base as SandboxBase
from tests.factories import add_member, client_as, enrol, make_institution, make_session, make_theory_result, make_user


@pytest.fixture
def running(app, qualification):
    institution = make_institution("Fundacja VCC", qualifications=[qualification])
    session = make_session(institution, qualification, title="Sesja CRM — klucz")
    candidate = make_user(Role.CANDIDATE, first_name="Zofia", last_name="Kluczowa")
    enrolment = enrol(session, candidate)
    make_theory_result(enrolment, qualification)
    assessor = make_user((Role.ASSESSOR, institution), first_name="Edward", last_name="Oceniający")
    add_member(session, assessor, declared=True)
    client = client_as(app, candidate)
    response = client.post(f"/practical/enrolments/{enrolment.id}/start", data={"confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    attempt = db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == enrolment.id))
    scenario = services.attempt_scenario(attempt)
    return {"client": client, "candidate": candidate, "enrolment": enrolment, "session": session,
            "attempt": attempt, "scenario": scenario, "assessor": assessor}


def _key_phrases(scenario) -> list[str]:
    """The key's words for assessors: what must never reach a candidate."""
    key = scenario.key
    phrases = [key.notes] + [t.notes for t in key.tasks] + [a for t in key.tasks for a in t.alternatives]
    return [p for p in phrases if p]


def _workspace_ids(workspace_id: int) -> dict[str, int]:
    """For every sandbox table, the id of one of the workspace's rows, by URL argument (``company_id``…)."""
    ids: dict[str, int] = {}
    for table in SandboxBase.metadata.sorted_tables:
        if "workspace_id" not in table.c or not table.name.startswith("crm_"):
            continue
        first = db.session.scalar(select(table.c.id).where(table.c.workspace_id == workspace_id).order_by(table.c.id))
        if first is not None:
            name = table.name.removeprefix("crm_")
            ids[f"{name}_id"] = first
            ids.setdefault(f"{name.split('_')[-1]}_id", first)  # offer_template → template_id, saved_report → report_id
    return ids


def _text_of(response) -> str:
    """What a person reads in a response: HTML/JSON/CSV/text unescaped, a PDF's extracted text."""
    if response.mimetype == "application/pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    if response.mimetype.startswith(("text/", "application/json")) or response.mimetype.endswith("+json"):
        return html.unescape(response.get_data(as_text=True))
    return ""


def test_the_committee_sees_the_key_beside_the_evidence(app, running):
    phrases = _key_phrases(running["scenario"])
    assert phrases, "an exam scenario's key has notes for assessors"
    page = client_as(app, running["assessor"]).get(f"/committee/enrolments/{running['enrolment'].id}")
    body = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200
    assert "Scenario key (for the committee only)" in body
    for phrase in phrases:
        assert phrase in body
    # Beside the check of 2.4.f: the won/lost targets of its task.
    row = body[body.index('id="check-2.4.f"'):]
    row = row[:row.index("</tr>")]
    assert "Key, task" in row and "<code>won</code>" in page.get_data(as_text=True)


def test_no_candidate_route_or_api_reveals_the_key(app, running):
    attempt = running["attempt"]
    values = {"ws_id": attempt.workspace_id, "enrolment_id": running["enrolment"].id,
              "session_id": running["session"].id, "attempt_id": attempt.id, "user_id": running["candidate"].id,
              **_workspace_ids(attempt.workspace_id)}
    phrases = [" ".join(p.split()) for p in _key_phrases(running["scenario"])]
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        args = {name: values.get(name, 1) for name in rule.arguments}
        with app.test_request_context():
            try:
                path = url_for(rule.endpoint, **args)
            except (BuildError, ValueError):  # a converter refusing a filler value: nothing to fetch
                continue
        response = running["client"].get(path)
        if response.status_code != 200:
            continue
        seen += 1
        text = " ".join(_text_of(response).split())
        for phrase in phrases:
            assert phrase not in text, f"{rule.endpoint} shows the key: {phrase[:60]}"
        assert not re.search(r"scenario key|klucz scenariusza", text, re.IGNORECASE), rule.endpoint
    assert seen >= 20, "the walk reached the candidate's pages"
