"""Services of the customers area: accounts, contacts, verification, completeness, tags, RODO, history, seeds."""
from decimal import Decimal

import pytest
from customers_helpers import company, contact, make_nip, make_pesel, make_regon, statements
from sqlalchemy import select

import sandbox_crm
from sandbox_crm.api import SeedError, create_workspace
from sandbox_crm.models import Company, Contact, CustomerEvent, ImportSource
from sandbox_crm.services import customers as service


@pytest.fixture
def ctx(sandbox_app):
    with sandbox_app.test_request_context():
        yield


@pytest.fixture
def ws(ctx, workspace):
    return workspace


def test_create_company_normalises_verified_fields_and_records_a_diff(ws):
    row = company(ws, name=" Firma X sp. z o.o. ", nip="526-000-12-46", email="Biuro@X.PL", phone="600 100 200",
                  potential_value="25 000,50", tags=["VIP", "targi 2025"])
    assert (row.name, row.nip, row.email, row.phone) == ("Firma X sp. z o.o.", "5260001246", "biuro@x.pl",
                                                         "+48 600 100 200")
    assert row.potential_value == Decimal("25000.50")
    assert row.name_normalized == "firma x"
    assert [t.name for t in row.tags] == ["VIP", "targi 2025"]
    [created] = statements(ws, "create", "company")
    assert created.object_id == str(row.id)
    assert created.result["diff"]["nip"] == [None, "5260001246"]
    assert created.result["diff"]["tags"] == [None, ["VIP", "targi 2025"]]
    [event] = service.company_history(ws, row)
    assert event.kind == "created"


@pytest.mark.parametrize("field,value", [("nip", "1234567890"), ("regon", "123"), ("email", "x@"),
                                         ("phone", "12"), ("size", "huge"), ("potential_value", "abc"),
                                         ("potential_value", "-5"), ("name", "  ")])
def test_create_company_refuses_bad_values_with_the_field_named(ws, field, value):
    with pytest.raises(service.CustomerError) as error:
        company(ws, **{"name": "Firma", field: value})
    assert field in error.value.errors
    assert statements(ws, "create") == []


def test_update_company_records_only_what_changed(ws):
    row = company(ws, name="Firma X", city="Kraków")
    changes = service.update_company(ws, row, {"city": "Warszawa", "name": "Firma X", "regon": make_regon(3)})
    assert set(changes) == {"city", "regon"}
    [updated] = statements(ws, "update", "company")
    assert updated.result["diff"]["city"] == ["Kraków", "Warszawa"]
    assert service.update_company(ws, row, {"city": "Warszawa"}) == {}
    assert len(statements(ws, "update", "company")) == 1
    kinds = [e.kind for e in service.company_history(ws, row)]
    assert kinds == ["updated", "created"]


def test_delete_company_keeps_its_contacts_and_records_the_removed_data(ws):
    row = company(ws, name="Do usunięcia", tags=["x"])
    person = contact(ws, company=row)
    row_id = row.id
    service.delete_company(ws, row)
    db = sandbox_crm.session()
    assert db.get(Company, row_id) is None
    assert db.get(Contact, person.id).company_id is None
    assert db.scalars(select(CustomerEvent).where(CustomerEvent.company_id == row_id)).all() == []
    [deleted] = statements(ws, "delete", "company")
    assert deleted.result["diff"]["name"] == ["Do usunięcia", None]


def test_company_duplicates_by_nip_email_and_normalised_name(ws):
    nip = make_nip(1)
    first = company(ws, name="Alfa sp. z o.o.", nip=nip, email="a@alfa.pl")
    assert [d.reason for d in service.find_company_duplicates(ws, nip=nip)] == ["nip"]
    assert [d.reason for d in service.find_company_duplicates(ws, email="A@alfa.pl")] == ["email"]
    assert [d.record for d in service.find_company_duplicates(ws, name="ALFA S.A.")] == [first]
    assert service.find_company_duplicates(ws, name="Alfa", exclude_id=first.id) == []
    company(ws, name="ALFA spółka z ograniczoną odpowiedzialnością")
    page = service.list_companies(ws, service.CompanyFilters(duplicates=True))
    assert page.total == 2
    company(ws, name="Beta")
    assert service.list_companies(ws, service.CompanyFilters(duplicates=True)).total == 2


def test_duplicates_of_another_workspace_are_not_found(ws):
    other = create_workspace("Other", "user:2")
    company(other, name="Alfa", nip=make_nip(1))
    assert service.find_company_duplicates(ws, name="Alfa", nip=make_nip(1)) == []


def test_completeness_names_the_missing_fields_per_sales_goal(ws):
    row = company(ws, name="Gamma", nip=make_nip(2), city="Gdańsk", address="ul. Długa 1")
    missing = {r.key for r in service.missing_for(row, "offer")}
    assert missing == {"email", "contact_email"}
    contact(ws, company=row, email="jan@gamma.pl", legal_basis="contract")
    sandbox_crm.session().refresh(row)
    service.update_company(ws, row, {"email": "biuro@gamma.pl"})
    assert service.missing_for(row, "offer") == []
    incomplete = service.list_companies(ws, service.CompanyFilters(incomplete="offer"))
    assert row not in incomplete.items
    other = company(ws, name="Delta")
    assert [c.id for c in service.list_companies(ws, service.CompanyFilters(incomplete="offer")).items] == [other.id]


def test_sql_and_python_completeness_agree_for_every_goal(ws):
    rows = [company(ws, name="A"), company(ws, name="B", industry="IT", size="small", region="mazowieckie",
                                           potential_value="100", phone="600100200")]
    contact(ws, company=rows[1], email="b@b.pl", marketing_consent=True, consent_method="form",
            legal_basis="consent")
    sandbox_crm.session().expire_all()
    for key in service.PROFILES:
        sql = {c.id for c in service.list_companies(ws, service.CompanyFilters(incomplete=key)).items}
        python = {c.id for c in rows if service.missing_for(c, key)}
        assert sql == python, key


def test_contact_with_rodo_fields_and_flags(ws):
    person = contact(ws, first_name="Anna", last_name="Nowak", email="anna@x.pl", pesel=make_pesel(1990, 3, 4),
                     source="targi", legal_basis="consent", marketing_consent=True, consent_method="formularz")
    assert person.consent_at is not None
    assert service.contact_flags(person) == []
    bare = contact(ws, first_name="Piotr", last_name="Zieliński")
    flags = [str(f) for f in service.contact_flags(bare)]
    assert "No legal basis of processing" in flags and "Data source not recorded" in flags
    page = service.list_contacts(ws, service.ContactFilters(legal_basis="none"))
    assert [c.id for c in page.items] == [bare.id]


def test_contact_consent_needs_date_and_method_when_the_form_gives_them_empty(ws):
    with pytest.raises(service.CustomerError) as error:
        contact(ws, marketing_consent=True, consent_at=None, consent_method="")
    assert set(error.value.errors) == {"consent_at", "consent_method"}


def test_contact_of_another_workspaces_company_is_refused(ws):
    other = create_workspace("Other", "user:2")
    foreign = company(other, name="Obca")
    with pytest.raises(service.CustomerError):
        contact(ws, company_id=foreign.id)


def test_withdraw_consent_is_logged_and_in_history(ws):
    person = contact(ws, marketing_consent=True, consent_method="formularz www", legal_basis="consent")
    changes = service.withdraw_consent(ws, person)
    assert changes["marketing_consent"] == [True, False]
    assert person.consent_withdrawn_at is not None
    [logged] = [s for s in statements(ws, "update", "contact") if s.result.get("action") == "withdraw_consent"]
    assert logged.object_id == str(person.id)
    assert next(e.kind for e in service.contact_history(ws, person)) == "consent_withdrawn"
    assert service.withdraw_consent(ws, person) == {}


def test_contact_duplicates(ws):
    firm = company(ws, name="Firma")
    first = contact(ws, company=firm, email="jan@firma.pl", pesel=make_pesel(1980, 1, 1))
    assert [d.reason for d in service.find_contact_duplicates(ws, email="JAN@firma.pl")] == ["email"]
    assert [d.reason for d in service.find_contact_duplicates(ws, pesel=make_pesel(1980, 1, 1))] == ["pesel"]
    assert [d.record for d in service.find_contact_duplicates(ws, first_name="jan", last_name="KOWALSKI",
                                                               company_id=firm.id)] == [first]
    assert service.find_contact_duplicates(ws, first_name="Jan", last_name="Kowalski", company_id=None) == []


def test_tags_add_and_remove_are_recorded(ws):
    row = company(ws, name="Tagowana")
    tag = service.add_tag(ws, row, "  Kluczowy   klient ")
    assert tag.name == "Kluczowy klient"
    with pytest.raises(service.CustomerError) as refused:  # the same tag, in other capitals
        service.add_tag(ws, row, "kluczowy KLIENT")
    assert str(refused.value.errors["tag"]) == "Tagowana already has this tag (Kluczowy klient)."
    service.remove_tag(ws, row, tag.id)
    updates = statements(ws, "update", "company")
    assert [s.result["diff"]["tags"] for s in updates] == [[[], ["Kluczowy klient"]], [["Kluczowy klient"], []]]
    assert service.list_tags(ws) == [(tag, 0, 0)]


def test_add_event_is_filed_under_the_contacts_company(ws):
    firm = company(ws, name="Firma")
    person = contact(ws, company=firm)
    event = service.add_event(ws, kind="offer_sent", summary="Oferta 12/2025", contact=person,
                              object_type="offer", object_id=12)
    assert (event.company_id, event.contact_id, event.object_id) == (firm.id, person.id, "12")
    assert service.company_history(ws, firm)[0].kind == "offer_sent"


def test_add_event_refuses_a_customer_of_another_workspace(ws):
    other = create_workspace("Other", "user:2")
    with pytest.raises(ValueError):
        service.add_event(ws, kind="note", summary="x", company=company(other, name="Obca"))


def test_add_note_validates_and_records(ws):
    firm = company(ws, name="Firma")
    with pytest.raises(service.CustomerError):
        service.add_note(ws, firm, "call", "  ")
    with pytest.raises(service.CustomerError):
        service.add_note(ws, firm, "telepathy", "hello")
    service.add_note(ws, firm, "call", "Rozmowa o ofercie")
    assert statements(ws, "create", "customer_event")[0].result["kind"] == "call"


def test_search_by_folded_name_nip_and_city(ws):
    alpha = company(ws, name="Łódzka Hurtownia", nip=make_nip(5), city="Łódź")
    company(ws, name="Beta", city="Kraków")
    for q in ("lodzka", "ŁÓDZKA", make_nip(5)[:6], "łódź"):
        assert [c.id for c in service.list_companies(ws, service.CompanyFilters(q=q)).items] == [alpha.id], q
    assert service.list_companies(ws, service.CompanyFilters(q="%")).total == 0


def test_filtering_is_recorded_once_per_new_filter(ws):
    service.list_companies(ws, service.CompanyFilters())
    assert statements(ws, "filter") == []
    service.list_companies(ws, service.CompanyFilters(industry="IT"))
    service.list_companies(ws, service.CompanyFilters(industry="IT"), page=2)
    [logged] = statements(ws, "filter", "company")
    assert logged.result == {"filters": {"industry": "IT"}, "count": 0}


def test_seeders_load_companies_contacts_and_lead_sources(ctx):
    seed = {
        "companies": [{"key": "alfa", "name": "Alfa sp. z o.o.", "nip": make_nip(9), "industry": "IT",
                       "tags": ["stały klient"], "potential_value": 50000}],
        "contacts": [{"key": "jan", "company": "alfa", "first_name": "Jan", "last_name": "Nowak",
                      "email": "jan@alfa.pl", "legal_basis": "contract", "marketing_consent": True}],
        "leads_csv": ["Firma;NIP;E-mail", "Beta;5260001246;b@beta.pl"],
        "leads_pasted": [{"name": "wizytówki", "content": "Ewa Lis, Dyrektor, Gamma S.A., ewa@gamma.pl"}],
    }
    ws = create_workspace("Seeded", "user:1", seed)
    db = sandbox_crm.session()
    [alfa] = db.scalars(select(Company).where(Company.workspace_id == ws.id)).all()
    [jan] = db.scalars(select(Contact).where(Contact.workspace_id == ws.id)).all()
    assert jan.company_id == alfa.id and jan.consent_method and jan.consent_at
    assert [t.name for t in alfa.tags] == ["stały klient"]
    sources = db.scalars(select(ImportSource).where(ImportSource.workspace_id == ws.id)
                         .order_by(ImportSource.id)).all()
    assert [(s.kind, s.origin) for s in sources] == [("csv", "seed"), ("pasted", "seed")]
    assert sources[0].content == "Firma;NIP;E-mail\nBeta;5260001246;b@beta.pl"
    assert statements(ws) == []  # the seed is the starting state, not the candidate's work


@pytest.mark.parametrize("seed", [
    {"companies": [{"key": "a", "name": "A", "nip": "1234567890"}]},
    {"contacts": [{"key": "j", "company": "nope", "first_name": "J", "last_name": "K"}]},
    {"leads_csv": [{"name": "x"}]},
])
def test_bad_seed_rows_raise_seed_error(ctx, seed):
    with pytest.raises(SeedError):
        create_workspace("Bad", "user:1", seed)


def test_delete_is_refused_while_other_areas_use_the_customer(ws):
    from sales_factories import make_opportunity, make_pipeline

    firm = company(ws, name="Klient z szansą")
    make_opportunity(ws, firm, make_pipeline(ws))
    with pytest.raises(service.CustomerError) as error:
        service.delete_company(ws, firm)
    assert "crm_opportunity" in str(error.value.errors["company"])
    assert statements(ws, "delete") == []
    assert sandbox_crm.session().get(Company, firm.id) is not None
