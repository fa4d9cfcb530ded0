"""The institution's register of certificates: filters by status, session, issue dates and coming
expiry; a CSV export that a spreadsheet cannot run as formulas; bad filters are a 400, never a 500."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from examportal.certification import rules, services
from examportal.extensions import db
from examportal.models import Role
from tests.certtools import certification_world, make_certificate, validation_decision
from tests.factories import client_as, enrol, make_institution, make_session, make_user


@pytest.fixture
def world(app, qualification):
    world = certification_world(qualification)
    world["certificates"] = [make_certificate(e, world["staff"]) for e in world["enrolments"]]
    other_session = make_session(world["ic"], qualification, title="Sesja w centrali")
    formula = make_user(Role.CANDIDATE, first_name="=HYPERLINK(\"http://evil.example\";\"klik\")", last_name="@SUMA(A1)")
    enrolment = enrol(other_session, formula)
    enrolment.fee_pln, enrolment.fee_reason = rules.parse_amount("0"), "+cmd|' /C calc'!A0"
    db.session.commit()
    validation_decision(enrolment)
    world["formula"] = make_certificate(enrolment, world["staff"])
    world["other_session"] = other_session
    return world


def _numbers(response) -> set[str]:
    return set(re.findall(r'data-number="([^"]+)"', response.get_data(as_text=True)))


def test_the_register_lists_the_institutions_certificates(app, world):
    everything = {c.number for c in [*world["certificates"], world["formula"]]}
    assert _numbers(client_as(app, world["staff"]).get("/certification/register")) == everything
    # The validating institution's staff see those of their sessions; another institution sees none.
    assert _numbers(client_as(app, world["child_staff"]).get("/certification/register")) == {
        c.number for c in world["certificates"]}
    stranger = client_as(app, make_user((Role.STAFF, make_institution())))
    assert _numbers(stranger.get("/certification/register")) == set()


def test_filters(app, world):
    first, second, third = world["certificates"]
    services.change_status(world["staff"], second, "suspend", "Wyjaśnianie.")
    services.change_status(world["staff"], third, "revoke", "Fałszerstwo.")
    first.issued_on, first.valid_until = rules.today() - timedelta(days=5 * 365), rules.today() + timedelta(days=20)
    world["formula"].issued_on = rules.today() - timedelta(days=10)
    db.session.commit()
    client = client_as(app, world["staff"])

    def numbers(**query):
        response = client.get("/certification/register", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return _numbers(response)

    assert numbers(status="suspended") == {second.number}
    assert numbers(status="revoked") == {third.number}
    assert numbers(status="valid") == {first.number, world["formula"].number}
    assert numbers(expiring_within_days="30") == {first.number}
    assert numbers(expiring_within_days="19") == set()
    assert numbers(session_id=str(world["other_session"].id)) == {world["formula"].number}
    assert numbers(issued_from=(rules.today() - timedelta(days=11)).isoformat(),
                   issued_to=(rules.today() - timedelta(days=9)).isoformat()) == {world["formula"].number}
    first.valid_until = rules.today() - timedelta(days=1)
    db.session.commit()
    assert numbers(status="expired") == {first.number}
    assert first.number not in numbers(status="valid")


@pytest.mark.parametrize("query", ["status=bogus", "session_id=abc", "session_id=999999", "issued_from=2026-13-40",
                                   "issued_from=2026-03-01&issued_to=2026-02-01", "expiring_within_days=-1",
                                   "expiring_within_days=99999", "expiring_within_days=x", "issued_to=0001-01-01"])
def test_bad_filters_are_a_400_with_the_form_kept(app, world, query):
    client = client_as(app, world["staff"])
    response = client.get(f"/certification/register?{query}")
    assert response.status_code == 400
    assert client.get(f"/certification/register.csv?{query}").status_code == 400


def test_the_csv_export_is_formula_safe(app, world):
    response = client_as(app, world["staff"]).get("/certification/register.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Number", "First name", "Last name"] and len(rows) == 5
    row = next(r for r in rows if r[0] == world["formula"].number)
    assert row[1] == "'=HYPERLINK(\"http://evil.example\";\"klik\")" and row[2] == "'@SUMA(A1)"
    assert row[8] == "0.00" and row[9] == "'+cmd|' /C calc'!A0"
    for cells in rows[1:]:
        assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in cells), cells
    # Every cell quoted: a spreadsheet that splits at commas (an English one) keeps a cell whole, so
    # "Sesja,=cmd…" never starts a cell with a formula there either.
    for line in text.lstrip("\ufeff").splitlines():
        assert line.startswith('"') and line.endswith('"'), line
    # The export follows the filters.
    only = client_as(app, world["staff"]).get(f"/certification/register.csv?session_id={world['other_session'].id}")
    assert [r[0] for r in csv.reader(io.StringIO(only.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")][1:] == [
        world["formula"].number]
