"""The certificate's PDF in two layers (examportal/certification/pdf.py): the part every
certificate of one qualification and issuer shares is rendered once and kept, each holder's
blocks are drawn over it. A kept backdrop serves only the same shared data: another signatory,
qualification text or issuer is a new one, so no print shows another's shared text, and no
holder's data is ever in a backdrop another certificate reuses."""
from __future__ import annotations

import copy
import io
import re
import subprocess

import pytest
from pypdf import PdfReader

from examportal.certification import pdf


def _content(number: str, first: str, last: str, code: str) -> dict:
    return {
        "number": number,
        "verification_code": code,
        "verification_url": f"https://portal.example.pl/verify/{code}",
        "holder": {"first_name": first, "last_name": last, "birth_date": "1990-05-17", "pesel_masked": "*******4572"},
        "qualification": {
            "code": "13881", "name": {"pl": "Zarządzanie relacjami z klientem", "en": "CRM"}, "prk_level": None,
            "validity_years": 5, "validity_text": {"pl": "Ważność przedłuża analiza dowodów pracy.", "en": ""},
            "outcome_sets": [{"number": "1", "name": {"pl": "Budowanie bazy klientów", "en": ""},
                              "outcomes": [{"code": "1.1", "name": {"pl": "Pozyskuje dane klientów", "en": ""}}]}],
        },
        "institution": {"name": "Fundacja VCC", "short_name": "VCC", "city": "Kraków", "address": None},
        "validating_institution": {"name": "Ośrodek VCC", "short_name": "OVCC", "city": "Kraków", "address": None},
        "issued_on": "2026-12-03", "valid_until": "2031-12-03", "validated_on": "2026-11-19", "supersedes": None,
        "issuer_marks": {"institution_id": None, "signatory_name": "Zofia Podpisująca", "signatory_title": "Prezes Zarządu",
                         "logo_sha256": None, "signature_sha256": None},
    }


def _pages(data: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


@pytest.fixture
def backdrops(app, monkeypatch):
    """Each backdrop rendered during the test (none kept from before it)."""
    monkeypatch.setattr(pdf, "_backdrops", type(pdf._backdrops)())
    made = []
    real = pdf.backdrop

    def counted(html):
        made.append(html)
        return real(html)

    monkeypatch.setattr(pdf, "backdrop", counted)
    return made


def test_certificates_of_one_qualification_and_issuer_share_a_backdrop(backdrops):
    mazur = _content("VCC/13881/2026/000001", "Jacek", "Mazur", "A" * 32)
    nowak = _content("VCC/13881/2026/000002", "Anna", "Nowak-Żółć", "B" * 32)
    nowak.update(issued_on="2027-01-15", valid_until="2032-01-15", validated_on="2027-01-02")
    first, supplement = _pages(pdf.render_certificate(mazur))
    assert len(backdrops) == 1
    other_first, other_supplement = _pages(pdf.render_certificate(nowak))
    assert len(backdrops) == 1  # the same backdrop, drawn under the second holder's blocks
    assert "Jacek Mazur" not in backdrops[0] and "Mazur" not in backdrops[0] and "A" * 32 not in backdrops[0]
    for text, own, other in ((first + supplement, mazur, nowak), (other_first + other_supplement, nowak, mazur)):
        name = f"{own['holder']['first_name']} {own['holder']['last_name']}"
        assert name in text and f"nr {own['number']}" in text and own["verification_url"] in text.replace(" ", "")
        assert other["holder"]["last_name"] not in text and other["number"] not in text and other["verification_code"] not in text
    # The shared text is there all the same, and each holder's dates in their lines.
    assert "CERTYFIKAT" in first and "Zofia Podpisująca" in first and "Pozyskuje dane klientów" in supplement
    assert "Kraków, dnia 03.12.2026" in first and "Ważny do dnia 03.12.2031" in first
    assert "Kraków, dnia 15.01.2027" in other_first and "Ważny do dnia 15.01.2032" in other_first
    assert "walidacji z dnia 02.01.2027" in other_first and "03.12.2026" not in other_first + other_supplement
    assert "Certyfikat jest ważny 5 lat od daty wydania: od 15.01.2027 do 15.01.2032" in other_supplement
    assert "Suplement do certyfikatu nr VCC/13881/2026/000002" in other_supplement


@pytest.mark.parametrize("change", ["signatory", "title", "qualification", "issuer", "validating"])
def test_a_change_of_the_shared_data_is_a_new_backdrop(backdrops, change):
    before = _content("VCC/13881/2026/000001", "Jacek", "Mazur", "A" * 32)
    after = copy.deepcopy(before)
    old, new = {
        "signatory": ("Zofia Podpisująca", "Ktoś Nowy"),
        "title": ("Prezes Zarządu", "Wiceprezes"),
        "qualification": ("Zarządzanie relacjami z klientem", "Nazwa po zmianie definicji"),
        "issuer": ("Fundacja VCC", "Instytut Nowy"),
        "validating": ("Ośrodek VCC", "Ośrodek Inny"),
    }[change]
    target = {"signatory": (after["issuer_marks"], "signatory_name"), "title": (after["issuer_marks"], "signatory_title"),
              "qualification": (after["qualification"]["name"], "pl"), "issuer": (after["institution"], "name"),
              "validating": (after["validating_institution"], "name")}[change]
    target[0][target[1]] = new
    assert old in " ".join(_pages(pdf.render_certificate(before)))
    text = " ".join(_pages(pdf.render_certificate(after)))
    assert len(backdrops) == 2
    assert new in text and old not in text
    # And the first one is still kept for a reprint of the first certificate.
    assert old in " ".join(_pages(pdf.render_certificate(before))) and len(backdrops) == 2


def test_a_duplicate_has_a_backdrop_of_its_own_and_marks_both_pages(backdrops):
    content = _content("VCC/13881/2026/000001", "Jacek", "Mazur", "A" * 32)
    plain = _pages(pdf.render_certificate(content))
    first, supplement = _pages(pdf.render_certificate(content, duplicate_issued_on="2027-03-04"))
    assert len(backdrops) == 2  # the duplicate's mark moves the page's text down
    assert "DUPLIKAT" in first and "wydany dnia 04.03.2027" in first and "(duplikat z dnia 04.03.2027)" in supplement
    assert "DUPLIKAT" not in plain[0] + plain[1]


def test_a_long_name_is_set_smaller_in_its_place(backdrops, tmp_path):
    content = _content("VCC/13881/2026/000001", "Małgorzata Aleksandra Konstancja",
                       "Brzęczyszczykiewicz-Konstantynopolitańska", "A" * 32)
    data = pdf.render_certificate(content)
    name = "Małgorzata Aleksandra Konstancja Brzęczyszczykiewicz-Konstantynopolitańska"
    source = tmp_path / "long.pdf"
    source.write_bytes(data)
    # pdftotext -bbox: the name's words lie between "Zaświadcza się, że" and the birth date below it.
    boxes = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox", str(source), "-"], check=True,
                           capture_output=True, text=True).stdout
    words = [(word, float(y_min), float(y_max)) for y_min, y_max, word in
             re.findall(r'<word xMin="[^"]+" yMin="([^"]+)" xMax="[^"]+" yMax="([^"]+)">([^<]*)</word>', boxes)]
    lead_bottom = next(y_max for word, _y_min, y_max in words if word == "że")
    data_top = next(y_min for word, y_min, _y_max in words if word == "urodzenia:")
    between = "".join(word for word, y_min, y_max in words if y_min > lead_bottom and y_max <= data_top + 0.5)
    assert between == name.replace(" ", "")  # all of it, in its place, over nothing else
    assert name.replace(" ", "") in _pages(data)[0].replace(" ", "")
