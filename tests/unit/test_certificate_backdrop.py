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

from examportal import pdf as shared_pdf
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
    monkeypatch.setattr(shared_pdf, "_kept", type(shared_pdf._kept)())
    made = []
    real = pdf.backdrop

    def counted(html, fonts=None):
        made.append(html + (fonts or ""))  # what it was rendered from: its own text and its fonts' repertoire
        return real(html, fonts)

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


def _fonts(data: bytes) -> dict[str, bytes]:
    """Each embedded font file of a PDF, by its font's name."""
    reader = PdfReader(io.BytesIO(data))
    found = {}
    for page in reader.pages:
        for reference in page["/Resources"]["/Font"].values():
            font = reference.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            found[str(font["/BaseFont"])] = descendant["/FontDescriptor"]["/FontFile2"].get_data()
    return found


def test_every_certificate_carries_the_same_fonts_whatever_its_holders_letters(backdrops):
    """The holder's text is drawn in the backdrop's fonts, which carry a fixed repertoire: a PDF's
    fonts tell nothing of the other holders' names printed with the same backdrop."""
    first = pdf.render_certificate(_content("VCC/13881/2026/000001", "Jacek", "Mazur", "A" * 32))
    second = pdf.render_certificate(_content("VCC/13881/2026/000002", "Źdźbło", "Ćwikła-Żółć", "B" * 32))
    assert len(backdrops) == 1
    assert _fonts(first) == _fonts(second) and len(_fonts(first)) >= 4
    assert "Źdźbło Ćwikła-Żółć" in _pages(second)[0] and "Jacek Mazur" in _pages(first)[0]


def test_a_letter_outside_the_repertoire_gets_a_backdrop_whose_fonts_carry_it(backdrops):
    content = _content("VCC/13881/2026/000003", "Олена", "Шевченко", "C" * 32)
    first, supplement = _pages(pdf.render_certificate(content))
    assert "Олена Шевченко" in first and "Олена Шевченко · kwalifikacja rynkowa" in supplement
    assert len(backdrops) == 1 and "Олена" not in backdrops[0] and "Ш" in backdrops[0]  # the letters, never the name
    # A holder of the usual letters keeps the usual backdrop (kept apart from that one).
    pdf.render_certificate(_content("VCC/13881/2026/000004", "Jan", "Nowak", "D" * 32))
    assert len(backdrops) == 2 and "Ш" not in backdrops[1]


def test_a_supplement_of_several_pages_carries_the_number_on_each_and_the_link_where_the_qr_code_is(backdrops):
    content = _content("VCC/13881/2026/000005", "Jacek", "Mazur", "E" * 32)
    content["qualification"]["outcome_sets"] = [
        {"number": str(s), "name": {"pl": f"Zestaw {s}", "en": ""},
         "outcomes": [{"code": f"{s}.{o}", "name": {"pl": f"Efekt uczenia się numer {o} zestawu {s}, opisany dłużej " * 2, "en": ""}}
                      for o in range(1, 9)]} for s in range(1, 5)]
    data = pdf.render_certificate(content)
    pages = _pages(data)
    assert len(pages) >= 3
    for number, supplement_page in enumerate(pages[1:], start=2):
        assert "Suplement do certyfikatu nr VCC/13881/2026/000005" in supplement_page
        assert f"Strona {number} z {len(pages)}" in supplement_page  # the pages of the certificate, no other
    assert content["verification_url"] in pages[-1].replace(" ", "") and "E" * 32 in pages[-1]
    assert content["verification_url"] not in "".join(pages[1:-1]).replace(" ", "")
    drawn = [page.get_contents().get_data() for page in PdfReader(io.BytesIO(data)).pages]
    assert drawn[0].count(b" re\n") > 50 and drawn[-1].count(b" re\n") > 50  # a QR code where each page's place is
    assert all(page.count(b" re\n") == 0 for page in drawn[1:-1])


def test_a_block_the_backdrop_has_no_place_for_stops_the_print(backdrops, monkeypatch):
    real = pdf.render_template

    def slipped(name, **context):
        text = real(name, **context)
        return text + '<p data-slot="nowhere">x</p>' if context.get("part") == "overlay" else text

    monkeypatch.setattr(pdf, "render_template", slipped)
    with pytest.raises(ValueError, match="nowhere"):
        pdf.render_certificate(_content("VCC/13881/2026/000006", "Jacek", "Mazur", "F" * 32))


def test_a_letter_no_font_has_and_a_control_character_spoil_nothing_else(backdrops):
    """A holder's name with a character no installed font has (here a CJK letter: the machine has
    none) and a control character: the rest of their name and all the shared text read as ever."""
    content = _content("VCC/13881/2026/000007", "Zoë\x07", "龍O'Brien", "G" * 32)
    first, supplement = _pages(pdf.render_certificate(content))
    assert "Zaświadcza się, że" in first and "Kraków, dnia 03.12.2026" in first and "Pozyskuje dane klientów" in supplement
    assert "Zoë O'Brien" in first.replace("龍", "") and "\x07" not in first
