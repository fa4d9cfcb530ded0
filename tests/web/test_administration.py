"""The administrator: gives a new institution its first staff member, authorises institutions for
qualifications, and deactivates and reactivates accounts."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.extensions import db
from examportal.institution import services
from examportal.models import AuditEntry, Institution, Role, SessionStatus, User
from tests.factories import PASSWORD, client_as, make_institution, make_session, make_user


@pytest.fixture
def admin(app):
    return make_user(Role.ADMIN, first_name="Adam", last_name="Administrator")


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


# --------------------------------------------------------------------------- first staff member


def test_admin_registers_an_institution_and_gives_it_its_first_staff_member(app, admin):
    client = client_as(app, admin)
    assert client.post("/institution/all", data={"name": "Nowa Fundacja", "short_name": "NF", "kind": "certifying",
                                                 "parent_id": "0", "city": "Gdańsk"}).status_code == 302
    institution = db.session.scalar(select(Institution).where(Institution.name == "Nowa Fundacja"))
    admin_page = client.get("/institution/all").get_data(as_text=True)
    assert f"/institution/{institution.id}/people" in admin_page and f"/institution/all/{institution.id}/qualifications" in admin_page
    page = client.get(f"/institution/{institution.id}/people")
    assert page.status_code == 200 and "Nobody holds a role here yet." in page.get_data(as_text=True)
    response = client.post(f"/institution/{institution.id}/people", data={
        "email": "kierowniczka@nowa.example", "role": "staff", "first_name": "Krystyna", "last_name": "Kierownik"})
    assert response.status_code == 302
    staff = db.session.scalar(select(User).where(User.email == "kierowniczka@nowa.example"))
    assert staff.has_role(Role.STAFF, institution.id)
    entry = _entries("institution.role_granted")[-1]
    assert entry.actor_id == admin.id and entry.institution_id == institution.id
    assert entry.after == {"user_id": staff.id, "role": "staff", "account_created": True}
    # The administrator can also take a role back (say, granted to the wrong address).
    assignment = staff.roles[0]
    assert client.post(f"/institution/{institution.id}/people/{assignment.id}/revoke").status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, staff.id).has_role(Role.STAFF)
    assert _entries("institution.role_revoked")[-1].actor_id == admin.id


def test_admin_on_a_people_page_bad_input_and_unknown_institution(app, admin):
    institution = make_institution("Fundacja Pusta")
    client = client_as(app, admin)
    response = client.post(f"/institution/{institution.id}/people", data={"email": "nie-adres", "role": "staff"})
    assert response.status_code == 400 and 'value="nie-adres"' in response.get_data(as_text=True)
    assert client.post(f"/institution/{institution.id}/people", data={"email": "a@b.pl", "role": "admin"}).status_code == 400
    assert client.get("/institution/999999/people").status_code == 404
    # The administrator records no competence: that is the institution's staff's verification.
    page = client.get(f"/institution/{institution.id}/people").get_data(as_text=True)
    assert "/competence/" not in page


def test_only_the_admin_and_the_institutions_staff_open_its_people_page(app, admin):
    vcc = make_institution("Fundacja VCC")
    other = make_institution("Inna")
    assert client_as(app, make_user((Role.STAFF, other))).get(f"/institution/{vcc.id}/people").status_code == 404
    for role in (Role.ASSESSOR, Role.OPERATOR):
        assert client_as(app, make_user((role, vcc))).get(f"/institution/{vcc.id}/people").status_code == 403
    assert client_as(app, make_user(Role.CANDIDATE)).get(f"/institution/{vcc.id}/people").status_code == 403


# --------------------------------------------------------------------------- qualifications


def test_admin_authorises_an_institution_and_withdraws_the_authorisation(app, admin, qualification):
    ic = make_institution("Fundacja Certyfikująca")
    client = client_as(app, admin)
    url = f"/institution/all/{ic.id}/qualifications"
    page = client.get(url)
    assert page.status_code == 200 and "Not authorised for any qualification yet." in page.get_data(as_text=True)
    assert client.post(url, data={"qualification_id": qualification.id}).status_code == 302
    db.session.expire_all()
    assert qualification in db.session.get(Institution, ic.id).qualifications
    entry = _entries("institution.qualification_authorised")[-1]
    assert entry.institution_id == ic.id and entry.after == {"qualification_id": qualification.id} and entry.actor_id == admin.id
    assert "13881" in client.get(url).get_data(as_text=True)
    response = client.post(f"{url}/withdraw", data={"withdraw-qualification_id": qualification.id})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Institution, ic.id).qualifications == []
    assert _entries("institution.qualification_withdrawn")[-1].before == {"qualification_id": qualification.id}


def test_a_validating_institution_only_for_what_its_certifying_institution_holds(app, admin, qualification):
    ic = make_institution("Fundacja Certyfikująca")
    child = make_institution("Ośrodek Walidacyjny", parent=ic)
    client = client_as(app, admin)
    url = f"/institution/all/{child.id}/qualifications"
    response = client.post(url, data={"qualification_id": qualification.id})
    assert response.status_code == 400
    assert ("Fundacja Certyfikująca, the certifying institution it validates for, is not authorised for 13881"
            in response.get_data(as_text=True))
    assert child.qualifications == []
    services.authorise_qualification(ic, qualification)
    assert client.post(url, data={"qualification_id": qualification.id}).status_code == 302
    db.session.expire_all()
    assert qualification in db.session.get(Institution, child.id).qualifications
    # The certifying institution keeps it while its validating institution holds it.
    response = client.post(f"/institution/all/{ic.id}/qualifications/withdraw", data={"withdraw-qualification_id": qualification.id})
    assert response.status_code == 400
    assert "Ośrodek Walidacyjny are authorised for 13881 through it" in response.get_data(as_text=True)
    db.session.expire_all()
    assert qualification in db.session.get(Institution, ic.id).qualifications


def test_authorising_twice_or_nothing_is_refused(app, admin, qualification):
    ic = make_institution("Fundacja", qualifications=[qualification])
    client = client_as(app, admin)
    url = f"/institution/all/{ic.id}/qualifications"
    # Already held: it is not offered, and a forged post is refused.
    assert f'value="{qualification.id}"' not in client.get(url).get_data(as_text=True).split("<select", 1)[1]
    for value in (str(qualification.id), "0", "", "abc", "99999999999999999999"):
        assert client.post(url, data={"qualification_id": value}).status_code == 400
    with force_locale("en"), pytest.raises(services.InstitutionRuleError, match="already authorised"):
        services.authorise_qualification(ic, qualification)
    with force_locale("en"), pytest.raises(services.InstitutionRuleError, match="Choose a qualification"):
        services.authorise_qualification(ic, None)
    assert len(_entries("institution.qualification_authorised")) == 0


@pytest.mark.parametrize("status", [SessionStatus.PLANNED, SessionStatus.IN_PROGRESS])
def test_withdrawing_is_refused_while_a_session_of_it_is_not_closed(app, admin, qualification, status):
    ic = make_institution("Fundacja", qualifications=[qualification])
    child = make_institution("Ośrodek", parent=ic)
    make_session(child, qualification, status=status)
    # The validating institution's own authorisation stays while its session is not closed ...
    response = client_as(app, admin).post(f"/institution/all/{child.id}/qualifications/withdraw",
                                          data={"withdraw-qualification_id": qualification.id})
    assert response.status_code == 400
    assert "1 session(s) of 13881 are not closed yet" in response.get_data(as_text=True)
    # ... and so does the certifying institution's, which its validating institution holds through it.
    response = client_as(app, admin).post(f"/institution/all/{ic.id}/qualifications/withdraw",
                                          data={"withdraw-qualification_id": qualification.id})
    assert response.status_code == 400
    assert "Its validating institutions Ośrodek are authorised for 13881 through it" in response.get_data(as_text=True)
    db.session.expire_all()
    assert qualification in db.session.get(Institution, ic.id).qualifications
    assert qualification in db.session.get(Institution, child.id).qualifications
    assert _entries("institution.qualification_withdrawn") == []


def test_closed_and_cancelled_sessions_do_not_keep_the_authorisation(app, admin, qualification):
    ic = make_institution("Fundacja", qualifications=[qualification])
    make_session(ic, qualification, status=SessionStatus.CLOSED)
    make_session(ic, qualification, status=SessionStatus.CANCELLED)
    services.withdraw_qualification(ic, qualification)
    assert ic.qualifications == []


def test_withdrawing_what_it_does_not_hold_is_refused(app, admin, qualification):
    ic = make_institution("Fundacja")
    client = client_as(app, admin)
    for value in (str(qualification.id), "", "x"):
        response = client.post(f"/institution/all/{ic.id}/qualifications/withdraw", data={"withdraw-qualification_id": value})
        assert response.status_code == 400 and "Choose one of the institution" in response.get_data(as_text=True)
    with force_locale("en"), pytest.raises(services.InstitutionRuleError, match="not authorised for this qualification"):
        services.withdraw_qualification(ic, qualification)


def test_only_the_admin_manages_authorisations(app, qualification):
    ic = make_institution("Fundacja", qualifications=[qualification])
    staff = client_as(app, make_user((Role.STAFF, ic)))
    assert staff.get(f"/institution/all/{ic.id}/qualifications").status_code == 403
    assert staff.post(f"/institution/all/{ic.id}/qualifications/withdraw",
                      data={"withdraw-qualification_id": qualification.id}).status_code == 403
    assert client_as(app, make_user(Role.ADMIN)).get("/institution/all/999999/qualifications").status_code == 404
    db.session.expire_all()
    assert qualification in db.session.get(Institution, ic.id).qualifications


# --------------------------------------------------------------------------- deactivation


def _login_fails(app, user) -> bool:
    response = client_as(app).post("/auth/login", data={"email": user.email, "password": PASSWORD})
    return response.status_code == 200 and "Wrong e-mail or password." in response.get_data(as_text=True)


def test_a_deactivated_account_cannot_log_in_and_its_session_ends(app, admin):
    ic = make_institution("Fundacja")
    person = make_user((Role.ASSESSOR, ic), email="odchodzi@example.pl")
    theirs = client_as(app, person)
    assert theirs.get("/sessions/committees").status_code == 200
    client = client_as(app, admin)
    response = client.post("/institution/all/accounts/deactivate",
                           data={"deactivate-email": "ODCHODZI@example.pl ", "deactivate-cause": "left"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, person.id).active is False
    assert _login_fails(app, person)
    # The session they had open ends at their next request.
    response = theirs.get("/sessions/committees")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    entry = _entries("account.deactivated")[-1]
    assert (entry.object_type, entry.object_id, entry.actor_id) == ("user_account", str(person.id), admin.id)
    assert entry.after == {"active": False, "cause": "left"} and "odchodzi" not in str(entry.after)
    page = client.get("/institution/all").get_data(as_text=True)
    assert "odchodzi@example.pl" in page.split("Deactivated accounts", 1)[1]
    assert "deactivated" in client.get(f"/institution/{ic.id}/people").get_data(as_text=True)
    # Reactivated, they log in again.
    response = client.post("/institution/all/accounts/reactivate",
                           data={"reactivate-email": person.email, "reactivate-cause": "returned"})
    assert response.status_code == 302
    assert _entries("account.reactivated")[-1].after == {"active": True, "cause": "returned"}
    assert client_as(app, person).get("/sessions/committees").status_code == 200


def test_a_deactivated_assessor_is_not_offered_for_a_committee(app, admin, qualification):
    ic = make_institution("Fundacja", qualifications=[qualification])
    assessor = make_user((Role.ASSESSOR, ic), last_name="Nieaktywny")
    services.set_account_active(assessor.email, False, "left", admin)
    session = make_session(ic, qualification)
    staff = client_as(app, make_user((Role.STAFF, ic)))
    assert "Nieaktywny" not in staff.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert staff.post(f"/sessions/{session.id}/committee", data={"assessor_id": assessor.id}).status_code == 400


def test_nobody_deactivates_themselves(app, admin):
    response = client_as(app, admin).post("/institution/all/accounts/deactivate",
                                          data={"deactivate-email": admin.email, "deactivate-cause": "left"})
    assert response.status_code == 400
    assert "You cannot deactivate your own account" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).active is True


def test_the_last_active_administrator_is_never_deactivated(app, admin):
    other = make_user(Role.ADMIN)
    # With two active administrators, one may deactivate the other.
    services.set_account_active(other.email, False, "left", admin)
    # Now the first is the last one: refused, whoever asks (here the other, whose request raced
    # with their own deactivation).
    with force_locale("en"), pytest.raises(services.InstitutionRuleError, match="last active administrator"):
        services.set_account_active(admin.email, False, "left", other)
    db.session.expire_all()
    assert db.session.get(User, admin.id).active is True


@pytest.mark.parametrize(("data", "message"), [
    ({"deactivate-email": "nikt@example.pl", "deactivate-cause": "left"}, "No account uses this e-mail address."),
    ({"deactivate-email": "nikt@example.pl", "deactivate-cause": ""}, "Choose why, for the audit log."),
    ({"deactivate-email": "nikt@example.pl", "deactivate-cause": "because"}, "Not a valid choice"),
    ({"deactivate-email": "to nie adres", "deactivate-cause": "left"}, "Enter a valid e-mail address."),
    ({"deactivate-email": "", "deactivate-cause": "left"}, "This field is required."),
])
def test_bad_deactivation_input(app, admin, data, message):
    response = client_as(app, admin).post("/institution/all/accounts/deactivate", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _entries("account.deactivated") == []


def test_deactivating_twice_or_reactivating_an_active_account_is_refused(app, admin):
    person = make_user(Role.CANDIDATE)
    client = client_as(app, admin)
    response = client.post("/institution/all/accounts/reactivate",
                           data={"reactivate-email": person.email, "reactivate-cause": "mistake"})
    assert response.status_code == 400 and "This account is already active." in response.get_data(as_text=True)
    services.set_account_active(person.email, False, "duplicate", admin)
    response = client.post("/institution/all/accounts/deactivate",
                           data={"deactivate-email": person.email, "deactivate-cause": "left"})
    assert response.status_code == 400 and "This account is already deactivated." in response.get_data(as_text=True)
    assert len(_entries("account.deactivated")) == 1 and _entries("account.reactivated") == []


def test_only_the_admin_deactivates(app):
    ic = make_institution("Fundacja")
    person = make_user(Role.CANDIDATE)
    staff = client_as(app, make_user((Role.STAFF, ic)))
    for action in ("deactivate", "reactivate"):
        assert staff.post(f"/institution/all/accounts/{action}",
                          data={f"{action}-email": person.email, f"{action}-cause": "left"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(User, person.id).active is True
