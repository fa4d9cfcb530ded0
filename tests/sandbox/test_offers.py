"""Products, offer templates, offers (totals, generate, PDF, send) and the outbox: services and pages."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from sandbox_crm.api import action_log, create_workspace, freeze_workspace
from sandbox_crm.models import CustomerEvent, Offer, OfferTemplate, OutboxMessage, Product
from sandbox_crm.services import offers as offer_service
from sandbox_crm.services import products as product_service

DIACRITICS = "Zażółć gęślą jaźń"

SEED = {
    "companies": [
        {"key": "acme", "name": "Acme Łódź Sp. z o.o.", "nip": "5260250274", "city": "Łódź", "industry": "IT",
         "address": "ul. Piotrkowska 1", "email": "biuro@acme.pl"},
        {"key": "beta", "name": "Beta S.A.", "industry": "Handel", "city": "Gdańsk"},
    ],
    "contacts": [
        {"key": "anna", "company": "acme", "first_name": "Anna", "last_name": "Śliwińska", "email": "anna@acme.pl",
         "legal_basis": "contract"},
        {"key": "piotr", "company": "beta", "first_name": "Piotr", "last_name": "Nowak", "email": "piotr@beta.pl",
         "legal_basis": "contract"},
    ],
    "products": [
        {"key": "crm", "name": f"Wdrożenie {DIACRITICS}", "sku": "CRM-1", "kind": "service", "unit": "usł.",
         "unit_price": "1000.00", "vat_rate": "23"},
        {"key": "book", "name": "Podręcznik", "sku": "BK-1", "kind": "product", "unit": "szt.",
         "unit_price": "19.99", "vat_rate": "5"},
        {"key": "train", "name": "Szkolenie", "sku": "TR-1", "kind": "service", "unit": "godz.",
         "unit_price": "150", "vat_rate": "zw"},
    ],
    "offer_templates": [{"name": "Standard"}],
}


@pytest.fixture(autouse=True)
def ctx(sandbox_app):
    """Services run inside a request (the log reads the acting user from it)."""
    with sandbox_app.test_request_context():
        yield


@pytest.fixture
def seeded(sandbox_app, sandbox_session):
    ws = create_workspace("Offers", "user:1", seed=SEED)
    sandbox_session.commit()
    return ws


def _rows(session, model, ws):
    return list(session.scalars(select(model).where(model.workspace_id == ws.id).order_by(model.id)))


def _ids(session, ws):
    from sandbox_crm.models import Company, Contact

    companies = {c.name.split()[0]: c for c in _rows(session, Company, ws)}
    contacts = {c.first_name: c for c in _rows(session, Contact, ws)}
    products = {p.sku: p for p in _rows(session, Product, ws)}
    template = _rows(session, OfferTemplate, ws)[0]
    return companies, contacts, products, template


def _offer(session, ws):
    companies, contacts, products, template = _ids(session, ws)
    offer = offer_service.create_offer(ws, {"title": "Oferta wdrożenia", "company_id": companies["Acme"].id,
                                            "contact_id": contacts["Anna"].id, "template_id": template.id,
                                            "issue_date": "2025-03-01"})
    offer_service.add_line(ws, offer, {"product_id": products["CRM-1"].id, "quantity": "2", "discount_pct": "10"})
    offer_service.add_line(ws, offer, {"product_id": products["BK-1"].id, "quantity": "3"})
    offer_service.add_line(ws, offer, {"product_id": products["TR-1"].id, "quantity": "1,5"})
    return offer


def _verbs(ws, object_type):
    return [(s.verb, s.object_type) for s in action_log(ws.id) if s.object_type == object_type]


# --------------------------------------------------------------------------- money


def test_line_amounts_round_half_up_per_line():
    amounts = offer_service.line_amounts(Decimal("3"), Decimal("19.99"), Decimal("10"), "23")
    assert amounts.net == Decimal("53.97") and amounts.vat == Decimal("12.41") and amounts.gross == Decimal("66.38")
    exempt = offer_service.line_amounts(Decimal("1.5"), Decimal("150"), Decimal("0"), "zw")
    assert exempt == offer_service.LineAmounts(Decimal("225.00"), Decimal("0.00"), Decimal("225.00"))
    half = offer_service.line_amounts(Decimal("1"), Decimal("0.05"), Decimal("50"), "23")
    assert half.net == Decimal("0.03")  # 0.025 rounds half up


def test_offer_totals_with_decimal(seeded, sandbox_session):
    offer = _offer(sandbox_session, seeded)
    # 2 × 1000 − 10% = 1800 (+414 VAT); 3 × 19.99 = 59.97 (+3.00 VAT 5%); 1.5 × 150 = 225 (zw)
    assert offer.total_net == Decimal("2084.97")
    assert offer.total_vat == Decimal("417.00")
    assert offer.total_gross == Decimal("2501.97")
    totals = offer_service.offer_totals(offer.lines)
    assert totals.by_rate == {"23": Decimal("1800.00"), "5": Decimal("59.97"), "zw": Decimal("225.00")}
    assert offer_service.format_money(Decimal("2501.97")) == "2\u00a0501,97"


# --------------------------------------------------------------------------- products


def test_product_crud_validation_and_log(workspace, sandbox_session):
    with pytest.raises(product_service.ProductError) as err:
        product_service.create_product(workspace, {"name": "", "unit": "", "unit_price": "abc", "vat_rate": "7"})
    assert set(err.value.errors) == {"name", "unit", "unit_price", "vat_rate"}
    product = product_service.create_product(workspace, {"name": "Audyt", "sku": "A1", "unit": "usł.",
                                                         "unit_price": "1 234,50", "vat_rate": "8", "kind": "service"})
    assert product.unit_price == Decimal("1234.50")
    with pytest.raises(product_service.ProductError) as err:
        product_service.create_product(workspace, {"name": "Inny", "sku": "A1", "unit": "szt.", "unit_price": "1"})
    assert "sku" in err.value.errors
    changes = product_service.update_product(workspace, product, {"unit_price": "1300", "active": False})
    assert changes == {"unit_price": ["1234.50", "1300.00"], "active": [True, False]}
    product_service.delete_product(workspace, product)
    sandbox_session.commit()
    assert _verbs(workspace, "product") == [("create", "product"), ("update", "product"), ("delete", "product")]


def test_products_seeded_without_log(seeded, sandbox_session):
    assert len(_rows(sandbox_session, Product, seeded)) == 3
    assert not _verbs(seeded, "product")


# --------------------------------------------------------------------------- templates


def test_template_with_unknown_tag_is_not_saved(workspace):
    with pytest.raises(offer_service.OfferError) as err:
        offer_service.create_template(workspace, {"name": "Zły", "body": "{{ klient.nazwa }}\n{{ klient.haslo }}"})
    assert "klient.haslo" in err.value.errors["body"] and "2" in err.value.errors["body"]


def test_template_create_update_records_tags(workspace, sandbox_session):
    template = offer_service.create_template(workspace, {"name": "T", "body": "{{ klient.nazwa }}"})
    offer_service.update_template(workspace, template, {"body": "{{ kontakt.imie }} {% for p in pozycje %}{% endfor %}"})
    sandbox_session.commit()
    statements = [s for s in action_log(workspace.id) if s.object_type == "offer_template"]
    assert [s.verb for s in statements] == ["create", "update"]
    assert statements[0].result["tags"] == ["klient"]
    assert statements[1].result["tags"] == ["kontakt", "pozycje"]


# --------------------------------------------------------------------------- offers


def test_offer_recipient_must_belong_together(seeded, sandbox_session):
    companies, contacts, _products, template = _ids(sandbox_session, seeded)
    with pytest.raises(offer_service.OfferError) as err:
        offer_service.create_offer(seeded, {"title": "X", "company_id": companies["Acme"].id,
                                            "contact_id": contacts["Piotr"].id, "template_id": template.id})
    assert "contact_id" in err.value.errors
    with pytest.raises(offer_service.OfferError) as err:
        offer_service.create_offer(seeded, {"title": "", "company_id": 999999, "template_id": ""})
    assert {"title", "company_id", "template_id"} <= set(err.value.errors)


def test_bad_lines_are_refused(seeded, sandbox_session):
    offer = _offer(sandbox_session, seeded)
    for data, field in (({"name": "X", "quantity": "0", "unit_price": "1"}, "quantity"),
                        ({"name": "X", "quantity": "1", "unit_price": "1", "discount_pct": "120"}, "discount_pct"),
                        ({"quantity": "1"}, "name"),
                        ({"product_id": 999999, "quantity": "1"}, "product_id"),
                        ({"name": "X", "quantity": "1", "unit_price": "-5"}, "unit_price")):
        with pytest.raises(offer_service.OfferError) as err:
            offer_service.add_line(seeded, offer, data)
        assert field in err.value.errors


def test_generate_makes_pdf_with_polish_diacritics(seeded, sandbox_session):
    offer = _offer(sandbox_session, seeded)
    result = offer_service.generate_offer(seeded, offer)
    sandbox_session.commit()
    assert result.ok, result.problems
    assert offer.status == "generated" and offer.pdf.startswith(b"%PDF")
    assert offer.pdf_sha256 and len(offer.pdf_sha256) == 64
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(offer.pdf)).pages)
    assert DIACRITICS in text
    assert "Acme Łódź Sp. z o.o." in text and "Anna Śliwińska" in text
    assert "2 501,97" in text.replace("\u00a0", " ")
    statement = [s for s in action_log(seeded.id) if s.verb == "generate"][-1]
    assert statement.object_type == "offer" and statement.result["total_gross"] == "2501.97"
    assert statement.result["pdf_sha256"] == offer.pdf_sha256


def test_generate_reports_template_problems_and_stores_nothing(seeded, sandbox_session):
    offer = _offer(sandbox_session, seeded)
    template = sandbox_session.get(OfferTemplate, offer.template_id)
    template.body = "{% for i in range(10**6) %}x{% endfor %}"  # saved behind the service's back
    result = offer_service.generate_offer(seeded, offer)
    assert not result.ok and offer.pdf is None and offer.status == "draft"


def test_change_after_generation_makes_offer_stale(seeded, sandbox_session):
    offer = _offer(sandbox_session, seeded)
    offer_service.generate_offer(seeded, offer)
    offer_service.add_line(seeded, offer, {"name": "Dodatkowe", "quantity": "1", "unit_price": "10"})
    assert offer.status == "draft" and offer.pdf is None


def test_send_creates_outbox_message_customer_event_and_log(seeded, sandbox_session):
    offer = _offer(sandbox_session, seeded)
    with pytest.raises(offer_service.OfferError) as err:
        offer_service.send_offer(seeded, offer, to_address="anna@acme.pl", subject="S", body="B")
    assert "status" in err.value.errors
    offer_service.generate_offer(seeded, offer)
    with pytest.raises(offer_service.OfferError) as err:
        offer_service.send_offer(seeded, offer, to_address="not-an-email", subject="", body="")
    assert {"to_address", "subject", "body"} <= set(err.value.errors)
    message = offer_service.send_offer(seeded, offer, **offer_service.default_message(offer))
    sandbox_session.commit()
    assert message.to_address == "anna@acme.pl" and message.attachment_sha256 == offer.pdf_sha256
    assert message.attachment_name == "oferta-OF-2025-0001.pdf"
    assert offer.status == "sent" and offer.sent_at is not None
    events = _rows(sandbox_session, CustomerEvent, seeded)
    sent = [e for e in events if e.kind == "offer_sent"]
    assert len(sent) == 1
    assert sent[0].company_id == offer.company_id and sent[0].contact_id == offer.contact_id
    assert sent[0].object_type == "offer" and sent[0].object_id == str(offer.id)
    assert "OF/2025/0001" in sent[0].summary
    verbs = _verbs(seeded, "offer")
    assert ("create", "offer") in verbs and ("generate", "offer") in verbs and ("send", "offer") in verbs
    with pytest.raises(offer_service.OfferError):
        offer_service.add_line(seeded, offer, {"name": "X", "quantity": "1", "unit_price": "1"})
    offer_service.set_outcome(seeded, offer, "accepted")
    assert offer.status == "accepted"


# --------------------------------------------------------------------------- pages


def test_product_pages_and_bad_input(seeded, login_as, sandbox_session):
    client = login_as("user:1")
    base = f"/sandbox/w/{seeded.id}"
    page = client.get(f"{base}/products")
    assert page.status_code == 200 and DIACRITICS in page.get_data(as_text=True)
    bad = client.post(f"{base}/products/new", data={"name": "Nowy", "kind": "product", "unit": "szt.",
                                                     "unit_price": "dużo", "vat_rate": "23"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "Enter the net unit price as a number" in html and 'value="dużo"' in html
    ok = client.post(f"{base}/products/new", data={"name": "Nowy", "kind": "product", "unit": "szt.",
                                                    "unit_price": "12,50", "vat_rate": "8", "active": "y"})
    assert ok.status_code == 302
    product = sandbox_session.scalar(select(Product).where(Product.name == "Nowy"))
    assert product.unit_price == Decimal("12.50") and product.vat_rate == "8"
    assert client.get(f"{base}/products/{product.id}/edit").status_code == 200
    assert client.get(f"{base}/products/999999/edit").status_code == 404


def test_template_editor_preview_and_palette(seeded, login_as):
    client = login_as("user:1")
    base = f"/sandbox/w/{seeded.id}"
    page = client.get(f"{base}/offer-templates/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "{{ klient.nazwa }}" in html and "Company name" in html
    preview = client.post(f"{base}/offer-templates/new", data={
        "name": "P", "validity_days": "30", "body": "<p>{{ klient.nazwa }}</p>\n{{ ''.__class__ }}", "preview": "1"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Line 2" in html and "__class__" in html
    preview = client.post(f"{base}/offer-templates/new", data={
        "name": "P", "validity_days": "30", "body": "<p>{{ klient.nazwa }}</p><script>alert(1)</script>", "preview": "1"})
    html = preview.get_data(as_text=True)
    assert '<iframe class="offer-frame" sandbox' in html
    assert "<script>alert(1)</script>" not in html  # only inside the escaped srcdoc
    saved = client.post(f"{base}/offer-templates/new", data={"name": "Bad", "validity_days": "30",
                                                             "body": "{{ klient.nazwaa }}"})
    assert saved.status_code == 200 and "Unknown tag: klient.nazwaa" in saved.get_data(as_text=True)


def test_offer_flow_through_pages(seeded, login_as, sandbox_session):
    companies, contacts, products, template = _ids(sandbox_session, seeded)
    client = login_as("user:1")
    base = f"/sandbox/w/{seeded.id}"
    form = client.get(f"{base}/offers/new?company_id={companies['Acme'].id}").get_data(as_text=True)
    assert "Anna Śliwińska" in form and "Piotr Nowak" not in form
    bad = client.post(f"{base}/offers/new", data={"title": "", "company_id": "", "template_id": str(template.id)})
    assert bad.status_code == 200 and "Enter the offer title." in bad.get_data(as_text=True)
    created = client.post(f"{base}/offers/new", data={
        "title": "Oferta", "company_id": str(companies["Acme"].id), "contact_id": str(contacts["Anna"].id),
        "template_id": str(template.id), "currency": "PLN", "issue_date": "2025-03-01"})
    assert created.status_code == 302
    offer = sandbox_session.scalar(select(Offer).where(Offer.workspace_id == seeded.id))
    url = f"{base}/offers/{offer.id}"
    bad_line = client.post(f"{url}/lines", data={"product_id": str(products["CRM-1"].id), "quantity": "-1"})
    assert bad_line.status_code == 400 and "greater than 0" in bad_line.get_data(as_text=True)
    assert client.post(f"{url}/lines", data={"product_id": str(products["CRM-1"].id), "quantity": "1",
                                             "discount_pct": "0"}).status_code == 302
    assert client.post(f"{url}/generate").status_code == 302
    detail = client.get(url).get_data(as_text=True)
    assert "Download PDF" in detail and 'sandbox title=' in detail
    document = client.get(f"{url}/document")
    assert "sandbox" in document.headers["Content-Security-Policy"]
    # The offer page frames the document; a host denying frames by default must not blank it.
    assert "frame-ancestors 'self'" in document.headers["Content-Security-Policy"]
    assert document.headers["X-Frame-Options"] == "SAMEORIGIN"
    pdf = client.get(f"{url}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    assert client.get(f"{url}/send").status_code == 200
    bad_send = client.post(f"{url}/send", data={"to_address": "zly adres", "subject": "S", "body": "B"})
    assert bad_send.status_code == 200 and 'value="zly adres"' in bad_send.get_data(as_text=True)
    sent = client.post(f"{url}/send", data={"to_address": "anna@acme.pl", "subject": "Oferta", "body": "W załączeniu"})
    assert sent.status_code == 302
    outbox = client.get(f"{base}/outbox").get_data(as_text=True)
    assert "anna@acme.pl" in outbox and "oferta-OF-2025-0001.pdf" in outbox
    message = sandbox_session.scalar(select(OutboxMessage).where(OutboxMessage.workspace_id == seeded.id))
    assert "W załączeniu" in client.get(f"{base}/outbox/{message.id}").get_data(as_text=True)
    verbs = [s.verb for s in action_log(seeded.id) if s.object_type == "offer"]
    assert verbs.count("export") == 1 and "send" in verbs and "generate" in verbs
    assert client.get(f"{base}/offers?status=sent").status_code == 200


def test_isolation_between_workspaces_and_users(seeded, login_as, sandbox_session):
    offer = _offer(sandbox_session, seeded)
    offer_service.generate_offer(seeded, offer)
    product = _rows(sandbox_session, Product, seeded)[0]
    template = _rows(sandbox_session, OfferTemplate, seeded)[0]
    other = create_workspace("Other", "user:1")
    sandbox_session.commit()
    client = login_as("user:1")
    for path in (f"offers/{offer.id}", f"offers/{offer.id}/pdf", f"offers/{offer.id}/document",
                 f"products/{product.id}/edit", f"offer-templates/{template.id}"):
        assert client.get(f"/sandbox/w/{other.id}/{path}").status_code == 404, path
    assert client.post(f"/sandbox/w/{other.id}/offers/{offer.id}/generate").status_code == 404
    stranger = login_as("user:2")
    assert stranger.get(f"/sandbox/w/{seeded.id}/offers/{offer.id}").status_code == 404
    assert stranger.get(f"/sandbox/w/{seeded.id}/products").status_code == 404


def test_frozen_workspace_refuses_writes_and_logs_no_reads(seeded, login_as, sandbox_session):
    offer = _offer(sandbox_session, seeded)
    offer_service.generate_offer(seeded, offer)
    sandbox_session.commit()
    freeze_workspace(seeded.id)
    sandbox_session.commit()
    before = len(action_log(seeded.id))
    client = login_as("user:1")
    base = f"/sandbox/w/{seeded.id}"
    assert client.post(f"{base}/products/new", data={"name": "X", "unit": "szt.", "unit_price": "1"}).status_code == 403
    assert client.post(f"{base}/offers/{offer.id}/send", data={"to_address": "a@b.pl", "subject": "S",
                                                               "body": "B"}).status_code == 403
    assert client.get(f"{base}/offers/{offer.id}").status_code == 200
    assert client.get(f"{base}/offers/{offer.id}/pdf").status_code == 200
    assert len(action_log(seeded.id)) == before


def test_a_plain_text_template_keeps_its_lines_in_the_document_and_the_pdf(seeded, sandbox_session):
    offer = _offer(sandbox_session, seeded)
    template = sandbox_session.get(OfferTemplate, offer.template_id)
    offer_service.update_template(seeded, template, {"body": (
        "Szanowna Pani {{ kontakt.imie_nazwisko }},\n"
        "przesyłamy ofertę {{ oferta.numer }}.\n"
        "\n"
        "Cena obejmuje:\n"
        "- wdrożenie\n"
        "- **szkolenie**\n"
        "\n"
        "<script>alert('x')</script>\n"
        "Z poważaniem")})
    result = offer_service.generate_offer(seeded, offer)
    assert result.ok, result.problems
    # The HTML that goes to WeasyPrint: separate lines and paragraphs, the script as text.
    assert "<p>Szanowna Pani Anna Śliwińska,<br>\nprzesyłamy ofertę OF/2025/0001.</p>" in offer.html
    assert "<li><strong>szkolenie</strong></li>" in offer.html
    assert "<script" not in offer.html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;<br>" in offer.html
    lines = [line.strip() for page in PdfReader(io.BytesIO(offer.pdf)).pages for line in page.extract_text().splitlines()]
    for expected in ("Szanowna Pani Anna Śliwińska,", "przesyłamy ofertę OF/2025/0001.", "Cena obejmuje:",
                     "<script>alert('x')</script>", "Z poważaniem"):
        assert expected in lines, lines
    assert any(line.endswith("szkolenie") and line != "- szkolenie" for line in lines), lines


def test_the_template_preview_says_how_the_body_is_read(seeded, login_as):
    client = login_as("user:1")
    base = f"/sandbox/w/{seeded.id}"
    text = client.post(f"{base}/offer-templates/new", data={
        "name": "P", "validity_days": "30", "body": "Linia pierwsza\r\nLinia druga", "preview": "1"}).get_data(as_text=True)
    assert "Read as plain text" in text
    assert "&lt;p&gt;Linia pierwsza&lt;br&gt;\nLinia druga&lt;/p&gt;" in text  # inside the escaped srcdoc
    html = client.post(f"{base}/offer-templates/new", data={
        "name": "P", "validity_days": "30", "body": "<p>Linia</p>", "preview": "1"}).get_data(as_text=True)
    assert "Read as HTML" in html
