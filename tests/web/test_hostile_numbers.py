"""Numbers and dates at the ends of their ranges, as a hostile form or URL sends them: refused with
the field's own error (or an empty result), never a 500 — Decimal's 28-digit context, the
calendar's last day and the database's integer and NUMERIC(14, 2) columns all have ends."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from examportal.certification.rules import parse_amount
from examportal.extensions import db
from examportal.models import Role
from sandbox_crm.models import OfferLine
from sandbox_crm.validators import parse_amount as sandbox_amount
from tests.factories import client_as, enrol, make_institution, make_session, make_user


@pytest.fixture
def production_errors(app):
    """Answer as production does (a 500 page) instead of raising into the test."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.mark.parametrize("text", ["9" * 27 + ",99", "9" * 40 + ".99", "1" + "0" * 30, "1." + "0" * 13])
def test_an_amount_with_more_digits_than_any_fee_is_no_amount(text):
    assert parse_amount(text) is None
    assert parse_amount("999 999 999 999,99") is not None and parse_amount("350") is not None


@pytest.mark.parametrize("text", ["1e309", "9" * 29, "1000000000000"])
def test_a_sandbox_amount_beyond_its_column_is_refused(text):
    with pytest.raises(ValueError):
        sandbox_amount(text)
    assert str(sandbox_amount("999 999 999 999,99")) == "999999999999.99"


@pytest.mark.parametrize("amount", ["9" * 27 + ",99", "9" * 40 + ".99", "1" + "0" * 30])
def test_a_fee_with_too_many_digits_is_shown_again_with_its_error(production_errors, app, qualification, amount):
    ic = make_institution("Fundacja Sond", qualifications=[qualification])
    client = client_as(app, make_user((Role.STAFF, ic)))
    session = make_session(ic, qualification)
    enrolment = enrol(session, make_user(Role.CANDIDATE))
    response = client.post(f"/certification/sessions/{session.id}/fees", data={
        "rows-0-enrolment_id": str(enrolment.id), "rows-0-amount": amount, "rows-0-reason_choice": "",
        "rows-0-other_reason": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'class="error"' in page and f'value="{amount}"' in page


@pytest.fixture
def sandbox(app):
    """A practice workspace with one object of every kind, and its owner's client."""
    from tests.web.test_query_params import _sandbox_objects

    owner = make_user(Role.CANDIDATE)
    with app.test_request_context():
        objects = _sandbox_objects(owner)
    return {**objects, "client": client_as(app, owner), "base": f"/sandbox/w/{objects['ws_id']}"}


@pytest.mark.parametrize("path", ["/log?date_to=9999-12-31", "/log/xapi.json?date_to=9999-12-31",
                                  "/pipelines/{pipeline_id}/schedule?start=9999-12-31",
                                  "/log?date_from=0001-01-01"])
def test_a_date_at_the_end_of_the_calendar_is_refused(production_errors, sandbox, path):
    response = sandbox["client"].get(sandbox["base"] + path.format(**sandbox))
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("field, value, error", [
    ("product_id", "99999999999999999999", "Choose a product from the price list."),
    ("product_id", str(2**63), "Choose a product from the price list."),
    ("product_id", str(2**31), "Choose a product from the price list."),
    ("unit_price", "1e309", "Enter the net unit price as a number"),
    ("unit_price", "9" * 29, "Enter the net unit price as a number"),
    ("unit_price", "999999999999,99", "Enter the net unit price as a number"),  # times 2 is beyond the column
    ("quantity", "1", "Enter the net unit price as a number"),  # with VAT the offer's total is beyond it
    ("quantity", "0.0000000001", "Enter a quantity greater than 0."),  # stored to 0.001: nothing
    ("quantity", "0,0004", "Enter a quantity greater than 0."),
])
def test_an_offer_line_beyond_what_can_be_stored_is_refused_with_its_field_error(production_errors, sandbox, field, value,
                                                                                 error):
    data = {"name": "Usługa", "quantity": "2", "unit_price": "100", "discount_pct": "0", "vat_rate": "23", field: value}
    if field == "quantity" and value == "1":
        data["unit_price"] = "999999999999,99"
    before = db.session.scalar(select(func.count(OfferLine.id)))
    response = sandbox["client"].post(f"{sandbox['base']}/offers/{sandbox['offer_id']}/lines", data=data)
    assert response.status_code in (200, 400) and error in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(OfferLine.id))) == before  # nothing stored


@pytest.mark.parametrize("path, field", [("/companies/{company_id}/edit", "potential_value"),
                                         ("/segments/{segment_id}/edit", "min_value")])
@pytest.mark.parametrize("value", ["1e309", "9" * 29])
def test_an_amount_beyond_its_column_is_refused_on_the_sandboxs_forms(production_errors, sandbox, path, field, value):
    url = sandbox["base"] + path.format(**sandbox)
    response = sandbox["client"].post(url, data={field: value, "name": "Firma Testowa"})
    assert response.status_code in (200, 400) and 'class="field-error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["industries", "tags"])
def test_a_nul_byte_in_the_second_value_of_a_repeated_field_is_refused(production_errors, sandbox, field):
    """PostgreSQL cannot store a NUL in text: a segment's rules holding one failed every later page of it."""
    from werkzeug.datastructures import MultiDict

    from sandbox_crm.models import Segment

    before = db.session.scalar(select(func.count(Segment.id)))
    data = MultiDict([("name", "Segment z NUL"), ("target", "company"), (field, "IT"), (field, "a\x00b")])
    response = sandbox["client"].post(f"{sandbox['base']}/segments/new", data=data)
    assert response.status_code == 400 and "invisible control character (NUL)" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Segment.id))) == before


@pytest.mark.parametrize("config", ['{"filters": [1]}', '{"filters": "abc"}', '{"compare": "x"}', '{"compare": [1]}'])
def test_a_report_whose_hidden_configuration_is_malformed_is_not_saved(production_errors, sandbox, config):
    from sandbox_crm.models import SavedReport

    response = sandbox["client"].post(f"{sandbox['base']}/reports/save", data={"name": "Raport", "config": config})
    assert response.status_code == 302 and response.headers["Location"].endswith("/reports")
    assert db.session.scalar(select(SavedReport.id).where(SavedReport.name == "Raport")) is None


def test_a_saved_report_with_a_malformed_configuration_still_opens():
    from sandbox_crm.services.reports import config_to_args

    assert config_to_args({"source": "companies", "filters": [1], "compare": "x"}) == {"source": "companies"}


@pytest.mark.parametrize("path, data", [
    ("/companies/{company_id}/edit", {"name": "Firma Testowa"}),  # no tags
    ("/opportunities/{opportunity_id}/edit", {"name": "Szansa"}),  # no company
    ("/tasks/{task_id}/edit", {"title": "Zadanie"}),  # no company
])
def test_an_edit_form_posted_without_one_of_its_fields_is_read_as_sent(production_errors, sandbox, path, data):
    """A field left out of a post is missing, not the row's stored value (a list of tags, a related
    company) where the form reads text."""
    response = sandbox["client"].post(sandbox["base"] + path.format(**sandbox), data=data)
    assert response.status_code in (200, 302, 400)
