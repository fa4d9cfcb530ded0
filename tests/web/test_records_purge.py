"""Anonymisation after retention and the purge (examportal.records.retention, records.purge):
no personal data of the person is left in any text column of any table (searched over the whole
metadata, so a new table cannot escape), the certificate register and its verification still show
the certificate, results and counts stay, the audit chain still verifies, the account can no
longer sign in; `flask records purge --dry-run` lists and changes nothing, the real run goes
through a background job, anonymises everyone due and a second run does nothing."""
from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import zipfile
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, LargeBinary, String, func, select

from examportal.audit.services import verify_chain, verify_log
from examportal.certification import services as certificates
from examportal.certification.rules import WARSAW
from examportal.certification.rules import today as warsaw_today
from examportal.extensions import db
from examportal.models import (
    Appeal,
    AppealFile,
    AppealStatus,
    AppealSubject,
    Application,
    ApplicationStatus,
    AuditEntry,
    BackgroundJob,
    Certificate,
    Complaint,
    ComplaintStatus,
    CriterionResult,
    CriterionScore,
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    DecisionCorrection,
    DuplicateRequest,
    DuplicateRequestStatus,
    JobStatus,
    OperatorAction,
    OperatorActionKind,
    OutboxMail,
    RenewalApplication,
    RenewalEvidence,
    RenewalPeriod,
    RenewalStatus,
    Scoresheet,
    SessionStatus,
    StoredFile,
    TheoryAttempt,
    TrainingRecord,
    User,
    ValidationDecision,
    WorkReview,
    WorkReviewStatus,
    utcnow,
)
from examportal.models.people import RecoveryCode
from examportal.records.retention import PLACEHOLDER, anonymise, anonymised_email, preview, retention_of
from examportal.security import hash_password
from sandbox_crm.models import Base as SandboxBase
from tests.certtools import certification_world, make_certificate
from tests.factories import PASSWORD, add_member, client_as, make_theory_result
from tests.remedytools import appeal_row

#: What the register keeps by law (the certificate and its documents name the holder).
REGISTER = {("certificate", "holder_first_name"), ("certificate", "holder_last_name"), ("certificate", "content"),
            ("certificate", "pdf"), ("certificate_duplicate", "pdf"), ("credential", "document")}


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), WARSAW)


def _as_text(value: Any) -> str:
    """What a stored value says, also inside a PDF (its text) or a ZIP (its names and members)."""
    if isinstance(value, bytes):
        if value.startswith(b"PK"):
            with zipfile.ZipFile(io.BytesIO(value)) as archive:
                return "\n".join([*archive.namelist(), *(_as_text(archive.read(name)) for name in archive.namelist())])
        if value.startswith(b"%PDF-1."):
            text = subprocess.run(["pdftotext", "-", "-"], input=value, capture_output=True, check=False).stdout
            return text.decode("utf-8", "replace") + value.decode("utf-8", "replace")
        return value.decode("utf-8", "replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def personal_data_left(needles: list[str], exempt: set[tuple[str, str]] = REGISTER) -> list[str]:
    """Every (table.column) of every table whose stored text contains one of ``needles``."""
    found = []
    for metadata in (db.metadata, SandboxBase.metadata):
        for table in metadata.sorted_tables:
            for column in table.columns:
                if (table.name, column.name) in exempt or not isinstance(column.type, (String, JSON, LargeBinary)):
                    continue
                for value in db.session.execute(select(column).where(column.is_not(None))).scalars():
                    text = _as_text(value).casefold()
                    found += [f"{table.name}.{column.name}: {needle}" for needle in needles if needle.casefold() in text]
    return found


def row_counts() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
            for table in db.metadata.sorted_tables}


def date_world(world: dict, day: date) -> None:
    """The world's session held, and its decisions taken, on ``day``."""
    world["session"].starts_at, world["session"].status = noon(day), SessionStatus.CLOSED
    for decision in db.session.scalars(select(ValidationDecision)):
        decision.decided_at = noon(day)
    db.session.commit()


@pytest.fixture
def world(app, qualification):
    world = certification_world(qualification)
    world["holder"] = world["candidates"][0]  # Łucja Żółkiewska, lucja@example.pl, a PESEL
    world["certificate"] = make_certificate(world["enrolments"][0], world["staff"])
    return world


def _file(owner: User, content: bytes, name: str) -> StoredFile:
    stored = StoredFile(owner_id=owner.id, filename=name, mimetype="application/pdf", size=len(content),
                        sha256=hashlib.sha256(content).hexdigest(), data=content, uploaded_at=utcnow())
    db.session.add(stored)
    db.session.flush()
    return stored


def _sandbox_work(holder: User, qualification) -> None:
    """She practises in the sandbox: a note on a customer and an opportunity moved a stage, as the
    sandbox records them (the log's statements, the customer event, the stage history)."""
    from flask import current_app
    from flask_login import login_user

    from examportal.practical.services import open_practice, scenarios_for
    from sandbox_crm import api as sandbox_api
    from sandbox_crm.models import Company, Opportunity, PipelineStage
    from sandbox_crm.services import customers, opportunities

    practice = open_practice(holder, qualification, scenarios_for(qualification, "practice")[0].code)
    workspace = sandbox_api.get_workspace(practice.workspace_id)
    with current_app.test_request_context():
        login_user(holder)
        company = db.session.scalars(select(Company).where(Company.workspace_id == workspace.id)).first()
        customers.add_note(workspace, company, "note", "Klient prosi o ofertę na filtry.")
        opportunity = db.session.scalars(select(Opportunity).where(Opportunity.workspace_id == workspace.id)).first()
        stage = db.session.scalars(select(PipelineStage).where(PipelineStage.pipeline_id == opportunity.stage.pipeline_id,
                                                               PipelineStage.id != opportunity.stage_id)).first()
        opportunities.move_opportunity(workspace, opportunity, stage)
    db.session.commit()


def give_every_kind_of_record(world: dict, qualification) -> list[str]:
    """Records of every kind about the holder, each text naming her; returns what identifies her."""
    holder, staff, enrolment, certificate = world["holder"], world["staff"], world["enrolments"][0], world["certificate"]
    name, email, pesel = holder.full_name, holder.email, holder.pesel
    says = f"Dotyczy {name} ({email}, PESEL {pesel})."
    now = utcnow()
    # The certificate: a suspension with its reason (mailed to her), lifted again.
    certificates.change_status(staff, certificate, "suspend", f"Wyjaśnianie: {says}")
    certificates.change_status(staff, certificate, "lift", f"Wyjaśniono: {says}")
    # The account: a second factor and recovery codes.
    holder.totp_secret, holder.totp_enabled_at, holder.phone = "JBSWY3DPEHPK3PXP", now, "+48 600 100 200"
    holder.id_document_type, holder.id_document_number = "passport", "ZX1234567"
    db.session.add(RecoveryCode(user_id=holder.id, code_hash=hash_password("kod-1")))
    # Validation: accommodation and notes, the protocol, results and comments, an operator's incident.
    enrolment.accommodations, enrolment.practical_absent_note = f"Większa czcionka. {says}", says
    decision = db.session.scalars(select(ValidationDecision).where(ValidationDecision.enrolment_id == enrolment.id)).one()
    decision.protocol_pdf = f"%PDF-1.4 protokół {says}".encode()
    decision.justification = says
    attempt = make_theory_result(enrolment, qualification)
    db.session.add(OperatorAction(session_id=enrolment.session_id, attempt_id=attempt.id,
                                  kind=OperatorActionKind.INCIDENT, reason=f"Incydent: {says}", operator_id=world["operator"].id))
    member = next(m for m in world["session"].committee if m.assessor_id == world["chair"].id)
    criterion = qualification.outcome_sets[0].outcomes[0].criteria[0]
    sheet = Scoresheet(enrolment_id=enrolment.id, member_id=member.id, submitted_at=now)
    db.session.add(sheet)
    db.session.flush()
    db.session.add(CriterionScore(scoresheet_id=sheet.id, criterion_id=criterion.id, met=True, comment=says,
                                  interview_notes=says))
    db.session.add(CriterionResult(enrolment_id=enrolment.id, criterion_id=criterion.id, met=True, note=says,
                                   recorded_by_id=world["chair"].id, recorded_at=now))
    db.session.add(DecisionCorrection(decision_id=decision.id, criteria={}, positive_before=True, positive_after=True,
                                      reason=f"Korekta: {says}", corrected_by_id=staff.id, corrected_at=now))
    training = db.session.scalars(select(TrainingRecord).where(TrainingRecord.candidate_id == holder.id)).one()
    training.note = says
    # An application withdrawn, with its notes.
    db.session.add(Application(session_id=enrolment.session_id, candidate_id=holder.id,
                               status=ApplicationStatus.WITHDRAWN, submitted_at=now, identity_confirmed_at=now,
                               consent_at=now, rodo_clause_version="2026-11", rules_accepted_at=now, decided_at=now,
                               needs_other=says, recognition_note=says))
    # An appeal with its grounds, a file, a panel and the decision.
    appeal = appeal_row(AppealSubject.VALIDATION, decision, holder, world["ic"], status=AppealStatus.DISMISSED,
                        enrolment=enrolment, panel=(world["staff2"],), justification=f"Oddalone. {says}",
                        grounds=f"Odwołanie: {says}")
    appeal.annex_pdf = f"%PDF aneks {says}".encode()
    appeal.late_reason, appeal.late_accepted_by_id = says, staff.id
    appeal.panel[0].declaration = says
    db.session.add(AppealFile(appeal_id=appeal.id, file_id=_file(holder, f"%PDF skan {says}".encode(), "skan.pdf").id))
    # A request to see her work, refused; a duplicate request, refused; a data request, granted.
    db.session.add(WorkReview(enrolment_id=enrolment.id, candidate_id=holder.id, requested_at=now, sent_on=warsaw_today(),
                              status=WorkReviewStatus.REFUSED, decided_at=now, decided_by_id=staff.id,
                              refusal_reason=says))
    db.session.add(DuplicateRequest(certificate_id=certificate.id, requested_by_id=holder.id, requested_at=now,
                                    reason=f"Zgubiony. {says}", status=DuplicateRequestStatus.REFUSED,
                                    handled_by_id=staff.id, handled_at=now, response=says))
    db.session.add(DataRequest(user_id=holder.id, institution_id=world["ic"].id, kind=DataRequestKind.CORRECTION,
                               status=DataRequestStatus.GRANTED, details=says, decided_by_id=staff.id,
                               decided_at=now, reason=says))
    # Complaints: from her account, and one without an account from her address.
    for user_id in (holder.id, None):
        db.session.add(Complaint(institution_id=world["ic"].id, user_id=user_id, name=name, email=email.upper(),
                                 text=f"Skarga. {says}", filed_at=now, status=ComplaintStatus.CLOSED, outcome=says,
                                 closed_at=now))
    # A renewal refused, with its periods and evidence.
    renewal = RenewalApplication(certificate_id=certificate.id, holder_id=holder.id, status=RenewalStatus.REJECTED,
                                 submitted_at=now, declaration_at=now, decided_at=now, decided_by_id=staff.id,
                                 justification=says, return_note=says)
    db.session.add(renewal)
    db.session.flush()
    db.session.add(RenewalPeriod(application_id=renewal.id, employer=f"Firma {name}", role=f"Asystentka {email}",
                                 starts_on=date(2021, 1, 1), ends_on=date(2022, 1, 1)))
    db.session.add(RenewalEvidence(application_id=renewal.id, file_id=_file(holder, f"%PDF {says}".encode(), "z.pdf").id,
                                   description=f"Zaświadczenie {name}", note=says, verdict="rejected"))
    # Practice in the sandbox CRM: her actions there are logged under her name.
    _sandbox_work(holder, qualification)
    # Mail: to her, and to staff about her.
    db.session.add(OutboxMail(recipient=email, user_id=holder.id, subject=f"Dla {name}", body=says, status="sent"))
    db.session.add(OutboxMail(recipient=staff.email, user_id=staff.id, subject="Nowe odwołanie", body=says))
    db.session.commit()
    # The session's archive (its protocols, her name in the summary and the file names).
    from examportal import jobs

    archive = jobs.start("session_archive", actor=staff, institution_id=world["ic"].id, session_id=world["session"].id)
    assert archive.result is not None
    return [holder.last_name, name, email, pesel, "ZX1234567", "+48 600 100 200", "JBSWY3DPEHPK3PXP"]


def test_anonymisation_leaves_no_personal_data_in_any_table(app, world, qualification):
    holder = world["holder"]
    needles = give_every_kind_of_record(world, qualification)
    assert len(personal_data_left(needles)) > 20  # the search finds what is there
    before = row_counts()
    planned = preview(holder)
    assert row_counts() == before  # the preview changes nothing

    result = anonymise(holder, actor=world["staff"], cause="erasure")
    db.session.commit()
    db.session.expire_all()
    assert not result.already and result.counts == planned
    assert personal_data_left(needles) == []
    holder = db.session.get(User, holder.id)
    assert holder.email == anonymised_email(holder.id) and holder.anonymised_at is not None and not holder.active
    assert holder.pesel is None and holder.birth_date is None and holder.birth_place is None
    assert holder.totp_secret is None and holder.full_name in (f"Anonymised person #{holder.id}", f"Osoba zanonimizowana nr {holder.id}")
    # What the law keeps: the register's data and every result; uploads and mail are gone.
    certificate = db.session.get(Certificate, world["certificate"].id)
    assert certificate.holder_name == "Łucja Żółkiewska" and certificate.pdf and certificate.holder_id == holder.id
    after = row_counts()
    removed = {"stored_file": 2, "appeal_file": 1, "renewal_evidence": 1, "outbox_mail": before["outbox_mail"] - after["outbox_mail"],
               "recovery_code": 1, "audit_entry": -1}
    assert after["outbox_mail"] < before["outbox_mail"]
    assert {name: before[name] - after[name] for name in before if before[name] != after[name]} == removed
    attempt = db.session.scalars(select(TheoryAttempt).where(TheoryAttempt.candidate_id == holder.id)).one()
    assert attempt.score_points == 27 and attempt.passed is True
    assert db.session.scalars(select(Appeal)).one().grounds == PLACEHOLDER
    # The audit entry: ids and counts only, and the chain still verifies.
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.anonymised")).one()
    assert entry.object_id == str(holder.id) and entry.after == {"cause": "erasure", "counts": result.counts}
    assert verify_chain() == [] and verify_log().intact


def test_anonymising_twice_changes_nothing(app, world):
    holder = world["holder"]
    anonymise(holder, actor=None, cause="retention")
    db.session.commit()
    entries = db.session.scalar(select(func.count()).select_from(AuditEntry))
    again = anonymise(holder, actor=None, cause="retention")
    db.session.commit()
    assert again.already and again.counts == {}
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == entries
    with pytest.raises(ValueError):
        anonymise(world["candidates"][1], actor=None, cause="because")


def test_the_anonymised_person_cannot_sign_in(app, world, client):
    holder = world["holder"]
    old_email = holder.email
    assert client.post("/auth/login", data={"email": old_email, "password": PASSWORD}).status_code == 302
    client.get("/auth/logout")
    anonymise(holder, actor=None, cause="retention")
    db.session.commit()
    for email in (old_email, anonymised_email(holder.id)):
        for password in (PASSWORD, "!anonymised", ""):
            response = client.post("/auth/login", data={"email": email, "password": password})
            assert response.status_code != 302, (email, password)


def test_the_register_and_the_verification_still_show_the_certificate(app, world):
    certificate = world["certificate"]
    anonymise(world["holder"], actor=None, cause="retention")
    db.session.commit()
    register = client_as(app, world["staff"]).get("/certification/register").get_data(as_text=True)
    assert f'data-number="{certificate.number}"' in register
    response = client_as(app).get(f"/verify/{certificate.verification_code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="status">valid<' in html and "Łucja Żółkiewska" in html
    assert certificate.number in html


def test_pages_name_an_anonymised_person_so(app, world):
    holder = world["holder"]
    anonymise(holder, actor=None, cause="retention")
    db.session.commit()
    page = client_as(app, world["staff"]).get(f"/sessions/{world['session'].id}").get_data(as_text=True)
    assert f"Anonymised person #{holder.id}" in page
    assert anonymised_email(holder.id) not in page


# --------------------------------------------------------------------------- the purge


@pytest.fixture
def past(world):
    """The world's validation held in 2014; the holder's certificate ended in 2019: everyone past
    retention (2024) but the third candidate, who has an appeal open."""
    date_world(world, date(2014, 6, 2))
    certificate = world["certificate"]
    certificate.issued_on, certificate.valid_until = date(2014, 6, 10), date(2019, 6, 10)
    certificate.decision.decided_at = noon(date(2014, 6, 9))
    kept = world["candidates"][2]
    appeal = appeal_row(AppealSubject.VALIDATION, world["enrolments"][2], kept, world["ic"], status=AppealStatus.FILED,
                        enrolment=world["enrolments"][2])
    appeal.filed_at = noon(date(2014, 6, 5))
    db.session.commit()
    world["due"] = [world["candidates"][0], world["candidates"][1]]
    world["kept"] = kept
    return world


def test_the_dry_run_lists_who_is_due_and_changes_nothing(app, past, runner):
    before, entries = row_counts(), db.session.scalar(select(func.count()).select_from(AuditEntry))
    result = runner.invoke(args=["records", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    listed = dict(re.findall(r"user #(\d+)\tkept until (\S+)", result.output))
    assert listed == {str(past["candidates"][0].id): "2024-06-10", str(past["candidates"][1].id): "2019-06-02"}
    assert "2 people past retention (dry run: nothing changed)" in result.output
    assert re.search(rf"user #{past['candidates'][0].id}\t.*would remove: .*mail=\d", result.output)
    db.session.expire_all()
    assert row_counts() == before and db.session.scalar(select(func.count()).select_from(AuditEntry)) == entries
    assert all(person.anonymised_at is None for person in past["candidates"])
    # Staff are never due, whatever their records.
    assert str(past["staff"].id) not in listed and str(past["chair"].id) not in listed


def test_the_purge_runs_as_a_job_and_a_second_run_does_nothing(app, past, runner):
    statistics = {name: count for name, count in row_counts().items()
                  if name in ("enrolment", "validation_decision", "certification_decision", "certificate", "appeal")}
    result = runner.invoke(args=["records", "purge"])
    assert result.exit_code == 0, result.output
    job_id = int(re.search(r"job (\d+): finished", result.output).group(1))
    job = db.session.get(BackgroundJob, job_id)
    assert job.kind == "records_purge" and job.status == JobStatus.FINISHED and job.total == job.done == 2
    assert job.problems == []
    db.session.expire_all()
    for person in past["due"]:
        assert person.anonymised_at is not None and person.email == anonymised_email(person.id)
    assert past["kept"].anonymised_at is None and past["kept"].email == "cezary@example.pl"
    assert all(p.anonymised_at is None for p in (past["staff"], past["chair"], past["operator"]))
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.anonymised")).all()
    assert sorted(int(e.object_id) for e in entries) == sorted(p.id for p in past["due"])
    assert all(e.after["cause"] == "retention" for e in entries)
    assert verify_chain() == [] and verify_log().intact
    assert {name: count for name, count in row_counts().items() if name in statistics} == statistics

    again = runner.invoke(args=["records", "purge"])
    job = db.session.get(BackgroundJob, int(re.search(r"job (\d+): finished", again.output).group(1)))
    assert job.total == job.done == 0
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.anonymised")).all()) == 2
    assert "0 people past retention" in runner.invoke(args=["records", "purge", "--dry-run"]).output


def test_the_purge_checks_retention_again_for_each_person(app, past):
    from examportal.records import purge

    # Between the listing and the purge an appeal is filed: that person stays.
    late = past["candidates"][1]
    appeal_row(AppealSubject.VALIDATION, past["enrolments"][1], late, past["ic"], status=AppealStatus.FILED,
               enrolment=past["enrolments"][1]).filed_at = noon(date(2014, 6, 6))
    db.session.commit()
    assert purge.purge_past_retention() == 1
    db.session.expire_all()
    assert late.anonymised_at is None and past["candidates"][0].anonymised_at is not None


def test_the_scheduler_runs_the_purge(app, past):
    from examportal.jobs import scheduler

    assert "records.purge" in app.config["SCHEDULE"] and "records.purge" in scheduler.PERIODIC
    scheduler.check_schedule(app.config["SCHEDULE"])
    assert scheduler.fire("records.purge", when=datetime(2026, 1, 1, 2, 40, tzinfo=WARSAW))
    db.session.expire_all()
    assert all(person.anonymised_at is not None for person in past["due"])
    # A whole cycle later the holder of the appeal is kept still (it is open).
    assert not retention_of(past["kept"], today=date(2040, 1, 1)).past()


def test_people_acting_for_an_institution_are_never_due(app, past):
    from examportal.records.purge import due

    add_member(past["session"], past["trainer"])  # an assessor on an old session
    assert {d.user_id for d in due()} == {p.id for p in past["due"]}


def test_nothing_is_due_the_last_day_of_retention(app, past):
    from examportal.records.purge import due

    holder = past["candidates"][0]
    assert holder.id in {d.user_id for d in due(today=date(2024, 6, 11))}
    assert holder.id not in {d.user_id for d in due(today=date(2024, 6, 10))}
    assert holder.id not in {d.user_id for d in due(today=date(2024, 6, 10) - timedelta(days=400))}


def test_the_removed_protocol_is_not_found_rather_than_broken(app, world):
    holder, enrolment = world["holder"], world["enrolments"][0]
    chair = client_as(app, world["chair"])
    assert chair.get(f"/committee/enrolments/{enrolment.id}/protocol.pdf").status_code == 200
    appeal_row(AppealSubject.VALIDATION, enrolment, holder, world["ic"], status=AppealStatus.DISMISSED, enrolment=enrolment)
    anonymise(holder, actor=None, cause="retention")
    db.session.commit()
    assert chair.get(f"/committee/enrolments/{enrolment.id}/protocol.pdf").status_code == 404


def test_a_person_who_cannot_be_anonymised_stops_only_themselves(app, past, runner, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    from examportal.jobs.core import JobError
    from examportal.records import purge

    stuck, other = past["due"]
    real = purge.anonymise

    def failing(user, **kwargs):
        if user.id == stuck.id:
            raise IntegrityError("UPDATE", {}, Exception("a constraint"))
        return real(user, **kwargs)

    monkeypatch.setattr(purge, "anonymise", failing)
    result = runner.invoke(args=["records", "purge"])
    job = db.session.get(BackgroundJob, int(re.search(r"job (\d+): finished", result.output).group(1)))
    assert job.total == job.done == 2 and [p["item"] for p in job.problems] == [f"user #{stuck.id}"]
    db.session.expire_all()
    assert stuck.anonymised_at is None and other.anonymised_at is not None
    # Run by the scheduler (no progress to report to), the failure fails the periodic job.
    with pytest.raises(JobError, match=f"#{stuck.id}"):
        purge.purge_past_retention()
