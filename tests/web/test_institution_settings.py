"""An institution's runtime settings: staff save contact details, reminder days, a logo, a signature
image and the signatory; every rule refuses bad input with a clear message and keeps what was typed;
every change is audited without personal data; the certificate prints the marks fixed at issue and
candidates see the contact details."""
from __future__ import annotations

import hashlib
import io
import json

import pytest
from flask_babel import force_locale
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from examportal import pdf as rendering
from examportal.certification import pdf, services
from examportal.extensions import db
from examportal.institution import settings as institution_settings
from examportal.models import AuditEntry, InstitutionSettings, Role
from tests.certtools import certification_world, make_certificate
from tests.factories import client_as, enrol, make_institution, make_session, make_user


def picture(kind: str = "PNG", size: tuple[int, int] = (120, 40), colour: str = "navy") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()


def upload(data: bytes, name: str = "logo.png", mimetype: str = "image/png"):
    return (io.BytesIO(data), name, mimetype)


FORM = {"contact_email": "biuro@vcc.example", "contact_phone": "+48 12 345 67 89", "contact_note": "Sekretariat pn.–pt. 8–16",
        "reminder_days": "1, 7", "signatory_name": "Zofia Podpisująca", "signatory_title": "Prezes Zarządu"}


def settings_url(institution) -> str:
    return f"/institution/{institution.id}/settings"


def post(client, institution, **changes):
    data = {**FORM, **changes}
    return client.post(settings_url(institution), data={k: v for k, v in data.items() if v is not None},
                       content_type="multipart/form-data")


def entries(action: str = "institution.settings_changed") -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


@pytest.fixture
def place(app):
    ic = make_institution("Fundacja VCC", short_name="VCC")
    child = make_institution("Ośrodek VCC", parent=ic, short_name="VCC-O")
    return {"ic": ic, "child": child, "staff": make_user((Role.STAFF, ic)), "child_staff": make_user((Role.STAFF, child))}


# --------------------------------------------------------------------------- saving and auditing


def test_staff_save_the_settings_and_the_change_is_audited_without_personal_data(app, place):
    logo, signature = picture(), picture("JPEG", (300, 100), "black")
    client = client_as(app, place["staff"])
    response = post(client, place["ic"], logo=upload(logo), signature=upload(signature, "podpis.jpg", "image/jpeg"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    saved = db.session.get(InstitutionSettings, place["ic"].id)
    assert (saved.contact_email, saved.contact_phone, saved.contact_note) == (
        "biuro@vcc.example", "+48 12 345 67 89", "Sekretariat pn.–pt. 8–16")
    assert saved.reminder_days == [7, 1]
    assert (saved.logo, saved.logo_mimetype) == (logo, "image/png")
    assert (saved.signature, saved.signature_mimetype) == (signature, "image/jpeg")
    assert (saved.signatory_name, saved.signatory_title) == ("Zofia Podpisująca", "Prezes Zarządu")
    assert saved.updated_by_id == place["staff"].id and saved.updated_at is not None
    (entry,) = entries()
    assert (entry.object_type, entry.object_id, entry.institution_id) == ("institution_settings", str(place["ic"].id), place["ic"].id)
    assert entry.after == {
        "changed": ["contact_email", "contact_phone", "contact_note", "signatory_name", "signatory_title", "reminder_days",
                    "logo", "signature"],
        "reminder_days": [7, 1], "logo_sha256": hashlib.sha256(logo).hexdigest(),
        "signature_sha256": hashlib.sha256(signature).hexdigest()}
    assert entry.before == {"reminder_days": [], "logo_sha256": None, "signature_sha256": None}
    stored = json.dumps([entry.before, entry.after], ensure_ascii=False)
    for personal in ("biuro@vcc.example", "345 67 89", "Zofia", "Prezes", "Sekretariat"):
        assert personal not in stored
    # The page shows what is saved: the days as typed back, and the images.
    page = client.get(settings_url(place["ic"])).get_data(as_text=True)
    assert 'value="7, 1"' in page and 'value="biuro@vcc.example"' in page and "Zofia Podpisująca" in page
    assert page.count('src="data:image/') == 2 and "Remove the logo" in page


def test_saving_the_same_values_changes_nothing_and_audits_nothing(app, place):
    client = client_as(app, place["staff"])
    assert post(client, place["ic"]).status_code == 302
    response = post(client, place["ic"])
    assert response.status_code == 302
    assert "Nothing was changed." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert len(entries()) == 1


def test_an_image_is_removed_with_its_checkbox_and_kept_without_a_new_file(app, place):
    logo = picture()
    client = client_as(app, place["staff"])
    assert post(client, place["ic"], logo=upload(logo)).status_code == 302
    assert post(client, place["ic"], contact_note="Nowa notatka").status_code == 302  # no file chosen: the logo stays
    assert db.session.get(InstitutionSettings, place["ic"].id).logo == logo
    assert post(client, place["ic"], contact_note="Nowa notatka", remove_logo="y").status_code == 302
    saved = db.session.get(InstitutionSettings, place["ic"].id)
    db.session.refresh(saved)
    assert saved.logo is None and saved.logo_mimetype is None
    last = entries()[-1]
    assert last.after == {"changed": ["logo"], "logo_sha256": None}
    assert last.before == {"logo_sha256": hashlib.sha256(logo).hexdigest()}


# --------------------------------------------------------------------------- refusals


def _refused(response, message: str, typed: dict[str, str]) -> str:
    page = response.get_data(as_text=True)
    response.request.environ["wsgi.input"].close()  # the test client spools a large upload to a temporary file
    assert response.status_code == 400, page[:2000]
    assert message in page.replace("&#34;", '"').replace("&#39;", "'").replace("&quot;", '"'), page[:4000]
    for value in typed.values():
        assert value.replace("–", "–") in page  # the typed values are shown again
    return page


@pytest.mark.parametrize("days, message", [
    ("7, 0", "A reminder is sent 1 to 60 days before the session: 0 is outside that range."),
    ("61", "61 is outside that range"),
    ("7, 1, 7", "Each reminder day once: 7 is given more than once."),
    ("1, 2, 3, 4, 5, 6", "At most 5 reminders"),
    ("7 dni", "“7 dni” is not a whole number of days"),
    ("7.5", "“7.5” is not a whole number of days"),
    ("-1", "“-1” is not a whole number of days"),
    ("²", "“²” is not a whole number of days"),
    ("99999999999999999999", "is not a whole number of days"),
])
def test_bad_reminder_days_are_refused_and_the_typed_text_kept(app, place, days, message):
    client = client_as(app, place["staff"])
    page = _refused(post(client, place["ic"], reminder_days=days), message, {"contact_email": FORM["contact_email"]})
    assert f'value="{days}"' in page
    assert db.session.get(InstitutionSettings, place["ic"].id) is None and not entries()


@pytest.mark.parametrize("changes, message", [
    ({"contact_email": "biuro(at)vcc"}, "Enter a valid e-mail address."),
    ({"contact_phone": "zadzwoń do nas"}, "Enter a telephone number of 9 to 15 digits"),
    ({"contact_phone": "123"}, "Enter a telephone number of 9 to 15 digits"),
    ({"contact_phone": "12 345 67+89"}, "Enter a telephone number of 9 to 15 digits"),
    ({"signatory_name": "Z" * 201}, "Field cannot be longer than 200 characters."),
])
def test_bad_contact_values_are_refused_and_the_rest_kept(app, place, changes, message):
    client = client_as(app, place["staff"])
    typed = {k: v for k, v in FORM.items() if k not in changes and k != "contact_note"}
    _refused(post(client, place["ic"], **changes), message, typed)
    assert db.session.get(InstitutionSettings, place["ic"].id) is None


@pytest.mark.parametrize("field", ["contact_email", "contact_phone", "contact_note", "reminder_days", "signatory_name"])
def test_a_nul_byte_anywhere_is_refused_not_a_500(app, place, field):
    client = client_as(app, place["staff"])
    _refused(post(client, place["ic"], **{field: "7\x00"}), "Remove the invisible control character (NUL)", {})
    assert db.session.get(InstitutionSettings, place["ic"].id) is None


def test_text_that_looks_like_markup_is_stored_as_typed_and_shown_escaped(app, place, qualification):
    script = '<script>alert("x")</script>'
    client = client_as(app, place["staff"])
    assert post(client, place["ic"], contact_note=script, signatory_title=script).status_code == 302
    assert db.session.get(InstitutionSettings, place["ic"].id).contact_note == script
    page = client.get(settings_url(place["ic"])).get_data(as_text=True)
    assert script not in page and "&lt;script&gt;" in page
    candidate = make_user(Role.CANDIDATE)
    enrol(make_session(place["ic"], qualification), candidate)
    mine = client_as(app, candidate).get("/sessions/mine").get_data(as_text=True)
    assert script not in mine and "&lt;script&gt;alert" in mine


def test_a_file_that_is_not_an_image_is_refused_whatever_its_name(app, place):
    client = client_as(app, place["staff"])
    for data in (b"GIF89a\x01\x00\x01\x00" + b"\x00" * 40, b"%PDF-1.4 not a logo", b"<svg xmlns='http://www.w3.org/2000/svg'/>"):
        _refused(post(client, place["ic"], logo=upload(data, "logo.png", "image/png")),
                 "This file is not a PNG or JPEG image (whatever its name says)", {"reminder_days": "1, 7"})
    # PNG's first bytes on a damaged file: the picture itself must decode.
    for damaged in (picture()[:60], picture()[:-5], picture("JPEG")[:-5]):
        _refused(post(client, place["ic"], signature=upload(damaged, "podpis.png")), "This image cannot be read", {})
    assert db.session.get(InstitutionSettings, place["ic"].id) is None and not entries()


def test_an_image_over_512_kb_is_refused(app, place):
    big = picture()
    big += b"\x00" * (512 * 1024 + 1 - len(big))
    client = client_as(app, place["staff"])
    _refused(post(client, place["ic"], logo=upload(big)), "The image is larger than 512 KB", {"contact_email": FORM["contact_email"]})
    # A small file declaring a huge picture is refused before it is decoded.
    _refused(post(client, place["ic"], logo=upload(picture(size=(4001, 10)))), "larger than 4000 pixels a side", {})
    assert db.session.get(InstitutionSettings, place["ic"].id) is None


def test_a_new_image_and_its_removal_at_once_are_refused(app, place):
    client = client_as(app, place["staff"])
    assert post(client, place["ic"], logo=upload(picture())).status_code == 302
    _refused(post(client, place["ic"], logo=upload(picture(colour="red")), remove_logo="y"),
             "Either choose a new image or remove the present one, not both.", {})


def test_the_service_enforces_every_rule_without_the_form(app, place):
    staff, ic = place["staff"], place["ic"]
    change = institution_settings.SettingsChange
    cases = [
        (change(reminder_days=[0]), "reminder_days", "0 is outside that range"),
        (change(reminder_days=[3, 3]), "reminder_days", "3 is given more than once"),
        (change(reminder_days=[1, 2, 3, 4, 5, 6]), "reminder_days", "At most 5 reminders"),
        (change(contact_email="no-at-sign"), "contact_email", "Enter a valid e-mail address."),
        (change(contact_phone="+48 abc"), "contact_phone", "Enter a telephone number"),
        (change(signatory_title="T" * 201), "signatory_title", "At most 200 characters."),
        (change(logo=b"GIF89a"), "logo", "not a PNG or JPEG image"),
        (change(signature=picture() + b"\x00" * 600_000), "signature", "larger than 512 KB"),
        (change(logo=picture(), remove_logo=True), "logo", "not both"),
    ]
    with force_locale("en"):
        for value, field, message in cases:
            with pytest.raises(institution_settings.SettingsRefused, match=message) as refused:
                institution_settings.update_settings(ic, staff, value)
            assert refused.value.field == field
    assert db.session.get(InstitutionSettings, ic.id) is None and not entries()


def test_reminder_days_typed_loosely_are_read_and_ordered():
    assert institution_settings.parse_reminder_days(" 1,7 , 14,") == [14, 7, 1]
    assert institution_settings.parse_reminder_days("") == [] and institution_settings.parse_reminder_days(None) == []


# --------------------------------------------------------------------------- who may


def test_staff_of_another_institution_get_404_and_other_roles_403(app, place, qualification):
    other = make_institution("Warto Szkolić")
    stranger = make_user((Role.STAFF, other))
    for path in (settings_url(place["ic"]), settings_url(place["child"])):
        client = client_as(app, stranger)
        assert client.get(path).status_code == 404
        assert post(client, place["ic"] if "ic" in path else place["child"]).status_code == 404
    # A validating institution's staff do not change their certifying institution's settings.
    assert client_as(app, place["child_staff"]).get(settings_url(place["ic"])).status_code == 404
    assert client_as(app, place["child_staff"]).get(settings_url(place["child"])).status_code == 200
    # The certifying institution's staff manage their validating institutions.
    assert client_as(app, place["staff"]).get(settings_url(place["child"])).status_code == 200
    for role in (Role.ASSESSOR, Role.OPERATOR, Role.APPEALS):
        assert client_as(app, make_user((role, place["ic"]))).get(settings_url(place["ic"])).status_code == 403
    assert client_as(app, make_user(Role.CANDIDATE)).post(settings_url(place["ic"]), data=FORM).status_code == 403
    assert client_as(app, make_user(Role.ADMIN)).get(settings_url(place["ic"])).status_code == 403
    assert client_as(app).get(settings_url(place["ic"])).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(InstitutionSettings)) == 0


def test_the_institution_page_links_the_settings(app, place):
    page = client_as(app, place["staff"]).get("/institution/").get_data(as_text=True)
    assert settings_url(place["ic"]) in page and settings_url(place["child"]) in page


def test_a_validating_institution_without_settings_is_told_whose_apply(app, place):
    institution_settings.update_settings(place["ic"], place["staff"], institution_settings.SettingsChange(reminder_days=[3]))
    page = client_as(app, place["child_staff"]).get(settings_url(place["child"])).get_data(as_text=True)
    assert "those of Fundacja VCC apply" in page


# --------------------------------------------------------------------------- on the certificate


def _images(data: bytes) -> list[tuple[int, int]]:
    """The (width, height) of every image XObject on the PDF's first page."""
    page = PdfReader(io.BytesIO(data)).pages[0]
    found = []
    xobjects = page["/Resources"].get("/XObject") or {}

    def walk(objects):
        for ref in objects.values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                found.append((int(obj["/Width"]), int(obj["/Height"])))
            elif obj.get("/Subtype") == "/Form":
                walk((obj.get("/Resources") or {}).get("/XObject") or {})

    walk(xobjects)
    return found


def _first_page(data: bytes) -> str:
    return " ".join(PdfReader(io.BytesIO(data)).pages[0].extract_text().split())


@pytest.fixture
def world(app, qualification):
    return certification_world(qualification)


def test_the_certificate_prints_the_signatory_and_embeds_the_images(app, world):
    logo, signature = picture(size=(240, 80), colour="teal"), picture("JPEG", (330, 110), "black")
    institution_settings.update_settings(world["ic"], world["staff"], institution_settings.SettingsChange(
        signatory_name="Zofia Podpisująca", signatory_title="Prezes Zarządu", logo=logo, signature=signature))
    without = make_certificate(world["enrolments"][1], world["staff"])  # made after: has the marks too
    certificate = make_certificate(world["enrolments"][0], world["staff"])
    marks = certificate.content["issuer_marks"]
    assert marks == {"institution_id": world["ic"].id, "signatory_name": "Zofia Podpisująca", "signatory_title": "Prezes Zarządu",
                     "logo_sha256": hashlib.sha256(logo).hexdigest(), "signature_sha256": hashlib.sha256(signature).hexdigest()}
    text = _first_page(certificate.pdf)
    assert "Zofia Podpisująca" in text and "Prezes Zarządu" in text and "podpis osoby upoważnionej" in text
    assert sorted(_images(certificate.pdf)) == [(240, 80), (330, 110)]
    assert len(PdfReader(io.BytesIO(certificate.pdf)).pages) == 2  # still one sheet and its supplement
    assert without.content["issuer_marks"] == marks


def test_without_settings_the_certificate_has_no_marks(app, world):
    certificate = make_certificate(world["enrolments"][0], world["staff"])
    assert certificate.content["issuer_marks"] is None
    assert _images(certificate.pdf) == []
    assert "podpis osoby upoważnionej" in _first_page(certificate.pdf)


def test_a_reprint_shows_what_was_issued_and_never_another_image(app, world):
    logo, signature = picture(size=(240, 80)), picture("JPEG", (330, 110), "black")
    staff, ic = world["staff"], world["ic"]
    institution_settings.update_settings(ic, staff, institution_settings.SettingsChange(
        signatory_name="Zofia Podpisująca", signatory_title="Prezes Zarządu", logo=logo, signature=signature))
    certificate = make_certificate(world["enrolments"][0], staff)
    issued_text, issued_images = _first_page(certificate.pdf), _images(certificate.pdf)
    client = client_as(app, staff)
    again = client.post(f"/certification/certificates/{certificate.id}/reprint").data
    assert _first_page(again) == issued_text and _images(again) == issued_images
    # A new signatory and a new logo later: the reprint keeps the issued name and drops the logo
    # (its bytes are no longer the issued ones); the unchanged signature image still prints.
    institution_settings.update_settings(ic, staff, institution_settings.SettingsChange(
        signatory_name="Ktoś Nowy", signatory_title="Wiceprezes", logo=picture(size=(200, 50), colour="red")))
    again = client.post(f"/certification/certificates/{certificate.id}/reprint").data
    text = _first_page(again)
    assert "Zofia Podpisująca" in text and "Prezes Zarządu" in text and "Ktoś Nowy" not in text
    assert _images(again) == [(330, 110)]
    assert certificate.content["issuer_marks"]["signatory_name"] == "Zofia Podpisująca"
    assert pdf.content_sha256(certificate.content) == certificate.content_sha256
    # A certificate issued now carries the new marks.
    newer = make_certificate(world["enrolments"][1], staff)
    assert "Ktoś Nowy" in _first_page(newer.pdf) and sorted(_images(newer.pdf)) == [(200, 50), (330, 110)]
    # Certificates issued before the settings existed (no issuer_marks) still print.
    content = dict(certificate.content)
    del content["issuer_marks"]
    assert _images(services.pdf.render_certificate(content)) == []


def test_the_renderer_takes_the_images_inline_and_still_refuses_the_network(app):
    fetcher = rendering.static_fetcher()
    logo = picture()
    assert fetcher.fetch(institution_settings.image_data_uri(logo)).read() == logo
    for hostile in ("http://evil.example/logo.png", "https://evil.example/sign.jpg", "file:///etc/passwd"):
        with pytest.raises(rendering.RefusedResource):
            fetcher.fetch(hostile)
    with pytest.raises(rendering.RefusedResource):
        rendering.render_pdf('<img src="http://evil.example/logo.png">')


# --------------------------------------------------------------------------- candidates see the contact


def test_candidates_see_the_contact_details_on_their_sessions_and_certificates(app, world):
    staff, ic, child = world["staff"], world["ic"], world["child"]
    candidate = world["candidates"][0]
    page = client_as(app, candidate).get("/sessions/mine").get_data(as_text=True)
    assert "biuro@vcc.example" not in page and "Contact:" not in page
    institution_settings.update_settings(ic, staff, institution_settings.SettingsChange(
        contact_email="biuro@vcc.example", contact_phone="+48 12 345 67 89", contact_note="Sekretariat 8–16"))
    make_certificate(world["enrolments"][0], staff)
    client = client_as(app, candidate)
    # The session is the validating institution's, which has no settings: the certifying one's apply.
    page = client.get("/sessions/mine").get_data(as_text=True)
    assert 'href="mailto:biuro@vcc.example"' in page and "+48 12 345 67 89" in page and "Sekretariat 8–16" in page
    mine = client.get("/certification/mine").get_data(as_text=True)
    assert "Contact the issuer" in mine and "biuro@vcc.example" in mine
    # Its own contact details, once saved, come first.
    institution_settings.update_settings(child, world["child_staff"], institution_settings.SettingsChange(
        contact_email="osrodek@vcc.example"))
    page = client.get("/sessions/mine").get_data(as_text=True)
    assert "osrodek@vcc.example" in page and "biuro@vcc.example" not in page
    # Someone else's session shows nothing of it.
    other = make_user(Role.CANDIDATE)
    enrol(make_session(make_institution("Warto Szkolić"), world["session"].qualification), other)
    assert "vcc.example" not in client_as(app, other).get("/sessions/mine").get_data(as_text=True)
