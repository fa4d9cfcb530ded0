"""Segments by rules and tags: live members, saving with a diff, web pages, isolation."""
from decimal import Decimal

import pytest
from customers_helpers import company, contact, statements
from sqlalchemy import select

import sandbox_crm
from sandbox_crm.api import create_workspace
from sandbox_crm.models import Segment
from sandbox_crm.services import segments as service


@pytest.fixture
def ctx(sandbox_app):
    with sandbox_app.test_request_context():
        yield


@pytest.fixture
def customers(ctx, workspace):
    big_it = company(workspace, name="Big IT", industry="IT", size="large", region="mazowieckie",
                     potential_value="500000", tags=["VIP", "IT-2025"])
    small_it = company(workspace, name="Small IT", industry="IT", size="small", region="śląskie",
                       potential_value="20000", tags=["IT-2025"])
    shop = company(workspace, name="Shop", industry="Handel", size="micro", region="mazowieckie")
    consenting = contact(workspace, company=big_it, first_name="Ola", email="ola@big.pl", marketing_consent=True,
                         consent_method="form", tags=["newsletter"])
    refusing = contact(workspace, company=shop, first_name="Jan", last_name="Sklep")
    return {"big_it": big_it, "small_it": small_it, "shop": shop, "ola": consenting, "jan": refusing}


def members(workspace, segment):
    return {row.name if hasattr(row, "name") else row.full_name
            for row in sandbox_crm.session().scalars(service.members_query(workspace, segment))}


@pytest.mark.parametrize("rules,expected", [
    ({}, {"Big IT", "Small IT", "Shop"}),
    ({"industries": ["IT"]}, {"Big IT", "Small IT"}),
    ({"industries": ["IT"], "sizes": ["large"]}, {"Big IT"}),
    ({"regions": ["mazowieckie"]}, {"Big IT", "Shop"}),
    ({"min_value": "10000", "max_value": "100000"}, {"Small IT"}),
    ({"min_value": "100000"}, {"Big IT"}),
    ({"tags": ["IT-2025"]}, {"Big IT", "Small IT"}),
    ({"tags": ["IT-2025", "VIP"], "tag_mode": "all"}, {"Big IT"}),
    ({"tags": ["VIP", "nothing"], "tag_mode": "any"}, {"Big IT"}),
    ({"marketing_consent": True}, {"Big IT"}),
    ({"marketing_consent": False}, {"Small IT", "Shop"}),
])
def test_company_segments_by_rules(customers, workspace, rules, expected):
    segment = service.create_segment(workspace, name="S", rules=rules)
    assert members(workspace, segment) == expected


def test_contact_segments_apply_company_rules_to_the_company_and_tags_to_the_person(customers, workspace):
    by_company = service.create_segment(workspace, name="A", target="contact", rules={"regions": ["mazowieckie"]})
    assert members(workspace, by_company) == {"Ola Kowalski", "Jan Sklep"}
    by_tag = service.create_segment(workspace, name="B", target="contact", rules={"tags": ["newsletter"]})
    assert members(workspace, by_tag) == {"Ola Kowalski"}
    by_consent = service.create_segment(workspace, name="C", target="contact", rules={"marketing_consent": False})
    assert members(workspace, by_consent) == {"Jan Sklep"}


def test_members_are_live(customers, workspace):
    segment = service.create_segment(workspace, name="IT", rules={"industries": ["IT"]})
    assert service.members_page(workspace, segment).total == 2
    from sandbox_crm.services.customers import update_company

    update_company(workspace, customers["shop"], {"industry": "IT"})
    page = service.members_page(workspace, segment)
    assert page.total == 3 and page.extra["potential_total"] == Decimal("520000.00")


def test_segment_create_update_delete_are_recorded(customers, workspace):
    segment = service.create_segment(workspace, name="Duże firmy IT", rules={"industries": ["IT"], "sizes": []},
                                     sales_goal="Sprzedaż usługi wdrożeniowej", product="Wdrożenie CRM")
    assert segment.rules == {"industries": ["IT"]}
    changes = service.update_segment(workspace, segment, name="Duże firmy IT", target="company",
                                     rules={"industries": ["IT"], "sizes": ["large"]},
                                     sales_goal="Sprzedaż usługi wdrożeniowej", product="Wdrożenie CRM")
    assert list(changes) == ["rules"]
    service.delete_segment(workspace, segment)
    assert [s.verb for s in statements(workspace, object_type="segment")] == ["create", "update", "delete"]
    assert statements(workspace, "create", "segment")[0].result["diff"]["product"] == [None, "Wdrożenie CRM"]


@pytest.mark.parametrize("kwargs,field", [
    ({"name": " "}, "name"),
    ({"name": "X", "rules": {"min_value": "abc"}}, "min_value"),
    ({"name": "X", "rules": {"min_value": "10", "max_value": "5"}}, "min_value"),
    ({"name": "X", "target": "planet"}, "target"),
])
def test_bad_segments_are_refused_with_the_field(ctx, workspace, kwargs, field):
    kwargs.setdefault("rules", {})
    with pytest.raises(service.SegmentError) as error:
        service.create_segment(workspace, **kwargs)
    assert error.value.field == field


def test_segment_names_are_unique_per_workspace(ctx, workspace):
    service.create_segment(workspace, name="VIP", rules={})
    with pytest.raises(service.SegmentError):
        service.create_segment(workspace, name="vip", rules={})
    other = create_workspace("B", "user:2")
    service.create_segment(other, name="VIP", rules={})


def test_segment_pages(login_as, workspace, customers):
    sandbox_crm.session().commit()
    client = login_as("user:1")
    base = f"/sandbox/w/{workspace.id}/segments"
    form = client.get(base + "/new").get_data(as_text=True)
    assert "Handel" in form and "IT-2025" in form and "mazowieckie" in form
    response = client.post(base + "/new", data={
        "name": "IT z potencjałem", "target": "company", "industries": ["IT"], "min_value": "10 000",
        "tags": ["IT-2025"], "tag_mode": "any", "marketing_consent": "", "sales_goal": "Nowa usługa",
        "product": "Audyt"})
    assert response.status_code == 302, response.get_data(as_text=True)
    segment = sandbox_crm.session().scalar(select(Segment))
    assert segment.rules == {"industries": ["IT"], "min_value": "10000.00", "tags": ["IT-2025"], "tag_mode": "any"}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Big IT" in page and "Small IT" in page and "Shop" not in page and "Nowa usługa" in page
    listing = client.get(f"/sandbox/w/{workspace.id}/companies?segment={segment.id}").get_data(as_text=True)
    assert "2 companies" in listing
    edit = client.get(f"{base}/{segment.id}/edit").get_data(as_text=True)
    assert 'value="IT-2025" selected' in edit or 'selected value="IT-2025"' in edit
    bad = client.post(f"{base}/{segment.id}/edit", data={"name": "IT", "target": "company", "min_value": "dużo"})
    assert bad.status_code == 200 and "Enter a number." in bad.get_data(as_text=True)
    assert client.post(f"{base}/{segment.id}/delete").status_code == 302
    assert client.get(f"{base}/{segment.id}").status_code == 404
    overview = client.get(base).get_data(as_text=True)
    assert "IT-2025" in overview  # the tags table


def test_duplicate_segment_name_shows_on_the_field(login_as, workspace, ctx):
    service.create_segment(workspace, name="VIP", rules={})
    sandbox_crm.session().commit()
    page = login_as("user:1").post(f"/sandbox/w/{workspace.id}/segments/new",
                                   data={"name": "VIP", "target": "company"}).get_data(as_text=True)
    assert "A segment with this name already exists." in page
