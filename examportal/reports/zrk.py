"""The quarterly report to the Integrated Qualifications Register (ZRK), art. 65 of the ZSK act.

At the end of every quarter a certifying institution tells the register, per qualification: the
number of documents it issued confirming the award of the qualification, the average fee for
validation and certification, its revenue from those fees, and the number of persons validated
free of charge. This module computes those figures for one certifying institution and one quarter
(:func:`zrk_report`), one row per qualification, and writes them as CSV; the PDF is
:func:`render_zrk_pdf`.

How each figure is counted (the report prints the same rules under its table, :func:`notes`):

* **Days.** A quarter runs from its first to its last calendar day in Poland (Europe/Warsaw):
  a certificate's date of issue is a Polish calendar day already, and a session's start (stored
  in UTC) belongs to the quarter of its Warsaw date — 30 September 23:30 in Warsaw (21:30 UTC) is
  the third quarter, 1 October 00:30 in Warsaw (30 September 22:30 UTC) the fourth.
* **Whose.** Certificates the institution issued (it is their issuer, whichever of its validating
  institutions ran the session); fees of the sessions of the institution and of its validating
  institutions. Nothing of another certifying institution.
* **Original certificates** — issued on a certification decision (``Certificate.decision``),
  dated within the quarter: newly issued documents. Counted whatever their status today (one
  revoked or superseded later was still issued in the quarter). A certificate issued after an
  appeal overturned a refusal rests on a decision too, so it is an original.
* **Renewed certificates** — issued on a positive renewal decision, superseding the expiring one
  (:func:`examportal.certification.services.renew_certificate`): a new number, a new date of issue
  and a new validity period. They ARE newly issued documents (a new decision confirmed the
  qualification for a further period): their own column, and included in "documents issued".
* **Reissued certificates** — a certificate reissued with corrected holder data
  (:func:`~examportal.certification.services.correct`: the same validity) or a replacement issued
  after an appeal overturned a revocation
  (:func:`~examportal.certification.services.issue_replacement`: the original dates). They are NOT
  newly issued documents: they replace a document counted when it was first issued, for the same
  award. Their own column, outside "documents issued". A replacement after an appeal is printed
  with the revoked certificate's date of issue, so it is counted in the quarter it was made
  (``created_at``, Warsaw), not by that date.
* **Duplicates** (``CertificateDuplicate``) — the same number and data as the certificate: NOT
  newly issued documents; their own column, by the duplicate's own date of issue.
* **Fees** — of the enrolments (not withdrawn) in sessions that started within the quarter,
  cancelled sessions left out (:func:`examportal.certification.services.fee_rows`). The fee an
  enrolment records covers validation and certification. The revenue is the sum of the recorded
  fees; the average is the revenue divided by the paid validations (fee above 0 zł), None ("—")
  when nobody paid; free of charge is a fee of 0 zł (recorded with its reason), and of those the
  ones under art. 122a of the education law (the group art. 65(1)(4) names) are shown apart. An
  enrolment with no fee recorded is in none of these: it is counted as "fee not recorded", so a
  report sent before the fees are complete says so.
* **As of when.** Art. 65(2): the figures are as they stand when the report is generated; the
  report says when. A quarter not over yet is flagged.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from flask import render_template
from flask_babel import format_date, format_datetime, get_locale, gettext
from sqlalchemy import and_, or_, select

from ..certification.rules import WARSAW, number_prefix, today
from ..certification.services import FeeTotals, fee_rows, fee_totals, is_renewal
from ..extensions import db
from ..models import (
    Certificate,
    CertificateDuplicate,
    Enrolment,
    Institution,
    InstitutionKind,
    Qualification,
    utcnow,
)
from ..pdf import render_pdf
from ..theory.statistics import safe_cell


def _(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel ships no type information)."""
    return str(gettext(text, **values))


# --------------------------------------------------------------------------- quarters

_QUARTER = re.compile(r"([0-9]{4})\s*-?\s*Q\s*([1-4])", re.IGNORECASE)  # ASCII digits only
FIRST_YEAR, LAST_YEAR = 2000, 2999


class QuarterError(ValueError):
    """The text is not a quarter, or not one a report can be made of (the message says why, translated)."""


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter: ``Quarter(2026, 4)`` is October to December 2026, written ``2026Q4``."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise ValueError(f"a quarter is numbered 1 to 4, not {self.number}")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2026Q4`` (any letter case; ``2026-Q4`` and ``2026 q4`` too), or :class:`QuarterError`."""
        found = _QUARTER.fullmatch((text or "").strip())
        if found is None or not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
            raise QuarterError(_("Give the quarter as the year and the quarter's number, e.g. %(example)s.",
                                 example=str(cls.containing(today()))))
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def containing(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def last_finished(cls, on: date | None = None) -> Quarter:
        """The last quarter wholly over on ``on`` (today in Poland)."""
        return cls.containing(on or today()).previous()

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def starts_at(self) -> datetime:
        """The quarter's first moment: midnight of its first day in Warsaw (aware)."""
        return datetime.combine(self.first_day, time.min, WARSAW)

    @property
    def ends_at(self) -> datetime:
        """The first moment after the quarter: midnight in Warsaw of the next quarter's first day."""
        return datetime.combine(self.next().first_day, time.min, WARSAW)

    def over_on(self, day: date) -> bool:
        return day > self.last_day

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def refusal(quarter: Quarter, on: date | None = None) -> str | None:
    """Why no report can be made of ``quarter`` on ``on`` (today), translated; None: it can."""
    if quarter.first_day > (on or today()):
        return _("The quarter %(quarter)s has not begun yet: choose a quarter up to %(current)s.",
                 quarter=str(quarter), current=str(Quarter.containing(on or today())))
    return None


def parse_reportable(text: str, on: date | None = None) -> Quarter:
    """The quarter typed as ``text`` if a report can be made of it, else :class:`QuarterError`."""
    quarter = Quarter.parse(text)
    problem = refusal(quarter, on)
    if problem:
        raise QuarterError(problem)
    return quarter


def recent_quarters(count: int = 8, on: date | None = None) -> list[Quarter]:
    """The current quarter and the ``count - 1`` before it, newest first (what a form offers)."""
    quarters = [Quarter.containing(on or today())]
    while len(quarters) < count:
        quarters.append(quarters[-1].previous())
    return quarters


# --------------------------------------------------------------------------- the figures


class DocumentKind(Enum):
    ORIGINAL = "original"  # issued on a certification decision
    RENEWAL = "renewal"  # issued on a renewal decision, superseding the renewed certificate
    CORRECTION = "correction"  # reissued with corrected holder data
    AFTER_APPEAL = "after_appeal"  # a revoked certificate replaced after an appeal overturned the revocation


def document_kind(certificate: Certificate) -> DocumentKind:
    """What issued the certificate (see the module's docstring for how each kind is counted)."""
    if certificate.decision_id is not None:
        return DocumentKind.ORIGINAL
    if is_renewal(certificate):
        return DocumentKind.RENEWAL
    if (certificate.content.get("supersedes") or {}).get("after_appeal") is not None:
        return DocumentKind.AFTER_APPEAL
    return DocumentKind.CORRECTION


def report_day(certificate: Certificate) -> date:
    """The day the certificate counts on: its date of issue, except a replacement after an appeal
    (printed with the revoked certificate's date), which counts on the day it was made."""
    if document_kind(certificate) == DocumentKind.AFTER_APPEAL:
        return certificate.created_at.astimezone(WARSAW).date()
    return certificate.issued_on


@dataclass
class ZrkRow:
    """The figures of one qualification."""

    qualification: Qualification
    originals: int = 0
    renewals: int = 0
    #: Corrections and replacements after an appeal: not newly issued documents.
    reissued: int = 0
    duplicates: int = 0
    fees: FeeTotals = field(default_factory=lambda: FeeTotals(0, Decimal("0.00"), 0))

    @property
    def documents_issued(self) -> int:
        """The figure of art. 65(1)(1): original and renewed certificates."""
        return self.originals + self.renewals


@dataclass
class ZrkReport:
    institution: Institution
    quarter: Quarter
    rows: list[ZrkRow]
    generated_at: datetime

    @property
    def complete(self) -> bool:
        """Whether the quarter was over when the report was generated."""
        return self.quarter.over_on(self.generated_at.astimezone(WARSAW).date())


def institution_ids(institution: Institution) -> set[int]:
    """The certifying institution and its validating institutions."""
    return {institution.id, *db.session.scalars(select(Institution.id).where(Institution.parent_id == institution.id))}


def _certificates(institution: Institution, quarter: Quarter) -> list[Certificate]:
    """The institution's certificates issued within the quarter, by :func:`report_day`."""
    dated = and_(Certificate.issued_on >= quarter.first_day, Certificate.issued_on <= quarter.last_day)
    made = and_(Certificate.supersedes_id.is_not(None), Certificate.created_at >= quarter.starts_at,
                Certificate.created_at < quarter.ends_at)
    found = db.session.scalars(select(Certificate).where(Certificate.institution_id == institution.id, or_(dated, made))
                               .order_by(Certificate.id))
    return [c for c in found if quarter.first_day <= report_day(c) <= quarter.last_day]


def _duplicates(institution: Institution, quarter: Quarter) -> list[tuple[int, int]]:
    """(qualification id, duplicate id) of the duplicates of the institution's certificates issued within the quarter."""
    query = (select(Certificate.qualification_id, CertificateDuplicate.id)
             .join(Certificate, CertificateDuplicate.certificate_id == Certificate.id)
             .where(Certificate.institution_id == institution.id, CertificateDuplicate.issued_on >= quarter.first_day,
                    CertificateDuplicate.issued_on <= quarter.last_day))
    return [(qualification_id, duplicate_id) for qualification_id, duplicate_id in db.session.execute(query)]


def zrk_report(institution: Institution, quarter: Quarter, now: datetime | None = None) -> ZrkReport:
    """The report of a certifying institution for a quarter: one row per qualification the
    institution is authorised for or issued or charged anything for in the quarter, by code."""
    if institution.kind != InstitutionKind.CERTIFYING:
        raise ValueError("the ZRK report is a certifying institution's; a validating institution's figures are in it")
    rows: dict[int, ZrkRow] = {q.id: ZrkRow(q) for q in institution.qualifications}

    def row(qualification_id: int) -> ZrkRow:
        if qualification_id not in rows:
            rows[qualification_id] = ZrkRow(db.session.get_one(Qualification, qualification_id))
        return rows[qualification_id]

    for certificate in _certificates(institution, quarter):
        target = row(certificate.qualification_id)
        kind = document_kind(certificate)
        if kind == DocumentKind.ORIGINAL:
            target.originals += 1
        elif kind == DocumentKind.RENEWAL:
            target.renewals += 1
        else:
            target.reissued += 1
    for qualification_id, _duplicate_id in _duplicates(institution, quarter):
        row(qualification_id).duplicates += 1
    enrolments: dict[int, list[Enrolment]] = {}
    for enrolment in db.session.scalars(fee_rows(institution_ids(institution), quarter.first_day, quarter.last_day,
                                                 held_only=True)):
        enrolments.setdefault(enrolment.session.qualification_id, []).append(enrolment)
    for qualification_id, charged in enrolments.items():
        row(qualification_id).fees = fee_totals(charged)
    return ZrkReport(institution, quarter, sorted(rows.values(), key=lambda r: r.qualification.code),
                     now or utcnow())


# --------------------------------------------------------------------------- what the report prints


def qualification_name(qualification: Qualification) -> str:
    """The qualification's name in the current language (Polish unless English is chosen)."""
    return qualification.name_en if str(get_locale()) == "en" else qualification.name_pl


@dataclass(frozen=True)
class Column:
    """One column of the report: its heading (translated when called) and its value in a row."""

    key: str
    heading: Callable[[], str]
    value: Callable[[ZrkRow], int | Decimal | str | None]
    money: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("code", lambda: _("Qualification code"), lambda r: r.qualification.code),
    Column("qualification", lambda: _("Qualification"), lambda r: qualification_name(r.qualification)),
    Column("documents_issued", lambda: _("Documents issued (originals + renewals)"), lambda r: r.documents_issued),
    Column("originals", lambda: _("Original certificates"), lambda r: r.originals),
    Column("renewals", lambda: _("Renewed certificates"), lambda r: r.renewals),
    Column("reissued", lambda: _("Reissued: corrected or replaced after an appeal (not counted)"), lambda r: r.reissued),
    Column("duplicates", lambda: _("Duplicates issued (not counted)"), lambda r: r.duplicates),
    Column("paid", lambda: _("Paid validations"), lambda r: r.fees.paid),
    Column("average_fee", lambda: _("Average fee (PLN)"), lambda r: r.fees.average, money=True),
    Column("revenue", lambda: _("Fee revenue (PLN)"), lambda r: r.fees.revenue, money=True),
    Column("free_of_charge", lambda: _("Validated free of charge"), lambda r: r.fees.free_of_charge),
    Column("free_122a", lambda: _("of which under art. 122a"), lambda r: r.fees.free_122a),
    Column("not_recorded", lambda: _("Fee not recorded"), lambda r: r.fees.not_recorded),
)


def notes(report: ZrkReport) -> list[str]:
    """How the figures are counted, as the report prints them under its table (translated)."""
    lines = [
        _("The quarter runs from %(first)s to %(last)s, calendar days in Poland (Europe/Warsaw time).",
          first=report.quarter.first_day.isoformat(), last=report.quarter.last_day.isoformat()),
        _("Documents issued = original certificates (issued on a certification decision) plus renewed certificates, "
          "dated within the quarter, whatever their status today. Certificates of sessions run by the institution's "
          "validating institutions are included."),
        _("Renewed certificates are counted as newly issued documents: a renewal issues a new certificate, with its own "
          "number, date of issue and validity period, on a positive renewal decision."),
        _("Reissued certificates (holder data corrected, or a revoked certificate replaced after an upheld appeal) are "
          "NOT counted as newly issued documents: they replace a document already counted for the same award. A "
          "replacement after an appeal carries the original date of issue and is counted in the quarter it was made."),
        _("Duplicates are NOT counted as newly issued documents: a duplicate has the same number and data as the "
          "certificate; it is counted by its own date of issue."),
        _("Fees: enrolments (not withdrawn) in the validation sessions of the institution and of its validating "
          "institutions that started within the quarter (Warsaw time); cancelled sessions are left out. The fee covers "
          "validation and certification."),
        _("Average fee = fee revenue divided by the paid validations (a fee above 0 zł); \u201c\u2014\u201d when nobody "
          "paid. Validated free of charge = a fee of 0 zł; of which under art. 122a of the education law (the persons "
          "art. 65(1)(4) of the ZSK act asks for)."),
        _("Fee not recorded: enrolments whose fee has not been entered yet. They are in neither the revenue, the average "
          "nor the free-of-charge figures: record them on the session's fee list before sending the report."),
        _("The figures are as they stood when the report was generated (art. 65(2) of the ZSK act)."),
    ]
    if not report.complete:
        lines.insert(0, _("The quarter %(quarter)s is not over yet: the figures may still change.",
                          quarter=str(report.quarter)))
    return lines


def cell_text(value: int | Decimal | str | None, money: bool) -> str:
    """A value as the CSV and the command line write it: amounts with two decimals, "—" for none."""
    if value is None:
        return "\u2014"
    if money and isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def generated_text(report: ZrkReport) -> str:
    return str(format_datetime(report.generated_at, "medium"))


def period_text(quarter: Quarter) -> str:
    return f"{quarter} ({format_date(quarter.first_day, 'medium')} \u2013 {format_date(quarter.last_day, 'medium')})"


def to_text(report: ZrkReport) -> str:
    """The report for a terminal: a heading, the table turned on its side (a line per figure, a
    column per qualification) and the notes."""
    lines = [f"{_('Quarterly report to the ZRK')}: {report.institution.name} ({report.institution.short_name})",
             f"{_('Quarter')}: {period_text(report.quarter)}", f"{_('Generated')}: {generated_text(report)}", ""]
    if report.rows:
        headings = [column.heading() for column in COLUMNS if column.key != "qualification"]
        width = max(len(heading) for heading in headings)
        for column in COLUMNS:
            if column.key == "qualification":
                continue
            cells = [cell_text(column.value(row), column.money) for row in report.rows]
            lines.append(f"{column.heading():<{width}}  " + "  ".join(f"{cell:>12}" for cell in cells))
        lines += [""] + [f"{row.qualification.code}: {qualification_name(row.qualification)}" for row in report.rows]
    else:
        lines.append(_("The institution is authorised for no qualification and issued nothing in this quarter."))
    lines += ["", _("How the figures are counted") + ":"]
    lines += [f"{number}. {line}" for number, line in enumerate(notes(report), start=1)]
    return "\n".join(lines)


def to_csv(report: ZrkReport) -> str:
    """The report as CSV: the table, then the institution, quarter, time of generation and notes
    (semicolons; UTF-8 with BOM for spreadsheets; every text cell formula-safe)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL)
    writer.writerow([safe_cell(column.heading()) for column in COLUMNS])
    for row in report.rows:
        writer.writerow([safe_cell(cell_text(column.value(row), column.money)) for column in COLUMNS])
    writer.writerow([])
    writer.writerow([safe_cell(_("Certifying institution")), safe_cell(report.institution.name)])
    writer.writerow([safe_cell(_("Quarter")), safe_cell(period_text(report.quarter))])
    writer.writerow([safe_cell(_("Generated")), safe_cell(generated_text(report))])
    writer.writerow([safe_cell(_("Notes"))])
    for line in notes(report):
        writer.writerow([safe_cell(line)])
    return "\ufeff" + out.getvalue()


def render_zrk_pdf(report: ZrkReport) -> bytes:
    """The report as a PDF (A4 landscape, in the current language): the table with the notes under it."""
    html = render_template("reports/zrk.html", report=report, columns=COLUMNS, notes=notes(report),
                           period=period_text(report.quarter), generated=generated_text(report))
    return render_pdf(html)


def file_name(report: ZrkReport, extension: str) -> str:
    """``zrk-VCC-2026Q4.csv``: the institution's short name in plain letters, the quarter."""
    try:
        short = number_prefix(report.institution.short_name)
    except ValueError:  # a short name of no ASCII letter or digit at all
        short = str(report.institution.id)
    return f"zrk-{short}-{report.quarter}.{extension}"


def certifying(institutions: Iterable[Institution]) -> Sequence[Institution]:
    """The certifying institutions among ``institutions``, by name."""
    return sorted((i for i in institutions if i.kind == InstitutionKind.CERTIFYING), key=lambda i: i.name)
