"""The internal evaluation's figures (examportal/reports/evaluation.py) against hand-computed fixtures,
Cohen's kappa and the due-date rule."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from examportal.certification.rules import WARSAW
from examportal.certification.rules import today as warsaw_today
from examportal.extensions import db
from examportal.models import (
    Appeal,
    AppealRemedy,
    AppealStatus,
    AppealSubject,
    AttemptItem,
    Complaint,
    ComplaintStatus,
    CriterionResult,
    CriterionScore,
    EnrolmentStatus,
    OperatorAction,
    OperatorActionKind,
    Role,
    Scoresheet,
    utcnow,
)
from examportal.reports import evaluation
from examportal.reports.evaluation import DueStatus, cohens_kappa, due_status
from sandbox_crm.evidence.base import CheckResult, Verdict
from tests.certtools import validation_decision
from tests.factories import (
    add_member,
    enrol,
    make_institution,
    make_practical_attempt,
    make_session,
    make_theory_result,
    make_user,
)

# --------------------------------------------------------------------------- Cohen's kappa

T, F = True, False


@pytest.mark.parametrize("pairs, expected", [
    # po = 2/3; both raters' "met" shares 2/3 and 1/3: pe = 4/9; (2/3 - 4/9) / (5/9) = 0.4
    ([(T, T), (T, F), (F, F)], 0.4),
    # 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no: po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5, kappa 0.4
    ([(T, T)] * 20 + [(T, F)] * 5 + [(F, T)] * 10 + [(F, F)] * 15, 0.4),
    ([(T, T), (F, F)], 1.0),  # perfect agreement over both categories
    ([(T, F), (F, T)], -1.0),  # always the opposite: po 0, pe 0.5
    ([(T, F), (T, F)], 0.0),  # each rater constant, different categories: po 0, pe 0
    # po = 3/4; shares 3/4 and 1/2: pe = 3/8 + 1/8 = 1/2; (3/4 - 1/2) / (1/2) = 0.5
    ([(T, T), (T, T), (T, F), (F, F)], 0.5),
])
def test_cohens_kappa_hand_computed(pairs, expected):
    assert cohens_kappa(pairs) == pytest.approx(expected)


@pytest.mark.parametrize("pairs", [[], [(T, T)] * 5, [(F, F)] * 3])
def test_cohens_kappa_is_undefined_without_pairs_or_for_perfect_agreement_on_one_category(pairs):
    assert cohens_kappa(pairs) is None


# --------------------------------------------------------------------------- when the next one is due


def test_due_status():
    assert due_status(None, date(2026, 1, 1)) == DueStatus(None, None, "never")
    made = datetime(2023, 5, 10, 10, 0, tzinfo=UTC)
    assert due_status(made, date(2026, 5, 10)) == DueStatus(date(2023, 5, 10), date(2026, 5, 10), "ok")
    assert due_status(made, date(2026, 5, 11)).state == "overdue"
    # Completed late in the evening UTC: already the next day in Warsaw.
    assert due_status(datetime(2023, 5, 9, 23, 30, tzinfo=UTC), date(2026, 5, 10)).last_made == date(2023, 5, 10)
    assert due_status(datetime(2024, 2, 29, 12, tzinfo=UTC), date(2027, 3, 1)) == \
        DueStatus(date(2024, 2, 29), date(2027, 2, 28), "overdue")


def test_period_problem():
    today = date(2026, 6, 1)
    assert evaluation.period_problem(date(2026, 1, 1), date(2026, 6, 1), today) is None
    assert evaluation.period_problem(date(2026, 5, 2), date(2026, 5, 1), today)
    assert evaluation.period_problem(date(2026, 5, 1), date(2026, 6, 2), today)
    assert evaluation.period_problem(None, date(2026, 6, 1), today)


def test_days_and_durations_count_warsaw_calendar_days():
    # 23:30 UTC on 31 March is 1 April in Warsaw (summer time); 00:30 UTC on 3 April is 3 April.
    assert evaluation.days_between(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), datetime(2026, 4, 3, 0, 30, tzinfo=UTC)) == 2
    assert evaluation.duration_summary([3, 10]) == {"count": 2, "median_days": 6.5, "max_days": 10}
    assert evaluation.duration_summary([]) == {"count": 0, "median_days": None, "max_days": None}


# --------------------------------------------------------------------------- the figures


def noon(days_ago: int) -> datetime:
    """Noon (Warsaw) ``days_ago`` days before today."""
    return datetime.combine(warsaw_today() - timedelta(days=days_ago), time(12), WARSAW)


def criterion(qualification, code):
    return next(c for s in qualification.outcome_sets for o in s.outcomes for c in o.criteria if c.code == code)


def results(enrolment, qualification, not_met=(), recorded_by=None):
    for c in evaluation.ordered_criteria(qualification):
        db.session.add(CriterionResult(enrolment_id=enrolment.id, criterion_id=c.id, met=c.code not in not_met,
                                       recorded_by_id=recorded_by.id, recorded_at=utcnow()))
    db.session.commit()


def scores(enrolment, member, verdicts: dict):
    sheet = Scoresheet(enrolment_id=enrolment.id, member_id=member.id, submitted_at=utcnow())
    db.session.add(sheet)
    db.session.flush()
    for c, met in verdicts.items():
        db.session.add(CriterionScore(scoresheet_id=sheet.id, criterion_id=c.id, met=met))
    db.session.commit()


def answer(attempt, position, item_id, points, response, kind="single_choice"):
    item = ({"type": "single_choice", "options": [{"id": o} for o in "abcd"], "key": ["b"]} if kind == "single_choice"
            else {"type": "true_false", "key": True})
    db.session.add(AttemptItem(attempt_id=attempt.id, position=position, item_id=item_id, item_version=1,
                               fingerprint="0" * 64, snapshot={"item": item}, response=response, points=points))
    db.session.commit()


def appeal(enrolment, institution, filed: datetime, decided: datetime | None, status=AppealStatus.DISMISSED,
           remedy=AppealRemedy.NONE):
    row = Appeal(institution_id=institution.id, appellant_id=enrolment.candidate_id, subject=AppealSubject.VALIDATION,
                 subject_id=1, enrolment_id=enrolment.id, grounds="Podstawa odwołania.", sent_on=filed.date(),
                 window_ends_on=filed.date() + timedelta(days=14), filed_at=filed, decide_by=filed.date() + timedelta(days=30),
                 status=status, decided_at=decided, remedy=remedy,
                 justification="Uzasadnienie panelu." if decided else None)
    db.session.add(row)
    db.session.commit()
    return row


def complaint(institution, filed: datetime, closed: datetime | None):
    row = Complaint(institution_id=institution.id, name="Zofia Skarżąca", email="zofia@example.pl", text="Skarga.",
                    filed_at=filed, status=ComplaintStatus.CLOSED if closed else ComplaintStatus.FILED,
                    closed_at=closed, outcome="Wyjaśniono." if closed else None)
    db.session.add(row)
    db.session.commit()
    return row


def incident(session, operator, at, kind=OperatorActionKind.INCIDENT, practical=None):
    db.session.add(OperatorAction(session_id=session.id, kind=kind, reason="Zdarzenie w sali.", operator_id=operator.id,
                                  at=at, practical_attempt_id=practical.id if practical else None))
    db.session.commit()


@pytest.fixture
def world(app, qualification):
    """A certifying institution with a validating one. In the period (the last 30 days): a session
    at the validating institution with four enrolled candidates and one withdrawn. Outside it: a
    session a year ago, and a session of another institution."""
    ic = make_institution("Fundacja Ewaluacji", qualifications=[qualification], short_name="FE")
    child = make_institution("Ośrodek Ewaluacji", parent=ic, short_name="FE-O")
    other = make_institution("Obca Fundacja", qualifications=[qualification], short_name="OF")
    operator = make_user((Role.OPERATOR, child))
    chair, member = make_user((Role.ASSESSOR, ic)), make_user((Role.ASSESSOR, ic))
    session = make_session(child, qualification, title="SESJA-W-OKRESIE", starts_at=noon(10), operator_id=operator.id)
    m1, m2 = add_member(session, chair, declared=True), add_member(session, member, declared=True)
    candidates = [enrol(session, make_user(Role.CANDIDATE)) for _ in range(5)]
    candidates[4].status = EnrolmentStatus.WITHDRAWN
    db.session.commit()
    old = make_session(ic, qualification, title="SESJA-DAWNA", starts_at=noon(400))
    old_enrolment = enrol(old, make_user(Role.CANDIDATE))
    foreign = make_session(other, qualification, title="SESJA-OBCA", starts_at=noon(5))
    foreign_enrolment = enrol(foreign, make_user(Role.CANDIDATE))
    return {"ic": ic, "child": child, "other": other, "session": session, "old": old, "foreign": foreign,
            "operator": operator, "chair": chair, "m1": m1, "m2": m2, "c": candidates,
            "old_enrolment": old_enrolment, "foreign_enrolment": foreign_enrolment}


def figures_of(world, qualification, **kwargs):
    today = warsaw_today()
    return evaluation.compute_figures(world["ic"], qualification, today - timedelta(days=30), today,
                                      reliability_forms=2, reliability_trials=200, **kwargs)


def test_scope_counts_and_pass_rates(app, qualification, world):
    c1, c2, c3, c4, _c5 = world["c"]
    make_theory_result(c1, qualification, passed=True)
    make_theory_result(c2, qualification, passed=True)
    make_theory_result(c3, qualification, passed=False)
    make_practical_attempt(c1)
    make_practical_attempt(c2)
    make_practical_attempt(c4, finished=False)  # still running: not "sat"
    simulation = [c.code for c in evaluation.ordered_criteria(qualification) if c.method == "simulation"]
    interview = [c.code for c in evaluation.ordered_criteria(qualification) if c.method == "interview"]
    results(c1, qualification, recorded_by=world["chair"])
    results(c2, qualification, not_met=(simulation[0],), recorded_by=world["chair"])
    results(c3, qualification, not_met=(*simulation, interview[0]), recorded_by=world["chair"])
    validation_decision(c1, positive=True, decided_by=world["chair"])
    validation_decision(c2, positive=False, decided_by=world["chair"])
    # Outside the scope: nothing of these counts.
    make_theory_result(world["old_enrolment"], qualification, passed=False)
    make_theory_result(world["foreign_enrolment"], qualification, passed=False)

    f = figures_of(world, qualification)
    assert f["candidates"]["positive"] == 1
    # c2's negative decision corrected to positive after an upheld appeal: it counts as it stands now.
    from examportal.committee.services import decision_for
    from examportal.models import DecisionCorrection

    db.session.add(DecisionCorrection(decision_id=decision_for(c2).id, criteria={}, positive_before=False,
                                      positive_after=True, reason="Odwołanie uwzględnione.",
                                      corrected_by_id=world["chair"].id, corrected_at=utcnow()))
    db.session.commit()
    f = figures_of(world, qualification)
    assert f["candidates"]["positive"] == 2
    assert [s["title"] for s in f["sessions"]] == ["SESJA-W-OKRESIE"]
    assert set(f["institution_ids"]) == {world["ic"].id, world["child"].id}
    assert f["candidates"] == {"enrolled": 4, "withdrawn": 1, "sat_theory": 3, "sat_practical": 2, "decided": 2,
                               "positive": 2}
    parts = {p["part"]: p for p in f["parts"]}
    assert (parts["theory"]["assessed"], parts["theory"]["passed"]) == (3, 2)
    assert parts["theory"]["rate"] == pytest.approx(2 / 3)
    # Practical: c1 all met, c2 one not met, c3 none met: 1 of 3. Interview: c1, c2 met; c3 not.
    assert (parts["practical"]["assessed"], parts["practical"]["passed"]) == (3, 1)
    assert (parts["interview"]["assessed"], parts["interview"]["passed"], parts["interview"]["rate"]) == \
        (3, 2, pytest.approx(2 / 3))
    per_criterion = {c["code"]: c for c in f["criteria"]}
    assert per_criterion[simulation[0]] == {"code": simulation[0], "method": "simulation", "results": 3, "met": 1,
                                            "rate": pytest.approx(1 / 3)}
    assert (per_criterion[simulation[1]]["met"], per_criterion[interview[0]]["met"]) == (2, 2)
    assert len(f["criteria"]) == len(evaluation.ordered_criteria(qualification))


def test_a_validating_institution_alone_covers_only_itself(app, qualification, world):
    today = warsaw_today()
    f = evaluation.compute_figures(world["child"], qualification, today - timedelta(days=30), today,
                                   reliability_forms=2, reliability_trials=200)
    assert f["institution_ids"] == [world["child"].id]
    assert [s["title"] for s in f["sessions"]] == ["SESJA-W-OKRESIE"]


def test_item_statistics_reuse_the_theory_statistics(app, qualification, world, monkeypatch):
    # Flags need MIN_RESPONSES answers; three candidates stand for them here.
    monkeypatch.setattr("examportal.theory.statistics.MIN_RESPONSES", 3)
    c1, c2, c3 = world["c"][:3]
    attempts = [make_theory_result(e, qualification) for e in (c1, c2, c3)]
    # i1 (key b): right, right, wrong; i2 (true/false): right, wrong, wrong.
    for attempt, (p1, r1), (p2, r2) in zip(attempts, [(1, ["b"]), (1, ["b"]), (0, ["a"])],
                                           [(1, True), (0, False), (0, False)], strict=True):
        answer(attempt, 1, "i1", p1, r1)
        answer(attempt, 2, "i2", p2, r2, kind="true_false")
    items = figures_of(world, qualification)["items"]
    by_id = {i["item_id"]: i for i in items["items"]}
    assert items["count"] == 2
    # i1: item [1,1,0], rest [1,0,0]: cov 1/3, variances 2/3 each, r = 0.5; facility 2/3.
    assert by_id["i1"]["facility"] == pytest.approx(2 / 3) and by_id["i1"]["discrimination"] == pytest.approx(0.5)
    assert by_id["i2"]["facility"] == pytest.approx(1 / 3) and by_id["i2"]["discrimination"] == pytest.approx(0.5)
    # Nobody chose c or d of i1: a dead distractor. i2 has nothing to flag.
    assert [(i["item_id"], i["flags"]) for i in items["flagged"]] == [("i1", ["dead_distractor"])]


def test_reliability_is_the_commands_simulation(app, qualification, world):
    from examportal.theory import services as theory

    r = figures_of(world, qualification)["reliability"]
    expected = theory.reliability(qualification, forms=2, trials=200)
    assert r["computed"] is True
    assert r["p_competent"] == expected[0.75] and r["p_weak"] == expected[0.45]
    assert r["false_fail"] == pytest.approx(1 - expected[0.75]) and r["false_pass"] == expected[0.45]
    assert r["goal_met"] == (expected[0.75] >= 0.95 and expected[0.45] <= 0.05)
    assert (r["forms"], r["trials"], r["decision_rule"]) == (2, 200, qualification.settings["theory"]["decision_rule"])


def test_reliability_not_computed_without_a_usable_bank(app, qualification, world, tmp_path):
    app.config["THEORY_ITEM_BANK"] = str(tmp_path / "no-such-bank")
    r = figures_of(world, qualification)["reliability"]
    assert r["computed"] is False and "p_competent" not in r


def test_agreement_between_assessors(app, qualification, world):
    c1, c2, c3, c4, _c5 = world["c"]
    simulation = [c for c in evaluation.ordered_criteria(qualification) if c.method == "simulation"]
    x, y = simulation[0], simulation[1]
    m1, m2 = world["m1"], world["m2"]
    # x: (T,T), (T,F), (F,F), each counted in both orders (committees rotate, so no rater is "first"):
    # po = 4/6, pooled "met" share 3/6, pe = 1/2 -> kappa (2/3 - 1/2) / (1/2) = 1/3; the same
    # whichever member has the lower id. y: always met by both -> undefined.
    for enrolment, a, b in ((c1, T, T), (c2, T, F), (c3, F, F)):
        scores(enrolment, m1, {x: a, y: True})
        scores(enrolment, m2, {x: b, y: True})
    # A draft (not submitted) sheet is not counted.
    db.session.add(Scoresheet(enrolment_id=c4.id, member_id=m1.id))
    db.session.commit()
    rows = {r["code"]: r for r in figures_of(world, qualification)["agreement"]}
    assert set(rows) == {x.code, y.code}
    assert rows[x.code] == {"code": x.code, "method": "simulation", "pairs": 3, "agreed": 2,
                            "agreement": pytest.approx(2 / 3), "kappa": pytest.approx(1 / 3)}
    assert rows[y.code]["pairs"] == 3 and rows[y.code]["agreement"] == 1 and rows[y.code]["kappa"] is None


def test_evidence_checks_beside_the_committees_results(app, qualification, world, monkeypatch):
    c1, c2 = world["c"][:2]
    simulation = [c.code for c in evaluation.ordered_criteria(qualification) if c.method == "simulation"]
    a1, a2 = make_practical_attempt(c1), make_practical_attempt(c2)
    results(c1, qualification, recorded_by=world["chair"])
    results(c2, qualification, not_met=(simulation[0],), recorded_by=world["chair"])
    # The checks say: c1 all met but the second cannot tell; c2 all met (one disagreement: simulation[0]).
    verdicts = {a1.workspace_id: {simulation[1]: Verdict.CANT_TELL}, a2.workspace_id: {}}

    def fake_checks(workspace_id, key=None):
        return {code: CheckResult(code, verdicts[workspace_id].get(code, Verdict.MET), "") for code in simulation}

    monkeypatch.setattr(evaluation.sandbox_api, "run_evidence_checks", fake_checks)
    e = figures_of(world, qualification)["evidence"]
    n = len(simulation)
    assert (e["compared"], e["agreed"], e["cant_tell"]) == (2 * n - 1, 2 * n - 2, 1)
    assert e["share"] == pytest.approx((2 * n - 2) / (2 * n - 1))
    rows = {r["code"]: r for r in e["criteria"]}
    assert rows[simulation[0]]["disagreements"] == [{"enrolment_id": c2.id, "check": "met", "committee": "not_met"}]
    assert (rows[simulation[0]]["compared"], rows[simulation[0]]["agreed"]) == (2, 1)
    assert (rows[simulation[1]]["compared"], rows[simulation[1]]["cant_tell"]) == (1, 1)


def test_evidence_checks_run_on_the_real_workspace(app, qualification, world):
    c1 = world["c"][0]
    make_practical_attempt(c1)
    results(c1, qualification, recorded_by=world["chair"])
    e = figures_of(world, qualification)["evidence"]
    checked = sum(r["compared"] + r["cant_tell"] for r in e["criteria"])
    assert checked > 0 and e["compared"] + e["cant_tell"] == checked
    assert e["agreed"] == sum(r["agreed"] for r in e["criteria"])
    assert e["compared"] - e["agreed"] == sum(len(r["disagreements"]) for r in e["criteria"])


def test_appeals_complaints_and_incidents(app, qualification, world):
    c1, c2, c3 = world["c"][:3]
    ic, child = world["ic"], world["child"]
    appeal(c1, ic, noon(8), noon(5))  # 3 days, dismissed
    appeal(c2, ic, noon(20), noon(10), status=AppealStatus.UPHELD, remedy=AppealRemedy.RETAKE)  # 10 days
    appeal(c3, ic, noon(2), None, status=AppealStatus.ACKNOWLEDGED)  # open
    appeal(c3, ic, noon(40), noon(35))  # filed before the period
    appeal(world["foreign_enrolment"], world["other"], noon(3), noon(1))  # another institution's candidate
    complaint(child, noon(9), noon(5))  # closed after 4 days
    complaint(ic, noon(3), None)
    complaint(world["other"], noon(3), noon(2))
    operator = world["operator"]
    practical = make_practical_attempt(c1)
    incident(world["session"], operator, noon(10))
    incident(world["session"], operator, noon(10), practical=practical)
    incident(world["session"], operator, noon(10), kind=OperatorActionKind.UNLOCK)
    incident(world["foreign"], operator, noon(5))

    f = figures_of(world, qualification)
    a = f["appeals"]
    assert (a["count"], a["upheld"], a["dismissed"]) == (3, 1, 1)
    assert a["by_status"] == {"dismissed": 1, "upheld": 1, "acknowledged": 1}
    assert a["durations"] == {"count": 2, "median_days": 6.5, "max_days": 10}
    assert [r["days"] for r in a["rows"]] == [10, 3, None]  # by filing
    assert a["rows"][0]["remedy"] == "retake"
    c = f["complaints"]
    assert (c["count"], c["closed"]) == (2, 1)
    assert c["durations"] == {"count": 1, "median_days": 4, "max_days": 4}
    i = f["incidents"]
    assert (i["count"], i["theory"], i["practical"]) == (2, 1, 1)
    assert {r["session"] for r in i["rows"]} == {"SESJA-W-OKRESIE"}
    # No free text and no names are copied into the figures.
    text = repr(f)
    assert "Zdarzenie" not in text and "Skarga" not in text and "Zofia" not in text


def test_the_figures_are_json_and_the_snapshot_does_not_change_with_later_data(app, qualification, world):
    import json

    staff = make_user((Role.STAFF, world["ic"]))
    c1 = world["c"][0]
    make_theory_result(c1, qualification, passed=True)
    app.config.update(EVALUATION_RELIABILITY_FORMS=2, EVALUATION_RELIABILITY_TRIALS=200)
    today = warsaw_today()
    report = evaluation.make_report(staff, world["ic"], qualification, today - timedelta(days=30), today)
    before = json.loads(json.dumps(report.figures))
    assert before == report.figures
    make_theory_result(world["c"][1], qualification, passed=False)
    validation_decision(c1)
    db.session.expire_all()
    stored = db.session.get(type(report), report.id)
    assert stored.figures == before and stored.figures["candidates"]["sat_theory"] == 1
    assert evaluation.compute_figures(world["ic"], qualification, today - timedelta(days=30), today,
                                      reliability_forms=2, reliability_trials=200)["candidates"]["sat_theory"] == 2


def test_making_and_completing_a_report_is_audited_with_ids_only(app, qualification, world):
    from examportal.models import AuditEntry

    staff = make_user((Role.STAFF, world["ic"]), first_name="Ewa", last_name="Ewaluatorka")
    app.config.update(EVALUATION_RELIABILITY_FORMS=2, EVALUATION_RELIABILITY_TRIALS=200)
    today = warsaw_today()
    report = evaluation.make_report(staff, world["ic"], qualification, today - timedelta(days=30), today)
    with pytest.raises(evaluation.EvaluationError):
        evaluation.save_conclusions(staff, report, "Wnioski", "  ", complete=True)
    db.session.rollback()
    evaluation.save_conclusions(staff, report, "Wnioski Ewy", "Działania", complete=True)
    assert report.completed_at is not None and report.conclusions == "Wnioski Ewy"
    with pytest.raises(evaluation.EvaluationError):
        evaluation.save_conclusions(staff, report, "Inne", "Inne", complete=False)
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "evaluation_report")
                                      .order_by(AuditEntry.id)))
    assert [e.action for e in entries] == ["evaluation.made", "evaluation.completed"]
    assert "Wnioski" not in repr([(e.before, e.after) for e in entries]) and "Ewa" not in repr([e.after for e in entries])


def test_making_refuses_a_period_in_the_future_or_a_qualification_not_authorised(app, qualification, world):
    staff = make_user((Role.STAFF, world["ic"]))
    today = warsaw_today()
    with pytest.raises(evaluation.EvaluationError):
        evaluation.make_report(staff, world["ic"], qualification, today, today + timedelta(days=1))
    bare = make_institution("Bez uprawnień", short_name="BU")
    with pytest.raises(evaluation.EvaluationError):
        evaluation.make_report(staff, bare, qualification, today - timedelta(days=1), today)
