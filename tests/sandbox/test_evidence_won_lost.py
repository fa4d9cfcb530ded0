"""2.4.f (opportunities marked won or lost) judged against the exam scenarios' keys.

The sheet names which opportunity is won and which is lost: the candidate's work counts only on
those records and only the right way round; a correction (reopened and closed again) is fine.
"""
from __future__ import annotations

import pytest
from exam_scenarios import exam_codes, key_of, scenario
from flask import session as flask_session
from flask_babel import force_locale
from sqlalchemy import select

from sandbox_crm.api import create_workspace, key_target_problems
from sandbox_crm.evidence import CHECKS, EMPTY_KEY, CheckResult, Verdict
from sandbox_crm.models.sales import Opportunity
from sandbox_crm.services import opportunities as opportunity_service

CANDIDATE = "user:9"
EXAM_CODES = exam_codes()


@pytest.fixture
def as_candidate(sandbox_app):
    with sandbox_app.test_request_context():
        flask_session["actor"] = CANDIDATE
        yield


def workspace(code: str, sandbox_session):
    ws = create_workspace(code, CANDIDATE, seed=scenario(code).seed, purpose="exam", scenario_code=code)
    sandbox_session.flush()
    return ws


def opportunity(ws, name: str) -> Opportunity:
    found = [o for o in ws_opportunities(ws) if " ".join(o.name.split()).casefold() == " ".join(name.split()).casefold()]
    assert found, f"{name} is not in the workspace"
    return found[0]


def ws_opportunities(ws) -> list[Opportunity]:
    from sandbox_crm.host import session

    return list(session().scalars(select(Opportunity).where(Opportunity.workspace_id == ws.id)))


def close(ws, name: str, won: bool) -> None:
    opportunity_service.close_opportunity(ws, opportunity(ws, name), won, "Decyzja klienta po rozmowie")


def judge(ws, code: str = "hurtownia-czesci") -> CheckResult:
    result = CHECKS["2.4.f"](ws, key_of(code))
    with force_locale("en"):
        assert str(result.summary).endswith(".")
    return result


@pytest.mark.parametrize("code", EXAM_CODES)
def test_the_sheets_won_and_lost_opportunities_closed_the_right_way_are_met(as_candidate, sandbox_session, code):
    ws = workspace(code, sandbox_session)
    key = key_of(code)
    assert key.values("won") and key.values("lost"), f"{code}: the key names the won and lost opportunities"
    for names, won in ((key.values("won"), True), (key.values("lost"), False)):
        for name in (n for group in names for n in group):
            close(ws, name, won)
    assert judge(ws, code).verdict == Verdict.MET


def test_closed_the_wrong_way_round_is_not_met(as_candidate, sandbox_session):
    ws = workspace("hurtownia-czesci", sandbox_session)
    close(ws, "Przekładnie — Cementownia Rudniki", won=False)
    close(ws, "Paski klinowe — Tartak Jeleśnia", won=True)
    result = judge(ws)
    assert result.verdict == Verdict.NOT_MET
    with force_locale("en"):
        assert "the other way" in str(result.summary)


def test_one_of_two_closed_is_cant_tell_and_an_unrelated_one_is_not_met(as_candidate, sandbox_session):
    ws = workspace("hurtownia-czesci", sandbox_session)
    close(ws, "Łożyska — Zakłady Mięsne Bieruń", won=True)  # a token close of a record the sheet does not name
    assert judge(ws).verdict == Verdict.NOT_MET
    close(ws, "Przekładnie — Cementownia Rudniki", won=True)
    result = judge(ws)
    assert result.verdict == Verdict.CANT_TELL
    with force_locale("en"):
        assert "Tartak" in str(result.summary)


def test_a_mistake_reopened_and_closed_the_right_way_is_met(as_candidate, sandbox_session):
    ws = workspace("hurtownia-czesci", sandbox_session)
    close(ws, "Paski klinowe — Tartak Jeleśnia", won=True)
    opportunity_service.reopen_opportunity(ws, opportunity(ws, "Paski klinowe — Tartak Jeleśnia"))
    close(ws, "Paski klinowe — Tartak Jeleśnia", won=False)
    close(ws, "Przekładnie — Cementownia Rudniki", won=True)
    assert judge(ws).verdict == Verdict.MET


def test_work_logged_as_the_system_is_not_the_candidates(sandbox_app, sandbox_session):
    with sandbox_app.test_request_context():  # nobody signed in: the services log as "system"
        ws = workspace("hurtownia-czesci", sandbox_session)
        close(ws, "Przekładnie — Cementownia Rudniki", won=True)
        close(ws, "Paski klinowe — Tartak Jeleśnia", won=False)
        assert judge(ws).verdict == Verdict.NOT_MET


def test_without_a_key_any_close_with_a_reason_is_met(as_candidate, sandbox_session):
    ws = workspace("hurtownia-czesci", sandbox_session)
    close(ws, "Łożyska — Zakłady Mięsne Bieruń", won=True)
    assert CHECKS["2.4.f"](ws, EMPTY_KEY).verdict == Verdict.MET


@pytest.mark.parametrize("targets", [{"won": "Przekładnie"}, {"won": []}, {"lost": [""]}, {"wonn": ["x"]}])
def test_a_malformed_won_or_lost_target_is_refused(targets):
    assert key_target_problems(targets)
