"""Staff manage their institution's people; administrators register institutions."""
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import AuditEntry, Institution, OutboxMail, Role, User, UserRole
from tests.factories import make_institution, make_user


def _staff_world():
    vcc = make_institution("Fundacja VCC")
    child = make_institution("Ośrodek VCC Kraków", parent=vcc)
    other = make_institution("Warto Szkolić")
    staff = make_user((Role.STAFF, vcc))
    return vcc, child, other, staff


def test_staff_grant_role_to_existing_account(app, login):
    _vcc, child, _other, staff = _staff_world()
    person = make_user(Role.CANDIDATE, email="ekspert@example.pl")
    client = login(staff)
    response = client.post(f"/institution/{child.id}/people", data={"email": "EKSPERT@example.pl", "role": "assessor"})
    assert response.status_code == 302
    assert person.has_role(Role.ASSESSOR, child.id)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "institution.role_granted"))
    assert entry.institution_id == child.id and entry.after["role"] == "assessor"


def test_new_person_gets_an_account_and_a_link_to_set_the_password(app, login):
    vcc, _child, _other, staff = _staff_world()
    client = login(staff)
    response = client.post(f"/institution/{vcc.id}/people",
                           data={"email": "nowa@example.pl", "role": "operator", "first_name": "Nina", "last_name": "Nowa"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "nowa@example.pl"))
    assert user.has_role(Role.OPERATOR, vcc.id)
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.recipient == "nowa@example.pl"))
    assert "/auth/reset/" in mail.body


def test_new_person_without_a_name_is_refused_and_the_email_is_kept(app, login):
    vcc, _child, _other, staff = _staff_world()
    client = login(staff)
    response = client.post(f"/institution/{vcc.id}/people", data={"email": "ktos@example.pl", "role": "operator"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'class="error"' in body and 'value="ktos@example.pl"' in body
    assert db.session.scalar(select(User).where(User.email == "ktos@example.pl")) is None


def test_duplicate_role_and_bad_role_are_refused(app, login):
    vcc, _child, _other, staff = _staff_world()
    make_user((Role.ASSESSOR, vcc), email="a@example.pl")
    client = login(staff)
    assert client.post(f"/institution/{vcc.id}/people", data={"email": "a@example.pl", "role": "assessor"}).status_code == 400
    assert client.post(f"/institution/{vcc.id}/people", data={"email": "a@example.pl", "role": "admin"}).status_code == 400
    assert db.session.scalar(select(UserRole).where(UserRole.role == Role.ADMIN)) is None


def test_staff_cannot_touch_another_institution(app, login):
    vcc, _child, other, staff = _staff_world()
    foreign = make_user((Role.ASSESSOR, other), email="obcy@example.pl")
    client = login(staff)
    assert client.get(f"/institution/{other.id}/people").status_code == 404
    assert client.post(f"/institution/{other.id}/people", data={"email": "x@example.pl", "role": "staff",
                                                                "first_name": "X", "last_name": "Y"}).status_code == 404
    assignment = foreign.roles[0]
    assert client.post(f"/institution/{other.id}/people/{assignment.id}/revoke").status_code == 404
    # Through one's own institution's URL, another institution's assignment is not found either.
    assert client.post(f"/institution/{vcc.id}/people/{assignment.id}/revoke").status_code == 404
    assert foreign.has_role(Role.ASSESSOR, other.id)


def test_revoke_role_but_not_ones_own_staff_role(app, login):
    vcc, _child, _other, staff = _staff_world()
    assessor = make_user((Role.ASSESSOR, vcc))
    client = login(staff)
    assessor_role = assessor.roles[0]
    assert client.post(f"/institution/{vcc.id}/people/{assessor_role.id}/revoke").status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, assessor.id).has_role(Role.ASSESSOR)
    own = staff.roles[0]
    client.post(f"/institution/{vcc.id}/people/{own.id}/revoke")
    db.session.expire_all()
    assert db.session.get(User, staff.id).has_role(Role.STAFF, vcc.id)


def test_admin_registers_institutions(app, login):
    admin = make_user(Role.ADMIN)
    vcc = make_institution("Fundacja VCC")
    client = login(admin)
    assert client.post("/institution/all", data={"name": "Nowy Ośrodek", "short_name": "NO", "kind": "validating",
                                                 "parent_id": vcc.id}).status_code == 302
    child = db.session.scalar(select(Institution).where(Institution.name == "Nowy Ośrodek"))
    assert child.parent_id == vcc.id
    # A validating institution needs a certifying parent.
    response = client.post("/institution/all", data={"name": "Sierota", "short_name": "S", "kind": "validating", "parent_id": 0})
    assert response.status_code == 400 and 'value="Sierota"' in response.get_data(as_text=True)
    # Staff are not administrators.
    staff = make_user((Role.STAFF, vcc))
    client.post("/auth/logout")
    assert login(staff).get("/institution/all").status_code == 403
