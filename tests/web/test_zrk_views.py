"""The quarterly ZRK report's page, CSV and PDF: who may read which quarter (staff any, an auditor
only inside their mandate's period, anyone else nothing), and a bad quarter is a clear 400."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from examportal.certification import rules, services
from examportal.extensions import db
from examportal.models import AuditorMandate, Role, utcnow
from examportal.reports.zrk import Quarter
from tests.certtools import certification_world, make_certificate
from tests.factories import client_as, enrol, make_institution, make_session, make_user


@pytest.fixture
def world(app, qualification, monkeypatch):
    """VCC with one certificate issued on 2 Nov 2026 and a session of 5 Nov 2026 with two fees
    (400 zł and 0 zł under art. 122a); another certifying institution with a certificate of its own."""
    monkeypatch.setattr(services.pdf, "render_certificate", lambda content, duplicate_issued_on=None: b"%PDF-1.4 stand-in")
    w = certification_world(qualification)
    w["session"].starts_at = datetime(2026, 11, 5, 9, tzinfo=UTC)
    certificate = make_certificate(w["enrolments"][0], w["staff"])
    certificate.issued_on = date(2026, 11, 2)
    w["enrolments"][0].fee_pln = Decimal("400")
    w["enrolments"][1].fee_pln, w["enrolments"][1].fee_reason = Decimal("0"), rules.FREE_OF_CHARGE_122A
    other = make_institution("Fundacja Obca", qualifications=[qualification], short_name="OBCA")
    w["other"], w["other_staff"] = other, make_user((Role.STAFF, other), first_name="Olaf", last_name="Obcy")
    other_session = make_session(other, qualification, title="SESJA-OBCA", starts_at=datetime(2026, 11, 6, 9, tzinfo=UTC))
    other_enrolment = enrol(other_session, make_user(Role.CANDIDATE, first_name="Oskar", last_name="Obcokrajowiec"))
    other_enrolment.fee_pln = Decimal("12345")
    db.session.commit()
    return w


def _auditor(world, period_from: date, period_to: date, *, expires_on: date | None = None, revoked: bool = False):
    auditor = make_user((Role.AUDITOR, world["ic"]), first_name="Aleksandra", last_name="Audytorka")
    db.session.add(AuditorMandate(user_id=auditor.id, institution_id=world["ic"].id, period_from=period_from,
                                  period_to=period_to, expires_on=expires_on or rules.today() + timedelta(days=30),
                                  granted_by_id=world["staff"].id, revoked_at=utcnow() if revoked else None))
    db.session.commit()
    return auditor


def _cells(html: str) -> dict[str, str]:
    """The report table's first row: column key → text."""
    import re

    return {key: value.strip() for key, value in re.findall(r'<td data-column="([a-z_0-9]+)">(.*?)</td>', html, re.S)}


def test_staff_see_the_quarter_they_ask_for(app, world):
    client = client_as(app, world["staff"])
    response = client.get("/reports/zrk?quarter=2026q4")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Fundacja VCC" in page and "2026Q4" in page and 'value="2026q4"' in page
    cells = _cells(page)
    assert (cells["code"], cells["documents_issued"], cells["originals"], cells["duplicates"]) == ("13881", "1", "1", "0")
    assert (cells["revenue"], cells["average_fee"], cells["free_of_charge"], cells["free_122a"]) == \
        ("400.00", "400.00", "1", "1")
    assert cells["not_recorded"] == "1"  # the third candidate
    assert "How the figures are counted" in page and "Duplicates are NOT counted" in page
    assert 'name="institution"' not in page  # one certifying institution: nothing to choose
    assert "Fundacja Obca" not in page and "12345" not in page and "12,345" not in page


def test_the_page_opens_on_the_last_finished_quarter(app, world):
    page = client_as(app, world["staff"]).get("/reports/zrk").get_data(as_text=True)
    assert f'value="{Quarter.last_finished()}"' in page


@pytest.mark.parametrize("quarter", ["2026Q5", "junk", "Q4", "٢٠٢٦Q4", "99999999999999999999"])
def test_a_bad_quarter_is_a_400_with_the_message_and_the_form_keeps_it(app, world, quarter):
    client = client_as(app, world["staff"])
    response = client.get("/reports/zrk", query_string={"quarter": quarter})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Give the quarter as the year and the quarter&#39;s number, e.g." in page
    assert 'id="zrk"' not in page  # no table
    assert f'value="{quarter}"' in page  # the form keeps what was typed
    for path in ("/reports/zrk.csv", "/reports/zrk.pdf"):
        response = client.get(path, query_string={"quarter": quarter})
        assert response.status_code == 400
        assert "Give the quarter as the year" in response.get_data(as_text=True).replace("&#39;", "'")


def test_a_quarter_not_begun_is_a_400(app, world):
    later = str(Quarter.containing(rules.today()).next())
    response = client_as(app, world["staff"]).get(f"/reports/zrk.csv?quarter={later}")
    assert response.status_code == 400 and "has not begun yet" in response.get_data(as_text=True)


def test_the_csv_and_the_pdf(app, world):
    client = client_as(app, world["staff"])
    response = client.get(f"/reports/zrk.csv?quarter=2026Q4&institution={world['ic'].id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="zrk-VCC-2026Q4.csv"' in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    figures = dict(zip(rows[0], rows[1], strict=True))
    assert figures["Documents issued (originals + renewals)"] == "1" and figures["Fee revenue (PLN)"] == "400.00"
    assert "12345" not in text and "Fundacja Obca" not in text

    response = client.get("/reports/zrk.pdf?quarter=2026Q4")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert 'filename="zrk-VCC-2026Q4.pdf"' in response.headers["Content-Disposition"]
    pdf = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages).split())
    assert "Fundacja VCC" in pdf and "2026Q4" in pdf and "400.00" in pdf and "How the figures are counted" in pdf


def test_another_institutions_staff_get_404_and_others_no_report(app, world):
    target = f"institution={world['ic'].id}&quarter=2026Q4"
    other = client_as(app, world["other_staff"])
    for path in ("/reports/zrk", "/reports/zrk.csv", "/reports/zrk.pdf"):
        response = other.get(f"{path}?{target}")
        assert response.status_code == 404, path
        assert "Fundacja VCC" not in response.get_data(as_text=True)
    assert "Fundacja Obca" in other.get("/reports/zrk?quarter=2026Q4").get_data(as_text=True)  # their own
    # A validating institution reports through its certifying institution; a candidate reads no report.
    assert client_as(app, world["child_staff"]).get("/reports/zrk").status_code == 403
    assert client_as(app, world["candidates"][0]).get("/reports/zrk.csv").status_code == 403
    response = client_as(app).get("/reports/zrk.pdf")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_an_auditor_reads_the_quarters_inside_their_mandate_only(app, world):
    auditor = _auditor(world, date(2026, 7, 1), date(2026, 12, 31))
    client = client_as(app, auditor)
    for quarter in ("2026Q3", "2026Q4"):
        for path in ("/reports/zrk", "/reports/zrk.csv", "/reports/zrk.pdf"):
            assert client.get(f"{path}?quarter={quarter}").status_code == 200, (path, quarter)
    assert _cells(client.get("/reports/zrk?quarter=2026Q4").get_data(as_text=True))["revenue"] == "400.00"
    for quarter in ("2026Q2", "2025Q4"):
        for path in ("/reports/zrk", "/reports/zrk.csv", "/reports/zrk.pdf"):
            assert client.get(f"{path}?quarter={quarter}").status_code == 404, (path, quarter)
    assert client.get(f"/reports/zrk?quarter=2026Q4&institution={world['other'].id}").status_code == 404


def test_an_auditor_lands_on_the_last_quarter_of_their_period(app, world):
    client = client_as(app, _auditor(world, date(2026, 1, 1), date(2026, 6, 30)))
    response = client.get("/reports/zrk")
    assert response.status_code == 200 and 'value="2026Q2"' in response.get_data(as_text=True)


def test_an_auditor_whose_period_holds_no_whole_quarter_reads_none(app, world):
    client = client_as(app, _auditor(world, date(2026, 7, 15), date(2026, 8, 31)))
    landing = client.get("/reports/zrk")
    assert landing.status_code == 400 and "holds no whole quarter" in landing.get_data(as_text=True)
    assert client.get("/reports/zrk?quarter=2026Q3").status_code == 404


def test_an_auditor_without_a_live_mandate_reads_nothing(app, world):
    expired = _auditor(world, date(2026, 7, 1), date(2026, 12, 31), expires_on=rules.today() - timedelta(days=1))
    revoked = make_user((Role.AUDITOR, world["ic"]))
    db.session.add(AuditorMandate(user_id=revoked.id, institution_id=world["ic"].id, period_from=date(2026, 7, 1),
                                  period_to=date(2026, 12, 31), expires_on=rules.today() + timedelta(days=3),
                                  granted_by_id=world["staff"].id, revoked_at=utcnow()))
    db.session.commit()
    for auditor in (expired, revoked):
        assert client_as(app, auditor).get("/reports/zrk?quarter=2026Q4").status_code == 403


def test_staff_of_two_certifying_institutions_choose_one(app, world):
    both = make_user((Role.STAFF, world["ic"]), (Role.STAFF, world["other"]))
    client = client_as(app, both)
    page = client.get("/reports/zrk?quarter=2026Q4").get_data(as_text=True)
    assert 'name="institution"' in page and "Fundacja Obca" in page and "Fundacja VCC" in page
    chosen = client.get(f"/reports/zrk?quarter=2026Q4&institution={world['other'].id}").get_data(as_text=True)
    assert _cells(chosen)["revenue"] == "12,345.00"
    assert client.get("/reports/zrk?institution=999999").status_code == 404
    assert client.get(f"/reports/zrk?institution={world['child'].id}").status_code == 404  # a validating institution


def test_the_staff_dashboard_links_to_the_report(app, world):
    page = client_as(app, world["staff"]).get("/dashboard").get_data(as_text=True)
    assert 'href="/reports/zrk"' in page
