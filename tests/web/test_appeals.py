"""Appeals through the web, the appellant's and the institution's side: who may appeal what, the
window (the date that applied when it is late), one appeal per decision, the appeal links beside
each decision, "My appeals", withdrawal; staff acknowledge, list by status with the days left and
overdue appeals in red, record an appeal received in writing and accept a late one with a reason.
Every refusal is a 400 with its message, and the typed grounds are kept."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.appeals import rules, services
from examportal.certification import services as certification
from examportal.extensions import db
from examportal.models import (
    Appeal,
    AppealStatus,
    AppealSubject,
    ApplicationStatus,
    AttemptStatus,
    AuditEntry,
    CertificateEvent,
    Role,
    utcnow,
)
from tests.appealtools import (
    appeal_world,
    body,
    counts,
    file_appeal,
    mails_to,
    ready_for_review,
    refusal_of,
    sent_days_ago,
    validation,
)
from tests.certtools import certification_decision, make_certificate, validation_decision
from tests.factories import client_as, enrol, make_application, make_attempt, make_practical_attempt, make_user

GROUNDS = "Komisja nie uwzględniła pracy w zadaniu 2.4; proszę o ponowną ocenę."


@pytest.fixture
def world(app, qualification):
    return appeal_world(qualification)


def entries(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def new_url(subject: str, subject_id: int) -> str:
    return f"/appeals/new/{subject}/{subject_id}"


# --------------------------------------------------------------------------- filing


def test_the_candidate_appeals_against_their_negative_validation_decision(app, world):
    client = client_as(app, world["candidate"])
    url = new_url("validation", world["decision"].id)
    page = client.get(url)
    assert page.status_code == 200 and "the validation decision" in body(page) and world["session"].title in body(page)
    response = client.post(url, data={"grounds": GROUNDS})
    assert response.status_code == 302
    [appeal] = services.appellant_appeals(world["candidate"])
    assert response.headers["Location"].endswith(f"/appeals/{appeal.id}")
    assert (appeal.status, appeal.subject, appeal.subject_id) == (AppealStatus.FILED, AppealSubject.VALIDATION,
                                                                    world["decision"].id)
    assert appeal.institution_id == world["ic"].id  # the certifying institution, not the validating one
    assert appeal.enrolment_id == world["enrolment"].id and appeal.grounds == GROUNDS
    today = rules.today()
    assert appeal.sent_on == today and appeal.window_ends_on == today + timedelta(days=14)
    assert appeal.decide_by == today + timedelta(days=30)
    [entry] = entries("appeal.filed")
    assert GROUNDS not in str(entry.after) and entry.after["grounds"].startswith("text:hmac-sha256:")
    assert entry.institution_id == world["ic"].id
    mail = mails_to(world["candidate"])[-1]
    assert mail.subject == "Your appeal has been received" and f"/appeals/{appeal.id}" in mail.body
    assert any(m.subject == "A new appeal to handle" for m in mails_to(world["staff"]))
    assert not mails_to(world["child_staff"])  # the validating institution does not handle appeals
    page = body(client.get(f"/appeals/{appeal.id}"))
    assert GROUNDS in page and "filed" in page


def test_grounds_are_required_and_nothing_is_stored_without_them(app, world):
    client = client_as(app, world["candidate"])
    for grounds in ("", "   "):
        response = client.post(new_url("validation", world["decision"].id), data={"grounds": grounds})
        assert response.status_code == 400
        assert "Give the grounds of the appeal" in body(response)
    assert counts() == (0, 0, 0)
    with force_locale("en"):
        message = refusal_of(lambda: services.file_appeal(world["candidate"], validation(world), " "))
    assert "Give the grounds" in message


def test_a_nul_byte_in_the_grounds_is_a_clear_400(app, world):
    response = client_as(app, world["candidate"]).post(new_url("validation", world["decision"].id),
                                                       data={"grounds": "Tekst\x00zły"})
    assert response.status_code == 400 and "NUL" in body(response)
    assert counts() == (0, 0, 0)


def test_only_the_person_concerned_may_appeal_and_only_decisions_concerning_them(app, world):
    url = new_url("validation", world["decision"].id)
    for who in ("other", "staff", "panel1", "chair"):
        client = client_as(app, world[who])
        assert client.get(url).status_code == 404
        assert client.post(url, data={"grounds": GROUNDS}).status_code == 404
    assert counts() == (0, 0, 0)
    with force_locale("en"):
        message = refusal_of(lambda: services.file_appeal(world["other"], validation(world), GROUNDS))
    assert "Only the person the decision concerns" in message
    client = client_as(app, world["candidate"])
    for url in ("/appeals/new/nonsense/1", new_url("validation", 999999), new_url("theory", world["decision"].id)):
        assert client.get(url).status_code == 404


def test_a_positive_decision_and_an_unfinished_exam_cannot_be_appealed(app, world, qualification):
    candidate = world["candidate"]
    second = enrol(_other_session(world, qualification), candidate)
    positive = validation_decision(second, positive=True)
    running = make_practical_attempt(second, finished=False)
    client = client_as(app, candidate)
    assert client.get(new_url("validation", positive.id)).status_code == 404
    assert client.get(new_url("practical", running.id)).status_code == 404
    # A theory test still running (the page is locked to the test meanwhile): nothing to appeal yet.
    test = make_attempt(second, status=AttemptStatus.IN_PROGRESS, started_at=utcnow())
    assert services.own_decision(candidate, "theory", test.id) is None


def _other_session(world, qualification):
    from tests.factories import make_session

    return make_session(world["child"], qualification, title="SESJA-DRUGA")


def test_every_kind_of_decision_concerning_the_candidate_can_be_appealed(app, world, qualification):
    """The formal check, the conduct of the theory test and of the practical exam, the validation
    and certification decisions, a suspension and a revocation: each files, handled by the IC."""
    candidate, staff = world["candidate"], world["staff"]
    application = make_application(_other_session(world, qualification), candidate, status=ApplicationStatus.REJECTED,
                                   rejection_reason="Brak dokumentów", decided_at=utcnow(), decided_by_id=staff.id)
    attempt = make_attempt(world["enrolment"], status=AttemptStatus.SUBMITTED, started_at=utcnow(), submitted_at=utcnow())
    practical = make_practical_attempt(world["enrolment"])
    second = enrol(_other_session(world, qualification), candidate)
    validation_decision(second, positive=True)
    refused = certification_decision(second, world["decider"], positive=False)
    third = enrol(_other_session(world, qualification), candidate)
    certificate = make_certificate(third, world["decider"])
    certification.change_status(staff, certificate, "suspend", "Wyjaśnianie nieprawidłowości")
    [suspension] = db.session.scalars(select(CertificateEvent).where(CertificateEvent.certificate_id == certificate.id))
    client = client_as(app, candidate)
    mine = body(client.get("/appeals/"))
    for subject, record_id in (("application", application.id), ("theory", attempt.id), ("practical", practical.id),
                               ("validation", world["decision"].id), ("certification", refused.id),
                               ("certificate", suspension.id)):
        assert f'data-subject="{subject}" data-id="{record_id}"' in mine, subject
        response = client.post(new_url(subject, record_id), data={"grounds": f"{GROUNDS} ({subject})"})
        assert response.status_code == 302, (subject, body(response)[:300])
    appeals = services.appellant_appeals(candidate)
    assert {a.subject.value for a in appeals} == {"application", "theory", "practical", "validation", "certification",
                                                  "certificate"}
    assert {a.institution_id for a in appeals} == {world["ic"].id}
    by_subject = {a.subject.value: a for a in appeals}
    assert by_subject["certificate"].certificate_id == certificate.id
    assert by_subject["application"].enrolment_id is None
    assert by_subject["certification"].enrolment_id == second.id


def test_the_certification_refusal_records_when_its_mail_was_queued(app, world, qualification):
    second = enrol(_other_session(world, qualification), world["candidate"])
    validation_decision(second, positive=True)
    [decision] = certification.decide(world["decider"], second.session, [second.id], False, "Brak dokumentów")
    assert decision.notified_at is not None
    assert any(m.subject == "Certification decision" for m in mails_to(world["candidate"]))
    third = enrol(_other_session(world, qualification), world["candidate"])
    certificate = make_certificate(third, world["decider"])
    assert certificate.decision is not None and certificate.decision.notified_at is not None  # the "issued" mail


# --------------------------------------------------------------------------- the window


def test_the_last_day_is_on_time_and_the_next_is_refused_with_the_date(app, world):
    sent_days_ago(world["decision"], 14)
    client = client_as(app, world["candidate"])
    assert client.get(new_url("validation", world["decision"].id)).status_code == 200
    sent_days_ago(world["decision"], 15)
    end = rules.date_text(rules.today() - timedelta(days=1))
    page = client.get(new_url("validation", world["decision"].id))
    assert page.status_code == 200 and f"The appeal window ended on {end}" in body(page)
    assert 'name="grounds"' not in body(page)
    response = client.post(new_url("validation", world["decision"].id), data={"grounds": GROUNDS})
    assert response.status_code == 400 and f"The appeal window ended on {end}" in body(response)
    assert counts() == (0, 0, 0)
    assert "The appeal window ended on" in refusal_of(
        lambda: services.file_appeal(world["candidate"], validation(world), GROUNDS))
    # On the last day it files.
    sent_days_ago(world["decision"], 14)
    assert client.post(new_url("validation", world["decision"].id), data={"grounds": GROUNDS}).status_code == 302


def test_the_window_counts_from_the_day_the_mail_was_queued_not_the_decision(app, world):
    decision = world["decision"]
    decision.decided_at = utcnow() - timedelta(days=40)
    db.session.commit()
    sent_days_ago(decision, 3)
    assert file_appeal(world).sent_on == rules.today() - timedelta(days=3)


def test_the_result_page_links_the_appeal_and_says_when_the_window_ended(app, world):
    client = client_as(app, world["candidate"])
    page = body(client.get(f"/committee/result/{world['enrolment'].id}"))
    assert f'href="/appeals/new/validation/{world["decision"].id}"' in page and 'data-state="can"' in page
    appeal = file_appeal(world)
    page = body(client.get(f"/committee/result/{world['enrolment'].id}"))
    assert f'href="/appeals/{appeal.id}"' in page and 'data-state="appealed"' in page
    services.withdraw(world["candidate"], appeal)
    sent_days_ago(world["decision"], 20)
    page = body(client.get(f"/committee/result/{world['enrolment'].id}"))
    assert 'data-state="late"' in page and "The appeal window ended on" in page
    assert "/appeals/new/" not in page


def test_the_links_beside_the_other_decisions(app, world, qualification):
    candidate, staff = world["candidate"], world["staff"]
    application = make_application(_other_session(world, qualification), candidate, status=ApplicationStatus.REJECTED,
                                   rejection_reason="Brak dokumentów", decided_at=utcnow(), decided_by_id=staff.id)
    practical = make_practical_attempt(world["enrolment"])
    third = enrol(_other_session(world, qualification), candidate)
    certificate = make_certificate(third, world["decider"])
    certification.change_status(staff, certificate, "revoke", "Certyfikat wydano na podstawie fałszywych danych")
    [revocation] = db.session.scalars(select(CertificateEvent).where(CertificateEvent.certificate_id == certificate.id))
    client = client_as(app, candidate)
    assert f"/appeals/new/application/{application.id}" in body(client.get("/applications/mine"))
    assert f"/appeals/new/practical/{practical.id}" in body(client.get(f"/practical/enrolments/{world['enrolment'].id}"))
    assert f"/appeals/new/certificate/{revocation.id}" in body(client.get("/certification/mine"))
    # Nobody else sees a way to appeal against the candidate's decisions.
    assert "/appeals/new/" not in body(client_as(app, world["other"]).get("/appeals/"))


def test_the_navigation_and_the_desk_lead_to_the_appeals(app, world):
    assert 'href="/appeals/"' in body(client_as(app, world["candidate"]).get("/dashboard"))
    assert 'href="/appeals/staff"' in body(client_as(app, world["staff"]).get("/dashboard"))
    assert 'href="/appeals/panel"' in body(client_as(app, world["panel1"]).get("/dashboard"))


# --------------------------------------------------------------------------- one appeal per decision


def test_a_second_appeal_against_the_same_decision_is_refused_with_a_link_to_the_first(app, world):
    first = file_appeal(world)
    client = client_as(app, world["candidate"])
    response = client.post(new_url("validation", world["decision"].id), data={"grounds": "Jeszcze raz"})
    assert response.status_code == 400
    assert "You have already appealed against this decision" in body(response)
    assert f'href="/appeals/{first.id}"' in body(response)
    assert counts()[0] == 1
    # Once withdrawn, the way is free again within the window.
    services.withdraw(world["candidate"], first)
    assert client.post(new_url("validation", world["decision"].id), data={"grounds": "Ponownie"}).status_code == 302
    assert counts()[0] == 2


def test_a_decided_appeal_closes_the_way_to_another(app, world):
    from tests.appealtools import decide

    appeal = ready_for_review(world, file_appeal(world))
    decide(world, appeal)
    response = client_as(app, world["candidate"]).post(new_url("validation", world["decision"].id),
                                                       data={"grounds": "Jeszcze raz"})
    assert response.status_code == 400 and "the panel has decided the appeal" in body(response)


# --------------------------------------------------------------------------- the appellant's page and withdrawal


def test_a_candidate_sees_only_their_own_appeals(app, world):
    appeal = file_appeal(world)
    for who in ("other", "staff", "panel1"):
        client = client_as(app, world[who])
        assert client.get(f"/appeals/{appeal.id}").status_code == 404
        assert client.post(f"/appeals/{appeal.id}/withdraw").status_code == 404
        assert appeal.grounds not in body(client.get("/appeals/"))
    assert client_as(app, world["candidate"]).get("/appeals/").status_code == 200
    assert f"/appeals/{appeal.id}" in body(client_as(app, world["candidate"]).get("/appeals/"))


def test_the_appellant_withdraws_while_not_decided(app, world):
    appeal = ready_for_review(world, file_appeal(world))
    client = client_as(app, world["candidate"])
    assert client.post(f"/appeals/{appeal.id}/withdraw").status_code == 302
    db.session.expire_all()
    appeal = db.session.get(Appeal, appeal.id)
    assert appeal.status == AppealStatus.WITHDRAWN and appeal.withdrawn_at is not None
    assert entries("appeal.withdrawn")
    assert any(m.subject == "An appeal has been withdrawn" for m in mails_to(world["panel1"]))
    response = client.post(f"/appeals/{appeal.id}/withdraw")
    assert response.status_code == 400 and "already closed" in body(response)


def test_a_decided_appeal_cannot_be_withdrawn(app, world):
    from tests.appealtools import decide

    appeal = decide(world, ready_for_review(world, file_appeal(world)))
    response = client_as(app, world["candidate"]).post(f"/appeals/{appeal.id}/withdraw")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Appeal, appeal.id).status == AppealStatus.DISMISSED


# --------------------------------------------------------------------------- the institution's staff


def test_staff_acknowledge_and_the_appellant_is_told_the_deadline(app, world):
    appeal = file_appeal(world)
    client = client_as(app, world["staff"])
    page = body(client.get(f"/appeals/staff/{appeal.id}"))
    assert appeal.grounds in page and "0 files attached" in page
    assert client.post(f"/appeals/staff/{appeal.id}/acknowledge").status_code == 302
    db.session.expire_all()
    appeal = db.session.get(Appeal, appeal.id)
    assert appeal.status == AppealStatus.ACKNOWLEDGED and appeal.acknowledged_by_id == world["staff"].id
    mail = mails_to(world["candidate"])[-1]
    assert mail.subject == "Your appeal: the deadline for the decision"
    assert appeal.decide_by.strftime("%b") in mail.body and str(appeal.decide_by.year) in mail.body
    assert entries("appeal.acknowledged")
    response = client.post(f"/appeals/staff/{appeal.id}/acknowledge")
    assert response.status_code == 400 and "already been acknowledged" in body(response)


def test_the_staff_list_shows_days_left_and_overdue_appeals_in_red_filtered_by_status(app, world):
    appeal = file_appeal(world)
    client = client_as(app, world["staff"])
    page = body(client.get("/appeals/staff"))
    assert f'data-appeal="{appeal.id}"' in page and "30 days left" in page and 'class="overdue"' not in page
    appeal.decide_by = rules.today() - timedelta(days=2)
    db.session.commit()
    page = body(client.get("/appeals/staff"))
    row = re.search(rf'<tr data-appeal="{appeal.id}"[^>]*>', page)
    assert row and 'class="overdue"' in row.group(0) and "overdue by 2 days" in page
    assert f'data-appeal="{appeal.id}"' in body(client.get("/appeals/staff?status=overdue"))
    assert f'data-appeal="{appeal.id}"' not in body(client.get("/appeals/staff?status=dismissed"))
    assert f'data-appeal="{appeal.id}"' in body(client.get("/appeals/staff?status=filed"))
    response = client.get("/appeals/staff?status=nonsense")
    assert response.status_code == 400 and "Not a valid choice" in body(response)
    appeal.decide_by = rules.today()
    db.session.commit()
    assert "due today" in body(client.get("/appeals/staff"))


def test_staff_of_the_validating_institution_and_of_another_see_nothing(app, world, qualification):
    appeal = file_appeal(world)
    foreign = appeal_world(qualification, letter="X")
    for staff in (world["child_staff"], foreign["staff"]):
        client = client_as(app, staff)
        assert f'data-appeal="{appeal.id}"' not in body(client.get("/appeals/staff"))
        assert client.get(f"/appeals/staff/{appeal.id}").status_code == 404
        assert client.post(f"/appeals/staff/{appeal.id}/acknowledge").status_code == 404
    with force_locale("en"):
        assert "Only staff of the certifying institution" in refusal_of(
            lambda: services.acknowledge(world["child_staff"], appeal))


def test_staff_never_open_the_files(app, world):
    from tests.appealtools import pdf_upload

    appeal = file_appeal(world, uploads=[pdf_upload()])
    client = client_as(app, world["staff"])
    page = body(client.get(f"/appeals/staff/{appeal.id}"))
    assert "1 file attached" in page and "/files/" not in page
    assert client.get(f"/appeals/{appeal.id}/files/{appeal.files[0].id}").status_code == 404


# --------------------------------------------------------------------------- appeals received in writing, late ones


def test_staff_accept_a_late_appeal_with_a_recorded_reason(app, world):
    sent_days_ago(world["decision"], 20)
    client = client_as(app, world["staff"])
    lookup = body(client.get(f"/appeals/staff/file?email={world['candidate'].email.upper()}"))
    url = f"/appeals/staff/file/validation/{world['decision'].id}"
    assert url in lookup and "ended on" in lookup
    page = body(client.get(url))
    assert "The appeal window ended on" in page and 'name="late_reason"' in page
    response = client.post(url, data={"grounds": GROUNDS, "late_reason": "  "})
    assert response.status_code == 400 and "give the reason for accepting a late appeal" in body(response)
    assert GROUNDS in body(response)  # the grounds typed are kept
    assert counts() == (0, 0, 0)
    reason = "Kandydat był w szpitalu (zaświadczenie lekarskie)."
    assert client.post(url, data={"grounds": GROUNDS, "late_reason": reason}).status_code == 302
    [appeal] = services.appellant_appeals(world["candidate"])
    assert appeal.late_accepted_by_id == world["staff"].id and appeal.late_reason == reason
    assert appeal.decide_by == rules.today() + timedelta(days=30)
    [entry] = entries("appeal.late_accepted")
    assert reason not in str(entry.after)
    mail = mails_to(world["candidate"])[-1]
    assert "recorded your appeal" in mail.body and "after the window" in mail.body


def test_staff_record_an_appeal_received_in_writing_on_time(app, world):
    client = client_as(app, world["staff"])
    url = f"/appeals/staff/file/validation/{world['decision'].id}"
    assert 'name="late_reason"' not in body(client.get(url))
    assert client.post(url, data={"grounds": GROUNDS}).status_code == 302
    [appeal] = services.appellant_appeals(world["candidate"])
    assert appeal.late_accepted_by_id is None and appeal.appellant_id == world["candidate"].id
    response = client.post(url, data={"grounds": GROUNDS})
    assert response.status_code == 400 and "already appealed" in body(response)


def test_the_lookup_and_the_filing_for_someone_are_scoped_to_the_institution(app, world, qualification):
    foreign = appeal_world(qualification, letter="Y")
    url = f"/appeals/staff/file/validation/{world['decision'].id}"
    for staff in (foreign["staff"], world["child_staff"]):
        client = client_as(app, staff)
        assert client.get(url).status_code == 404
        assert client.post(url, data={"grounds": GROUNDS, "late_reason": "x"}).status_code == 404
        lookup = body(client.get(f"/appeals/staff/file?email={world['candidate'].email}"))
        assert url not in lookup
    assert client_as(app, world["candidate"]).get(url).status_code == 403
    assert counts() == (0, 0, 0)
    assert "No account has this e-mail address" in body(client_as(app, world["staff"]).get(
        "/appeals/staff/file?email=nikt@example.pl"))
    assert client_as(app, world["staff"]).get("/appeals/staff/file?email=" + "x" * 300).status_code == 400


def test_the_candidate_alone_is_refused_after_the_window_even_through_the_service(app, world):
    sent_days_ago(world["decision"], 15)
    message = refusal_of(lambda: services.file_appeal(world["candidate"], validation(world), GROUNDS,
                                                      late_reason="Bardzo proszę"))
    assert "The appeal window ended on" in message
    assert counts() == (0, 0, 0)


def test_a_staff_member_who_is_also_the_candidate_cannot_accept_their_own_late_appeal(app, world):
    staff_candidate = make_user((Role.STAFF, world["ic"]), Role.CANDIDATE, first_name="Sam", last_name="Sobie")
    from tests.factories import make_session

    enrolment = enrol(make_session(world["child"], world["qualification"]), staff_candidate)
    decision = validation_decision(enrolment, positive=False, decided_by=world["chair"])
    sent_days_ago(decision, 20)
    response = client_as(app, staff_candidate).post(f"/appeals/staff/file/validation/{decision.id}",
                                                    data={"grounds": GROUNDS, "late_reason": "Własna sprawa"})
    assert response.status_code == 400 and "The appeal window ended on" in body(response)
    assert counts() == (0, 0, 0)


def test_every_appeal_page_renders_in_polish(app, world):
    from tests.appealtools import decide, pdf_upload

    appeal = ready_for_review(world, file_appeal(world, uploads=[pdf_upload()]))
    appeal.decide_by = rules.today() - timedelta(days=3)
    for who in ("candidate", "staff", "panel1"):
        world[who].locale = "pl"
    db.session.commit()
    pages = {
        "candidate": ["/appeals/", f"/appeals/{appeal.id}", new_url("validation", world["decision"].id),
                      f"/committee/result/{world['enrolment'].id}"],
        "staff": ["/appeals/staff", f"/appeals/staff/{appeal.id}", "/appeals/staff/work-reviews",
                  f"/appeals/staff/file?email={world['candidate'].email}",
                  f"/appeals/staff/file/validation/{world['decision'].id}"],
        "panel1": ["/appeals/panel", f"/appeals/panel/{appeal.id}", f"/appeals/panel/{appeal.id}/work"],
    }
    for who, paths in pages.items():
        client = client_as(app, world[who], lang=None)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (who, path)
            assert '<html lang="pl">' in body(response)
    decide(world, appeal)
    for who, path in (("candidate", f"/appeals/{appeal.id}"), ("staff", f"/appeals/staff/{appeal.id}"),
                      ("panel1", f"/appeals/panel/{appeal.id}")):
        assert client_as(app, world[who], lang=None).get(path).status_code == 200


def test_a_vote_without_a_choice_or_with_a_forged_one_is_a_clear_400(app, world):
    appeal = ready_for_review(world, file_appeal(world))
    client_as(app, world["panel1"]).post(f"/appeals/panel/{appeal.id}/propose",
                                         data={"outcome": "dismiss", "justification": "Decyzja prawidłowa."})
    second = client_as(app, world["panel2"])
    for data, message in (({}, "Choose whether you approve or dissent"), ({"vote": "abstain"}, "Not a valid choice")):
        response = second.post(f"/appeals/panel/{appeal.id}/vote", data=data)
        assert response.status_code == 400 and message in body(response)
    db.session.expire_all()
    assert db.session.get(Appeal, appeal.id).status == AppealStatus.UNDER_REVIEW
