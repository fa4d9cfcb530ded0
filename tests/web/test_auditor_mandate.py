"""The external auditor (#18): staff grant a read-only mandate over one institution and one period;
the auditor reads that institution's protocols and audit log of the period, and nothing else."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.audit import services as audit_log
from examportal.certification.rules import today
from examportal.extensions import db
from examportal.models import AuditEntry, AuditorMandate, OutboxMail, Role, User, UserRole
from examportal.reports import access, auditors
from tests.certtools import validation_decision
from tests.factories import client_as, enrol, make_institution, make_session, make_user


@pytest.fixture
def audit_world(app, qualification):
    ic = make_institution("Fundacja Audytowana", qualifications=[qualification])
    child = make_institution("Ośrodek Audytowany", parent=ic)
    other = make_institution("Fundacja Inna", qualifications=[qualification])
    staff = make_user((Role.STAFF, ic))
    auditor = make_user((Role.AUDITOR, ic), first_name="Olga", last_name="Audytorka")
    inside = enrol(make_session(child, qualification, title="Sesja w okresie"), make_user(Role.CANDIDATE))
    before = enrol(make_session(child, qualification, title="Sesja przed okresem"), make_user(Role.CANDIDATE))
    foreign = enrol(make_session(other, qualification, title="Sesja innej instytucji"), make_user(Role.CANDIDATE))
    decisions = {name: validation_decision(e) for name, e in (("inside", inside), ("before", before), ("foreign", foreign))}
    day = today()
    period_from = day - timedelta(days=30)
    decisions["before"].decided_at = datetime(period_from.year, period_from.month, period_from.day, tzinfo=UTC) - timedelta(days=10)
    mandate = AuditorMandate(user_id=auditor.id, institution_id=ic.id, period_from=period_from, period_to=day,
                             expires_on=day + timedelta(days=14), granted_by_id=staff.id)
    db.session.add(mandate)
    db.session.commit()
    return {"ic": ic, "child": child, "other": other, "staff": staff, "auditor": auditor, "mandate": mandate,
            "enrolments": {"inside": inside, "before": before, "foreign": foreign}}


def grant_form(w, **overrides):
    day = today()
    data = {"institution_id": str(w["ic"].id), "email": "nowy.audytor@pka.example", "first_name": "Piotr",
            "last_name": "Kontrolny", "period_from": (day - timedelta(days=365)).isoformat(),
            "period_to": day.isoformat(), "expires_on": (day + timedelta(days=30)).isoformat()}
    data.update(overrides)
    return data


def test_staff_grant_a_mandate_creating_the_auditors_account(app, audit_world):
    w = audit_world
    response = client_as(app, w["staff"]).post("/reports/auditors", data=grant_form(w))
    assert response.status_code == 302
    auditor = db.session.scalar(select(User).where(User.email == "nowy.audytor@pka.example"))
    assert auditor is not None and auditor.has_role(Role.AUDITOR, w["ic"].id)
    assert auditor.needs_second_factor  # an auditor reads personal data: a second factor, as deciding roles
    mandate = db.session.scalar(select(AuditorMandate).where(AuditorMandate.user_id == auditor.id))
    assert mandate.period_to == today() and mandate.granted_by_id == w["staff"].id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auditor.mandate_granted"))
    assert entry.after["user_id"] == auditor.id and "nowy.audytor" not in str(entry.after)
    assert db.session.scalar(select(OutboxMail).where(OutboxMail.recipient == auditor.email)) is not None


@pytest.mark.parametrize(("overrides", "message"), [  # a whole number: that many Warsaw days from today
    ({"period_from": 60, "period_to": 90}, "cannot start in the future"),
    ({"period_to": 1}, "must have ended by today"),
    ({"period_to": "9999-12-31"}, "must have ended by today"),
    ({"period_from": "0001-01-01"}, "cannot start before 2000-01-01"),
    ({"period_to": -400}, "The period ends before it starts."),
    ({"expires_on": -2}, "already have expired"),
    ({"expires_on": 400}, "at most 366 days"),
    ({"first_name": "", "last_name": ""}, "give the auditor&#39;s first and last name"),
    ({"period_from": "31.02.2026"}, "Not a valid date value."),
])
def test_a_mandate_is_refused_with_the_reason_and_the_form_kept(app, audit_world, overrides, message):
    # The days are counted when the test runs, not when it is collected: a run that crosses midnight
    # in Warsaw once saw "tomorrow" become today.
    day = today()
    dated = {field: (day + timedelta(days=value)).isoformat() if isinstance(value, int) else value
             for field, value in overrides.items()}
    w = audit_world
    response = client_as(app, w["staff"]).post("/reports/auditors", data=grant_form(w, **dated))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page
    assert 'value="nowy.audytor@pka.example"' in page  # nothing typed is lost
    assert db.session.scalar(select(AuditorMandate).where(AuditorMandate.user_id != w["auditor"].id)) is None


@pytest.mark.parametrize("role", [Role.STAFF, Role.ASSESSOR, Role.OPERATOR, Role.APPEALS])
def test_nobody_audits_an_institution_they_work_for(app, audit_world, role):
    w = audit_world
    insider = make_user((role, w["child"]), email=f"insider-{role.value}@example.pl")
    response = client_as(app, w["staff"]).post("/reports/auditors", data=grant_form(w, email=insider.email))
    assert response.status_code == 400 and "an auditor must be independent of it" in response.get_data(as_text=True)
    assert not insider.has_role(Role.AUDITOR)


def test_staff_may_not_make_themselves_auditors_nor_grant_over_another_institution(app, audit_world):
    w = audit_world
    client = client_as(app, w["staff"])
    response = client.post("/reports/auditors", data=grant_form(w, email=w["staff"].email))
    assert response.status_code == 400 and "You cannot grant yourself" in response.get_data(as_text=True)
    response = client.post("/reports/auditors", data=grant_form(w, institution_id=str(w["other"].id)))
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)


def test_the_auditor_reads_the_protocols_of_the_period_only(app, audit_world):
    w = audit_world
    client = client_as(app, w["auditor"])
    assert client.get("/reports/audit-pack").status_code == 200
    page = client.get(f"/reports/audit-pack/{w['mandate'].id}").get_data(as_text=True)
    inside, before, foreign = (w["enrolments"][k] for k in ("inside", "before", "foreign"))
    assert "Sesja w okresie" in page and "Sesja przed okresem" not in page and "Sesja innej instytucji" not in page
    assert client.get(f"/committee/enrolments/{inside.id}/protocol.pdf").status_code == 200
    assert client.get(f"/committee/enrolments/{before.id}/protocol.pdf").status_code == 404
    assert client.get(f"/committee/enrolments/{foreign.id}/protocol.pdf").status_code == 404


def test_the_auditor_reads_the_audit_log_of_the_institution_and_period_only(app, audit_world):
    w = audit_world
    old = audit_log.record("test.old_entry", object_type="test", object_id=1, institution_id=w["ic"].id)
    audit_log.record("test.current_entry", object_type="test", object_id=2, institution_id=w["child"].id)
    audit_log.record("test.foreign_entry", object_type="test", object_id=3, institution_id=w["other"].id)
    db.session.commit()
    # The chain's hashes cover 'at': moving an entry back in time is done before hashing, as a restore would not.
    old.at = old.at - timedelta(days=90)
    old.hash = audit_log.entry_hash(old)
    db.session.commit()
    page = client_as(app, w["auditor"]).get("/audit/").get_data(as_text=True)
    assert "test.current_entry" in page
    assert "test.old_entry" not in page and "test.foreign_entry" not in page


def test_the_auditor_changes_nothing(app, audit_world):
    w = audit_world
    client = client_as(app, w["auditor"])
    assert client.get("/reports/auditors").status_code == 403
    assert client.post("/reports/auditors", data=grant_form(w)).status_code == 403
    assert client.post(f"/reports/auditors/{w['mandate'].id}/revoke").status_code == 403
    assert client.get("/institution/").status_code == 403


def test_a_revoked_or_expired_mandate_opens_nothing(app, audit_world):
    w = audit_world
    inside = w["enrolments"]["inside"]
    client = client_as(app, w["auditor"])
    w["mandate"].expires_on = today() - timedelta(days=1)
    db.session.commit()
    assert client.get("/reports/audit-pack").status_code == 403
    assert client.get(f"/reports/audit-pack/{w['mandate'].id}").status_code == 404
    assert client.get(f"/committee/enrolments/{inside.id}/protocol.pdf").status_code == 404
    assert access.reader_scopes(w["auditor"]) == []

    w["mandate"].expires_on = today() + timedelta(days=1)
    db.session.commit()
    assert client.get(f"/committee/enrolments/{inside.id}/protocol.pdf").status_code == 200
    staff_client = client_as(app, w["staff"])
    assert staff_client.post(f"/reports/auditors/{w['mandate'].id}/revoke").status_code == 302
    assert client.get(f"/committee/enrolments/{inside.id}/protocol.pdf").status_code == 404
    assert db.session.scalar(select(UserRole).where(UserRole.user_id == w["auditor"].id)) is None  # last mandate: role gone
    assert staff_client.get("/reports/auditors").status_code == 200


def test_other_institutions_staff_cannot_revoke_or_see_the_mandate(app, audit_world, qualification):
    w = audit_world
    outsider = make_user((Role.STAFF, w["other"]))
    client = client_as(app, outsider)
    assert client.post(f"/reports/auditors/{w['mandate'].id}/revoke").status_code == 404
    assert "Audytorka" not in client.get("/reports/auditors").get_data(as_text=True)
    db.session.refresh(w["mandate"])
    assert w["mandate"].revoked_at is None


def test_the_scope_rules(app, audit_world):
    w = audit_world
    (scope,) = access.reader_scopes(w["auditor"])
    assert scope.institution_ids == {w["ic"].id, w["child"].id} and scope.mandate_id == w["mandate"].id
    day = today()
    assert scope.covers(w["child"].id, day - timedelta(days=30), day)
    assert not scope.covers(w["child"].id, day - timedelta(days=31), day)
    assert not scope.covers(w["other"].id)
    (staff_scope,) = access.reader_scopes(w["staff"])
    assert staff_scope.covers(w["ic"].id, date(2001, 1, 1), date(2001, 3, 31)) and staff_scope.period_from is None
    with pytest.raises(auditors.MandateRefused):
        auditors.revoke(w["staff"], w["mandate"]) or auditors.revoke(w["staff"], w["mandate"])


def test_the_services_refuse_whoever_is_not_the_institutions_staff(app, audit_world):
    w = audit_world
    outsider = make_user((Role.STAFF, w["other"]))
    day = today()
    request = auditors.MandateRequest(email="kto@pka.example", first_name="Kto", last_name="Ś",
                                      period_from=day - timedelta(days=10), period_to=day, expires_on=day)
    with force_locale("en"), pytest.raises(auditors.MandateRefused, match="Only the institution's staff"):
        auditors.grant(outsider, w["ic"], request)
    with force_locale("en"), pytest.raises(auditors.MandateRefused, match="Only the institution's staff"):
        auditors.revoke(w["auditor"], w["mandate"])
    assert w["mandate"].revoked_at is None
