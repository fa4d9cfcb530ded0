"""The importer flags suspect rows and the user decides on each: import as it is, fix the values in
the preview and import those, skip, or later. Every decision is logged with the row's values;
nothing is dropped without one; a refused fix keeps what was typed."""
from __future__ import annotations

import pytest
from customers_helpers import company, make_nip, statements
from sqlalchemy import select

import sandbox_crm
from sandbox_crm.api import create_workspace
from sandbox_crm.models import Company, Contact, ImportSource
from sandbox_crm.services import imports as service

NIP_A, NIP_B = make_nip(21), make_nip(22)
BAD_NIP = "1234567890"  # checksum digit would be 10: never a NIP

LEADS = (
    "Firma;NIP;Imię i nazwisko;E-mail;Telefon;Zgoda marketingowa\n"
    f"Alfa sp. z o.o.;{NIP_A};Jan Kowalski;jan@alfa.pl;600 100 200;tak\n"       # 1 clean
    f"Beta S.A.;{BAD_NIP};Anna Nowak;anna@beta.pl;601 200 300;nie\n"            # 2 NIP fails its check
    f"Gamma sp.j.;{NIP_B};Ewa Lis;ewa@@gamma;602 300 400;nie\n"                 # 3 e-mail fails its check
    ";;;;;\n"                                                                    # (blank: not a row)
    ";;;biuro@delta.pl;603 400 500;\n"                                          # 4 no company, no person
    f"Alfa sp. z o.o.;{NIP_A};Jan Kowalski;jan@alfa.pl;600 100 200;x?\n"        # 5 duplicate of 1, bad consent
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


def saved(sandbox_app, ws, content=LEADS, name="leady.csv") -> ImportSource:
    with sandbox_app.test_request_context():
        source = service.save_source(ws, name=name, kind="csv", content=content)
        sandbox_crm.session().commit()
    return source


def decisions_logged(ws) -> dict[int, dict]:
    return {s.result["row"]: s.result for s in statements(ws, "decide", "import_row")}


def companies(ws) -> list[Company]:
    return list(sandbox_crm.session().scalars(select(Company).where(Company.workspace_id == ws.id)
                                              .order_by(Company.id)))


def contacts(ws) -> list[Contact]:
    return list(sandbox_crm.session().scalars(select(Contact).where(Contact.workspace_id == ws.id)
                                              .order_by(Contact.id)))


# --- flags -----------------------------------------------------------------------------------

def test_suspect_rows_are_flagged_by_kind_and_field(ctx, workspace):
    source = service.save_source(workspace, name="leady.csv", kind="csv", content=LEADS)
    rows = {row.number: row for row in service.preview(workspace, source).rows}
    assert rows[1].importable and not rows[1].flags
    assert [(f.kind, f.field) for f in rows[2].flags] == [("invalid", "company.nip")]
    assert [(f.kind, f.field) for f in rows[3].flags] == [("invalid", "contact.email")]
    assert rows[4].blocked and [f.kind for f in rows[4].flags] == ["missing"]
    assert {(f.kind, f.field) for f in rows[5].flags} == {("invalid", "contact.marketing_consent"),
                                                          ("duplicate", None)}
    assert rows[2].field_errors() == {"company.nip": ["NIP checksum is wrong: check the digits."]}
    assert rows[2].fix_fields == ["company.name", "company.nip", "contact.full_name", "contact.email",
                                  "contact.phone", "contact.marketing_consent"]


def test_the_page_offers_every_decision_and_waits_on_flagged_rows(sandbox_app, client, workspace):
    source = saved(sandbox_app, workspace)
    page = client.get(url(workspace, f"import/{source.id}")).get_data(as_text=True)
    assert 'name="decision_1" value="import" checked' in page  # passes the checks: import unless decided
    for n in (2, 3, 5):
        assert f'name="decision_{n}" value="" checked' in page  # flagged: waits for the user
        assert f'name="decision_{n}" value="fix"' in page and f'name="decision_{n}" value="skip"' in page
    assert 'name="decision_4" value="import" disabled' in page  # nothing to import as it is
    assert f'name="fix_2-company.nip" value="{BAD_NIP}"' in page
    assert "Import as it is" in page and "Fix and import" in page and "Decide later" in page


# --- each decision, logged -------------------------------------------------------------------

def test_import_as_it_is_keeps_the_failing_value_in_the_notes_and_logs_it(sandbox_app, client, workspace):
    source = saved(sandbox_app, workspace)
    response = client.post(url(workspace, f"import/{source.id}"), data={"decision_2": "import"})
    assert response.status_code == 200 and "Imported 1 row(s)" in response.get_data(as_text=True)
    [beta] = companies(workspace)
    assert beta.name == "Beta S.A." and beta.nip is None and beta.phone is None  # phone is the person's
    [anna] = contacts(workspace)
    assert anna.company_id == beta.id and anna.email == "anna@beta.pl"
    assert f"NIP: {BAD_NIP}" in beta.notes and "failed the checks" in beta.notes
    logged = decisions_logged(workspace)[2]
    assert logged["decision"] == "import" and logged["source_id"] == source.id
    assert logged["values"]["company.nip"] == BAD_NIP and logged["values"]["contact.full_name"] == "Anna Nowak"
    assert logged["flags"] == [{"kind": "invalid", "field": "company.nip",
                                "message": "NIP: NIP checksum is wrong: check the digits."}]
    assert logged["unverified"] == {"company.nip": BAD_NIP}
    assert logged["company_id"] == beta.id and logged["contact_id"] == anna.id and logged["company_created"]
    [summary] = statements(workspace, "import", "import_source")
    assert summary.result["rows_imported"] == [2] and summary.result["decisions"] == {"2": "import"}
    assert summary.result["companies_created"] == [beta.id] and summary.result["contacts_created"] == [anna.id]


def test_fix_imports_the_values_typed_in_the_preview(sandbox_app, client, workspace):
    source = saved(sandbox_app, workspace)
    response = client.post(url(workspace, f"import/{source.id}"), data={
        "decision_3": "fix", "fix_3-company.name": "Gamma sp.j.", "fix_3-company.nip": NIP_B,
        "fix_3-contact.full_name": "Ewa Lis", "fix_3-contact.email": "ewa@gamma.pl",
        "fix_3-contact.phone": "602 300 400", "fix_3-contact.marketing_consent": "nie"})
    assert response.status_code == 200
    [ewa] = contacts(workspace)
    assert ewa.email == "ewa@gamma.pl" and ewa.company.nip == NIP_B
    logged = decisions_logged(workspace)[3]
    assert logged["decision"] == "fix"
    assert logged["values"]["contact.email"] == "ewa@@gamma"  # as read from the source
    assert logged["fixed_values"]["contact.email"] == "ewa@gamma.pl"  # as the user fixed it
    assert [f["field"] for f in logged["flags"]] == ["contact.email"]  # what the row was flagged with
    assert logged["unverified"] == {} and logged["contact_id"] == ewa.id
    assert "ewa@@gamma" not in (ewa.notes or "")
    page = client.get(url(workspace, f"import/{source.id}")).get_data(as_text=True)
    assert 'name="decision_3"' not in page  # imported: nothing more to decide


def test_skip_is_logged_kept_in_the_preview_and_can_be_reconsidered(sandbox_app, client, workspace):
    source = saved(sandbox_app, workspace)
    response = client.post(url(workspace, f"import/{source.id}"), data={"decision_5": "skip"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Skipped 1 row(s)" in page and "Imported" not in page
    assert companies(workspace) == [] and statements(workspace, "import") == []
    logged = decisions_logged(workspace)[5]
    assert logged["decision"] == "skip" and logged["values"]["contact.marketing_consent"] == "x?"
    assert {f["kind"] for f in logged["flags"]} == {"invalid", "duplicate"} and "contact_id" not in logged
    with sandbox_app.test_request_context():
        row = {r.number: r for r in service.preview(workspace, source).rows}[5]
        assert row.skipped and not row.pending and not row.imported
    assert "skipped</span>" in page and 'name="decision_5"' in page  # still open to another decision
    client.post(url(workspace, f"import/{source.id}"), data={"decision_5": "import"})
    assert [c.full_name for c in contacts(workspace)] == ["Jan Kowalski"]
    assert [s.result["decision"] for s in statements(workspace, "decide", "import_row")] == ["skip", "import"]


def test_nothing_is_dropped_without_a_decision(sandbox_app, client, workspace):
    source = saved(sandbox_app, workspace)
    page = client.post(url(workspace, f"import/{source.id}"), data={
        "decision_1": "import", "decision_2": "", "decision_3": ""}).get_data(as_text=True)
    assert "Imported 1 row(s)" in page and "4 row(s) still wait for your decision" in page
    assert set(decisions_logged(workspace)) == {1}
    with sandbox_app.test_request_context():
        rows = {r.number: r for r in service.preview(workspace, source).rows}
    assert rows[1].imported and all(rows[n].pending for n in (2, 3, 4, 5))
    for n in (2, 3, 4, 5):
        assert f'name="decision_{n}" value="" checked' in page


def test_rows_of_one_company_imported_as_they_are_share_it(sandbox_app, client, workspace):
    text = (f"Firma;NIP;Osoba\nOmega sp. z o.o.;{BAD_NIP};Adam Nowak\nOmega sp. z o.o.;;Ewa Nowak\n")
    source = saved(sandbox_app, workspace, text)
    client.post(url(workspace, f"import/{source.id}"), data={"decision_1": "import", "decision_2": "import"})
    [omega] = companies(workspace)
    assert {c.company_id for c in contacts(workspace)} == {omega.id} and len(contacts(workspace)) == 2


def test_a_company_duplicate_imported_as_it_is_is_the_users_call(sandbox_app, client, workspace):
    with sandbox_app.test_request_context():
        company(workspace, name="Alfa sp. z o.o.", nip=NIP_A)
        sandbox_crm.session().commit()
    source = saved(sandbox_app, workspace, f"Firma;NIP\nAlfa;{NIP_A}\n")
    client.post(url(workspace, f"import/{source.id}"), data={"decision_1": "import"})
    assert len(companies(workspace)) == 2
    assert decisions_logged(workspace)[1]["flags"][0]["kind"] == "duplicate"


# --- refusals keep what was typed --------------------------------------------------------------

def test_a_fix_that_still_fails_is_refused_with_the_typed_values_kept(sandbox_app, client, workspace):
    source = saved(sandbox_app, workspace)
    response = client.post(url(workspace, f"import/{source.id}"), data={
        "decision_1": "import", "decision_3": "fix", "fix_3-company.name": "Gamma sp.j.",
        "fix_3-contact.full_name": "Ewa Lis", "fix_3-contact.email": "ewa(at)gamma",
        "fix_3-company.nip": "526-000-00-0"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing was imported or skipped" in page and "The fixed values do not pass the checks" in page
    assert 'name="fix_3-contact.email" value="ewa(at)gamma"' in page
    assert 'name="fix_3-company.nip" value="526-000-00-0"' in page
    assert 'id="fix_3-contact.email-error">Enter a valid e-mail address' in page
    assert "NIP must have 10 digits." in page
    assert 'name="decision_3" value="fix" checked' in page and 'name="decision_1" value="import" checked' in page
    assert companies(workspace) == [] and statements(workspace, "decide") == [] and statements(workspace, "import") == []


def test_a_too_long_value_is_refused_not_cut(sandbox_app, client, workspace):
    source = saved(sandbox_app, workspace)
    name = "Gamma " + "x" * 300
    response = client.post(url(workspace, f"import/{source.id}"), data={
        "decision_3": "fix", "fix_3-company.name": name, "fix_3-contact.full_name": "Ewa Lis",
        "fix_3-contact.email": "ewa@gamma.pl"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Too long: at most 200 characters." in page and name in page
    assert contacts(workspace) == []


@pytest.mark.parametrize("data,message", [
    ({}, "Decide on at least one row"),
    ({"decision_4": "import"}, "This row lacks data a record needs"),
    ({"decision_99": "skip"}, "There is no row 99 in this source."),
    ({"decision_2": "import", "fix_2-company.nip": NIP_B}, "You changed this row&#39;s values"),
    ({"decision_2": "", "fix_2-company.nip": NIP_B}, "You changed this row&#39;s values"),
])
def test_decisions_that_cannot_be_carried_out_change_nothing(sandbox_app, client, workspace, data, message):
    source = saved(sandbox_app, workspace)
    response = client.post(url(workspace, f"import/{source.id}"), data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page
    for key, value in data.items():
        if key.startswith("fix_"):
            assert f'name="{key}" value="{value}"' in page
    assert companies(workspace) == [] and statements(workspace, "decide") == []


def test_an_imported_row_cannot_be_decided_again(sandbox_app, client, workspace):
    source = saved(sandbox_app, workspace)
    client.post(url(workspace, f"import/{source.id}"), data={"decision_1": "import"})
    response = client.post(url(workspace, f"import/{source.id}"), data={"decision_1": "import"})
    assert response.status_code == 400 and "This row is already imported." in response.get_data(as_text=True)
    assert len(contacts(workspace)) == 1


@pytest.mark.parametrize("key", ["fix_x-company.name", "fix_0-company.name", "fix_1-evil.field", "fix_1"])
def test_a_damaged_fix_key_is_a_clear_400(sandbox_app, client, workspace, key):
    source = saved(sandbox_app, workspace)
    response = client.post(url(workspace, f"import/{source.id}"), data={"decision_1": "import", key: "x"})
    assert response.status_code == 400 and "damaged" in response.get_data(as_text=True)
    assert contacts(workspace) == []


def test_a_nul_byte_in_a_fix_is_refused(sandbox_app, client, workspace):
    source = saved(sandbox_app, workspace)
    response = client.post(url(workspace, f"import/{source.id}"), data={
        "decision_3": "fix", "fix_3-contact.email": "ewa\x00@gamma.pl"})
    assert response.status_code == 400 and contacts(workspace) == []


# --- the exam --------------------------------------------------------------------------------

def test_an_exam_workspace_decides_the_same_way_without_coaching(login_as, sandbox_app):
    with sandbox_app.test_request_context():
        ws = create_workspace("Exam", "user:1", purpose="exam")
        source = service.save_source(ws, name="leady.csv", kind="csv", content=LEADS)
        sandbox_crm.session().commit()
    client = login_as("user:1")
    page = client.get(url(ws, f"import/{source.id}")).get_data(as_text=True)
    assert "NIP checksum is wrong" in page and "No legal basis of processing" not in page
    client.post(url(ws, f"import/{source.id}"), data={"decision_1": "import", "decision_2": "skip",
                                                      "decision_3": "import"})
    assert {n: r["decision"] for n, r in decisions_logged(ws).items()} == {1: "import", 2: "skip", 3: "import"}
    ewa = sandbox_crm.session().scalar(select(Contact).where(Contact.workspace_id == ws.id,
                                                             Contact.last_name == "Lis"))
    assert ewa.email is None and "ewa@@gamma" in ewa.notes


def test_a_pasted_card_is_fixed_in_the_fields_a_card_has(sandbox_app, client, workspace):
    with sandbox_app.test_request_context():
        source = service.save_source(workspace, name="wizytówki", kind="pasted",
                                     content="Anna Nowak; Dyrektor; Hurtownia Budmax; NIP: 123-456-78-90; anna@budmax.pl\n")
        sandbox_crm.session().commit()
    page = client.get(url(workspace, f"import/{source.id}")).get_data(as_text=True)
    assert 'name="fix_1-company.nip" value="123-456-78-90"' in page
    assert 'name="fix_1-company.city" value=""' in page  # a card's field the line did not fill
    response = client.post(url(workspace, f"import/{source.id}"), data={
        "decision_1": "fix", "fix_1-company.name": "Hurtownia Budmax", "fix_1-company.nip": NIP_B,
        "fix_1-contact.full_name": "Anna Nowak", "fix_1-contact.position": "Dyrektor",
        "fix_1-contact.email": "anna@budmax.pl", "fix_1-company.city": "Lublin"})
    assert response.status_code == 200
    [anna] = contacts(workspace)
    assert anna.company.nip == NIP_B and anna.company.city == "Lublin" and anna.position == "Dyrektor"
    assert decisions_logged(workspace)[1]["values"]["company.nip"] == "123-456-78-90"
