"""The internal evaluation's pages: making one, the conclusions, due dates, downloads and who may
read or change what (staff of the institution; an external auditor reads within their mandate)."""
from __future__ import annotations

import csv as csv_module
import io
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from examportal.certification.rules import WARSAW
from examportal.certification.rules import today as warsaw_today
from examportal.extensions import db
from examportal.models import AuditorMandate, EvaluationReport, Role
from tests.factories import client_as, enrol, make_institution, make_session, make_theory_result, make_user


def noon(days_ago: int) -> datetime:
    return datetime.combine(warsaw_today() - timedelta(days=days_ago), time(12), WARSAW)


@pytest.fixture
def world(app, qualification):
    app.config.update(EVALUATION_RELIABILITY_FORMS=2, EVALUATION_RELIABILITY_TRIALS=200)
    ic = make_institution("Fundacja Ewaluacji", qualifications=[qualification], short_name="FE")
    child = make_institution("Ośrodek Ewaluacji", parent=ic, short_name="FE-O")
    other = make_institution("Fundacja Obca", qualifications=[qualification], short_name="FO")
    session = make_session(child, qualification, title="=HYPERLINK(\"http://zly.example\")", starts_at=noon(10))
    enrolments = [enrol(session, make_user(Role.CANDIDATE)) for _ in range(3)]
    make_theory_result(enrolments[0], qualification, passed=True)
    make_theory_result(enrolments[1], qualification, passed=False)
    return {"ic": ic, "child": child, "other": other, "session": session, "enrolments": enrolments,
            "qualification": qualification,
            "staff": make_user((Role.STAFF, ic), first_name="Ewa", last_name="Ewaluatorka"),
            "child_staff": make_user((Role.STAFF, child)),
            "other_staff": make_user((Role.STAFF, other))}


def period(days: int = 30) -> dict[str, str]:
    today = warsaw_today()
    return {"period_from": (today - timedelta(days=days)).isoformat(), "period_to": today.isoformat()}


def make(client, world, **overrides):
    data = {"institution_id": str(world["ic"].id), "qualification_id": str(world["qualification"].id), **period(),
            **overrides}
    return client.post("/reports/evaluations/new", data=data)


def made(client, world) -> EvaluationReport:
    response = make(client, world)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    report_id = int(re.search(r"/reports/evaluations/(\d+)$", response.headers["Location"]).group(1))
    return db.session.get(EvaluationReport, report_id)


def test_staff_make_an_evaluation_and_see_its_figures(app, world):
    client = client_as(app, world["staff"])
    page = client.get("/reports/evaluations").get_data(as_text=True)
    assert "never made" in page and "No evaluation has been made yet." in page
    form = client.get("/reports/evaluations/new")
    assert form.status_code == 200 and "Ośrodek Ewaluacji" in form.get_data(as_text=True)
    report = made(client, world)
    assert (report.institution_id, report.made_by_id, report.completed_at) == (world["ic"].id, world["staff"].id, None)
    page = client.get(f"/reports/evaluations/{report.id}").get_data(as_text=True)
    assert 'data-figure="enrolled">3<' in page and 'data-figure="sat_theory">2<' in page
    assert 'id="conclusions-form"' in page and "draft" in page
    # The list links it; the due summary still says never made (a draft is not an evaluation made).
    listing = client.get("/reports/evaluations").get_data(as_text=True)
    assert f'data-evaluation="{report.id}"' in listing and 'data-state="never"' in listing


@pytest.mark.parametrize("overrides, message", [
    ({"period_from": "", "period_to": ""}, "Enter the first day of the period."),
    ({"period_to": "2020-01-01"}, "The last day must not be before the first day of the period."),
    ({"period_to": "2999-01-01"}, "The period cannot end in the future"),
    ({"period_from": "2026-02-30"}, "Not a valid date value"),
    ({"period_from": "2010-01-01"}, "Enter a day from 2016-01-01 on."),
    ({"qualification_id": "abc"}, "Not a valid choice"),
])
def test_form_errors_are_400_with_the_message_and_keep_the_input(app, world, overrides, message):
    client = client_as(app, world["staff"])
    response = make(client, world, **overrides)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page, page[page.find("<main"):][:1500]
    typed = {**period(), **overrides}
    for name in ("period_from", "period_to"):
        assert f'value="{typed[name]}"' in page or not typed[name]
    assert db.session.scalar(select(EvaluationReport.id)) is None


def test_another_institutions_qualification_or_institution_is_refused(app, world):
    client = client_as(app, world["staff"])
    response = make(client, world, institution_id=str(world["other"].id))
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    assert db.session.scalar(select(EvaluationReport.id)) is None


def test_conclusions_draft_complete_and_then_nothing_changes(app, world):
    client = client_as(app, world["staff"])
    report = made(client, world)
    url = f"/reports/evaluations/{report.id}/conclusions"
    assert client.post(url, data={"conclusions": "Wnioski robocze", "actions": "", "save": "y"}).status_code == 302
    db.session.refresh(report)
    assert (report.conclusions, report.actions, report.completed_at) == ("Wnioski robocze", None, None)
    response = client.post(url, data={"conclusions": "Wnioski końcowe", "actions": " ", "complete": "y"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Fill this in before completing the evaluation." in page
    assert "Wnioski końcowe" in page  # what was typed stays
    db.session.refresh(report)
    assert report.completed_at is None and report.conclusions == "Wnioski robocze"
    assert client.post(url, data={"conclusions": "Wnioski końcowe", "actions": "Przegląd pytań 1.1",
                                  "complete": "y"}).status_code == 302
    db.session.refresh(report)
    assert report.completed_at is not None and report.actions == "Przegląd pytań 1.1"
    response = client.post(url, data={"conclusions": "Zmiana", "actions": "Zmiana", "save": "y"})
    assert response.status_code == 400 and "can no longer be changed" in response.get_data(as_text=True)
    db.session.refresh(report)
    assert report.conclusions == "Wnioski końcowe"
    page = client.get(f"/reports/evaluations/{report.id}").get_data(as_text=True)
    assert 'id="conclusions-form"' not in page and "Przegląd pytań 1.1" in page


def test_last_made_and_next_due_on_the_list_and_the_dashboard(app, world):
    client = client_as(app, world["staff"])
    report = made(client, world)
    client.post(f"/reports/evaluations/{report.id}/conclusions", data={"conclusions": "W", "actions": "D", "complete": "y"})
    today = warsaw_today()
    due = today.replace(year=today.year + 3) if not (today.month == 2 and today.day == 29) else today.replace(
        year=today.year + 3, day=28)
    for path in ("/reports/evaluations", "/dashboard"):
        page = client.get(path).get_data(as_text=True)
        row = re.search(r'<tr data-qualification="13881" data-state="(\w+)">.*?</tr>', page, re.S)
        assert row and row.group(1) == "ok", path
        assert due.strftime("%Y") in row.group(0) and "overdue" not in row.group(0)
    # Completed four years ago: overdue.
    report.completed_at = datetime.now(UTC) - timedelta(days=4 * 366)
    db.session.commit()
    for path in ("/reports/evaluations", "/dashboard"):
        page = client.get(path).get_data(as_text=True)
        assert 'data-state="overdue"' in page and "overdue" in page, path


def test_downloads_pdf_and_csv(app, world):
    client = client_as(app, world["staff"])
    report = made(client, world)
    pdf = client.get(f"/reports/evaluations/{report.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert "13881" in text and "Fundacja Ewaluacji" in text
    csv = client.get(f"/reports/evaluations/{report.id}.csv")
    body = csv.data.decode("utf-8")
    assert csv.status_code == 200 and csv.mimetype == "text/csv" and body.startswith("\ufeff")
    rows = list(csv_module.reader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[0] == ["Section", "Subject", "Figure", "Value"]
    assert ["candidates", "", "enrolled", "3"] in rows and ["candidates", "", "sat_theory", "2"] in rows
    assert any(row[-1].startswith("'=HYPERLINK") for row in rows if row[0] == "session")
    assert not any(cell.startswith("=") for row in rows for cell in row)
    assert all(line.startswith('"') for line in body[1:].splitlines())  # every cell quoted


def test_the_stored_figures_do_not_change_when_data_does(app, world):
    client = client_as(app, world["staff"])
    report = made(client, world)
    make_theory_result(world["enrolments"][2], world["qualification"], passed=True)
    enrol(world["session"], make_user(Role.CANDIDATE))
    page = client.get(f"/reports/evaluations/{report.id}").get_data(as_text=True)
    assert 'data-figure="enrolled">3<' in page and 'data-figure="sat_theory">2<' in page
    assert '"candidates";"";"enrolled";"3"' in client.get(f"/reports/evaluations/{report.id}.csv").data.decode("utf-8")
    # A new evaluation sees the new data.
    newer = made(client, world)
    assert newer.figures["candidates"]["enrolled"] == 4


def test_another_institutions_report_is_not_found(app, world):
    report = made(client_as(app, world["staff"]), world)
    for user in (world["other_staff"], world["child_staff"]):  # the validating institution's staff: not theirs
        client = client_as(app, user)
        for path in (f"/reports/evaluations/{report.id}", f"/reports/evaluations/{report.id}.pdf",
                     f"/reports/evaluations/{report.id}.csv"):
            assert client.get(path).status_code == 404, path
        assert client.post(f"/reports/evaluations/{report.id}/conclusions",
                           data={"conclusions": "X", "actions": "Y", "complete": "y"}).status_code == 404
        assert f'data-evaluation="{report.id}"' not in client.get("/reports/evaluations").get_data(as_text=True)
    assert client_as(app, world["staff"]).get("/reports/evaluations/999999").status_code == 404
    db.session.refresh(report)
    assert report.completed_at is None and report.conclusions is None


def auditor_for(world, days_from: int, days_to: int, expires_in: int = 10):
    auditor = make_user((Role.AUDITOR, world["ic"]), first_name="Adam", last_name="Audytor")
    today = warsaw_today()
    db.session.add(AuditorMandate(user_id=auditor.id, institution_id=world["ic"].id,
                                  period_from=today - timedelta(days=days_from), period_to=today - timedelta(days=days_to),
                                  expires_on=today + timedelta(days=expires_in), granted_by_id=world["staff"].id))
    db.session.commit()
    return auditor


def test_an_auditor_reads_within_the_mandate_and_changes_nothing(app, world):
    report = made(client_as(app, world["staff"]), world)
    client = client_as(app, auditor_for(world, days_from=60, days_to=0))
    page = client.get(f"/reports/evaluations/{report.id}")
    assert page.status_code == 200 and 'id="conclusions-form"' not in page.get_data(as_text=True)
    assert client.get(f"/reports/evaluations/{report.id}.pdf").data.startswith(b"%PDF")
    assert client.get(f"/reports/evaluations/{report.id}.csv").status_code == 200
    listing = client.get("/reports/evaluations").get_data(as_text=True)
    assert f'data-evaluation="{report.id}"' in listing and "Make a new evaluation" not in listing
    assert client.post(f"/reports/evaluations/{report.id}/conclusions",
                       data={"conclusions": "X", "actions": "Y", "complete": "y"}).status_code == 403
    assert client.get("/reports/evaluations/new").status_code == 403
    assert make(client, world).status_code == 403
    db.session.refresh(report)
    assert report.conclusions is None and db.session.scalar(select(EvaluationReport.id).where(
        EvaluationReport.id != report.id)) is None


def test_an_auditor_does_not_read_a_report_beyond_the_mandates_period(app, world):
    report = made(client_as(app, world["staff"]), world)  # the last 30 days
    client = client_as(app, auditor_for(world, days_from=20, days_to=0))  # only the last 20
    for path in (f"/reports/evaluations/{report.id}", f"/reports/evaluations/{report.id}.pdf",
                 f"/reports/evaluations/{report.id}.csv"):
        assert client.get(path).status_code == 404, path
    assert f'data-evaluation="{report.id}"' not in client.get("/reports/evaluations").get_data(as_text=True)


def test_an_expired_mandate_reads_nothing(app, world):
    report = made(client_as(app, world["staff"]), world)
    auditor = auditor_for(world, days_from=60, days_to=0)
    mandate = db.session.scalar(select(AuditorMandate).where(AuditorMandate.user_id == auditor.id))
    client = client_as(app, auditor)
    mandate.expires_on = warsaw_today() - timedelta(days=1)
    db.session.commit()
    assert client.get(f"/reports/evaluations/{report.id}").status_code == 403
    assert client.get("/reports/evaluations").status_code == 403
