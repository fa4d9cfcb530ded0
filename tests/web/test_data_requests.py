"""People's requests about their data (RODO art. 15-17) on "My data", and their review by staff: the
copy as a ZIP (logged, limited, recorded), corrections granted or refused with a reason, erasure
granted only when nothing must be kept (else refused by the code with the reasons and the first
day it is possible), one open request per kind, withdrawal, who may see what, CSRF."""
from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, time, timedelta

import pytest
from babel.dates import format_date
from flask_babel import force_locale, gettext
from sqlalchemy import select

from examportal.audit import services as audit_log
from examportal.certification.rules import WARSAW, today
from examportal.extensions import db
from examportal.models import (
    AuditEntry,
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    OutboxMail,
    Role,
    SessionStatus,
    StoredFile,
    User,
)
from examportal.records import requests
from examportal.records.retention import retention_of
from examportal.renewals.rules import add_months
from tests.appealtools import walker_objects
from tests.certtools import certification_world, make_certificate
from tests.factories import PASSWORD, client_as, make_attempt, make_institution, make_user

WRONG = "Moje nazwisko to Żółkiewska-Nowak, nie Żółkiewska."


@pytest.fixture
def world(app, qualification):
    w = certification_world(qualification)
    w["holder"], w["other"], w["former"] = w["candidates"]
    w["certificate"] = make_certificate(w["enrolments"][0], w["staff"])
    w["other_certificate"] = make_certificate(w["enrolments"][1], w["staff"])
    w.update(walker_objects({"candidate": w["holder"], "attempt": make_attempt(w["enrolments"][0]), "ic": w["ic"],
                             "enrolment": w["enrolments"][0], "staff": w["staff"]}))
    # The third candidate was validated long ago, without a certificate: nothing keeps their records.
    long_ago = datetime.combine(date(2015, 3, 12), time(12), WARSAW)
    enrolment = w["enrolments"][2]
    enrolment.created_at = long_ago
    from examportal.committee.services import decision_for

    decision = decision_for(enrolment)
    assert decision is not None
    decision.decided_at = long_ago
    db.session.commit()
    w["old_session_for"] = enrolment
    w["outsider_staff"] = make_user((Role.STAFF, make_institution("Fundacja Obca")))
    return w


def _old_validation(world) -> None:
    """The world's session held in 2015 (the third candidate's validation ended then)."""
    world["session"].starts_at = datetime.combine(date(2015, 3, 12), time(9), WARSAW)
    world["session"].status = SessionStatus.CLOSED
    db.session.commit()


def _requests(user: User, kind: DataRequestKind | None = None) -> list[DataRequest]:
    query = select(DataRequest).where(DataRequest.user_id == user.id).order_by(DataRequest.id)
    if kind is not None:
        query = query.where(DataRequest.kind == kind)
    return list(db.session.scalars(query))


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def _mails(user: User) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.user_id == user.id).order_by(OutboxMail.id)))


def _ask_correction(client, text=WRONG):
    return client.post("/records/mine/correction", data={"correction-details": text})


def _ask_erasure(client, understood=True, details=""):
    data = {"erasure-details": details}
    if understood:
        data["erasure-understood"] = "y"
    return client.post("/records/mine/erasure", data=data)


# --------------------------------------------------------------------------- the page and the copy


def test_my_data_is_linked_from_the_security_page_for_everyone(app, world):
    for person in (world["holder"], world["staff"], world["chair"]):
        client = client_as(app, person)
        assert "/records/mine" in client.get("/auth/security").get_data(as_text=True)
        page = client.get("/records/mine")
        assert page.status_code == 200 and "Download my data (ZIP)" in page.get_data(as_text=True)
    assert "/records/requests" in client_as(app, world["staff"]).get("/dashboard").get_data(as_text=True)


def test_the_download_is_a_zip_of_the_persons_data_and_documents_and_nobody_elses(app, world):
    holder = world["holder"]
    response = client_as(app, holder).post("/records/mine/copy")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        names = archive.namelist()
        account = json.loads(archive.read("account.json"))
        assert account["email"] == holder.email and account["last_name"] == "Żółkiewska"
        assert "password_hash" not in account and "totp_secret" not in account
        certificates = json.loads(archive.read("certificates.json"))
        assert [c["number"] for c in certificates] == [world["certificate"].number]
        db.session.refresh(world["certificate"])
        assert archive.read(certificates[0]["document"]) == world["certificate"].pdf
        (stored,) = db.session.scalars(select(StoredFile).where(StoredFile.owner_id == holder.id))
        (listed,) = json.loads(archive.read("files.json"))
        assert archive.read(listed["document"]) == stored.data
        text = "".join(archive.read(n).decode("utf-8") for n in names if n.endswith(".json"))
    # The request this copy answers is in it, granted.
    assert any(r["kind"] == "access" and r["status"] == "granted" for r in json.loads(
        zipfile.ZipFile(io.BytesIO(response.get_data())).read("data_requests.json")))
    for person in (world["other"], world["former"], world["staff"], world["chair"], world["appeals_member"]):
        assert person.last_name not in text and person.email not in text
    assert world["other_certificate"].number not in text and holder.password_hash not in text
    # Recorded as a granted request for a copy, and logged (ids and counts only).
    (request,) = _requests(holder, DataRequestKind.ACCESS)
    assert request.status == DataRequestStatus.GRANTED and request.decided_at is not None
    (entry,) = _audit("data_request.copy_downloaded")
    assert entry.actor_id == holder.id and entry.object_id == str(request.id)
    assert entry.after["documents"] >= 2 and holder.email not in json.dumps(entry.after)


def test_the_download_is_rate_limited_per_person(app, world):
    client = client_as(app, world["holder"])
    statuses = [client.post("/records/mine/copy").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert len(_requests(world["holder"], DataRequestKind.ACCESS)) == 3
    # Another person is not held back by it.
    assert client_as(app, world["other"]).post("/records/mine/copy").status_code == 200


def test_the_download_needs_a_login_and_is_a_post(app, world):
    anonymous = client_as(app)
    assert anonymous.post("/records/mine/copy").status_code == 302
    assert client_as(app, world["holder"]).get("/records/mine/copy").status_code == 405


# --------------------------------------------------------------------------- asking


def test_a_correction_needs_its_text_and_keeps_what_was_typed(app, world):
    client = client_as(app, world["holder"])
    response = _ask_correction(client, "   ")
    assert response.status_code == 400 and "Say what is wrong and what it should be." in response.get_data(as_text=True)
    too_long = "Błąd w nazwisku. " + "x" * 5000
    response = _ask_correction(client, too_long)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Shorten the text to at most 5000 characters." in page
    assert "Błąd w nazwisku. xxxx" in page
    assert _requests(world["holder"]) == []


def test_one_open_request_per_kind_and_withdrawal(app, world):
    holder = world["holder"]
    client = client_as(app, holder)
    assert _ask_correction(client).status_code == 302
    (request,) = _requests(holder)
    assert request.status == DataRequestStatus.OPEN and request.details == WRONG
    # Filed with the institution of their latest enrolment, whose staff review it.
    assert request.institution_id == world["session"].institution_id
    page = client.get("/records/mine").get_data(as_text=True)
    assert "Your request for a correction is being reviewed" in page and WRONG in page
    response = _ask_correction(client, "Jeszcze raz")
    assert response.status_code == 400 and "already have an open request" in response.get_data(as_text=True)
    assert "Jeszcze raz" in response.get_data(as_text=True)
    # Another kind is another request.
    assert _ask_erasure(client).status_code == 302
    assert len(_requests(holder)) == 2
    # Withdrawn, a new one may be made.
    assert client.post(f"/records/mine/{request.id}/withdraw").status_code == 302
    db.session.refresh(request)
    assert request.status == DataRequestStatus.WITHDRAWN and request.decided_at is not None
    assert client.post(f"/records/mine/{request.id}/withdraw").status_code == 302  # already withdrawn: told, not changed
    assert _ask_correction(client).status_code == 302
    assert [r.status for r in _requests(holder, DataRequestKind.CORRECTION)] == [
        DataRequestStatus.WITHDRAWN, DataRequestStatus.OPEN]
    assert [e.object_id for e in _audit("data_request.withdrawn")] == [str(request.id)]


def test_erasure_must_be_confirmed(app, world):
    response = _ask_erasure(client_as(app, world["holder"]), understood=False, details="Proszę usunąć.")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Tick the box" in page and "Proszę usunąć." in page
    assert _requests(world["holder"]) == []


def test_someone_elses_request_cannot_be_withdrawn(app, world):
    assert _ask_correction(client_as(app, world["holder"])).status_code == 302
    (request,) = _requests(world["holder"])
    assert client_as(app, world["other"]).post(f"/records/mine/{request.id}/withdraw").status_code == 404
    assert client_as(app, world["other"]).post("/records/mine/99999999999/withdraw").status_code == 404
    db.session.refresh(request)
    assert request.status == DataRequestStatus.OPEN


def test_csrf_protects_the_forms(app, world):
    client = client_as(app, world["holder"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert _ask_correction(client).status_code == 400
        assert client.post("/records/mine/copy").status_code == 400
        assert _requests(world["holder"]) == []
        page = client.get("/records/mine").get_data(as_text=True)
        token = re.search(r'name="correction-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post("/records/mine/correction", data={"correction-details": WRONG,
                                                                  "correction-csrf_token": token})
        assert response.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert len(_requests(world["holder"])) == 1


# --------------------------------------------------------------------------- review: corrections


def _correction(app, world) -> DataRequest:
    assert _ask_correction(client_as(app, world["holder"])).status_code == 302
    return _requests(world["holder"], DataRequestKind.CORRECTION)[-1]


def test_staff_grant_a_correction_saying_what_was_done(app, world):
    holder = world["holder"]
    holder.locale = "en"
    db.session.commit()
    request = _correction(app, world)
    for who in ("staff", "child_staff"):  # the certifying institution's staff and the validating one's
        page = client_as(app, world[who]).get("/records/requests").get_data(as_text=True)
        assert f'data-request="{request.id}"' in page and holder.full_name in page
    staff = client_as(app, world["staff"])
    page = staff.get(f"/records/requests/{request.id}").get_data(as_text=True)
    assert WRONG in page
    # The certificate's data is corrected on its page, where a corrected certificate is reissued.
    assert f"/certification/certificates/{world['certificate'].id}" in page and "reissued" in page
    response = staff.post(f"/records/requests/{request.id}/grant", data={"grant-done": " "})
    assert response.status_code == 400 and "Say what was corrected" in response.get_data(as_text=True)
    done = "Poprawiono nazwisko w koncie; certyfikat wydano ponownie."
    assert staff.post(f"/records/requests/{request.id}/grant", data={"grant-done": done}).status_code == 302
    db.session.refresh(request)
    assert request.status == DataRequestStatus.GRANTED and request.reason == done
    assert request.decided_by_id == world["staff"].id
    (mail,) = [m for m in _mails(holder) if "correction" in m.subject]
    assert mail.subject == "Your request for correction has been granted" and done in mail.body
    assert mail.recipient == holder.email
    (entry,) = _audit("data_request.granted")
    assert entry.actor_id == world["staff"].id and done not in json.dumps(entry.after)
    assert entry.after["reason"].startswith(audit_log.TEXT_DIGEST_PREFIX)
    assert f"/records/requests/{request.id}/grant" not in staff.get(f"/records/requests/{request.id}").get_data(as_text=True)


REVIEW_SUBJECT = "A request about personal data to review"


def _review_mails(user: User) -> list[OutboxMail]:
    """The review notices mailed to ``user`` (in their language: Polish unless they chose English)."""
    with force_locale(user.locale or "pl"):
        subject = gettext(REVIEW_SUBJECT)
    return [m for m in _mails(user) if m.subject == subject]


@pytest.mark.parametrize(("made_utc", "answer_by"), [
    (datetime(2026, 1, 31, 10, 0, tzinfo=UTC), date(2026, 2, 28)),  # no 31 February: its last day
    (datetime(2026, 1, 31, 23, 30, tzinfo=UTC), date(2026, 3, 1)),  # already 1 February in Poland
    (datetime(2028, 1, 30, 12, 0, tzinfo=UTC), date(2028, 2, 29)),  # a leap year
    (datetime(2026, 12, 2, 9, 0, tzinfo=UTC), date(2027, 1, 2)),
])
def test_the_month_to_answer_counts_from_the_day_the_request_was_made_in_poland(made_utc, answer_by):
    assert requests.answer_by(DataRequest(created_at=made_utc)) == answer_by


def test_everyone_who_may_review_a_new_request_is_mailed_with_the_day_to_answer_by(app, world):
    world["child_staff"].locale = "en"  # mailed in English; the others in Polish
    db.session.commit()
    request = _correction(app, world)
    reviewers = requests.reviewers(request)
    assert {world["staff"].id, world["child_staff"].id, world["staff2"].id} <= {r.id for r in reviewers}
    assert all(requests.may_review(r, request) for r in reviewers)
    answer_by = requests.answer_by(request)
    (english,) = _review_mails(world["child_staff"])
    assert english.subject == REVIEW_SUBJECT and f"(no. {request.id})" in english.body
    assert format_date(answer_by, "medium", locale="en") in english.body
    for who in ("staff", "child_staff", "staff2"):
        (mail,) = _review_mails(world[who])
        assert mail.recipient == world[who].email
        assert f"/records/requests/{request.id}" in mail.body
        if who != "child_staff":
            assert mail.subject != REVIEW_SUBJECT and format_date(answer_by, "medium", locale="pl") in mail.body
        # The person's name and what they wrote stay on the review page, behind the login.
        assert world["holder"].last_name not in mail.body and WRONG not in mail.body
    for outsider in (world["outsider_staff"], world["holder"], world["other"]):
        assert _review_mails(outsider) == []
    page = client_as(app, world["staff"]).get(f"/records/requests/{request.id}").get_data(as_text=True)
    assert re.search(r'id="answer-by">' + re.escape(format_date(answer_by, "medium", locale="en")), page)


def test_staff_filing_their_own_request_are_not_asked_to_review_it(app, world):
    staff = world["staff"]
    assert _ask_correction(client_as(app, staff)).status_code == 302
    assert _review_mails(staff) == [] and len(_review_mails(world["staff2"])) == 1


def test_the_administrators_are_mailed_a_request_no_institution_holds(app, world):
    admin, inactive = make_user(Role.ADMIN), make_user(Role.ADMIN)
    inactive.active = False
    db.session.commit()
    loner = make_user(Role.CANDIDATE, last_name="Samotna")
    assert _ask_erasure(client_as(app, loner)).status_code == 302
    assert len(_review_mails(admin)) == 1 and _review_mails(inactive) == []
    assert _review_mails(world["staff"]) == []


def test_the_administrators_are_told_of_a_request_nobody_at_its_institution_may_review(app, world):
    from examportal.security import role_holders

    admin, other_admin = make_user(Role.ADMIN, locale="en"), make_user(Role.ADMIN)
    staff = role_holders([world["ic"].id, world["child"].id], [Role.STAFF])
    for person in staff:
        person.active = False
    db.session.commit()
    request = _correction(app, world)
    assert request.institution_id is not None and requests.reviewers(request) == []
    assert all(_mails(person) == [] for person in staff)
    (mail,) = _mails(admin)
    assert mail.subject == "A request about personal data that nobody can review"
    assert f"(no. {request.id})" in mail.body and request.institution.name in mail.body
    assert f"/institution/{request.institution_id}/people" in mail.body
    assert format_date(requests.answer_by(request), "medium", locale="en") in mail.body
    assert world["holder"].last_name not in mail.body and WRONG not in mail.body
    assert len(_mails(other_admin)) == 1  # in Polish
    # With someone to review it, the administrators are not troubled.
    world["staff"].active = True
    db.session.commit()
    assert _ask_correction(client_as(app, world["other"])).status_code == 302
    assert len(_mails(admin)) == 1 and len(_review_mails(world["staff"])) == 1


def test_a_refusal_needs_its_reason_and_keeps_the_typed_text(app, world):
    request = _correction(app, world)
    staff = client_as(app, world["staff"])
    response = staff.post(f"/records/requests/{request.id}/refuse", data={"refuse-reason": ""})
    assert response.status_code == 400 and "Give the reason for the refusal" in response.get_data(as_text=True)
    response = staff.post(f"/records/requests/{request.id}/refuse", data={"refuse-reason": "Powód " + "y" * 5001})
    assert response.status_code == 400 and "Powód yyy" in response.get_data(as_text=True)
    db.session.refresh(request)
    assert request.status == DataRequestStatus.OPEN
    reason = "Dane w koncie są zgodne z dowodem osobistym okazanym przy odprawie."
    assert staff.post(f"/records/requests/{request.id}/refuse", data={"refuse-reason": reason}).status_code == 302
    db.session.refresh(request)
    assert request.status == DataRequestStatus.REFUSED and request.reason == reason and request.possible_on is None
    (mail,) = [m for m in _mails(world["holder"]) if reason in m.body]
    assert mail.recipient == world["holder"].email
    assert reason in client_as(app, world["holder"]).get("/records/mine").get_data(as_text=True)
    # Decided: no second decision.
    assert staff.post(f"/records/requests/{request.id}/grant", data={"grant-done": "x"}).status_code == 400


def test_another_institutions_staff_and_other_roles_cannot_see_a_request(app, world):
    request = _correction(app, world)
    outsider = client_as(app, world["outsider_staff"])
    assert f'data-request="{request.id}"' not in outsider.get("/records/requests").get_data(as_text=True)
    for response in (outsider.get(f"/records/requests/{request.id}"),
                     outsider.post(f"/records/requests/{request.id}/grant", data={"grant-done": "x"}),
                     outsider.post(f"/records/requests/{request.id}/refuse", data={"refuse-reason": "x"})):
        assert response.status_code == 404 and WRONG not in response.get_data(as_text=True)
    for person in (world["holder"], world["other"]):
        assert client_as(app, person).get(f"/records/requests/{request.id}").status_code == 403
    # The administrator reviews only requests no institution holds.
    admin = client_as(app, make_user(Role.ADMIN))
    assert admin.get(f"/records/requests/{request.id}").status_code == 404
    db.session.refresh(request)
    assert request.status == DataRequestStatus.OPEN
    # The service refuses them too, whatever the page.
    with pytest.raises(requests.DataRequestError):
        requests.refuse(world["outsider_staff"], request, "Nie.")


def test_staff_do_not_decide_their_own_request(app, world):
    staff = world["staff"]
    assert _ask_correction(client_as(app, staff)).status_code == 302
    (request,) = _requests(staff)
    assert request.institution_id == world["ic"].id  # no enrolment: the institution of their role
    with pytest.raises(requests.DataRequestError):
        requests.grant_correction(staff, request, "Poprawione.")
    assert client_as(app, world["staff2"]).post(f"/records/requests/{request.id}/grant",
                                                data={"grant-done": "Poprawione."}).status_code == 302


def test_a_request_of_someone_no_institution_knows_is_the_administrators(app, world):
    loner = make_user(Role.CANDIDATE, last_name="Samotna")
    assert _ask_erasure(client_as(app, loner)).status_code == 302
    (request,) = _requests(loner)
    assert request.institution_id is None
    assert client_as(app, world["staff"]).get(f"/records/requests/{request.id}").status_code == 404
    admin = client_as(app, make_user(Role.ADMIN))
    assert "Samotna" in admin.get("/records/requests").get_data(as_text=True)
    assert "Nothing must be kept" in admin.get(f"/records/requests/{request.id}").get_data(as_text=True)


# --------------------------------------------------------------------------- review: erasure


def test_erasure_is_granted_when_nothing_must_be_kept(app, world):
    _old_validation(world)
    former = world["former"]
    email, locale = former.email, "en"
    former.locale = locale
    db.session.commit()
    assert retention_of(former).kept_until < today()
    assert _ask_erasure(client_as(app, former), details="Proszę o usunięcie moich danych.").status_code == 302
    (request,) = _requests(former)
    staff = client_as(app, world["staff"])
    page = staff.get(f"/records/requests/{request.id}").get_data(as_text=True)
    assert "Nothing must be kept" in page and "Erase the person's data" in page
    assert staff.post(f"/records/requests/{request.id}/grant").status_code == 302
    db.session.expire_all()
    former = db.session.get(User, former.id)
    request = db.session.get(DataRequest, request.id)
    assert request.status == DataRequestStatus.GRANTED and request.decided_by_id == world["staff"].id
    assert former.anonymised_at is not None and former.email != email and former.last_name != "Nowak"
    # They can no longer sign in.
    response = client_as(app).post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 200 and "/dashboard" not in response.headers.get("Location", "")
    # Told at the address they had, in their language, without their name.
    (mail,) = db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == email))
    assert mail.subject == "Your request for erasure has been granted" and "Cezary" not in mail.body
    (anonymised,) = _audit("user.anonymised")
    assert anonymised.actor_id == world["staff"].id and anonymised.after["cause"] == "erasure"
    assert [e.object_id for e in _audit("data_request.granted")] == [str(request.id)]


def test_erasure_is_refused_by_the_code_while_the_records_must_be_kept(app, world):
    holder = world["holder"]
    holder.locale = "en"
    db.session.commit()
    assert _ask_erasure(client_as(app, holder)).status_code == 302
    (request,) = _requests(holder)
    retention = retention_of(holder)
    assert retention.kept_until >= today()
    staff = client_as(app, world["staff"])
    page = staff.get(f"/records/requests/{request.id}").get_data(as_text=True)
    assert "Erase the person" not in page and world["certificate"].number in page
    assert "Refuse with these reasons" in page
    # Staff press the button anyway (or post it by hand): the code refuses, with the reasons and the day.
    response = staff.post(f"/records/requests/{request.id}/grant")
    assert response.status_code == 302
    db.session.expire_all()
    request = db.session.get(DataRequest, request.id)
    holder = db.session.get(User, holder.id)
    assert request.status == DataRequestStatus.REFUSED and request.possible_on == retention.erasable_on
    assert world["certificate"].number in request.reason
    assert holder.anonymised_at is None and holder.active
    mine = client_as(app, holder).get("/records/mine").get_data(as_text=True)
    assert "possible from" in mine and world["certificate"].number in mine
    (mail,) = [m for m in _mails(holder) if "erasure" in m.subject]
    assert mail.subject == "Your request for erasure has been refused" and "Erasure is possible from" in mail.body
    (entry,) = _audit("data_request.refused")
    assert entry.after["possible_on"] == retention.erasable_on.isoformat()


def test_the_service_refuses_a_forced_erasure_too(app, world):
    holder = world["holder"]
    request = requests.ask(holder, DataRequestKind.ERASURE, None)
    outcome = requests.erase(world["staff"], request)
    assert not outcome.granted and outcome.request.status == DataRequestStatus.REFUSED
    assert outcome.request.possible_on == retention_of(holder).erasable_on > today() - timedelta(days=1)
    db.session.refresh(holder)
    assert holder.anonymised_at is None
    # A correction is not erased, nor an erasure granted as a correction.
    correction = requests.ask(holder, DataRequestKind.CORRECTION, WRONG)
    with pytest.raises(requests.DataRequestError):
        requests.erase(world["staff"], correction)


def test_while_something_open_keeps_the_records_no_day_is_promised(app, world):
    # An operator of the institution: their role keeps the records for as long as they hold it.
    operator = make_user((Role.OPERATOR, world["ic"]), email="operator.erasure@example.pl", locale="en")
    request = requests.ask(operator, DataRequestKind.ERASURE, None)
    assert request.institution_id is not None
    retention = retention_of(operator)
    assert retention.open_ended and retention.erasable_from is None
    with force_locale("en"):
        outcome = requests.erase(world["staff"], request)
    assert not outcome.granted and outcome.request.possible_on is None
    assert "holds a role" in outcome.request.reason
    (mail,) = [m for m in _mails(operator) if "erasure" in m.subject]
    assert "once the matters above are closed" in mail.body and "possible from" not in mail.body
    db.session.refresh(operator)
    assert operator.anonymised_at is None


def test_staff_are_told_no_day_when_something_open_keeps_the_records(app, world):
    operator = make_user((Role.OPERATOR, world["ic"]), email="operator.page@example.pl")
    request = requests.ask(operator, DataRequestKind.ERASURE, None)
    page = client_as(app, world["staff"]).post(f"/records/requests/{request.id}/grant", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "not possible while the matters named are open" in text and "not possible before" not in text


# --------------------------------------------------------------------------- more time (art. 12(3))

EXTENDED_SUBJECT = "The answer to your request for %(kind)s will take longer"


def test_staff_extend_the_time_to_answer_once_telling_the_person_why(app, world):
    holder = world["holder"]
    request = _correction(app, world)
    first_month = requests.answer_by(request)
    staff = client_as(app, world["staff"])
    page = staff.get(f"/records/requests/{request.id}").get_data(as_text=True)
    assert f"/records/requests/{request.id}/extend" in page and "(a month from the request" in page
    response = staff.post(f"/records/requests/{request.id}/extend", data={"extend-reason": "  "})
    assert response.status_code == 400 and "Give the reason for the extension" in response.get_data(as_text=True)
    reason = "Sprawdzamy dane w archiwum dwóch instytucji walidujących."
    assert staff.post(f"/records/requests/{request.id}/extend", data={"extend-reason": reason}).status_code == 302
    db.session.refresh(request)
    assert request.extended_by_id == world["staff"].id and request.extension_reason == reason
    assert requests.answer_by(request) == add_months(first_month, 2)
    (entry,) = _audit("data_request.extended")
    assert entry.actor_id == world["staff"].id and entry.after["answer_by"] == requests.answer_by(request).isoformat()
    assert reason not in json.dumps(entry.after)  # the free text is kept as its digest
    # The person is told, in Polish, when and why.
    with force_locale("pl"):
        subject = gettext(EXTENDED_SUBJECT, kind=request.kind.label)
    (mail,) = [m for m in _mails(holder) if m.subject == subject]
    assert reason in mail.body and format_date(requests.answer_by(request), "medium", locale="pl") in mail.body
    mine = client_as(app, holder).get("/records/mine").get_data(as_text=True)
    assert reason in mine and format_date(requests.answer_by(request), "medium", locale="en") in mine
    page = staff.get(f"/records/requests/{request.id}").get_data(as_text=True)
    assert "extended by two months" in page and f"/records/requests/{request.id}/extend" not in page
    listed = staff.get("/records/requests").get_data(as_text=True)
    row = re.search(rf'<tr data-request="{request.id}">(.*?)</tr>', listed, re.S).group(1)
    assert format_date(requests.answer_by(request), "medium", locale="en") in row and "(extended)" in row
    # Once only: refused with the reason, the text typed kept.
    again = staff.post(f"/records/requests/{request.id}/extend", data={"extend-reason": "Jeszcze raz proszę"})
    assert again.status_code == 400
    assert "already been extended" in again.get_data(as_text=True) and "Jeszcze raz proszę" in again.get_data(as_text=True)


def test_the_time_is_extended_only_within_the_first_month_and_while_the_request_is_open(app, world):
    request = _correction(app, world)
    request.created_at = datetime.now(UTC) - timedelta(days=40)
    db.session.commit()
    staff = client_as(app, world["staff"])
    assert f"/records/requests/{request.id}/extend" not in staff.get(f"/records/requests/{request.id}").get_data(as_text=True)
    late = staff.post(f"/records/requests/{request.id}/extend", data={"extend-reason": "Sprawa złożona"})
    assert late.status_code == 400 and "The month to answer is over" in late.get_data(as_text=True)
    assert "Sprawa złożona" in late.get_data(as_text=True)
    request.created_at = datetime.now(UTC)
    request.status, request.reason, request.decided_at = DataRequestStatus.REFUSED, "Nie", datetime.now(UTC)
    db.session.commit()
    decided = staff.post(f"/records/requests/{request.id}/extend", data={"extend-reason": "Sprawa złożona"})
    assert decided.status_code == 400 and "already been refused" in decided.get_data(as_text=True)
    db.session.refresh(request)
    assert request.extended_at is None and _audit("data_request.extended") == []
    # Someone who may not review it does not learn that it exists.
    outsider = client_as(app, world["outsider_staff"])
    assert outsider.post(f"/records/requests/{request.id}/extend", data={"extend-reason": "x"}).status_code == 404


@pytest.mark.parametrize(("made_utc", "answer_by"), [
    (datetime(2026, 1, 31, 10, 0, tzinfo=UTC), date(2026, 4, 28)),  # 28 February, then two months
    (datetime(2026, 5, 31, 10, 0, tzinfo=UTC), date(2026, 8, 30)),  # 30 June, then two months
    (datetime(2026, 12, 2, 9, 0, tzinfo=UTC), date(2027, 3, 2)),
])
def test_an_extended_request_is_answered_two_months_after_the_first_month(made_utc, answer_by):
    extended = DataRequest(created_at=made_utc, extended_at=made_utc + timedelta(days=3))
    assert requests.answer_by(extended) == answer_by


def test_the_last_day_to_extend_is_the_first_months_last_day_in_poland():
    made = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)  # answer by 28 February
    request = DataRequest(created_at=made, status=DataRequestStatus.OPEN)
    last_day = datetime(2026, 2, 28, 22, 30, tzinfo=UTC)  # 23:30 in Warsaw: still 28 February
    assert requests.extension_refusal(request, last_day) is None
    too_late = datetime(2026, 2, 28, 23, 30, tzinfo=UTC)  # 00:30 on 1 March in Warsaw
    assert "The month to answer is over" in requests.extension_refusal(request, too_late)
