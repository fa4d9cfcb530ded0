"""Names and searches treat Polish capitals like any other letter, on SQLite too.

SQLite's lower() folds ASCII only (lower('ĄĆĘŁŃÓŚŹŻ') stays 'ĄĆĘŁŃÓŚŹŻ'): a tag added again in
capitals hit the unique constraint (a 500), a second segment of the same name too, and searches for
'łódź' missed 'ŁÓDŹ'. PostgreSQL's lower() folds them in a UTF-8 locale, and only ASCII under the
"C" locale: rules therefore compare names in Python, and SQL uses textcase.unicode_lower.
"""
import re

import pytest
from customers_helpers import company, contact
from sqlalchemy import func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

import sandbox_crm
from sandbox_crm.api import create_workspace
from sandbox_crm.models import Tag
from sandbox_crm.services import customers as service
from sandbox_crm.services import opportunities as opportunity_service
from sandbox_crm.services import products as product_service
from sandbox_crm.services import segments as segment_service
from sandbox_crm.services import tasks as task_service
from sandbox_crm.textcase import name_key, unicode_lower

CAPITALS, SMALL = "ĄĆĘŁŃÓŚŹŻ", "ąćęłńóśźż"
TAKEN = re.escape("A segment with this name already exists.")


@pytest.fixture
def ws(sandbox_app, workspace):
    with sandbox_app.test_request_context():
        yield workspace


def _tags(ws) -> list[str]:
    return list(sandbox_crm.session().scalars(select(Tag.name).where(Tag.workspace_id == ws.id)))


def test_sqlites_own_lower_leaves_polish_capitals_and_ours_folds_them(ws):
    db = sandbox_crm.session()
    if db.get_bind().dialect.name == "sqlite":  # the cause of the bug, still there in SQLite itself
        assert db.scalar(select(func.lower(literal(CAPITALS)))) == CAPITALS
    assert db.scalar(select(unicode_lower(literal(CAPITALS)))) == SMALL
    assert "crm_unicode_lower(" in str(select(unicode_lower(Tag.name)).compile(dialect=sqlite.dialect()))
    assert "lower(" in str(select(unicode_lower(Tag.name)).compile(dialect=postgresql.dialect()))
    assert name_key(f"  {CAPITALS}   Klient ") == name_key(f"{SMALL} klient")


def test_a_tag_in_other_capitals_is_the_same_tag(ws):
    first, second = company(ws, name="Alfa"), company(ws, name="Beta")
    tag = service.add_tag(ws, first, SMALL)
    assert service.add_tag(ws, second, CAPITALS) is tag  # not a second tag, not a unique-constraint error
    assert _tags(ws) == [SMALL]
    capital = service.add_tag(ws, company(ws, name="Gamma"), "ŁÓDŹ")
    assert service.add_tag(ws, contact(ws), "łódź") is capital
    assert sorted(_tags(ws)) == sorted([SMALL, "ŁÓDŹ"])


def test_adding_a_tag_the_customer_has_in_any_capitals_is_refused_with_a_message(ws):
    row = company(ws, name="Alfa")
    service.add_tag(ws, row, CAPITALS)
    for again in (CAPITALS, SMALL, f" {CAPITALS} "):
        with pytest.raises(service.CustomerError) as refused:
            service.add_tag(ws, row, again)
        assert str(refused.value.errors["tag"]) == f"Alfa already has this tag ({CAPITALS})."
    assert [t.name for t in row.tags] == [CAPITALS]


def test_typed_tag_lists_fold_capitals(ws):
    assert service.parse_tags(f"{CAPITALS}, {SMALL}; Łódź, ŁÓDŹ") == [CAPITALS, "Łódź"]
    row = company(ws, name="Alfa", tags=["ŻABKA", "żabka"])
    assert [t.name for t in row.tags] == ["ŻABKA"]
    other = company(ws, name="Beta", tags=["Żabka"])
    assert other.tags == row.tags and _tags(ws) == ["ŻABKA"]


def test_tag_added_twice_through_the_web_is_a_message_not_a_500(login_as, sandbox_app, workspace):
    with sandbox_app.test_request_context():
        row = company(workspace, name="Alfa")
        sandbox_crm.session().commit()
    client = login_as("user:1")
    url = f"/sandbox/w/{workspace.id}/companies/{row.id}/tags"
    assert client.post(url, data={"name": CAPITALS}).status_code == 302
    response = client.post(url, data={"name": CAPITALS}, follow_redirects=True)
    assert response.status_code == 200
    assert f"Alfa already has this tag ({CAPITALS})." in response.get_data(as_text=True)
    response = client.post(url, data={"name": SMALL}, follow_redirects=True)
    assert f"Alfa already has this tag ({CAPITALS})." in response.get_data(as_text=True)
    # The contact form's tag field reuses the workspace's tag whatever the case.
    response = client.post(f"/sandbox/w/{workspace.id}/contacts/new",
                           data={"first_name": "Jan", "last_name": "Kowalski", "tags": SMALL})
    assert response.status_code == 302
    assert _tags(workspace) == [CAPITALS]


def test_a_segment_name_in_other_capitals_is_taken(ws):
    segment_service.create_segment(ws, name="ŁÓDŹ", rules={"regions": ["łódzkie"]})
    for name in ("ŁÓDŹ", "łódź", " Łódź "):
        with pytest.raises(segment_service.SegmentError, match=TAKEN):
            segment_service.create_segment(ws, name=name, rules={"regions": ["łódzkie"]})
    other = segment_service.create_segment(ws, name="Inny", rules={})
    with pytest.raises(segment_service.SegmentError, match=TAKEN):
        segment_service.update_segment(ws, other, name="łódź", target="company", rules={})
    segment_service.update_segment(ws, other, name="INNY", target="company", rules={})  # its own name, in capitals
    assert other.name == "INNY"


def test_searches_and_lookups_find_polish_capitals(ws):
    firm = company(ws, name="ŻABKA POLSKA SP. Z O.O.", city="ŁÓDŹ", email="BIURO@ŻABKA.PL")
    contact(ws, first_name="Łucja", last_name="Ćwik", position="KIEROWNIK ŁĄCZNOŚCI")
    db = sandbox_crm.session()
    assert list(db.scalars(service.companies_query(ws, service.CompanyFilters(q="łódź")))) == [firm]
    contacts = list(db.scalars(service.contacts_query(ws, service.ContactFilters(q="łączności"))))
    assert [c.last_name for c in contacts] == ["Ćwik"]
    assert service.find_company_by_reference(ws, "żabka polska sp. z o.o.") == [firm]
    product_service.create_product(ws, {"name": "ŻÓŁW OGRODOWY", "sku": "ŻÓŁ-1", "kind": "product", "unit": "szt.",
                                        "unit_price": "10", "vat_rate": "23"})
    assert [p.name for p in product_service.list_products(ws, q="żółw").items] == ["ŻÓŁW OGRODOWY"]


def test_sales_filters_find_polish_capitals(sandbox_app, sandbox_session):
    with sandbox_app.test_request_context():
        ws = create_workspace("Sprzedaż", "user:1", seed={
            "companies": [{"key": "k", "name": "Klient"}],
            "pipelines": [{"name": "Lejek", "stages": [{"name": "Start", "probability": 10}]}],
            "opportunities": [{"key": "o", "name": "ŁÓDZKA HURTOWNIA", "company": "k", "stage": "Start"}],
            "tasks": [{"title": "ZADZWOŃ DO ŁUCJI", "assignee": "ŁUKASZ ŻAK", "due_in_days": 1}],
        })
        found = opportunity_service.list_opportunities(ws, opportunity_service.OpportunityFilters(query="łódzka"))
        assert [o.name for o in found.items] == ["ŁÓDZKA HURTOWNIA"]
        by_assignee = task_service.list_tasks(ws, task_service.TaskFilters(assignee="łukasz żak"))
        assert [t.title for t in by_assignee.items] == ["ZADZWOŃ DO ŁUCJI"]
        by_title = task_service.list_tasks(ws, task_service.TaskFilters(query="łucji"))
        assert [t.title for t in by_title.items] == ["ZADZWOŃ DO ŁUCJI"]
