"""The certificate's PDF: A4, two pages (the certificate and its supplement), Polish text with
diacritics, the outcomes from the qualification data, the validity rule from the definition, the
QR code to the verification page; rendered with a fetcher that serves only local static files;
a reprint renders the same content, and every render's SHA-256 is stored and audited."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import segno
from pypdf import PdfReader
from sqlalchemy import select

from examportal.certification import pdf, services
from examportal.extensions import db
from examportal.models import AuditEntry
from tests.certtools import certification_world, make_certificate
from tests.factories import client_as


@pytest.fixture
def world(app, qualification):
    world = certification_world(qualification)
    world["certificate"] = make_certificate(world["enrolments"][0], world["staff"])
    return world


def _pages(data: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def test_the_certificate_and_its_supplement(app, world, qualification):
    certificate = world["certificate"]
    reader = PdfReader(io.BytesIO(certificate.pdf))
    assert len(reader.pages) == 2
    for page in reader.pages:  # A4 portrait, in points
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    first, supplement = _pages(certificate.pdf)
    assert "CERTYFIKAT" in first and f"nr {certificate.number}" in first
    assert "Łucja Żółkiewska" in first and "data urodzenia: 17.05.1990" in first
    pesel = world["candidates"][0].pesel
    assert f"PESEL: *******{pesel[-4:]}" in first and pesel not in first + supplement
    assert f"„{qualification.name_pl}”" in first.replace("„ ", "„") or qualification.name_pl in first
    assert "kod kwalifikacji w Zintegrowanym Rejestrze Kwalifikacji: 13881" in first
    assert "Poziom Polskiej Ramy Kwalifikacji" not in first + supplement  # the definition states no PRK level
    assert "Fundacja VCC" in first and "instytucję walidującą: Ośrodek VCC" in first
    assert f"Kraków, dnia {certificate.issued_on:%d.%m.%Y}" in first
    assert f"Ważny do dnia {certificate.valid_until:%d.%m.%Y}" in first
    assert "pieczęć instytucji certyfikującej" in first and "podpis osoby upoważnionej" in first
    # The supplement: every outcome set and learning outcome, from the qualification's data.
    assert f"Suplement do certyfikatu nr {certificate.number}" in supplement
    for outcome_set in qualification.outcome_sets:
        assert f"Zestaw efektów uczenia się: {outcome_set.name_pl}" in supplement
        for outcome in outcome_set.outcomes:
            assert f"{outcome.code} {outcome.name_pl}" in supplement
    assert sum(len(s.outcomes) for s in qualification.outcome_sets) == 8
    # The validity rule and renewal condition, quoted from the definition.
    assert f"Certyfikat jest ważny 5 lat od daty wydania: od {certificate.issued_on:%d.%m.%Y} do {certificate.valid_until:%d.%m.%Y}" in supplement
    assert " ".join(qualification.validity_pl.split()) in supplement
    assert "przez okres min. 1 roku" in supplement
    url = certificate.content["verification_url"]
    assert url.endswith(f"/verify/{certificate.verification_code}") and url in supplement.replace(" ", "")


def _qr_modules(png: Path, size: int) -> list[list[bool]]:
    """Read a QR code of ``size`` modules back from a rendered page: its top edge is the first
    row with a long dark run (the finder patterns' edge); each module is sampled at its centre."""
    from PIL import Image

    image = Image.open(png).convert("L")
    width, height = image.size
    pixels = image.load()
    dark = [[pixels[x, y] < 100 for x in range(width)] for y in range(height)]
    for top in range(height):
        runs, start = [], None
        for x in range(width + 1):
            if x < width and dark[top][x]:
                start = x if start is None else start
            elif start is not None:
                runs.append((start, x))
                start = None
        long_runs = [r for r in runs if r[1] - r[0] >= width // 60]
        if len(long_runs) >= 2:
            left, right = long_runs[0][0], long_runs[-1][1]
            break
    else:
        raise AssertionError("no QR code found on the page")
    module = (right - left) / size
    return [[dark[int(top + (row + 0.5) * module)][int(left + (col + 0.5) * module)] for col in range(size)]
            for row in range(size)]


def test_the_qr_code_is_the_verification_link(app, world, tmp_path):
    import subprocess

    certificate = world["certificate"]
    url = certificate.content["verification_url"]
    assert pdf.qr_drawing(segno.make(url, error="m").matrix, (0, 0, 100, 100), 200).endswith(b" re\nf")
    source = tmp_path / "certificate.pdf"
    source.write_bytes(certificate.pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-f", "2", "-l", "2", str(source), str(tmp_path / "page")], check=True)
    (png,) = tmp_path.glob("page*.png")
    expected = segno.make(url, error="m")
    matrix = [[bool(cell) for cell in row] for row in expected.matrix]
    assert _qr_modules(png, len(matrix)) == matrix  # the supplement's QR code encodes exactly the verification link


def test_a_prk_level_is_printed_only_when_the_definition_states_it(app, world, qualification):
    qualification.prk_level = 4
    db.session.commit()
    certificate = make_certificate(world["enrolments"][1], world["staff"])
    first, supplement = _pages(certificate.pdf)
    assert "Poziom Polskiej Ramy Kwalifikacji: 4" in first and "poziom PRK 4" in supplement
    assert certificate.content["qualification"]["prk_level"] == 4
    assert services.public_view(certificate, "en")["prk_level"] == 4


def test_a_reprint_renders_the_same_content_and_is_audited(app, world, qualification):
    certificate = world["certificate"]
    original = _pages(certificate.pdf)
    # Later changes to the person's account or the qualification do not change the issued document.
    holder = world["candidates"][0]
    holder.last_name = "Inna"
    qualification.name_pl = "Nazwa po zmianie definicji"
    db.session.commit()
    response = client_as(app, world["staff"]).post(f"/certification/certificates/{certificate.id}/reprint")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    again = response.data
    assert _pages(again) == original
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificate.reprinted"))
    assert entry.after == {"number": certificate.number, "pdf_sha256": hashlib.sha256(again).hexdigest(),
                           "content_sha256": certificate.content_sha256}
    assert entry.actor_id == world["staff"].id
    # Only the issuer's staff print it, and never once it is revoked.
    assert client_as(app, world["child_staff"]).post(f"/certification/certificates/{certificate.id}/reprint").status_code == 400
    services.change_status(world["staff"], certificate, "revoke", "Fałszerstwo.")
    response = client_as(app, world["staff"]).post(f"/certification/certificates/{certificate.id}/reprint")
    assert response.status_code == 400 and "This certificate is revoked" in response.get_data(as_text=True)
    assert db.session.query(AuditEntry).filter_by(action="certificate.reprinted").count() == 1


def test_the_stored_pdf_matches_its_audited_fingerprint(app, world):
    certificate = world["certificate"]
    assert hashlib.sha256(certificate.pdf).hexdigest() == certificate.pdf_sha256
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificate.rendered",
                                                       AuditEntry.object_id == str(certificate.id)))
    assert entry.after["pdf_sha256"] == certificate.pdf_sha256
    assert entry.after["content_sha256"] == certificate.content_sha256 == pdf.content_sha256(certificate.content)
    # The content the PDF is rendered from holds the masked PESEL only.
    assert world["candidates"][0].pesel not in str(certificate.content)


def test_polish_plural_of_years():
    assert [pdf.polish_years(n) for n in (1, 2, 4, 5, 12, 22, 25)] == [
        "1 rok", "2 lata", "4 lata", "5 lat", "12 lat", "22 lata", "25 lat"]
