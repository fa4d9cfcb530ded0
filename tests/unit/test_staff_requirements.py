"""The qualification's requirements on committee members and operators, and what a competence
record lacks against them (competence.services.gaps_of is pure: records here are never stored)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale, format_date

from examportal.competence import services
from examportal.models import CompetenceKind, CompetenceRecord, Education

TODAY = date(2026, 6, 15)
ASSESSOR_NEED = {"min_education": "secondary", "min_crm_supervision_months": 60}
OPERATOR_NEED = {"min_education": "secondary", "computer_skills": True, "troubleshooting_skills": True}


def record(kind=CompetenceKind.ASSESSOR, **kwargs) -> CompetenceRecord:
    values = {"education": Education.SECONDARY, "crm_supervision_months": 60, "computer_skills": True,
              "troubleshooting_skills": True, "review_due": TODAY + timedelta(days=30)} | kwargs
    return CompetenceRecord(kind=kind, **values)


def gaps(rec, kind=CompetenceKind.ASSESSOR, need=None, on=TODAY) -> list[str]:
    with force_locale("en"):
        return services.gaps_of(rec, kind, ASSESSOR_NEED if need is None else need, on, TODAY)


def test_a_record_that_meets_the_requirements_has_no_gaps(app):
    assert gaps(record()) == []
    assert gaps(record(CompetenceKind.OPERATOR, crm_supervision_months=0), CompetenceKind.OPERATOR, OPERATOR_NEED) == []
    # Higher education satisfies "at least secondary"; more months than required are fine.
    assert gaps(record(education=Education.HIGHER, crm_supervision_months=200)) == []


def test_no_record_is_named(app):
    assert gaps(None) == ["no competence record as committee member"]
    assert gaps(None, CompetenceKind.OPERATOR, OPERATOR_NEED) == ["no competence record as exam-system operator"]


def test_no_requirement_needs_no_record(app):
    with force_locale("en"):
        assert services.gaps_of(None, CompetenceKind.ASSESSOR, None, TODAY, TODAY) == []


@pytest.mark.parametrize(("education", "expected"), [
    (Education.PRIMARY, "education primary is below the required secondary"),
    (Education.VOCATIONAL, "education basic vocational is below the required secondary"),
])
def test_education_below_the_minimum_is_named(app, education, expected):
    assert gaps(record(education=education)) == [expected]


def test_months_of_supervision_are_counted(app):
    assert gaps(record(crm_supervision_months=59)) == ["59 of the required 60 months directing or supervising CRM operators"]
    assert gaps(record(crm_supervision_months=0)) == ["0 of the required 60 months directing or supervising CRM operators"]


def test_the_operators_skills_are_named(app):
    rec = record(CompetenceKind.OPERATOR, computer_skills=False, troubleshooting_skills=False)
    assert gaps(rec, CompetenceKind.OPERATOR, OPERATOR_NEED) == [
        "no computer skills", "no troubleshooting skills (lost connection, browser compatibility)"]
    # An assessor's requirement asks for no skills.
    assert gaps(record(computer_skills=False, troubleshooting_skills=False)) == []


def test_a_record_past_its_review_date_no_longer_qualifies(app):
    due = TODAY - timedelta(days=1)
    with force_locale("en"):
        shown = format_date(due)
    assert gaps(record(review_due=due)) == [f"review overdue since {shown}"]
    assert gaps(record(review_due=TODAY)) == []  # the review date itself still counts


def test_a_review_due_before_the_session_day_is_named(app):
    due, session_day = TODAY + timedelta(days=3), TODAY + timedelta(days=10)
    with force_locale("en"):
        shown_due, shown_day = format_date(due), format_date(session_day)
    assert gaps(record(review_due=due), on=session_day) == [f"review due on {shown_due}, before {shown_day}"]


def test_every_gap_is_named_at_once(app):
    rec = record(CompetenceKind.OPERATOR, education=Education.PRIMARY, computer_skills=False,
                 troubleshooting_skills=False, review_due=TODAY - timedelta(days=5))
    found = gaps(rec, CompetenceKind.OPERATOR, OPERATOR_NEED)
    assert len(found) == 4 and found[0].startswith("education primary") and found[-1].startswith("review overdue")


def test_the_requirements_come_from_the_qualification_definition(app, qualification):
    assert services.requirement(qualification, CompetenceKind.ASSESSOR) == ASSESSOR_NEED
    assert services.requirement(qualification, CompetenceKind.OPERATOR) == OPERATOR_NEED
    with force_locale("en"):
        assert services.describe_requirement(ASSESSOR_NEED) == [
            "education: at least secondary", "at least 60 months directing or supervising the work of CRM operators"]


def test_education_levels_are_ordered():
    assert [e.rank for e in (Education.PRIMARY, Education.VOCATIONAL, Education.SECONDARY, Education.HIGHER)] == [0, 1, 2, 3]


def test_the_appointment_day_is_the_sessions_day_or_today(app):
    future = datetime.now(UTC) + timedelta(days=20)
    assert services.appointment_day(future) == future.astimezone(services.WARSAW).date()
    assert services.appointment_day(datetime.now(UTC) - timedelta(days=20)) == services.today()
    # 23:30 UTC on 31 December is already 1 January in Warsaw.
    late = datetime(2099, 12, 31, 23, 30, tzinfo=UTC)
    assert services.appointment_day(late) == date(2100, 1, 1)


@pytest.mark.parametrize(("data", "name", "expected"), [
    (b"%PDF-1.7\n...", "Dyplom.PDF", ("application/pdf", "Dyplom.PDF")),
    (b"\x89PNG\r\n\x1a\n....", "C:\\Users\\ja\\skan.png", ("image/png", "skan.png")),
    (b"\xff\xd8\xff\xe0....", "zdjecie.jpeg", ("image/jpeg", "zdjecie.jpeg")),
    (b"\xff\xd8\xff\xe0....", "bez-rozszerzenia", ("image/jpeg", "bez-rozszerzenia.jpg")),
    (b"%PDF-1.4", '../"evil".pdf', ("application/pdf", "evil.pdf")),
])
def test_evidence_is_recognised_by_its_content(app, data, name, expected):
    evidence = services.read_evidence(name, data)
    assert (evidence.mimetype, evidence.name) == expected
    assert len(evidence.sha256) == 64


@pytest.mark.parametrize(("data", "message"), [
    (b"", "The file is empty"),
    (b"<html><script>alert(1)</script>", "as a PDF, JPEG or PNG file"),
    (b"GIF89a....", "as a PDF, JPEG or PNG file"),
    (b"%PDF-" + b"x" * services.MAX_EVIDENCE_BYTES, "larger than 4 MB"),
])
def test_evidence_of_another_kind_or_too_large_is_refused(app, data, message):
    with force_locale("en"), pytest.raises(services.CompetenceError, match=message) as caught:
        services.read_evidence("dowod.pdf", data)
    assert caught.value.field == "evidence"
