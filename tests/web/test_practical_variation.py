"""Each exam attempt works on its own variant of the scenario: the workspace, the candidate's sheet,
the committee's sheet and key and the evidence checks all hold the same drawn names and figures;
an attempt without a variant (started before scenarios varied) works on the sheet as written."""
from __future__ import annotations

import html
import re
import shutil

import pytest
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import AuditEntry, PracticalAttempt, Role
from examportal.practical import services
from question_bank.scenarios import SCENARIOS_DIR
from question_bank.variation import whole_word
from sandbox_crm import api as sandbox_api
from sandbox_crm.models.sales import Opportunity
from tests.factories import add_member, client_as, enrol, make_institution, make_session, make_theory_result, make_user

CODE = "hurtownia-czesci"


@pytest.fixture
def world(app, qualification, tmp_path, monkeypatch):
    # One exam scenario only, so every candidate gets it and only the variant tells them apart.
    shutil.copy(SCENARIOS_DIR / f"{CODE}.yaml", tmp_path)
    monkeypatch.setitem(app.config, "PRACTICAL_SCENARIOS_DIR", str(tmp_path))
    institution = make_institution("Fundacja VCC", qualifications=[qualification])
    session = make_session(institution, qualification, title="Sesja CRM — warianty")
    people = {}
    for key, (first, last) in {"anna": ("Anna", "Pierwsza"), "bartek": ("Bartek", "Drugi")}.items():
        candidate = make_user(Role.CANDIDATE, first_name=first, last_name=last)
        enrolment = enrol(session, candidate)
        make_theory_result(enrolment, qualification)
        people[key] = (candidate, enrolment)
    assessor = make_user((Role.ASSESSOR, institution), first_name="Edward", last_name="Oceniający")
    add_member(session, assessor, declared=True)
    scenario = services.scenario_of(qualification, CODE)
    return {"qualification": qualification, "people": people, "assessor": assessor, "scenario": scenario}


def _won_lost(scenario) -> tuple[str, str]:
    targets = next(t["targets"] for t in scenario.key.check_data()["tasks"] if "won" in t["targets"])
    return targets["won"][0], targets["lost"][0]


def _neighbour_seeds(scenario) -> tuple[int, int]:
    """Two seeds whose won and lost opportunities differ from the file as written and from each other."""
    written = set(_won_lost(scenario))
    chosen: list[int] = []
    for seed in range(1, 2000):
        names = set(_won_lost(scenario.varied(seed)))
        if not names & written and all(not names & set(_won_lost(scenario.varied(s))) for s in chosen):
            chosen.append(seed)
            if len(chosen) == 2:
                return chosen[0], chosen[1]
    raise AssertionError("no two such seeds")


def _start(app, world, who, monkeypatch, seed):
    monkeypatch.setattr(services, "draw_variant_seed", lambda: seed)
    candidate, enrolment = world["people"][who]
    client = client_as(app, candidate)
    response = client.post(f"/practical/enrolments/{enrolment.id}/start", data={"confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    attempt = db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == enrolment.id))
    return client, attempt


def _page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return html.unescape(response.get_data(as_text=True))


def _close(client, attempt, name, outcome):
    opportunity = db.session.scalar(select(Opportunity).where(Opportunity.workspace_id == attempt.workspace_id,
                                                              Opportunity.name == name))
    assert opportunity is not None, f"{name} is in the workspace"
    response = client.post(f"/sandbox/w/{attempt.workspace_id}/opportunities/{opportunity.id}/close",
                           data={"outcome": outcome, "reason": "Klient wybrał tańszego dostawcę."})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def _verdict(attempt, key) -> str:
    return sandbox_api.run_evidence_checks(attempt.workspace_id, key=key)["2.4.f"].verdict.value


def test_neighbours_work_on_different_records_and_the_key_follows(app, world, monkeypatch):
    written = world["scenario"]
    seed_a, seed_b = _neighbour_seeds(written)
    client_a, attempt_a = _start(app, world, "anna", monkeypatch, seed_a)
    client_b, attempt_b = _start(app, world, "bartek", monkeypatch, seed_b)
    assert (attempt_a.variant_seed, attempt_b.variant_seed) == (seed_a, seed_b)
    assert attempt_a.scenario_code == attempt_b.scenario_code == CODE
    mine, theirs = services.attempt_scenario(attempt_a), services.attempt_scenario(attempt_b)
    assert (mine.variant, theirs.variant) == (seed_a, seed_b)
    won, lost = _won_lost(mine)

    # The workspace holds the variant's records, not the file's, and not the neighbour's.
    board = _page(client_a, f"/sandbox/w/{attempt_a.workspace_id}/opportunities/")
    assert won in board and lost in board
    for name in (*_won_lost(written), *_won_lost(theirs)):
        assert name not in board
    companies_a = {c["name"] for c in mine.seed["companies"]}
    companies_b = {c["name"] for c in theirs.seed["companies"]}
    assert companies_a != companies_b
    listing = _page(client_a, f"/sandbox/w/{attempt_a.workspace_id}/companies")
    assert all(name in listing for name in companies_a)

    # The candidate's sheet beside the CRM states the same records and figures.
    sheet = _page(client_a, f"/sandbox/w/{attempt_a.workspace_id}/")
    for task in mine.tasks:
        assert " ".join(task.text.split())[:120] in " ".join(sheet.split())
    assert f"„{won}”" in sheet and f"„{lost}”" in sheet
    assert written.tasks[8].text not in sheet
    figure = re.search(r"do (\d+ \d{3}) zł", mine.tasks[5].text).group(1)
    assert f"do {figure} zł" in sheet

    # Closing the variant's opportunities the way its sheet says is met against its key, and the
    # same work judged against the file as written is not (the names are not there).
    _close(client_a, attempt_a, won, "won")
    _close(client_a, attempt_a, lost, "lost")
    assert _verdict(attempt_a, mine.key.check_data()) == "met"
    assert _verdict(attempt_a, written.key.check_data()) != "met"
    # The neighbour's sheet and workspace hold the neighbour's names, never the first candidate's.
    their_sheet = _page(client_b, f"/sandbox/w/{attempt_b.workspace_id}/opportunities/")
    assert all(f"„{name}”" in their_sheet for name in _won_lost(theirs))
    assert won not in their_sheet and lost not in their_sheet

    # The committee reads the same variant: sheet, key and the check judged against it.
    client_a.post(f"/practical/enrolments/{world['people']['anna'][1].id}/finish", data={"confirm": "y"})
    case = _page(client_as(app, world["assessor"]), f"/committee/enrolments/{world['people']['anna'][1].id}")
    assert "Scenario key (for the committee only)" in case
    assert f"„{won}”" in case  # the sheet's task 9
    key = case[case.index("Scenario key (for the committee only)"):]
    assert won in key and lost in key
    for name in _won_lost(written):
        assert not re.search(whole_word(name), case), name
    row = case[case.index('id="check-2.4.f"'):]
    assert 'class="badge ok"' in row[:row.index("</tr>")]


def test_the_draw_is_recorded_and_the_variant_survives_a_new_process(app, world, monkeypatch):
    assert all(1 <= services.draw_variant_seed() <= services.VARIANT_SEED_MAX for _ in range(100))
    seed = services.VARIANT_SEED_MAX  # the largest the 32-bit column holds
    _client, attempt = _start(app, world, "anna", monkeypatch, seed)
    db.session.expire_all()
    assert db.session.get(PracticalAttempt, attempt.id).variant_seed == seed
    started = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "practical.started"))
    assert started.after["variant_seed"] == seed
    # A fresh load of the file (another worker, a restart) rebuilds exactly what the workspace holds.
    services._load_cached.cache_clear()
    again = services.attempt_scenario(attempt)
    names = {o.name for o in db.session.scalars(select(Opportunity).where(Opportunity.workspace_id == attempt.workspace_id))}
    assert names == {o["name"] for o in again.seed["opportunities"]}


def test_the_check_rows_refuse_the_sheet_as_written_for_a_varied_attempt(app, world, monkeypatch):
    seed, _ = _neighbour_seeds(world["scenario"])
    _client, attempt = _start(app, world, "anna", monkeypatch, seed)
    with app.test_request_context():
        with pytest.raises(ValueError, match="attempt_scenario"):
            services.check_rows(attempt, world["scenario"], "en")
        assert services.check_rows(attempt, services.attempt_scenario(attempt), "en")


def test_an_attempt_without_a_variant_works_on_the_sheet_as_written(app, world, monkeypatch):
    """Attempts started before scenarios varied have no variant seed: they keep the file as written."""
    written = world["scenario"]
    client, attempt = _start(app, world, "anna", monkeypatch, None)
    assert attempt.variant_seed is None
    assert services.attempt_scenario(attempt) is written
    won, lost = _won_lost(written)
    sheet = _page(client, f"/sandbox/w/{attempt.workspace_id}/")
    assert f"„{won}”" in sheet and f"„{lost}”" in sheet
    _close(client, attempt, won, "won")
    _close(client, attempt, lost, "lost")
    assert _verdict(attempt, written.key.check_data()) == "met"
    case = _page(client_as(app, world["assessor"]), f"/committee/enrolments/{world['people']['anna'][1].id}")
    assert won in case[case.index("Scenario key (for the committee only)"):]


def test_a_scenario_without_variation_draws_no_variant(app, world, monkeypatch, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    text = (SCENARIOS_DIR / f"{CODE}.yaml").read_text(encoding="utf-8")
    start, end = text.index("\nvariation:"), text.index("\n# The key:")
    (plain / f"{CODE}.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    monkeypatch.setitem(app.config, "PRACTICAL_SCENARIOS_DIR", str(plain))
    _client, attempt = _start(app, world, "anna", monkeypatch, 4242)
    assert attempt.variant_seed is None
    assert not services.attempt_scenario(attempt).variation
