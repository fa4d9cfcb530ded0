"""Importing leads: CSV upload (type, size, encoding, delimiter), pasted lists, preview, chosen rows, hostile input."""
import io

import pytest
from customers_helpers import company, make_nip, statements
from sqlalchemy import select

import sandbox_crm
from sandbox_crm.api import create_workspace
from sandbox_crm.models import Company, Contact, ImportSource
from sandbox_crm.services import imports as service

NIP_A, NIP_B, NIP_C = make_nip(11), make_nip(12), make_nip(13)

LEADS = (
    "Firma;NIP;Imię i nazwisko;Stanowisko;E-mail;Telefon;Branża;Zgoda marketingowa\n"
    f"Alfa sp. z o.o.;{NIP_A};Jan Kowalski;Kierownik zakupów;jan@alfa.pl;600 100 200;IT;tak\n"
    "Beta S.A.;1234567890;Anna Nowak;Dyrektor;anna@beta.pl;601 200 300;Handel;nie\n"
    f"Gamma sp.j.;{NIP_B};Ewa Lis;Prezes;ewa@@gamma;602 300 400;IT;nie\n"
    f"Alfa sp. z o.o.;{NIP_A};Piotr Zieliński;Księgowy;piotr@alfa.pl;603 400 500;IT;nie\n"
    f"Delta;{NIP_C};Marek Wójcik;Handlowiec;jan@alfa.pl;604 500 600;Usługi;x?\n"
)


@pytest.fixture
def ctx(sandbox_app):
    with sandbox_app.test_request_context():
        yield


@pytest.fixture
def client(login_as, workspace):
    return login_as("user:1")


def url(ws, path=""):
    return f"/sandbox/w/{ws.id}/{path}"


def upload(client, ws, data: bytes, filename="leady.csv", content_type="text/csv"):
    return client.post(url(ws, "import/upload"), data={"file": (io.BytesIO(data), filename, content_type)},
                       content_type="multipart/form-data")


def only_source(ws) -> ImportSource:
    return sandbox_crm.session().scalar(select(ImportSource).where(ImportSource.workspace_id == ws.id))


# --- services ---------------------------------------------------------------------------------

def test_preview_maps_headers_and_flags_each_bad_row(ctx, workspace):
    source = service.save_source(workspace, name="leady.csv", kind="csv", content=LEADS)
    preview = service.preview(workspace, source)
    assert preview.mapping == ["company.name", "company.nip", "contact.full_name", "contact.position",
                               "contact.email", "contact.phone", "company.industry", "contact.marketing_consent"]
    rows = {row.number: row for row in preview.rows}
    assert rows[1].importable and rows[1].contact["marketing_consent"] is True
    assert any("NIP" in e for e in rows[2].errors)
    assert any("valid e-mail" in e for e in rows[3].errors)
    assert rows[4].importable and rows[4].same_company_as == 1  # second person of the same new company
    assert any("Duplicate of row 1" in e for e in rows[5].errors) and any("yes or no" in e for e in rows[5].errors)
    assert preview.importable_count == 2


def test_import_only_chosen_valid_rows_and_record_it(ctx, workspace):
    source = service.save_source(workspace, name="leady.csv", kind="csv", content=LEADS)
    result = service.import_rows(workspace, source, {1, 2, 4})
    assert result.imported_rows == [1, 4]
    assert list(result.skipped) == [2]
    db = sandbox_crm.session()
    [alfa] = db.scalars(select(Company).where(Company.workspace_id == workspace.id)).all()
    people = db.scalars(select(Contact).order_by(Contact.last_name)).all()
    assert [(p.full_name, p.company_id) for p in people] == [("Jan Kowalski", alfa.id), ("Piotr Zieliński", alfa.id)]
    assert people[0].source == "Import: leady.csv" and people[0].consent_method
    [logged] = statements(workspace, "import", "import_source")
    assert logged.result["rows_imported"] == [1, 4] and logged.result["companies_created"] == [alfa.id]
    assert len(statements(workspace, "create", "contact")) == 2
    assert source.imported_rows == [1, 4]
    again = service.preview(workspace, source)
    assert [r.number for r in again.rows if r.imported] == [1, 4]


def test_second_person_of_a_new_company_goes_in_alone_and_the_first_then_joins_it(ctx, workspace):
    # Row 4 no longer waits for row 1 (a decision on one row never depends on another): it
    # creates the company itself, and row 1, imported later, adds its person to that company.
    source = service.save_source(workspace, name="leady.csv", kind="csv", content=LEADS)
    result = service.import_rows(workspace, source, {4})
    assert result.imported_rows == [4] and [c.name for c in result.companies] == ["Alfa sp. z o.o."]
    result = service.import_rows(workspace, source, {1})
    assert result.imported_rows == [1] and result.companies == []
    people = sandbox_crm.session().scalars(select(Contact).where(Contact.workspace_id == workspace.id)).all()
    assert {p.company.name for p in people} == {"Alfa sp. z o.o."} and len(people) == 2
    assert len(sandbox_crm.session().scalars(select(Company).where(Company.workspace_id == workspace.id)).all()) == 1


def test_existing_company_gets_the_new_person_and_a_company_only_duplicate_is_refused(ctx, workspace):
    existing = company(workspace, name="Alfa sp. z o.o.", nip=NIP_A)
    text = f"Firma;NIP;Osoba\nALFA Sp. z o.o.;;Jan Kowalski\nAlfa;{NIP_A};\n"
    source = service.save_source(workspace, name="x.csv", kind="csv", content=text)
    rows = service.preview(workspace, source).rows
    assert rows[0].importable and rows[0].existing_company.id == existing.id
    assert any("already exists" in e for e in rows[1].errors)
    service.import_rows(workspace, source, {1})
    assert sandbox_crm.session().scalar(select(Contact)).company_id == existing.id


def test_remapping_columns_changes_the_preview(ctx, workspace):
    source = service.save_source(workspace, name="x.csv", kind="csv", content="a,b\nAlfa,jan@alfa.pl\n")
    preview = service.preview(workspace, source)
    assert preview.header == ["Column 1", "Column 2"] and preview.mapping == ["", ""]
    assert not preview.rows[0].importable and len(preview.rows) == 2
    remapped = service.preview(workspace, source, ["company.name", "company.email"])
    assert remapped.rows[1].importable and remapped.rows[1].company["email"] == "jan@alfa.pl"
    assert service.preview(workspace, source, ["evil.field", ""]).mapping == ["", ""]


@pytest.mark.parametrize("text,delimiter", [("Firma,NIP\nA,1\n", ","), ("Firma;NIP\nA;1\n", ";"),
                                            ("Firma\tNIP\nA\t1\n", "\t")])
def test_delimiter_is_sniffed(text, delimiter):
    assert service.sniff_delimiter(text) == delimiter


def test_decoding_utf8_bom_and_cp1250():
    text = "Firma;Miasto\nŁąka;Łódź\n"
    assert service.decode_bytes(text.encode("utf-8-sig")) == text
    assert service.decode_bytes(text.encode("cp1250")) == text
    with pytest.raises(service.LeadImportError):
        service.decode_bytes(b"Firma\n\x81\x98\x90\n")
    with pytest.raises(service.LeadImportError):
        service.decode_bytes(b"PK\x03\x04\x00\x00binary")


def test_pasted_business_cards(ctx, workspace):
    text = ("Jan Kowalski, Kierownik zakupów, Firma X sp. z o.o., jan@x.pl, +48 600 100 200\n"
            "\n"
            "Anna Nowak; Dyrektor; Hurtownia Budmax; NIP: 123-456-78-90; anna@budmax.pl\n"
            "Zakład Stolarski Kowalczyk, 601 222 333\n")
    source = service.save_source(workspace, name="wizytówki", kind="pasted", content=text)
    rows = service.preview(workspace, source).rows
    assert len(rows) == 3
    assert rows[0].contact["first_name"] == "Jan" and rows[0].contact["position"] == "Kierownik zakupów"
    assert rows[0].company["name"] == "Firma X sp. z o.o." and rows[0].contact["phone"] == "+48 600 100 200"
    assert any("NIP" in e for e in rows[1].errors)
    assert rows[2].company["phone"] == "+48 601 222 333" and not rows[2].contact
    result = service.import_rows(workspace, source, {1, 2, 3})
    assert result.imported_rows == [1, 3]


def test_a_malformed_address_on_a_card_is_flagged_not_hidden_in_the_notes(ctx, workspace):
    text = "Ewa Lis, Kierownik, Firma Y sp. z o.o., ewa.lis@firmay, +48 600 100 201\n"
    source = service.save_source(workspace, name="wizytówki", kind="pasted", content=text)
    [row] = service.preview(workspace, source).rows
    assert row.values["contact.email"] == "ewa.lis@firmay"
    assert any(flag.kind == service.INVALID and flag.field == "contact.email" for flag in row.flags)
    assert "ewa.lis@firmay" not in (row.values.get("notes") or "")


def test_formula_cells_are_stored_defused(ctx, workspace):
    text = 'Firma;Uwagi\n=HYPERLINK("http://evil.example","kliknij");@SUM(A1)\n'
    source = service.save_source(workspace, name="x.csv", kind="csv", content=text)
    [row] = service.preview(workspace, source).rows
    assert any("formula" in w for w in row.warnings)
    service.import_rows(workspace, source, {1})
    stored = sandbox_crm.session().scalar(select(Company))
    assert stored.name.startswith("'=HYPERLINK(") and stored.notes == "'@SUM(A1)"


def test_import_rejects_an_empty_choice(ctx, workspace):
    source = service.save_source(workspace, name="x.csv", kind="csv", content=LEADS)
    with pytest.raises(service.LeadImportError):
        service.import_rows(workspace, source, set())


# --- web --------------------------------------------------------------------------------------

def test_upload_preview_and_import_through_the_web(client, workspace):
    response = upload(client, workspace, LEADS.encode("cp1250"))
    assert response.status_code == 302
    source = only_source(workspace)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Zieliński" in page and "NIP checksum is wrong" in page
    # A row that passes the checks is to be imported unless decided otherwise; a flagged one waits.
    assert 'name="decision_1" value="import" checked' in page
    assert 'name="decision_2" value="" checked' in page
    response = client.post(url(workspace, f"import/{source.id}"),
                           data={"decision_1": "import", "decision_4": "import", "decision_2": "skip"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Imported 2 row(s)" in page and "Skipped 1 row(s)" in page and "2 row(s) still wait" in page
    assert len(statements(workspace, "import")) == 1
    assert sandbox_crm.session().scalar(select(Contact).where(Contact.last_name == "Zieliński")) is not None


def test_mapping_is_sent_back_with_the_import(client, workspace):
    upload(client, workspace, b"a,b\nAlfa,jan@alfa.pl\n")
    source = only_source(workspace)
    page = client.get(url(workspace, f"import/{source.id}?map_0=company.name&map_1=company.email")).get_data(
        as_text=True)
    assert 'name="decision_2" value="import" checked' in page
    assert '<input type="hidden" name="map_1" value="company.email">' in page
    client.post(url(workspace, f"import/{source.id}"), data={"decision_2": "import", "map_0": "company.name",
                                                             "map_1": "company.email"})
    assert sandbox_crm.session().scalar(select(Company)).email == "jan@alfa.pl"


@pytest.mark.parametrize("data,filename,content_type,message", [
    (b"Firma\nA\n", "leady.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Upload a .csv"),
    (b"Firma\nA\n", "leady.csv", "image/png", "Upload a CSV file"),
    (b"Firma\n\x81\x98\x90\n", "leady.csv", "text/csv", "encoding cannot be read"),
    (b"PK\x03\x04\x00\x00", "leady.csv", "text/csv", "not a text file"),
    (b"", "leady.csv", "text/csv", "The file is empty"),
    (b"   \n\n", "leady.csv", "text/csv", "The file is empty"),
])
def test_hostile_uploads_get_a_clear_message(client, workspace, data, filename, content_type, message):
    response = upload(client, workspace, data, filename, content_type)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert only_source(workspace) is None


def test_too_big_upload_is_refused(client, workspace, sandbox_app):
    sandbox_app.config["SANDBOX_IMPORT_MAX_BYTES"] = 1000
    response = upload(client, workspace, b"Firma\n" + b"A" * 2000)
    assert response.status_code == 400 and "too big" in response.get_data(as_text=True)


def test_upload_without_a_file_is_an_error_on_the_field(client, workspace):
    response = client.post(url(workspace, "import/upload"), data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a CSV file" in response.get_data(as_text=True)


def test_formula_and_html_are_escaped_on_display(client, workspace):
    text = 'Firma;Uwagi\n=HYPERLINK("http://evil.example","<b>x</b>");<script>alert(1)</script>\n'
    upload(client, workspace, text.encode())
    source = only_source(workspace)
    page = client.get(url(workspace, f"import/{source.id}")).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "<b>x</b>" not in page
    client.post(url(workspace, f"import/{source.id}"), data={"decision_1": "import"})
    row = sandbox_crm.session().scalar(select(Company))
    detail = client.get(url(workspace, f"companies/{row.id}")).get_data(as_text=True)
    assert "&#39;=HYPERLINK(" in detail and "<script>alert(1)</script>" not in detail


def test_paste_form(client, workspace):
    response = client.post(url(workspace, "import/paste"), data={
        "name": "", "text": "Jan Kowalski, Kierownik, Firma X sp. z o.o., jan@x.pl"})
    assert response.status_code == 302
    assert client.post(url(workspace, "import/paste"), data={"text": ""}).status_code == 400
    assert len(statements(workspace, "create", "import_source")) == 1


def test_seeded_sources_are_offered_on_the_import_page(login_as, sandbox_app):
    with sandbox_app.test_request_context():
        ws = create_workspace("Seeded", "user:1", {"leads_csv": [LEADS], "leads_pasted": ["Ewa Lis, Gamma S.A."]})
        sandbox_crm.session().commit()
    page = login_as("user:1").get(url(ws, "import")).get_data(as_text=True)
    assert "leady.csv" in page and "wizytówki.txt" in page and "scenario's source" in page


def test_import_sources_are_isolated(login_as, workspace, sandbox_app):
    with sandbox_app.test_request_context():
        source = service.save_source(workspace, name="x.csv", kind="csv", content=LEADS)
        sandbox_crm.session().commit()
    other = create_workspace("B", "user:1")
    sandbox_crm.session().commit()
    client = login_as("user:1")
    assert client.get(url(other, f"import/{source.id}")).status_code == 404
    assert client.post(url(other, f"import/{source.id}"), data={"decision_1": "import"}).status_code == 404
    assert login_as("user:2").get(url(workspace, f"import/{source.id}")).status_code == 404
