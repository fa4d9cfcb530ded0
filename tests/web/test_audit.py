"""The audit log browser: who sees which entries, the filters, and bad filter input."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from examportal.audit import services as audit_log
from examportal.extensions import db
from examportal.models import Role
from tests.factories import client_as, make_institution, make_user


@pytest.fixture
def log(app, monkeypatch):
    """Two certifying institutions with a validating child each, and entries spread over three months."""
    a = make_institution("Fundacja A")
    a_child = make_institution("Ośrodek A", parent=a)
    b = make_institution("Fundacja B")
    b_child = make_institution("Ośrodek B", parent=b)
    people = {
        "staff_a": make_user((Role.STAFF, a), first_name="Beata", last_name="Nowak", email="beata@a.pl"),
        "staff_a_child": make_user((Role.STAFF, a_child), first_name="Cecylia", last_name="Dziecko"),
        "staff_b": make_user((Role.STAFF, b), first_name="Zenon", last_name="Obcy", email="zenon@b.pl"),
        "admin": make_user(Role.ADMIN),
        "candidate": make_user(Role.CANDIDATE),
        "assessor": make_user((Role.ASSESSOR, a)),
    }

    def add(action, object_type, institution, actor, when):
        monkeypatch.setattr(audit_log, "utcnow", lambda: when)
        audit_log.record(action, object_type=object_type, object_id=1, actor=actor,
                         institution_id=institution.id if institution else None,
                         before={"state": "old"}, after={"state": "new", "html": "<b>x</b>"})
        db.session.commit()

    jan, feb, mar = (datetime(2026, m, d, 12, 0, tzinfo=UTC) for m, d in ((1, 10), (2, 15), (3, 20)))
    add("alpha.created", "validation_session", a, people["staff_a"], jan)
    add("alpha.updated", "validation_session", a, people["staff_a"], feb)
    add("alphachild.enrolled", "enrolment", a_child, people["staff_a_child"], mar)
    add("beta.created", "validation_session", b, people["staff_b"], feb)
    add("betachild.enrolled", "enrolment", b_child, people["staff_b"], feb)
    add("system.loaded", "qualification", None, None, jan)
    monkeypatch.undo()
    assert audit_log.verify_chain() == []
    people["institution_a"] = a
    return people


def actions(response) -> set[str]:
    return set(re.findall(r"<code>([a-z_.]+)</code>", response.get_data(as_text=True)))


ALL = {"alpha.created", "alpha.updated", "alphachild.enrolled", "beta.created", "betachild.enrolled", "system.loaded"}


def test_certifying_staff_see_their_own_and_their_validating_institutions_entries(app, log):
    response = client_as(app, log["staff_a"]).get("/audit/")
    assert response.status_code == 200
    assert actions(response) == {"alpha.created", "alpha.updated", "alphachild.enrolled"}
    page = response.get_data(as_text=True)
    assert "Zenon" not in page and "zenon@b.pl" not in page
    assert "<b>x</b>" not in page  # before/after JSON is escaped


def test_validating_staff_see_only_their_institution(app, log):
    assert actions(client_as(app, log["staff_a_child"]).get("/audit/")) == {"alphachild.enrolled"}


def test_staff_of_b_never_see_a(app, log):
    assert actions(client_as(app, log["staff_b"]).get("/audit/")) == {"beta.created", "betachild.enrolled"}


def test_admin_sees_everything(app, log):
    assert ALL <= actions(client_as(app, log["admin"]).get("/audit/"))  # and the log-in entries


@pytest.mark.parametrize("who, status", [("candidate", 403), ("assessor", 403)])
def test_other_roles_are_refused(app, log, who, status):
    assert client_as(app, log[who]).get("/audit/").status_code == status


def test_anonymous_is_sent_to_login(app, log):
    response = client_as(app).get("/audit/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("query, expected", [
    ("action=alpha", {"alpha.created", "alpha.updated", "alphachild.enrolled"}),
    ("action=alpha.updated", {"alpha.updated"}),
    ("action=beta", set()),  # another institution's entries never appear, even when asked for
    ("object_type=enrolment", {"alphachild.enrolled"}),
    ("object_type=validation", set()),  # object type matches exactly
    ("actor=Cecylia", {"alphachild.enrolled"}),
    ("actor=beata@a.pl", {"alpha.created", "alpha.updated"}),
    ("actor=Zenon", set()),
    ("date_from=2026-02-01", {"alpha.updated", "alphachild.enrolled"}),
    ("date_to=2026-02-15", {"alpha.created", "alpha.updated"}),  # the end date is inclusive
    ("date_from=2026-02-01&date_to=2026-02-28", {"alpha.updated"}),
    ("date_from=2026-02-01&object_type=validation_session&actor=Nowak", {"alpha.updated"}),
    ("action=%25", set()),          # "%" and "_" are literal characters, not wildcards
    ("action=alpha_created", set()),
])
def test_filters(app, log, query, expected):
    response = client_as(app, log["staff_a"]).get(f"/audit/?{query}")
    assert response.status_code == 200
    assert actions(response) == expected


def test_admin_filters_across_institutions(app, log):
    assert actions(client_as(app, log["admin"]).get("/audit/?action=created")) == {"alpha.created", "beta.created"}


@pytest.mark.parametrize("query", [
    "date_from=notadate",
    "date_to=2026-13-45",
    "date_from=2026-03-01&date_to=2026-02-01",
    "date_to=9999-12-31",
    "date_from=0001-01-01",
    "action=" + "x" * 10_000,
    "actor=" + "ą" * 300,
])
def test_bad_filter_input_gives_a_clear_error(app, log, query):
    response = client_as(app, log["staff_a"]).get(f"/audit/?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'class="error"' in page
    # Never a peek beyond the user's institutions, even with a broken filter.
    assert not actions(response) & {"beta.created", "betachild.enrolled", "system.loaded"}


def test_bad_filter_value_is_kept_and_escaped(app, log):
    response = client_as(app, log["staff_a"]).get("/audit/?date_from=<script>alert(1)</script>")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_garbage_page_number_does_not_break_the_page(app, log):
    for page in ("abc", "-1", "999999", "1e9"):
        assert client_as(app, log["staff_a"]).get(f"/audit/?page={page}").status_code == 200


def test_pages_keep_the_filters(app, log):
    for i in range(55):
        audit_log.record("bulk.changed", object_type="thing", object_id=i, institution_id=log["institution_a"].id)
    db.session.commit()
    client = client_as(app, log["staff_a"])
    first = client.get("/audit/?action=bulk").get_data(as_text=True)
    assert first.count("<code>bulk.changed</code>") == 50
    older = re.search(r'href="([^"]*page=2[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "action=bulk" in older
    second = client.get(older)
    assert second.get_data(as_text=True).count("<code>bulk.changed</code>") == 5
