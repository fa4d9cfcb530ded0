"""Companies and contacts through the browser: forms, bad input, isolation, frozen workspaces, the log, the chrome."""
import re

import pytest
from customers_helpers import company, contact, make_nip, statements
from sqlalchemy import select

import sandbox_crm
from sandbox_crm.api import create_workspace, freeze_workspace
from sandbox_crm.models import Company, Contact, Tag


@pytest.fixture
def client(login_as, workspace):
    return login_as("user:1")


def url(ws, path=""):
    return f"/sandbox/w/{ws.id}/{path}"


def make_rows(sandbox_app, ws):
    """A company with a contact, a tag and a segment in ``ws``; committed."""
    from sandbox_crm.services import segments

    with sandbox_app.test_request_context():
        firm = company(ws, name="Alfa sp. z o.o.", nip=make_nip(1), tags=["VIP"])
        person = contact(ws, company=firm, email="jan@alfa.pl", marketing_consent=True, consent_method="form")
        segment = segments.create_segment(ws, name="Duzi", rules={"sizes": ["large"]})
        tag = firm.tags[0]
        ids = {"company": firm.id, "contact": person.id, "tag": tag.id, "segment": segment.id}
        sandbox_crm.session().commit()
    return ids


def test_workspace_chrome_has_menu_csrf_meta_and_stylesheet(client, workspace):
    page = client.get(url(workspace)).get_data(as_text=True)
    assert '<meta name="csrf-token"' in page
    assert "/sandbox/static/sandbox.css" in page
    for label in ("Dashboard", "Companies", "Contacts", "Import", "Segments", "Action log"):
        assert f">{label}</a>" in page
    with client.get("/sandbox/static/sandbox.css") as stylesheet:  # a file response: close it
        assert stylesheet.status_code == 200
    companies = client.get(url(workspace, "companies/new")).get_data(as_text=True)
    assert re.search(r'class="active" aria-current="page">Companies<', companies)


def test_dashboard_counts_customers(client, workspace, sandbox_app):
    make_rows(sandbox_app, workspace)
    page = client.get(url(workspace)).get_data(as_text=True)
    assert re.search(r'stat--companies".*?stat-value">1<', page, re.S)
    assert re.search(r'stat--contacts".*?stat-value">1<', page, re.S)
    assert "Recent actions" in page


def test_create_company_through_the_form_and_see_it_logged(client, workspace):
    response = client.post(url(workspace, "companies/new"), data={
        "name": "Nowa Firma S.A.", "nip": "526-000-12-46", "email": "biuro@nowa.pl", "size": "small",
        "region": "mazowieckie", "potential_value": "12 000", "tags": "nowy, targi"})
    assert response.status_code == 302
    row = sandbox_crm.session().scalar(select(Company).where(Company.workspace_id == workspace.id))
    assert (row.nip, row.size, [t.name for t in row.tags]) == ("5260001246", "small", ["nowy", "targi"])
    assert response.headers["Location"].endswith(f"/companies/{row.id}")
    [logged] = statements(workspace, "create", "company")
    assert logged.object_name == "Nowa Firma S.A."
    log_page = client.get(url(workspace, "log")).get_data(as_text=True)
    assert "Nowa Firma S.A." in log_page and "5260001246" in log_page


def test_bad_company_input_is_shown_next_to_the_field_and_kept(client, workspace):
    response = client.post(url(workspace, "companies/new"), data={
        "name": "Firma", "nip": "123-456-78-90", "email": "nie-mail", "potential_value": "dużo"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "NIP checksum is wrong" in page and "valid e-mail" in page and "Enter an amount" in page
    assert 'value="123-456-78-90"' in page and 'value="nie-mail"' in page
    assert sandbox_crm.session().scalar(select(Company)) is None


def test_missing_name_is_an_error_not_a_500(client, workspace):
    page = client.post(url(workspace, "companies/new"), data={"name": ""}).get_data(as_text=True)
    assert "Enter the company name." in page


def test_duplicate_company_needs_confirmation_and_links_the_other_record(client, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    data = {"name": "ALFA Spółka z ograniczoną odpowiedzialnością"}
    page = client.post(url(workspace, "companies/new"), data=data).get_data(as_text=True)
    assert "Possible duplicate" in page and f"/companies/{ids['company']}" in page
    assert len(statements(workspace, "create", "company")) == 1
    response = client.post(url(workspace, "companies/new"), data=data | {"allow_duplicate": "y"})
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "possible duplicate" in detail and f"/companies/{ids['company']}" in detail
    listing = client.get(url(workspace, "companies?duplicates=1")).get_data(as_text=True)
    assert listing.count("duplicate?") == 2


def test_company_detail_shows_history_contacts_tags_and_missing_data(client, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    page = client.get(url(workspace, f"companies/{ids['company']}")).get_data(as_text=True)
    assert "Jan Kowalski" in page and "VIP" in page
    assert "missing: Address" in page and "Company account created" in page


def test_edit_company_records_diff_and_history(client, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    edit = client.get(url(workspace, f"companies/{ids['company']}/edit")).get_data(as_text=True)
    assert 'value="Alfa sp. z o.o."' in edit and 'value="VIP"' in edit
    response = client.post(url(workspace, f"companies/{ids['company']}/edit"), data={
        "name": "Alfa sp. z o.o.", "nip": make_nip(1), "city": "Poznań", "region": "wielkopolskie", "tags": "VIP"})
    assert response.status_code == 302
    [logged] = statements(workspace, "update", "company")
    assert logged.result["diff"] == {"city": [None, "Poznań"], "region": [None, "wielkopolskie"]}
    page = client.get(url(workspace, f"companies/{ids['company']}")).get_data(as_text=True)
    assert "Changed:" in page


def test_tags_notes_and_delete_through_the_web(client, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    base = f"companies/{ids['company']}"
    assert client.post(url(workspace, base + "/tags"), data={"name": "Nowy tag"}).status_code == 302
    assert client.post(url(workspace, base + f"/tags/{ids['tag']}/remove")).status_code == 302
    assert client.post(url(workspace, base + "/notes"), data={"kind": "call", "text": "Dzwoniłem"}).status_code == 302
    page = client.get(url(workspace, base)).get_data(as_text=True)
    assert "Nowy tag" in page and "Dzwoniłem" in page and ">VIP<" not in page
    assert client.post(url(workspace, base + "/delete")).status_code == 302
    assert client.get(url(workspace, base)).status_code == 404
    verbs = [(s.verb, s.object_type) for s in statements(workspace)]
    assert ("update", "company") in verbs and ("create", "customer_event") in verbs and ("delete", "company") in verbs


def test_create_contact_with_company_by_name_and_rodo_fields(client, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    response = client.post(url(workspace, "contacts/new"), data={
        "first_name": "Anna", "last_name": "Nowak", "company": "alfa sp. z o.o.", "email": "anna@alfa.pl",
        "phone": "+48 601 200 300", "source": "targi", "legal_basis": "legitimate_interest",
        "marketing_consent": "y", "consent_at": "2025-03-01", "consent_method": "formularz na targach"})
    assert response.status_code == 302, response.get_data(as_text=True)
    anna = sandbox_crm.session().scalar(select(Contact).where(Contact.last_name == "Nowak"))
    assert anna.company_id == ids["company"] and anna.consent_at.date().isoformat() == "2025-03-01"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Legitimate interest" in page and "formularz na targach" in page


def test_contact_form_errors(client, workspace):
    page = client.post(url(workspace, "contacts/new"), data={
        "first_name": "", "last_name": "X", "company": "Nie ma takiej", "pesel": "12345678901",
        "marketing_consent": "y", "consent_method": ""}).get_data(as_text=True)
    assert "Enter the first name." in page
    assert "No such company" not in page or "PESEL" in page
    page = client.post(url(workspace, "contacts/new"), data={
        "first_name": "Jan", "last_name": "X", "company": "Nie ma takiej", "pesel": "12345678901",
        "marketing_consent": "y", "consent_method": "", "consent_at": ""}).get_data(as_text=True)
    assert "No such company" in page and "PESEL checksum is wrong" in page
    assert "Record how the consent was obtained" in page and "Record when the consent was given" in page
    assert sandbox_crm.session().scalar(select(Contact)) is None


def test_contact_without_legal_basis_is_flagged_and_withdraw_consent(client, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    page = client.get(url(workspace, f"contacts/{ids['contact']}")).get_data(as_text=True)
    assert "no legal basis" in page and "Withdraw consent" in page
    listing = client.get(url(workspace, "contacts?legal_basis=none")).get_data(as_text=True)
    assert "Jan Kowalski" in listing
    assert client.post(url(workspace, f"contacts/{ids['contact']}/withdraw-consent")).status_code == 302
    page = client.get(url(workspace, f"contacts/{ids['contact']}")).get_data(as_text=True)
    assert "withdrawn" in page and "Withdraw consent" not in page
    assert any(s.result.get("action") == "withdraw_consent" for s in statements(workspace, "update", "contact"))


def test_edit_contact_keeps_consent_time_and_logs_diff(client, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    person = sandbox_crm.session().get(Contact, ids["contact"])
    consent_at = person.consent_at
    form = client.get(url(workspace, f"contacts/{ids['contact']}/edit")).get_data(as_text=True)
    assert 'value="Alfa sp. z o.o."' in form
    response = client.post(url(workspace, f"contacts/{ids['contact']}/edit"), data={
        "first_name": "Jan", "last_name": "Kowalski", "company": "Alfa sp. z o.o.", "email": "jan@alfa.pl",
        "legal_basis": "contract", "marketing_consent": "y", "consent_at": consent_at.date().isoformat(),
        "consent_method": "form", "source": "polecenie"})
    assert response.status_code == 302
    [logged] = statements(workspace, "update", "contact")
    assert logged.result["diff"] == {"legal_basis": [None, "contract"], "source": [None, "polecenie"]}


def test_lists_filter_paginate_and_handle_bad_query_values(client, workspace, sandbox_app):
    with sandbox_app.test_request_context():
        for i in range(30):
            company(workspace, name=f"Firma {i:02d}", industry="IT" if i % 2 else "Handel")
        sandbox_crm.session().commit()
    page1 = client.get(url(workspace, "companies?industry=IT")).get_data(as_text=True)
    assert "15 companies" in page1
    assert "Firma 01" in page1
    page = client.get(url(workspace, "companies?page=2")).get_data(as_text=True)
    assert "Firma 25" in page and "Firma 00" not in page
    # Pages, choices and text fall back; an id that is not one (a damaged link) is a clear 400.
    for query in ("page=abc", "page=-3", "page=999", "page=99999999999999999999", "segment=999", "incomplete=nope",
                  "sort=evil", "q=%25%27%22<b>"):
        assert client.get(url(workspace, "companies?" + query)).status_code == 200, query
        assert client.get(url(workspace, "contacts?" + query)).status_code == 200, query
    for path, query in [(path, query) for query in ("tag=x", "tag=99999999999999999999", "segment=%C2%B2", "segment=-1")
                        for path in ("companies?", "contacts?")] + [("contacts?", "company=%D9%A1%D9%A2")]:
        response = client.get(url(workspace, path + query))
        assert response.status_code == 400, (path, query)
        assert "This link or form is damaged: " in response.get_data(as_text=True)


def test_html_in_data_is_escaped(client, workspace):
    client.post(url(workspace, "companies/new"), data={"name": "<script>alert(1)</script>", "notes": "<b>x</b>"})
    row = sandbox_crm.session().scalar(select(Company))
    page = client.get(url(workspace, f"companies/{row.id}")).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page


def test_company_lookup_returns_only_this_workspaces_companies(client, workspace, sandbox_app):
    make_rows(sandbox_app, workspace)
    other = create_workspace("B", "user:1")
    with sandbox_app.test_request_context():
        company(other, name="Alfa w innym")
    sandbox_crm.session().commit()
    rows = client.get(url(workspace, "companies/lookup.json?q=alf")).get_json()
    assert [r["name"] for r in rows] == ["Alfa sp. z o.o."]


# --- isolation and frozen workspaces ------------------------------------------------------------

GET_URLS = ["companies/{company}", "companies/{company}/edit", "contacts/{contact}", "contacts/{contact}/edit",
            "contacts/new?company_id={company}", "segments/{segment}", "segments/{segment}/edit"]
POST_URLS = [
    ("companies/{company}/edit", {"name": "Hacked"}),
    ("companies/{company}/delete", {}),
    ("companies/{company}/tags", {"name": "x"}),
    ("companies/{company}/tags/{tag}/remove", {}),
    ("companies/{company}/notes", {"kind": "note", "text": "x"}),
    ("contacts/{contact}/edit", {"first_name": "H", "last_name": "H"}),
    ("contacts/{contact}/delete", {}),
    ("contacts/{contact}/tags", {"name": "x"}),
    ("contacts/{contact}/tags/{tag}/remove", {}),
    ("contacts/{contact}/notes", {"kind": "note", "text": "x"}),
    ("contacts/{contact}/withdraw-consent", {}),
    ("segments/{segment}/edit", {"name": "x", "target": "company"}),
    ("segments/{segment}/delete", {}),
]


def test_rows_of_workspace_a_are_404_through_workspace_b(login_as, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    other = create_workspace("B", "user:1")
    sandbox_crm.session().commit()
    client = login_as("user:1")
    for path in GET_URLS:
        assert client.get(url(other, path.format(**ids))).status_code == 404, path
    for path, data in POST_URLS:
        assert client.post(url(other, path.format(**ids)), data=data).status_code == 404, path
    contact_page = client.get(url(other, f"contacts?company={ids['company']}")).get_data(as_text=True)
    assert "Jan Kowalski" not in contact_page
    assert sandbox_crm.session().get(Company, ids["company"]).name == "Alfa sp. z o.o."
    assert statements(other) == []


def test_another_user_gets_404_on_every_url(login_as, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    intruder = login_as("user:2")
    for path in [*GET_URLS, "", "companies", "contacts", "import", "segments", "log", "log/xapi.json", "companies/lookup.json"]:
        assert intruder.get(url(workspace, path.format(**ids))).status_code == 404, path
    for path, data in [*POST_URLS, ("companies/new", {"name": "x"}), ("contacts/new", {"first_name": "x"})]:
        assert intruder.post(url(workspace, path.format(**ids)), data=data).status_code == 404, path


def test_frozen_workspace_refuses_writes_and_hides_write_buttons(login_as, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    with sandbox_app.test_request_context():
        freeze_workspace(workspace.id)
        sandbox_crm.session().commit()
    before = len(statements(workspace))
    client = login_as("user:1")
    extra = [("companies/new", {"name": "x"}), ("contacts/new", {"first_name": "x"}), ("segments/new", {"name": "x"}),
             ("import/paste", {"text": "Jan Nowak, Firma X"})]
    for path, data in [*POST_URLS, *extra]:
        assert client.post(url(workspace, path.format(**ids)), data=data).status_code == 403, path
    page = client.get(url(workspace, f"companies/{ids['company']}")).get_data(as_text=True)
    assert "Frozen — read-only." in page
    assert "/edit" not in page and "/delete" not in page and "Add tag" not in page and "Add to history" not in page
    contact_page = client.get(url(workspace, f"contacts/{ids['contact']}")).get_data(as_text=True)
    assert "Withdraw consent" not in contact_page
    assert client.get(url(workspace, "companies?industry=IT")).status_code == 200
    assert len(statements(workspace)) == before  # viewing a frozen workspace leaves no trace
    assert sandbox_crm.session().scalar(select(Tag).where(Tag.name == "x")) is None


def test_translated_messages_escape_their_variables(client, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    client.post(url(workspace, f"companies/{ids['company']}/tags"), data={"name": "<i>x</i>"})
    page = client.get(url(workspace, f"companies/{ids['company']}")).get_data(as_text=True)
    assert "<i>x</i>" not in page and "&lt;i&gt;x&lt;/i&gt;" in page


def test_delete_of_a_used_company_shows_why(client, workspace, sandbox_app):
    from sales_factories import make_opportunity, make_pipeline

    ids = make_rows(sandbox_app, workspace)
    with sandbox_app.test_request_context():
        make_opportunity(workspace, sandbox_crm.session().get(Company, ids["company"]), make_pipeline(workspace))
        sandbox_crm.session().commit()
    response = client.post(url(workspace, f"companies/{ids['company']}/delete"), follow_redirects=True)
    assert response.status_code == 200 and "used by other records" in response.get_data(as_text=True)


def test_delete_contact_through_the_web_is_logged(client, workspace, sandbox_app):
    ids = make_rows(sandbox_app, workspace)
    assert client.post(url(workspace, f"contacts/{ids['contact']}/delete")).status_code == 302
    assert client.get(url(workspace, f"contacts/{ids['contact']}")).status_code == 404
    [deleted] = statements(workspace, "delete", "contact")
    assert deleted.object_id == str(ids["contact"]) and deleted.result["diff"]["email"] == ["jan@alfa.pl", None]
