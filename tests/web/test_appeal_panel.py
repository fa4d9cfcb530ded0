"""The appeals panel: staff appoint it from the institution's appeals-panel members and the system
refuses — naming the reason — anyone who took part in the decision appealed; at least the committee
minimum and one chair before the review starts; each member declares impartiality before seeing the
grounds, files or work; a member sees only the appeals they sit on; every member must approve a
proposal, a dissent (with its reason) rejects it; the decided appeal is mailed to the appellant in
their language, its annex stored, and an upheld one's remedy carried out by the system."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.appeals import deciding, services
from examportal.certification import services as certification
from examportal.extensions import db
from examportal.models import (
    Appeal,
    AppealPanelMember,
    AppealRemedy,
    AppealStatus,
    AppealSubject,
    ApplicationStatus,
    AuditEntry,
    CertificateEvent,
    CertificateStatus,
    CommitteeMember,
    CriterionResult,
    OperatorAction,
    OperatorActionKind,
    RenewalApplication,
    RenewalStatus,
    Role,
    UserRole,
    utcnow,
)
from tests.appealtools import (
    appeal_world,
    body,
    decide,
    file_appeal,
    mails_to,
    pdf_upload,
    ready_for_review,
    refusal_of,
    seat,
)
from tests.certtools import make_certificate
from tests.factories import (
    client_as,
    enrol,
    make_application,
    make_session,
    make_theory_result,
    make_user,
)


@pytest.fixture
def world(app, qualification):
    return appeal_world(qualification)


def entries(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def panel_of(appeal: Appeal) -> list[AppealPanelMember]:
    db.session.expire_all()
    return list(db.session.scalars(select(AppealPanelMember).where(AppealPanelMember.appeal_id == appeal.id)))


def appoint(app, world, appeal, person, chair: bool = False):
    data = {"member": str(person.id)}
    if chair:
        data["is_chair"] = "y"
    return client_as(app, world["staff"]).post(f"/appeals/staff/{appeal.id}/panel", data=data)


# --------------------------------------------------------------------------- appointing the panel


@pytest.mark.parametrize("who, reason", [
    ("chair", "member (or the chair) of the validation committee"),
    ("member", "member (or the chair) of the validation committee"),
    ("operator", "exam-system operator"),
    ("trainer", "trained the appellant"),
])
def test_no_one_involved_in_the_decision_can_be_appointed(app, world, who, reason):
    appeal = file_appeal(world)
    response = appoint(app, world, appeal, world[who])
    assert response.status_code == 400
    assert f"{world[who].full_name} cannot sit on this panel" in body(response) and reason in body(response)
    assert panel_of(appeal) == []
    # The staff page names them and why before anyone tries.
    page = body(client_as(app, world["staff"]).get(f"/appeals/staff/{appeal.id}"))
    assert f'data-person="{world[who].id}"' in page


def test_every_other_kind_of_involvement_is_refused_with_its_reason(app, world, qualification):
    ic, candidate = world["ic"], world["candidate"]
    appeals = (Role.APPEALS, ic)
    enrolment = world["enrolment"]
    # A member appointed for this candidate after a dissent, an operator who acted on the whole
    # session, who recorded a criterion's result, who released the theory results.
    extra = make_user(appeals, (Role.ASSESSOR, ic), first_name="Ernest", last_name="Dodatkowy")
    db.session.add(CommitteeMember(session_id=world["session"].id, assessor_id=extra.id, enrolment_id=enrolment.id))
    acting = make_user(appeals, first_name="Adam", last_name="Zastępca")
    db.session.add(OperatorAction(session_id=world["session"].id, kind=OperatorActionKind.INCIDENT,
                                  reason="Awaria sieci", operator_id=acting.id))
    recorder = make_user(appeals, first_name="Regina", last_name="Rejestrująca")
    criterion = qualification.outcome_sets[0].outcomes[0].criteria[0]
    db.session.add(CriterionResult(enrolment_id=enrolment.id, criterion_id=criterion.id, met=False,
                                   recorded_by_id=recorder.id, recorded_at=utcnow()))
    releaser = make_user(appeals, first_name="Roman", last_name="Publikujący")
    make_theory_result(enrolment, qualification).released_by_id = releaser.id
    db.session.commit()
    appeal = file_appeal(world)
    for person, reason in ((extra, "validation committee"), (acting, "exam-system operator"),
                           (recorder, "took part in the validation decision"), (releaser, "theory results")):
        response = appoint(app, world, appeal, person)
        assert response.status_code == 400 and reason in body(response), person.full_name
    # The appellant themself, had they the role.
    candidate.roles.append(UserRole(role=Role.APPEALS, institution_id=ic.id))
    db.session.commit()
    response = appoint(app, world, appeal, candidate)
    assert response.status_code == 400 and "is the appellant" in body(response)
    assert panel_of(appeal) == []


def test_the_certification_decider_and_the_one_who_suspended_are_refused(app, world, qualification):
    candidate, staff = world["candidate"], world["staff"]
    enrolment = enrol(make_session(world["child"], qualification), candidate)
    certificate = make_certificate(enrolment, world["decider"])  # decided by "decider"
    suspender = make_user((Role.STAFF, world["ic"]), (Role.APPEALS, world["ic"]), first_name="Zofia", last_name="Zawieszająca")
    certification.change_status(suspender, certificate, "suspend", "Wyjaśnianie nieprawidłowości")
    event = db.session.scalar(select(CertificateEvent).where(CertificateEvent.certificate_id == certificate.id))
    decision = services.load(AppealSubject.CERTIFICATE, event.id)
    appeal = services.file_appeal(candidate, decision, "Zawieszenie jest bezpodstawne.")
    for person, reason in ((world["decider"], "took the certification decision"),
                           (suspender, "suspended or revoked the appellant's certificate")):
        with force_locale("en"):
            message = refusal_of(lambda person=person: services.appoint(staff, appeal, person))
        assert person.full_name in message and reason in message


def test_the_application_decider_and_the_renewal_assessor_are_refused(app, world, qualification):
    candidate, staff = world["candidate"], world["staff"]
    application = make_application(make_session(world["child"], qualification), candidate,
                                   status=ApplicationStatus.REJECTED, rejection_reason="Brak dokumentów",
                                   decided_at=utcnow(), decided_by_id=world["decider"].id)
    appeal = services.file_appeal(candidate, services.load(AppealSubject.APPLICATION, application.id), "Dokumenty były.")
    assert "decided the appellant's application" in refusal_of(
        lambda: services.appoint(staff, appeal, world["decider"]))
    enrolment = enrol(make_session(world["child"], qualification), candidate)
    certificate = make_certificate(enrolment, world["decider"])  # staff who handle the appeal did not certify
    assessor = make_user((Role.ASSESSOR, world["ic"]), (Role.APPEALS, world["ic"]), first_name="Anatol", last_name="Oceniający")
    renewal = RenewalApplication(certificate_id=certificate.id, holder_id=candidate.id, status=RenewalStatus.REJECTED,
                                 submitted_at=utcnow(), declaration_at=utcnow(), assessor_id=assessor.id,
                                 decided_at=utcnow(), decided_by_id=assessor.id, notified_at=utcnow(),
                                 justification="Za mało udokumentowanej pracy z CRM.")
    db.session.add(renewal)
    db.session.commit()
    appeal = services.file_appeal(candidate, services.load(AppealSubject.RENEWAL, renewal.id), "Praca była.")
    assert "assessed or decided the appellant's renewal" in refusal_of(lambda: services.appoint(staff, appeal, assessor))


def test_only_appeals_panel_members_of_the_institution_and_one_chair(app, world, qualification):
    appeal = file_appeal(world)
    foreign = appeal_world(qualification, letter="Z")
    for person in (foreign["panel1"], world["staff"], world["other"]):
        response = appoint(app, world, appeal, person)
        assert response.status_code == 400 and "is not an appeals panel member of" in body(response)
    assert appoint(app, world, appeal, world["panel1"], chair=True).status_code == 302
    response = appoint(app, world, appeal, world["panel2"], chair=True)
    assert response.status_code == 400 and "already has a chair" in body(response)
    response = appoint(app, world, appeal, world["panel1"])
    assert response.status_code == 400 and "already on this panel" in body(response)
    for bad in ("", "abc", "99999999999999999999", "-1"):
        response = client_as(app, world["staff"]).post(f"/appeals/staff/{appeal.id}/panel", data={"member": bad})
        assert response.status_code == 400 and "Choose an appeals panel member" in body(response)
    assert [m.member_id for m in panel_of(appeal)] == [world["panel1"].id]
    mail = mails_to(world["panel1"])[-1]
    assert mail.subject == "You have been appointed to an appeals panel" and f"/appeals/panel/{appeal.id}" in mail.body
    assert entries("appeal.panel_member_appointed")


def test_the_review_starts_only_acknowledged_with_the_minimum_and_a_chair(app, world):
    appeal = file_appeal(world)
    client = client_as(app, world["staff"])
    start = f"/appeals/staff/{appeal.id}/start"
    response = client.post(start)
    assert response.status_code == 400 and "Acknowledge the appeal first" in body(response)
    services.acknowledge(world["staff"], appeal)
    services.appoint(world["staff"], appeal, world["panel1"])
    response = client.post(start)
    assert response.status_code == 400 and "at least 2 members" in body(response)
    services.appoint(world["staff"], appeal, world["panel2"])
    response = client.post(start)
    assert response.status_code == 400 and "exactly one chair" in body(response)
    member = seat(appeal, world["panel2"])
    assert client.post(f"/appeals/staff/{appeal.id}/panel/{member.id}/remove").status_code == 302
    services.appoint(world["staff"], appeal, world["panel3"], is_chair=True)
    assert client.post(start).status_code == 302
    db.session.expire_all()
    appeal = db.session.get(Appeal, appeal.id)
    assert appeal.status == AppealStatus.UNDER_REVIEW and appeal.review_started_at is not None
    response = appoint(app, world, appeal, world["panel2"])
    assert response.status_code == 400 and "only before the review starts" in body(response)
    assert client.post(f"/appeals/staff/{appeal.id}/panel/{seat(appeal, world['panel1']).id}/remove").status_code == 400
    assert entries("appeal.review_started") and entries("appeal.panel_member_removed")


# --------------------------------------------------------------------------- the panel's side


def test_a_panel_member_sees_only_the_appeals_they_sit_on(app, world, qualification):
    appeal = ready_for_review(world, file_appeal(world, uploads=[pdf_upload()]), declare=False)
    other_world = appeal_world(qualification, letter="Q")
    foreign = ready_for_review(other_world, file_appeal(other_world), declare=False)
    client = client_as(app, world["panel1"])
    listing = body(client.get("/appeals/panel"))
    assert f'data-appeal="{appeal.id}"' in listing and f'data-appeal="{foreign.id}"' not in listing
    outsider = client_as(app, world["panel3"])  # an appeals-panel member of the institution, not on this panel
    assert f'data-appeal="{appeal.id}"' not in body(outsider.get("/appeals/panel"))
    file_id = appeal.files[0].id
    for path in (f"/appeals/panel/{appeal.id}", f"/appeals/panel/{appeal.id}/work", f"/appeals/panel/{appeal.id}/protocol.pdf",
                 f"/appeals/{appeal.id}/files/{file_id}"):
        assert outsider.get(path).status_code == 404, path
    for path in ("declare", "propose", "vote"):
        assert outsider.post(f"/appeals/panel/{appeal.id}/{path}", data={"confirm": "y"}).status_code == 404
    assert client.get(f"/appeals/panel/{foreign.id}").status_code == 404
    # Someone involved in the decision, though an appeals-panel member, cannot open it either.
    assert client_as(app, world["chair"]).get(f"/appeals/panel/{appeal.id}").status_code == 404


def test_a_member_declares_impartiality_before_seeing_the_grounds_files_and_work(app, world):
    appeal = ready_for_review(world, file_appeal(world, uploads=[pdf_upload("dowod.pdf")]), declare=False)
    client = client_as(app, world["panel1"])
    page = body(client.get(f"/appeals/panel/{appeal.id}"))
    assert appeal.grounds not in page and "dowod.pdf" not in page and "Declaration of impartiality" in page
    file_id = appeal.files[0].id
    for path in (f"/appeals/{appeal.id}/files/{file_id}", f"/appeals/panel/{appeal.id}/work",
                 f"/appeals/panel/{appeal.id}/protocol.pdf"):
        assert client.get(path).status_code == 404
    assert client.post(f"/appeals/panel/{appeal.id}/propose", data={"outcome": "dismiss", "justification": "x"}).status_code == 404
    response = client.post(f"/appeals/panel/{appeal.id}/declare", data={})
    assert response.status_code == 400 and "You must confirm the declaration" in body(response)
    assert client.post(f"/appeals/panel/{appeal.id}/declare", data={"confirm": "y"}).status_code == 302
    member = seat(appeal, world["panel1"])
    assert member.declared_at is not None and "impartial" in member.declaration
    assert world["candidate"].full_name in member.declaration
    page = body(client.get(f"/appeals/panel/{appeal.id}"))
    assert appeal.grounds in page and "dowod.pdf" in page
    download = client.get(f"/appeals/{appeal.id}/files/{file_id}")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert client.get(f"/appeals/panel/{appeal.id}/protocol.pdf").status_code == 200
    assert client.get(f"/appeals/panel/{appeal.id}/work").status_code == 200
    response = client.post(f"/appeals/panel/{appeal.id}/declare", data={"confirm": "y"})
    assert response.status_code == 400 and "already signed" in body(response)
    [entry] = entries("appeal.impartiality_declared")
    assert entry.after["declaration"].startswith("text:hmac-sha256:")


def test_the_panel_decides_only_when_every_member_approves_and_a_dissent_rejects(app, world):
    appeal = ready_for_review(world, file_appeal(world))
    first, second = client_as(app, world["panel1"]), client_as(app, world["panel2"])
    propose = f"/appeals/panel/{appeal.id}/propose"
    for data, message in (({"justification": "Uzasadnienie"}, "Choose whether the appeal is dismissed or upheld"),
                          ({"outcome": "dismiss", "justification": "  "}, "Write the justification"),
                          ({"outcome": "maybe", "justification": "x"}, "Not a valid choice"),
                          ({"outcome": "uphold", "justification": "x"}, "Choose what the system carries out"),
                          ({"outcome": "uphold", "remedy": "reassessment_of_everything", "justification": "x"},
                           "Choose one of the remedies offered")):
        response = first.post(propose, data=data)
        assert response.status_code == 400 and message in body(response), data
    assert first.post(propose, data={"outcome": "dismiss", "justification": "Decyzja komisji była prawidłowa."}).status_code == 302
    response = first.post(propose, data={"outcome": "dismiss", "justification": "Drugi raz"})
    assert response.status_code == 400 and "already been proposed" in body(response)
    response = first.post(f"/appeals/panel/{appeal.id}/vote", data={"vote": "approve"})
    assert response.status_code == 400 and "already voted" in body(response)
    response = second.post(f"/appeals/panel/{appeal.id}/vote", data={"vote": "dissent", "reason": " "})
    assert response.status_code == 400 and "A dissent needs its reason" in body(response)
    assert second.post(f"/appeals/panel/{appeal.id}/vote",
                       data={"vote": "dissent", "reason": "Nie zbadano nagrania."}).status_code == 302
    db.session.expire_all()
    appeal = db.session.get(Appeal, appeal.id)
    assert appeal.status == AppealStatus.UNDER_REVIEW and [p.status for p in appeal.proposals] == ["rejected"]
    assert entries("appeal.decision_rejected")
    # Another proposal; every member approves; the appeal is decided.
    assert second.post(propose, data={"outcome": "dismiss",
                                      "justification": "Po obejrzeniu nagrania: decyzja prawidłowa."}).status_code == 302
    assert first.post(f"/appeals/panel/{appeal.id}/vote", data={"vote": "approve"}).status_code == 302
    db.session.expire_all()
    appeal = db.session.get(Appeal, appeal.id)
    assert appeal.status == AppealStatus.DISMISSED and appeal.decided_at is not None
    assert appeal.justification == "Po obejrzeniu nagrania: decyzja prawidłowa."
    assert appeal.remedy == AppealRemedy.NONE and appeal.remedy_done_at is None
    assert appeal.annex_pdf and appeal.annex_pdf.startswith(b"%PDF") and len(appeal.annex_sha256 or "") == 64
    mail = mails_to(world["candidate"])[-1]
    assert mail.subject == "The decision on your appeal" and "dismissed" in mail.body
    assert "Po obejrzeniu nagrania" in mail.body
    [entry] = entries("appeal.decided")
    assert entry.after["status"] == "dismissed" and entry.after["justification"].startswith("text:hmac-sha256:")
    page = body(client_as(app, world["candidate"]).get(f"/appeals/{appeal.id}"))
    assert "Po obejrzeniu nagrania" in page and 'data-status="dismissed"' in page
    response = first.post(propose, data={"outcome": "dismiss", "justification": "Po fakcie"})
    assert response.status_code == 400 and "This appeal is closed" in body(response)


@pytest.mark.parametrize("locale, greeting", [("pl", "Dzień dobry, Anna,"), ("en", "Hello Anna,")])
def test_the_decision_is_mailed_in_the_appellants_language(app, world, locale, greeting):
    world["candidate"].locale = locale
    db.session.commit()
    decide(world, ready_for_review(world, file_appeal(world)))
    assert mails_to(world["candidate"])[-1].body.startswith(greeting)


def test_no_proposal_before_the_review_starts(app, world):
    appeal = file_appeal(world)
    services.acknowledge(world["staff"], appeal)
    services.appoint(world["staff"], appeal, world["panel1"], is_chair=True)
    member = services.declare(seat(appeal, world["panel1"]), "Oświadczam.")
    message = refusal_of(lambda: deciding.propose(member, db.session.get(Appeal, appeal.id), False, None, None, "Nic"))
    assert "The review has not started yet" in message


def test_an_upheld_appeal_against_a_suspension_lifts_it(app, world, qualification):
    """The simple upheld case: the system lifts the suspension (the remedy's own rules are tested
    with the remedies)."""
    candidate = world["candidate"]
    enrolment = enrol(make_session(world["child"], qualification), candidate)
    certificate = make_certificate(enrolment, world["decider"])
    # Suspended by another staff member: the one who handles the appeal took no part in it.
    certification.change_status(world["decider"], certificate, "suspend", "Wyjaśnianie nieprawidłowości")
    event = db.session.scalar(select(CertificateEvent).where(CertificateEvent.certificate_id == certificate.id))
    appeal = services.file_appeal(candidate, services.load(AppealSubject.CERTIFICATE, event.id), "Zawieszenie bezpodstawne.")
    ready_for_review(world, appeal)
    assert AppealRemedy.LIFT_SUSPENSION in deciding.allowed_remedies(appeal)
    client = client_as(app, world["panel1"])
    page = body(client.get(f"/appeals/panel/{appeal.id}"))
    assert 'value="lift_suspension"' in page
    assert client.post(f"/appeals/panel/{appeal.id}/propose", data={
        "outcome": "uphold", "remedy": "lift_suspension", "justification": "Nie wykazano nieprawidłowości."}).status_code == 302
    assert client_as(app, world["panel2"]).post(f"/appeals/panel/{appeal.id}/vote", data={"vote": "approve"}).status_code == 302
    db.session.expire_all()
    appeal = db.session.get(Appeal, appeal.id)
    assert appeal.status == AppealStatus.UPHELD and appeal.remedy == AppealRemedy.LIFT_SUSPENSION
    assert appeal.remedy_done_at is not None
    assert db.session.get(type(certificate), certificate.id).state == CertificateStatus.VALID
    assert appeal.annex_sha256 is not None  # about an enrolment: its protocol gains the annex
    assert any(m.subject == "The decision on your appeal" and "upheld" in m.body for m in mails_to(candidate))


def test_an_appeal_about_no_enrolment_gets_no_annex(app, world, qualification):
    application = make_application(make_session(world["child"], qualification), world["candidate"],
                                   status=ApplicationStatus.REJECTED, rejection_reason="Brak dokumentów",
                                   decided_at=utcnow(), decided_by_id=world["decider"].id)
    appeal = services.file_appeal(world["candidate"], services.load(AppealSubject.APPLICATION, application.id), "Były.")
    appeal = decide(world, ready_for_review(world, appeal))
    assert appeal.status == AppealStatus.DISMISSED and appeal.annex_pdf is None


def test_the_staff_list_and_the_panel_page_show_where_the_appeal_stands(app, world):
    appeal = ready_for_review(world, file_appeal(world))
    assert 'data-status="under_review"' in body(client_as(app, world["staff"]).get(f"/appeals/staff/{appeal.id}"))
    decide(world, appeal)
    assert "dismissed" in body(client_as(app, world["staff"]).get("/appeals/staff?status=dismissed"))
    assert 'data-status="dismissed"' in body(client_as(app, world["panel1"]).get(f"/appeals/panel/{appeal.id}"))


def test_the_panels_list_marks_an_overdue_appeal(app, world):
    appeal = ready_for_review(world, file_appeal(world))
    appeal.decide_by = appeal.decide_by - timedelta(days=40)
    db.session.commit()
    page = body(client_as(app, world["panel1"]).get("/appeals/panel"))
    assert 'class="overdue"' in page and "overdue by" in page

