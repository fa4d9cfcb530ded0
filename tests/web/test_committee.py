"""Blind scoring, conflicts of interest, results, the decision with its justification, the protocol."""
from io import BytesIO

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select

from examportal.committee import services
from examportal.extensions import db
from examportal.models import (
    AuditEntry,
    CriterionResult,
    CriterionScore,
    OutboxMail,
    PracticalAttempt,
    PracticalStatus,
    Role,
    Scoresheet,
    TheoryAttempt,
    ValidationDecision,
)
from tests.factories import (
    add_member,
    enrol,
    make_institution,
    make_practical_attempt,
    make_session,
    make_theory_result,
    make_user,
    record_training,
)


@pytest.fixture
def world(app, qualification):
    vcc = make_institution("Fundacja VCC", qualifications=[qualification])
    session = make_session(vcc, qualification, title="Sesja CRM — komisja")
    chair = make_user((Role.ASSESSOR, vcc), first_name="Edward", last_name="Przewodniczący")
    member = make_user((Role.ASSESSOR, vcc), first_name="Felicja", last_name="Członkini")
    chair_m = add_member(session, chair, declared=True)
    chair_m.is_chair = True
    add_member(session, member, declared=True)
    candidate = make_user(Role.CANDIDATE, first_name="Zofia", last_name="Żółkiewska-Gęślak")
    enrolment = enrol(session, candidate)
    make_theory_result(enrolment, qualification)
    make_practical_attempt(enrolment)
    db.session.commit()
    return {"vcc": vcc, "session": session, "chair": chair, "member": member, "candidate": candidate,
            "enrolment": enrolment, "qualification": qualification}


def _scored(enrolment):
    return services.scored_criteria(enrolment)


def _sheet_data(enrolment, not_met=(), submit=True):
    data = {}
    for c in _scored(enrolment):
        if c.interview_follow_up:
            data[f"c-{c.id}-met"] = ""
            continue
        data[f"c-{c.id}-met"] = "not_met" if c.code in not_met else "met"
        data[f"c-{c.id}-comment"] = f"Brak dowodu dla {c.code}" if c.code in not_met else ""
        if c.method == "interview":
            data[f"c-{c.id}-notes"] = f"Odpowiedź kandydata na pytania do {c.code}."
    data["submit" if submit else "save"] = "1"
    return data


def _results_data(enrolment, not_met=(), notes=None):
    """The chair's results form: a verdict on every simulation and interview criterion (the test
    criteria follow the theory result and are not in the form)."""
    data = {f"r-{c.id}-met": "not_met" if c.code in not_met else "met" for c in services.committee_criteria(enrolment)}
    for code, note in (notes or {}).items():
        data[f"r-{_criterion(enrolment, code).id}-comment"] = note
    return {**data, "record": "1"}


def _criterion(enrolment, code):
    return next(c for c in services.all_criteria(enrolment) if c.code == code)


def test_assessor_scores_blind_until_they_submit(world, client, login):
    e = world["enrolment"]
    login(world["chair"])
    assert client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e, not_met=("2.1.c",))).status_code == 302
    client.post("/auth/logout")

    login(world["member"])
    page = client.get(f"/committee/enrolments/{e.id}").get_data(as_text=True)
    assert "Brak dowodu dla 2.1.c" not in page  # the chair's comment stays hidden
    # The consolidation is closed until the member submits.
    assert client.get(f"/committee/enrolments/{e.id}/consolidation").status_code == 302
    # A draft does not open it either.
    client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e, submit=False))
    assert client.get(f"/committee/enrolments/{e.id}/consolidation").status_code == 302
    client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e))
    consolidation = client.get(f"/committee/enrolments/{e.id}/consolidation")
    assert consolidation.status_code == 200
    body = consolidation.get_data(as_text=True)
    assert "Brak dowodu dla 2.1.c" in body
    assert 'class="differs"' in body  # 2.1.c: the chair said not met, the member met
    # The interview follow-ups nobody examined are no difference to settle: only 2.1.c differs.
    assert body.count('class="differs"') == 1
    follow_ups = [c for c in _scored(e) if c.interview_follow_up]
    assert follow_ups and body.count('class="muted unexamined"') == len(follow_ups)


def test_submitted_scores_cannot_change(world, client, login):
    e = world["enrolment"]
    login(world["chair"])
    client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e))
    response = client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e, not_met=("2.4.a",)))
    assert response.status_code == 400
    sheet = db.session.scalar(select(Scoresheet).where(Scoresheet.enrolment_id == e.id))
    assert all(s.met is not False for s in sheet.scores)


def test_submit_needs_every_verdict_and_a_comment_for_not_met(world, client, login):
    e = world["enrolment"]
    login(world["chair"])
    data = _sheet_data(e)
    first = next(c for c in _scored(e) if not c.interview_follow_up)
    data[f"c-{first.id}-met"] = ""
    response = client.post(f"/committee/enrolments/{e.id}/scores", data=data)
    assert response.status_code == 400 and first.code in response.get_data(as_text=True)
    data = _sheet_data(e, not_met=("2.2.a",))
    data[f"c-{next(c for c in _scored(e) if c.code == '2.2.a').id}-comment"] = ""
    response = client.post(f"/committee/enrolments/{e.id}/scores", data=data)
    assert response.status_code == 400
    sheet = db.session.scalar(select(Scoresheet).where(Scoresheet.enrolment_id == e.id))
    assert sheet is None or sheet.submitted_at is None


def test_forged_verdict_value_is_refused_without_500(world, client, login):
    e = world["enrolment"]
    login(world["chair"])
    data = _sheet_data(e)
    data[f"c-{_scored(e)[0].id}-met"] = "maybe<script>"
    response = client.post(f"/committee/enrolments/{e.id}/scores", data=data)
    assert response.status_code == 400
    assert "<script>" not in response.get_data(as_text=True).split("</header>")[1].replace("&lt;script&gt;", "")


def test_assessor_who_trained_the_candidate_cannot_score(world, client, login):
    e = world["enrolment"]
    record_training(world["member"], world["candidate"], world["vcc"])
    login(world["member"])
    page = client.get(f"/committee/enrolments/{e.id}")
    assert page.status_code == 200 and "scoresheet" not in page.get_data(as_text=True)
    assert client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e)).status_code == 400
    assert db.session.scalar(select(Scoresheet)) is None


def test_assessor_without_declaration_cannot_score(world, client, login):
    e = world["enrolment"]
    for m in world["session"].committee:
        if m.assessor_id == world["member"].id:
            m.declared_at = None
    db.session.commit()
    login(world["member"])
    assert client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e)).status_code == 400
    assert db.session.scalar(select(Scoresheet)) is None


def test_outsiders_get_404(world, client, login):
    e = world["enrolment"]
    stranger = make_user((Role.ASSESSOR, world["vcc"]))
    login(stranger)
    for url in (f"/committee/enrolments/{e.id}", f"/committee/enrolments/{e.id}/consolidation"):
        assert client.get(url).status_code == 404
    assert client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e)).status_code == 404
    assert client.get(f"/committee/result/{e.id}").status_code == 404


def _both_submit(world, client, login, not_met=()):
    e = world["enrolment"]
    for who in ("chair", "member"):
        login(world[who])
        assert client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e, not_met)).status_code == 302
        client.post("/auth/logout")


def _approve(world, client, login, who="member"):
    """A member approves the proposed decision (it becomes final when everyone has)."""
    e = world["enrolment"]
    client.post("/auth/logout")
    login(world[who])
    response = client.post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"})
    assert response.status_code == 302, response.get_data(as_text=True)
    client.post("/auth/logout")


def test_only_the_chair_records_results_and_only_after_everyone_submitted(world, client, login):
    e = world["enrolment"]
    login(world["chair"])
    client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e))
    assert client.post(f"/committee/enrolments/{e.id}/results", data=_results_data(e)).status_code == 400
    client.post("/auth/logout")
    login(world["member"])
    client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e))
    assert client.post(f"/committee/enrolments/{e.id}/results", data=_results_data(e)).status_code == 400
    assert db.session.scalar(select(CriterionResult)) is None


def test_negative_decision_needs_a_justification_naming_unmet_criteria(world, client, login):
    e = world["enrolment"]
    _both_submit(world, client, login, not_met=("2.1.c", "2.4.f"))
    login(world["chair"])
    assert client.post(f"/committee/enrolments/{e.id}/results", data=_results_data(e, ("2.1.c", "2.4.f"))).status_code == 302
    # A positive decision is impossible with unmet criteria.
    assert client.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"}).status_code == 400
    # No justification.
    response = client.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "negative", "justification": ""})
    assert response.status_code == 400
    # A justification that names only one of the two unmet criteria; the typed text is kept.
    partial = "Kandydat nie wprowadził etapów sprzedaży (2.1.c) do systemu CRM."
    response = client.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "negative", "justification": partial})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "2.4.f" in body and partial in body
    assert db.session.scalar(select(ValidationDecision)) is None
    full = partial + " Nie oznaczył szans sprzedaży jako wygranych lub straconych (2.4.f)."
    assert client.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "negative", "justification": full}).status_code == 302
    # Proposed, not final: nobody tells the candidate anything yet.
    assert db.session.scalar(select(ValidationDecision)) is None
    assert db.session.scalar(select(OutboxMail).where(OutboxMail.recipient == world["candidate"].email)) is None
    _approve(world, client, login)
    decision = db.session.scalar(select(ValidationDecision))
    assert decision.positive is False and decision.justification == full
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.recipient == world["candidate"].email))
    assert "2.4.f" in mail.body
    client.post("/auth/logout")
    login(world["candidate"])
    page = client.get(f"/committee/result/{e.id}").get_data(as_text=True)
    assert full in page and "14" in page


def test_positive_decision_protocol_pdf(world, client, login):
    e = world["enrolment"]
    _both_submit(world, client, login)
    login(world["chair"])
    client.post(f"/committee/enrolments/{e.id}/results", data=_results_data(e))
    assert client.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"}).status_code == 302
    _approve(world, client, login)
    login(world["chair"])
    decision = db.session.scalar(select(ValidationDecision))
    pdf = client.get(f"/committee/enrolments/{e.id}/protocol.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data == decision.protocol_pdf
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf.data)).pages)
    flat = " ".join(text.split())
    assert "Protokół walidacji" in flat
    assert "Zofia Żółkiewska-Gęślak" in flat  # Polish diacritics intact
    assert "POZYTYWNA" in flat
    assert "Edward Przewodniczący" in flat and "Felicja Członkini" in flat
    for code in ("1.1.a", "1.2.b", "2.5.f", "1.3.c"):
        assert code in flat
    assert "spełnione" in flat and "niespełnione" not in flat
    assert "potwierdzane łącznie przez zaliczenie części teoretycznej" in flat
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "committee.decision"))
    assert entry.after["protocol_sha256"] == decision.protocol_sha256
    # The decision cannot be taken twice.
    assert client.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"}).status_code == 400
    # The candidate and the institution's staff may read the protocol; another candidate may not.
    client.post("/auth/logout")
    login(world["candidate"])
    assert client.get(f"/committee/enrolments/{e.id}/protocol.pdf").status_code == 200
    client.post("/auth/logout")
    login(make_user(Role.CANDIDATE))
    assert client.get(f"/committee/enrolments/{e.id}/protocol.pdf").status_code == 404
    client.post("/auth/logout")
    login(make_user((Role.STAFF, world["vcc"])))
    assert client.get(f"/committee/enrolments/{e.id}/protocol.pdf").status_code == 200


def test_case_page_shows_the_candidates_interview_variant_and_the_rubric(world, client, login):
    e = world["enrolment"]
    sets = services.interview_sets(e)
    login(world["chair"])
    page = client.get(f"/committee/enrolments/{e.id}").get_data(as_text=True)
    for code in ("1.3.c", "2.3.e"):
        variant, rubric = sets[code]["variant"], sets[code]["rubric"]
        assert f'data-variant="{variant.id}"' in page
        assert variant.questions[0].text["pl"] in page
        assert rubric.look_for[0]["pl"] in page and rubric.not_met[0]["pl"] in page


def test_candidates_of_one_session_get_different_interview_variants(world, client, login):
    others = [enrol(world["session"], make_user(Role.CANDIDATE)) for _ in range(2)]
    variants = {services.interview_sets(e)["1.3.c"]["variant"].id for e in [world["enrolment"], *others]}
    assert len(variants) == 3


def test_nul_byte_in_a_comment_is_refused_without_500(world, client, login):
    e = world["enrolment"]
    login(world["chair"])
    data = _sheet_data(e, submit=False)
    data[f"c-{_scored(e)[0].id}-comment"] = "zły\x00znak"
    assert client.post(f"/committee/enrolments/{e.id}/scores", data=data).status_code == 400


# --------------------------------------------------------------------------- a decision no single person can bend


@pytest.fixture
def one_member_world(app, qualification):
    """The probe: a session whose committee has one member, the chair, and a candidate who failed
    the theory test and never started the practical part."""
    vcc = make_institution("Fundacja VCC", qualifications=[qualification])
    session = make_session(vcc, qualification)
    chair = make_user((Role.ASSESSOR, vcc))
    add_member(session, chair, declared=True).is_chair = True
    candidate = make_user(Role.CANDIDATE)
    enrolment = enrol(session, candidate)
    make_theory_result(enrolment, qualification, passed=False, failed_criteria=("1.1.a", "1.3.b"))
    db.session.commit()
    return {"session": session, "chair": chair, "enrolment": enrolment}


def test_a_one_member_committee_can_neither_score_nor_record_nor_decide(one_member_world, client, login):
    client.post("/lang/en")  # assert on the English messages
    e, chair = one_member_world["enrolment"], one_member_world["chair"]
    login(chair)
    response = client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e))
    assert response.status_code == 400
    assert "at least 2 members" in response.get_data(as_text=True)
    assert db.session.scalar(select(CriterionScore)) is None  # nothing scored, nothing submitted
    assert db.session.scalar(select(Scoresheet).where(Scoresheet.submitted_at.is_not(None))) is None
    member = services.member_of(e, chair)
    assert services.quorum_refusal(e) is not None and not services.may_record(member, e)
    every_met = {c.id: (True, "") for c in services.all_criteria(e)}
    with force_locale("en"), pytest.raises(services.CommitteeRuleError, match="at least 2 members"):
        services.record_results(member, e, every_met)
    with force_locale("en"), pytest.raises(services.CommitteeRuleError, match="at least 2 members"):
        services.propose(member, e, True, None)
    assert db.session.scalar(select(CriterionResult)) is None
    assert db.session.scalar(select(ValidationDecision)) is None


def test_members_without_a_declaration_do_not_count_towards_the_quorum(world, client, login):
    client.post("/lang/en")  # assert on the English messages
    e = world["enrolment"]
    for m in world["session"].committee:
        if m.assessor_id == world["member"].id:
            m.declared_at = None
    db.session.commit()
    login(world["chair"])  # the chair has declared, but is alone
    response = client.post(f"/committee/enrolments/{e.id}/scores", data=_sheet_data(e))
    assert response.status_code == 400 and "at least 2 of its members have signed" in response.get_data(as_text=True)
    assert "at least 2 of its members have signed" in client.get(f"/committee/enrolments/{e.id}").get_data(as_text=True)


def test_the_chair_cannot_change_a_test_criterion(world, client, login, qualification):
    client.post("/lang/en")  # assert on the English messages
    e = world["enrolment"]
    failed = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == e.id))
    failed.passed, failed.score_percent = False, 40.0
    db.session.commit()
    _both_submit(world, client, login)
    login(world["chair"])
    forged = _results_data(e)
    forged[f"r-{_criterion(e, '1.1.a').id}-met"] = "met"  # override the failed test criterion
    response = client.post(f"/committee/enrolments/{e.id}/results", data=forged)
    assert response.status_code == 400
    assert "cannot be changed by the committee" in response.get_data(as_text=True)
    assert db.session.scalar(select(CriterionResult)) is None
    # Without the forgery the results are recorded, and the test criteria follow the theory result.
    assert client.post(f"/committee/enrolments/{e.id}/results", data=_results_data(e)).status_code == 302
    recorded = services.results(e)
    tests = [c.code for c in services.all_criteria(e) if c.method == "test"]
    assert all(recorded[code].met is False for code in tests)  # confirmed (or not) together by the test
    assert recorded["2.4.a"].met is True
    assert services.summary(e).unmet == tests
    assert client.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"}).status_code == 400


def test_an_interview_follow_up_on_a_test_criterion_never_changes_its_result(world, client, login):
    client.post("/lang/en")  # assert on the English messages
    e = world["enrolment"]
    follow_up = next(c for c in services.scored_criteria(e) if c.interview_follow_up)
    for who in ("chair", "member"):
        login(world[who])
        data = _sheet_data(e)
        data[f"c-{follow_up.id}-met"] = "not_met"
        data[f"c-{follow_up.id}-comment"] = "W rozmowie kandydat nie umiał tego wyjaśnić."
        assert client.post(f"/committee/enrolments/{e.id}/scores", data=data).status_code == 302
        client.post("/auth/logout")
    login(world["chair"])
    assert client.post(f"/committee/enrolments/{e.id}/results", data=_results_data(e)).status_code == 302
    assert services.results(e)[follow_up.code].met is True  # the released theory result stands


def test_a_result_against_the_members_scores_needs_a_reason_shown_in_the_protocol(world, client, login):
    client.post("/lang/en")  # assert on the English messages
    e = world["enrolment"]
    _both_submit(world, client, login)  # both members: 2.4.a met
    login(world["chair"])
    response = client.post(f"/committee/enrolments/{e.id}/results", data=_results_data(e, not_met=("2.4.a",)))
    assert response.status_code == 400
    assert "needs the reason in its note: 2.4.a" in response.get_data(as_text=True)
    assert db.session.scalar(select(CriterionResult)) is None
    reason = "Nagranie pokazuje, że szansę utworzył system, nie kandydat."
    data = _results_data(e, not_met=("2.4.a",), notes={"2.4.a": reason})
    assert client.post(f"/committee/enrolments/{e.id}/results", data=data).status_code == 302
    justification = "Kandydat nie utworzył szansy sprzedaży samodzielnie (2.4.a), co potwierdza dziennik działań."
    assert client.post(f"/committee/enrolments/{e.id}/decision",
                       data={"outcome": "negative", "justification": justification}).status_code == 302
    _approve(world, client, login)
    decision = db.session.scalar(select(ValidationDecision))
    text = " ".join("\n".join(page.extract_text() for page in PdfReader(BytesIO(decision.protocol_pdf)).pages).split())
    assert reason in text


def test_the_decision_waits_for_a_finished_practical_part(world, client, login):
    client.post("/lang/en")  # assert on the English messages
    e = world["enrolment"]
    attempt = db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == e.id))
    _both_submit(world, client, login)
    login(world["chair"])
    assert client.post(f"/committee/enrolments/{e.id}/results", data=_results_data(e)).status_code == 302
    attempt.status, attempt.finished_at = PracticalStatus.IN_PROGRESS, None
    db.session.commit()
    response = client.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"})
    assert response.status_code == 400 and "still running" in response.get_data(as_text=True)
    db.session.delete(attempt)
    db.session.commit()
    response = client.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"})
    assert response.status_code == 400 and "has not taken the practical part" in response.get_data(as_text=True)
    assert db.session.scalar(select(ValidationDecision)) is None


def test_the_results_and_decision_wait_for_the_released_theory_result(world, client, login):
    client.post("/lang/en")  # assert on the English messages
    e = world["enrolment"]
    attempt = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == e.id))
    attempt.released_at = None
    db.session.commit()
    _both_submit(world, client, login)
    login(world["chair"])
    response = client.post(f"/committee/enrolments/{e.id}/results", data=_results_data(e))
    assert response.status_code == 400 and "has not been released" in response.get_data(as_text=True)
    member = services.member_of(e, world["chair"])
    with force_locale("en"), pytest.raises(services.CommitteeRuleError, match="has not been released"):
        services.propose(member, e, True, None)


def test_the_decision_needs_interview_notes_from_a_member(world, client, login):
    client.post("/lang/en")  # assert on the English messages
    e = world["enrolment"]
    for who in ("chair", "member"):
        login(world[who])
        data = _sheet_data(e)
        for c in services.scored_criteria(e):
            if c.code == "1.3.c":
                data[f"c-{c.id}-notes"] = ""
        assert client.post(f"/committee/enrolments/{e.id}/scores", data=data).status_code == 302
        client.post("/auth/logout")
    login(world["chair"])
    assert client.post(f"/committee/enrolments/{e.id}/results", data=_results_data(e)).status_code == 302
    response = client.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"})
    assert response.status_code == 400
    assert "No member has written interview notes for: 1.3.c" in response.get_data(as_text=True)
    assert db.session.scalar(select(ValidationDecision)) is None


def test_a_passed_theory_confirms_every_test_criterion_together(world, client, login):
    """Under the compensatory rule a weak sub-score is a diagnostic, not a failed criterion."""
    e = world["enrolment"]
    attempt = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == e.id))
    attempt.criterion_scores = dict(attempt.criterion_scores,
                                    **{"1.3.b": {"points": 1, "max": 4, "percent": 25.0, "passed": False}})
    db.session.commit()
    assert set(services.theory_results(e).values()) == {True}
    e.session.qualification.settings = dict(e.session.qualification.settings, theory=dict(
        e.session.qualification.settings["theory"], decision_rule="per_criterion"))
    db.session.commit()
    assert services.theory_results(e)["1.3.b"] is False and services.theory_results(e)["1.1.a"] is True
