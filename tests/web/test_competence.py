"""Competence records of assessors and operators: staff record them with their evidence, the people
page shows where each person stands, and nobody is appointed whose record falls short of the
qualification's requirements (a committee member, the chair, the extra member, the operator)."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from flask_babel import force_locale, format_date
from sqlalchemy import func, select

from examportal.committee import services as committee_services
from examportal.competence import services
from examportal.extensions import db
from examportal.models import (
    AuditEntry,
    CommitteeMember,
    CompetenceKind,
    CompetenceRecord,
    DecisionProposal,
    Education,
    ProposalStatus,
    Qualification,
    Role,
    User,
    utcnow,
)
from examportal.sessions import services as session_services
from tests.factories import add_member, client_as, enrol, make_competence, make_institution, make_session, make_user

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def world(app, qualification):
    ic = make_institution("Fundacja Kompetencji", qualifications=[qualification])
    child = make_institution("Ośrodek Kompetencji", parent=ic)
    other = make_institution("Inna Fundacja", qualifications=[qualification])
    return {
        "ic": ic, "child": child, "other": other,
        "staff": make_user((Role.STAFF, ic)),
        "child_staff": make_user((Role.STAFF, child)),
        "other_staff": make_user((Role.STAFF, other)),
        "admin": make_user(Role.ADMIN),
        "novice": make_user((Role.ASSESSOR, ic), competent=False, first_name="Nowy", last_name="Asesor"),
        "novice_operator": make_user((Role.OPERATOR, ic), competent=False, first_name="Nowa", last_name="Operatorka"),
        "assessor": make_user((Role.ASSESSOR, ic), first_name="Stary", last_name="Asesor"),
    }


def _form(**overrides):
    data = {"education": "secondary", "crm_supervision_months": "72", "computer_skills": "y",
            "troubleshooting_skills": "y", "note": "Dyplom i świadectwa pracy z lat 2015–2021 sprawdzone.",
            "review_due": (services.today() + timedelta(days=365)).isoformat(),
            "evidence": (BytesIO(PDF), "dyplom.pdf")}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _url(world, who="novice", kind="assessor", institution="ic"):
    return f"/competence/{world[institution].id}/people/{world[who].id}/{kind}"


def _post(client, url, **overrides):
    return client.post(url, data=_form(**overrides), content_type="multipart/form-data")


def _record(user, kind=CompetenceKind.ASSESSOR):
    db.session.expire_all()
    return db.session.scalar(select(CompetenceRecord).where(CompetenceRecord.user_id == user.id, CompetenceRecord.kind == kind))


# --------------------------------------------------------------------------- recording


def test_staff_record_a_competence_with_its_evidence(app, world):
    client = client_as(app, world["staff"])
    page = client.get(_url(world))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "at least 60 months directing or supervising the work of CRM operators" in text and "no record" in text
    response = _post(client, _url(world))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/institution/{world['ic'].id}/people")
    record = _record(world["novice"])
    assert (record.education, record.crm_supervision_months, record.computer_skills) == (Education.SECONDARY, 72, True)
    assert record.institution_id == world["ic"].id and record.verified_by_id == world["staff"].id
    assert record.evidence == PDF and record.evidence_sha256 == hashlib.sha256(PDF).hexdigest()
    assert (record.evidence_name, record.evidence_mimetype) == ("dyplom.pdf", "application/pdf")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "competence.recorded"))
    assert entry.institution_id == world["ic"].id and entry.actor_id == world["staff"].id
    assert entry.after["evidence_sha256"] == record.evidence_sha256 and entry.after["crm_supervision_months"] == 72
    # The note may name people: the chain keeps its digest only.
    assert "Dyplom" not in str(entry.after) and entry.after["note"].startswith("text:hmac-sha256:")
    with force_locale("en"):
        assert services.competence_gaps(world["novice"], CompetenceKind.ASSESSOR, world["ic"].qualifications[0]) == []


def test_saving_again_replaces_the_record_and_keeps_the_evidence(app, world):
    client = client_as(app, world["staff"])
    assert _post(client, _url(world)).status_code == 302
    first = _record(world["novice"])
    page = client.get(_url(world)).get_data(as_text=True)
    assert 'value="72"' in page and "dyplom.pdf" in page  # the form shows the record
    assert _post(client, _url(world), crm_supervision_months="80", evidence=None, computer_skills=None).status_code == 302
    record = _record(world["novice"])
    assert record.id == first.id and record.crm_supervision_months == 80 and record.computer_skills is False
    assert record.evidence == PDF  # no new file: the evidence stays
    assert _post(client, _url(world), evidence=(BytesIO(PNG), "skan.png")).status_code == 302
    assert _record(world["novice"]).evidence_mimetype == "image/png"
    assert db.session.scalar(select(func.count()).select_from(CompetenceRecord).where(
        CompetenceRecord.user_id == world["novice"].id)) == 1
    updates = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "competence.updated")).all()
    assert len(updates) == 2 and updates[0].before["crm_supervision_months"] == 72 and updates[0].after["crm_supervision_months"] == 80


def test_an_operators_record(app, world):
    client = client_as(app, world["staff"])
    url = _url(world, "novice_operator", "operator")
    assert _post(client, url, crm_supervision_months="0").status_code == 302
    record = _record(world["novice_operator"], CompetenceKind.OPERATOR)
    assert record.kind == CompetenceKind.OPERATOR and record.troubleshooting_skills is True


@pytest.mark.parametrize(("overrides", "message"), [
    ({"evidence": (BytesIO(b"<html>not a scan</html>"), "dyplom.pdf")}, "Attach the evidence as a PDF, JPEG or PNG file."),
    ({"evidence": (BytesIO(b"GIF89a" + b"\x00" * 10), "skan.gif")}, "Attach the evidence as a PDF, JPEG or PNG file."),
    ({"evidence": None}, "Attach the evidence you checked"),
    ({"crm_supervision_months": "-1"}, "from 0 to 720"),
    ({"crm_supervision_months": "721"}, "from 0 to 720"),
    ({"crm_supervision_months": "pięć lat"}, "from 0 to 720"),
    ({"crm_supervision_months": ""}, "Enter a whole number of months (0 if none)."),
    ({"review_due": (services.today() - timedelta(days=1)).isoformat()}, "has passed: give a date from today on"),
    ({"review_due": "0001-01-01"}, "has passed"),
    ({"review_due": (services.today() + timedelta(days=6 * 366)).isoformat()}, "Review the record at least every 5 years"),
    ({"review_due": "31.12.2027"}, "Enter the review date as YYYY-MM-DD."),
    ({"review_due": ""}, "Enter the review date as YYYY-MM-DD."),
    ({"education": ""}, "Choose the person's education from the list."),
    ({"education": "doctorate"}, "Not a valid choice"),
    ({"note": "x" * 2001}, "Field cannot be longer than 2000 characters."),
    ({"note": "abc\x00def"}, "Remove the invisible control character"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(app, world, overrides, message):
    response = _post(client_as(app, world["staff"]), _url(world), **overrides)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page.replace("&#39;", "'") and 'class="error"' in page
    assert _record(world["novice"]) is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action.like("competence.%"))) is None


def _multipart(fields: dict[str, str], name: str, filename: str, content: bytes) -> tuple[bytes, str]:
    """A multipart body built here: the test client spools a large one to a file it never closes."""
    boundary = "----examportal-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
             for key, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 f"Content-Type: application/pdf\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_evidence_larger_than_the_limit_is_refused_next_to_the_field(app, world):
    fields = {k: v for k, v in _form().items() if k != "evidence"}
    body, content_type = _multipart(fields, "evidence", "duzy.pdf", b"%PDF-" + b"0" * (4 * 1024 * 1024))
    response = client_as(app, world["staff"]).post(_url(world), data=body, content_type=content_type)
    assert response.status_code == 400
    assert "The file is larger than 4 MB" in response.get_data(as_text=True)
    assert _record(world["novice"]) is None


def test_typed_values_are_kept_when_the_form_is_refused(app, world):
    page = _post(client_as(app, world["staff"]), _url(world), crm_supervision_months="721",
                 note="<b>Świadectwo</b> z firmy X").get_data(as_text=True)
    assert 'value="721"' in page and "&lt;b&gt;Świadectwo&lt;/b&gt; z firmy X" in page


def test_the_service_refuses_a_person_without_the_role_and_bad_values(app, world):
    with force_locale("en"):
        with pytest.raises(services.CompetenceError, match="not a committee member of this institution"):
            services.save_record(world["staff"], world["ic"], world["staff"], CompetenceKind.ASSESSOR,
                                 {"education": "higher", "crm_supervision_months": 60,
                                  "review_due": services.today()}, None)
        for data, field in (({"education": "phd", "crm_supervision_months": 1, "review_due": services.today()}, "education"),
                            ({"education": "higher", "crm_supervision_months": True, "review_due": services.today()},
                             "crm_supervision_months"),
                            ({"education": "higher", "crm_supervision_months": 1, "review_due": "2030-01-01"}, "review_due")):
            with pytest.raises(services.CompetenceError) as caught:
                services.save_record(world["staff"], world["ic"], world["novice"], CompetenceKind.ASSESSOR, data, None)
            assert caught.value.field == field


# --------------------------------------------------------------------------- who may


def test_staff_of_the_certifying_institution_record_for_its_validating_institution(app, world):
    trainee = make_user((Role.OPERATOR, world["child"]), competent=False)
    url = f"/competence/{world['child'].id}/people/{trainee.id}/operator"
    assert _post(client_as(app, world["staff"]), url).status_code == 302
    assert _post(client_as(app, world["child_staff"]), url, crm_supervision_months="1").status_code == 302
    assert _record(trainee, CompetenceKind.OPERATOR).institution_id == world["child"].id


def test_who_may_open_the_record_page(app, world):
    url = _url(world)
    assert client_as(app, world["other_staff"]).get(url).status_code == 404
    assert _post(client_as(app, world["other_staff"]), url).status_code == 404
    # A validating institution's staff do not reach their certifying institution's people.
    assert client_as(app, world["child_staff"]).get(url).status_code == 404
    for who in ("admin", "assessor", "novice"):
        assert client_as(app, world[who]).get(url).status_code == 403
    assert client_as(app).get(url).status_code == 302
    staff = client_as(app, world["staff"])
    # Only for a holder of that role at that institution; an unknown kind is no page.
    assert staff.get(_url(world, "novice", "operator")).status_code == 404
    assert staff.get(_url(world, "staff")).status_code == 404
    assert staff.get(f"/competence/{world['ic'].id}/people/{world['novice'].id}/trainer").status_code == 404
    assert staff.get(f"/competence/{world['ic'].id}/people/999999/assessor").status_code == 404
    assert _record(world["novice"]) is None


def test_the_evidence_is_for_the_staff_of_the_recording_institution_only(app, world):
    staff = client_as(app, world["staff"])
    assert _post(staff, _url(world)).status_code == 302
    record = _record(world["novice"])
    url = f"/competence/records/{record.id}/evidence"
    response = staff.get(url)
    assert response.status_code == 200 and response.data == PDF and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="dyplom.pdf"'
    assert "no-store" in response.headers["Cache-Control"] and response.headers["X-Content-Type-Options"] == "nosniff"
    assert client_as(app, world["other_staff"]).get(url).status_code == 404
    assert client_as(app, world["child_staff"]).get(url).status_code == 404
    for who in ("admin", "novice", "assessor"):
        assert client_as(app, world[who]).get(url).status_code == 403
    # A record without evidence (made outside the form) has nothing to download.
    bare = _record(world["assessor"])
    assert staff.get(f"/competence/records/{bare.id}/evidence").status_code == 404


# --------------------------------------------------------------------------- the people page


def test_the_people_page_shows_where_each_assessor_and_operator_stands(app, world):
    make_competence(world["novice_operator"], CompetenceKind.OPERATOR, world["ic"], computer_skills=False,
                    review_due=services.today() - timedelta(days=3))
    page = client_as(app, world["staff"]).get(f"/institution/{world['ic'].id}/people").get_data(as_text=True)
    row = {name: page.split(name, 1)[1].split("</tr>", 1)[0] for name in ("Stary Asesor", "Nowy Asesor", "Nowa Operatorka")}
    assert "meets the requirements" in row["Stary Asesor"] and "Edit the record" in row["Stary Asesor"]
    assert "no record" in row["Nowy Asesor"] and f"/competence/{world['ic'].id}/people/{world['novice'].id}/assessor" in row["Nowy Asesor"]
    assert "review overdue" in row["Nowa Operatorka"] and "no computer skills" in row["Nowa Operatorka"]
    assert "missing for 13881" in row["Nowa Operatorka"]


# --------------------------------------------------------------------------- refusals at appointment


def _session(world, qualification, **kwargs):
    return make_session(world["ic"], qualification, **kwargs)


@pytest.mark.parametrize(("record", "named"), [
    (None, "no competence record as committee member"),
    ({"education": Education.VOCATIONAL}, "education basic vocational is below the required secondary"),
    ({"crm_supervision_months": 48}, "48 of the required 60 months directing or supervising CRM operators"),
    ({"review_due": services.today() - timedelta(days=1)}, "review overdue since"),
])
def test_a_committee_member_whose_record_falls_short_is_refused(app, world, qualification, record, named):
    if record is not None:
        make_competence(world["novice"], CompetenceKind.ASSESSOR, world["ic"], **record)
    session = _session(world, qualification)
    client = client_as(app, world["staff"])
    for chair in ("", "y"):  # the chair too
        response = client.post(f"/sessions/{session.id}/committee", data={"assessor_id": world["novice"].id, "is_chair": chair})
        assert response.status_code == 400
        page = response.get_data(as_text=True).replace("&#39;", "'")
        assert "Nowy Asesor does not meet this qualification's requirements for the role of committee member" in page
        assert named in page
    assert session_services.involved_assessors(session) == set()
    with force_locale("en"), pytest.raises(session_services.SessionRuleError, match=named):
        session_services.add_assessor(session, world["novice"], is_chair=True)


def test_the_pickers_mark_whoever_would_be_refused(app, world, qualification):
    session = _session(world, qualification)
    page = client_as(app, world["staff"]).get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Nowy Asesor — does not meet the requirements" in page
    assert "Nowa Operatorka — does not meet the requirements" in page
    make_competence(world["novice"], CompetenceKind.ASSESSOR, world["ic"])
    page = client_as(app, world["staff"]).get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Nowy Asesor — does not meet" not in page and ">Nowy Asesor</option>" in page


def test_a_record_due_for_review_before_the_session_refuses(app, world, qualification):
    make_competence(world["novice"], CompetenceKind.ASSESSOR, world["ic"], review_due=services.today() + timedelta(days=2))
    session = _session(world, qualification, starts_at=datetime.now(UTC) + timedelta(days=30))
    with force_locale("en"), pytest.raises(session_services.SessionRuleError, match=r"review due on .*, before "):
        session_services.add_assessor(session, world["novice"])
    soon = _session(world, qualification, starts_at=datetime.now(UTC) + timedelta(hours=2))
    assert session_services.add_assessor(soon, world["novice"]).assessor_id == world["novice"].id


@pytest.mark.parametrize(("record", "named"), [
    (None, ["no competence record as exam-system operator"]),
    ({"computer_skills": False}, ["no computer skills"]),
    ({"troubleshooting_skills": False}, ["no troubleshooting skills (lost connection, browser compatibility)"]),
    ({"education": Education.PRIMARY, "computer_skills": False},
     ["education primary is below the required secondary", "no computer skills"]),
    ({"review_due": services.today() - timedelta(days=40)}, ["review overdue since"]),
])
def test_an_operator_whose_record_falls_short_is_refused(app, world, qualification, record, named):
    if record is not None:
        make_competence(world["novice_operator"], CompetenceKind.OPERATOR, world["ic"], **record)
    session = _session(world, qualification)
    response = client_as(app, world["staff"]).post(f"/sessions/{session.id}/operator",
                                                   data={"operator_id": world["novice_operator"].id})
    assert response.status_code == 400
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert "Nowa Operatorka does not meet this qualification's requirements for the role of exam-system operator" in page
    for gap in named:
        assert gap in page
    db.session.expire_all()
    assert session.operator_id is None


def test_an_assessors_record_does_not_make_an_operator(app, world, qualification):
    """The two kinds are apart: a committee member's record does not qualify them to operate the system."""
    both = make_user((Role.ASSESSOR, world["ic"]), (Role.OPERATOR, world["ic"]), competent=False)
    make_competence(both, CompetenceKind.ASSESSOR, world["ic"])
    session = _session(world, qualification)
    assert session_services.add_assessor(session, both).assessor_id == both.id
    with force_locale("en"), pytest.raises(session_services.SessionRuleError, match="no competence record as exam-system operator"):
        session_services.assign_operator(session, both)


def test_competent_people_are_appointed(app, world, qualification):
    operator = make_user((Role.OPERATOR, world["ic"]))
    session = _session(world, qualification)
    client = client_as(app, world["staff"])
    assert client.post(f"/sessions/{session.id}/committee", data={"assessor_id": world["assessor"].id, "is_chair": "y"}).status_code == 302
    assert client.post(f"/sessions/{session.id}/operator", data={"operator_id": operator.id}).status_code == 302
    # Recorded through the page, the novice is appointed as well.
    assert _post(client, _url(world)).status_code == 302
    assert client.post(f"/sessions/{session.id}/committee", data={"assessor_id": world["novice"].id}).status_code == 302
    db.session.expire_all()
    assert session.operator_id == operator.id
    assert {m.assessor_id for m in session.committee} == {world["assessor"].id, world["novice"].id}


def _disputed(world, qualification):
    session = _session(world, qualification, starts_at=datetime.now(UTC) - timedelta(days=1))
    chair = make_user((Role.ASSESSOR, world["ic"]))
    add_member(session, chair, declared=True).is_chair = True
    add_member(session, world["assessor"], declared=True)
    enrolment = enrol(session, make_user(Role.CANDIDATE))
    db.session.add(DecisionProposal(enrolment_id=enrolment.id, positive=True, status=ProposalStatus.DISPUTED,
                                    proposed_by_id=chair.id, proposed_at=utcnow()))
    db.session.commit()
    return session, enrolment


@pytest.mark.parametrize(("record", "named"), [
    (None, "no competence record as committee member"),
    ({"crm_supervision_months": 12}, "12 of the required 60 months"),
    ({"review_due": services.today() - timedelta(days=1)}, "review overdue since"),
])
def test_the_extra_member_for_a_dispute_must_meet_the_requirements(app, world, qualification, record, named):
    if record is not None:
        make_competence(world["novice"], CompetenceKind.ASSESSOR, world["ic"], **record)
    session, enrolment = _disputed(world, qualification)
    response = client_as(app, world["staff"]).post(f"/sessions/{session.id}/enrolments/{enrolment.id}/extra-member",
                                                   data={"assessor_id": str(world["novice"].id)})
    assert response.status_code == 400
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert "Nowy Asesor does not meet this qualification's requirements for the role of committee member" in page and named in page
    assert committee_services.extra_member(enrolment) is None
    with force_locale("en"), pytest.raises(committee_services.CommitteeRuleError, match=named):
        committee_services.appoint_extra_member(world["staff"], enrolment, world["novice"])


def test_a_competent_extra_member_is_appointed(app, world, qualification):
    session, enrolment = _disputed(world, qualification)
    spare = make_user((Role.ASSESSOR, world["ic"]))
    response = client_as(app, world["staff"]).post(f"/sessions/{session.id}/enrolments/{enrolment.id}/extra-member",
                                                   data={"assessor_id": str(spare.id)})
    assert response.status_code == 302
    member = db.session.scalar(select(CommitteeMember).where(CommitteeMember.enrolment_id == enrolment.id))
    assert member.assessor_id == spare.id


def test_the_record_date_shown_is_the_review_date(app, world):
    due = services.today() + timedelta(days=100)
    make_competence(world["novice"], CompetenceKind.ASSESSOR, world["ic"], review_due=due)
    page = client_as(app, world["staff"]).get(f"/institution/{world['ic'].id}/people").get_data(as_text=True)
    with app.test_request_context(), force_locale("en"):
        assert f"review by {format_date(due, 'medium')}" in page


def test_the_demo_assessors_and_operator_meet_the_requirements(app, runner):
    from examportal import demo

    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    qualification = db.session.scalar(select(Qualification).where(Qualification.code == "13881"))
    people = {email: db.session.scalar(select(User).where(User.email == email)) for email in demo.COMPETENCE}
    with force_locale("en"):
        for email, (kind, _education, _months) in demo.COMPETENCE.items():
            assert services.competence_gaps(people[email], kind, qualification) == [], email
    count = db.session.scalar(select(func.count()).select_from(CompetenceRecord))
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(CompetenceRecord)) == count == len(demo.COMPETENCE)
