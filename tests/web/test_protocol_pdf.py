"""The validation protocol's PDF in two layers (examportal/committee/protocol.py): the table of
results by criterion is laid out once per qualification text and kept, each protocol's results
are drawn into it, and the protocol's own pages (facts, decision, votes, notes, signatures) are
laid out for it. What a reader must be able to rely on: each result stands in its criterion's
row, every page carries its number of the whole, nothing of the protocol is lost or stale."""
from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfReader

from examportal import pdf as shared_pdf
from examportal.committee import protocol, services
from examportal.extensions import db
from examportal.models import CriterionResult, Role, ValidationDecision, utcnow
from tests.factories import add_member, enrol, make_institution, make_practical_attempt, make_session, make_theory_result, make_user

NOT_MET = {"1.1.b", "2.4.f"}
NOTES = {"1.1.b": "Kandydat pominął źródła zewnętrzne <b>i</b> rejestry.", "2.5.a": "Raport poprawny; kryterium spełnione."}


@pytest.fixture
def kept_fresh(monkeypatch):
    """No backdrop kept from before the test; each one the protocol lays out, by what it shows."""
    monkeypatch.setattr(shared_pdf, "_kept", type(shared_pdf._kept)())
    made: list[str] = []
    real = protocol.backdrop

    def counted(html, fonts=None, css=None):
        made.append(html)
        return real(html, fonts, css)

    monkeypatch.setattr(protocol, "backdrop", counted)
    return made


@pytest.fixture
def world(app, qualification):
    vcc = make_institution("Fundacja VCC", qualifications=[qualification])
    session = make_session(vcc, qualification, title="Sesja CRM — protokół")
    chair = make_user((Role.ASSESSOR, vcc), first_name="Edward", last_name="Przewodniczący")
    add_member(session, chair, declared=True).is_chair = True
    add_member(session, make_user((Role.ASSESSOR, vcc), first_name="Felicja", last_name="Członkini"), declared=True)
    db.session.commit()
    return {"session": session, "chair": chair, "qualification": qualification}


def _candidate(world, first="Zofia", last="Żółkiewska-Gęślak", not_met=NOT_MET, notes=NOTES):
    enrolment = enrol(world["session"], make_user(Role.CANDIDATE, first_name=first, last_name=last))
    make_theory_result(enrolment, world["qualification"])
    make_practical_attempt(enrolment)
    for criterion in services.all_criteria(enrolment):
        db.session.add(CriterionResult(enrolment_id=enrolment.id, criterion_id=criterion.id, met=criterion.code not in not_met,
                                       note=notes.get(criterion.code), recorded_by_id=world["chair"].id, recorded_at=utcnow()))
    db.session.commit()
    return enrolment


def _protocol(enrolment) -> bytes:
    decision = ValidationDecision(enrolment_id=enrolment.id, positive=False, decided_by_id=enrolment.candidate_id, decided_at=utcnow(),
                                  justification="Kryteria 1.1.b i 2.4.f niespełnione.")
    return services.protocol_pdf(enrolment, decision)


def _placed(data: bytes) -> list[list[tuple[str, float, float]]]:
    """Each page's text runs with where they begin on the page (points from its bottom left)."""
    pages = []
    for page in PdfReader(BytesIO(data)).pages:
        runs: list[tuple[str, float, float]] = []

        def visit(text, cm, tm, _font, _size, runs=runs):
            if text.strip():
                x, y = tm[4], tm[5]
                runs.append((text.strip(), x * cm[0] + y * cm[2] + cm[4], x * cm[1] + y * cm[3] + cm[5]))

        page.extract_text(visitor_text=visit)
        pages.append(runs)
    return pages


def _text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages).split())


def test_each_result_is_printed_in_its_criterions_row(world, kept_fresh):
    enrolment = _candidate(world)
    pages = _placed(_protocol(enrolment))
    summary = services.summary(enrolment)
    expected = {c.code: "niespełnione" if c.code in NOT_MET else "spełnione" for c in services.all_criteria(enrolment)}
    expected |= {o.code: "potwierdzony" if o.confirmed else "niepotwierdzony" for s in summary.sets for o in s.outcomes}
    expected |= {f"Zestaw {s.number}:": "potwierdzony" if s.confirmed else "niepotwierdzony" for s in summary.sets}
    assert "niepotwierdzony" in expected.values() and "potwierdzony" in expected.values()  # both kinds are checked
    words = {"spełnione", "niespełnione", "potwierdzony", "niepotwierdzony"}
    found: dict[str, str] = {}
    for runs in pages:
        results = [(text, x, y) for text, x, y in runs if text in words]
        for text, x, y in runs:
            head = " ".join(text.split()[:2]) if text.startswith("Zestaw ") else text.split()[0]
            if head not in expected or head in found:
                continue
            beside = [word for word, rx, ry in results if abs(ry - y) < 1 and rx > x + 300]
            assert len(beside) == 1, (head, beside)
            found[head] = beside[0]
    assert found == expected


def test_the_criteria_notes_are_listed_with_their_results(world, kept_fresh):
    text = _text(_protocol(_candidate(world)))
    assert "Uwagi komisji do kryteriów" in text
    assert "1.1.b niespełnione Kandydat pominął źródła zewnętrzne <b>i</b> rejestry." in text  # as typed, not as markup
    assert "2.5.a spełnione Raport poprawny; kryterium spełnione." in text
    assert "Uwagi komisji do kryteriów" not in _text(_protocol(_candidate(world, "Jan", "Bez-Uwag", notes={})))


def test_every_page_carries_its_number_of_the_whole(world, kept_fresh):
    pages = _placed(_protocol(_candidate(world)))
    assert len(pages) >= 4
    for number, runs in enumerate(pages, start=1):
        bottom = sorted((x, text) for text, x, y in runs if y < 60)  # the bottom margin, 20 mm
        assert " ".join(text for _x, text in bottom) == f"Strona {number} z {len(pages)}"
        assert bottom[0][0] > 400  # at its right
    text = _text(_protocol(_candidate(world, "Jan", "Drugi")))
    # the protocol's own pages around the table: the facts first, the signatures last
    assert text.index("Komisja walidacyjna") < text.index("Wyniki według kryteriów weryfikacji") < text.index("Podpisy członków komisji")
    assert "Głosowanie nad decyzją Brak projektów decyzji poddanych głosowaniu w portalu." in text  # none was voted on here


def test_the_outline_lists_each_heading_at_its_page_in_the_order_printed(world, kept_fresh):
    reader = PdfReader(BytesIO(_protocol(_candidate(world))))
    assert reader.trailer["/Root"]["/PageMode"] == "/UseOutlines"  # a reader opens it with the outline shown
    (title, sections), = [reader.outline]  # one heading, the sections nested under it
    assert title.title == "Protokół walidacji" and reader.get_destination_page_number(title) == 0
    headings = [(entry.title, reader.get_destination_page_number(entry)) for entry in sections]
    assert [heading for heading, _page in headings] == [
        "Decyzja komisji", "Głosowanie nad decyzją", "Wyniki według kryteriów weryfikacji",
        "Uwagi komisji do kryteriów", "Podpisy członków komisji"]
    pages = dict(headings)
    # each at the page that prints it: the table's heading on the table's first page, the signatures after it
    for heading, page in pages.items():
        assert heading in reader.pages[page].extract_text(), heading
    assert pages["Głosowanie nad decyzją"] < pages["Wyniki według kryteriów weryfikacji"] < pages["Uwagi komisji do kryteriów"]
    assert pages["Podpisy członków komisji"] == len(reader.pages) - 1


def test_the_table_is_laid_out_once_for_its_qualifications_text_and_holds_no_candidates_data(world, kept_fresh):
    first, second = _candidate(world), _candidate(world, "Jan", "Kowalski-Drugi", not_met={"2.1.a"}, notes={})
    first_text, second_text = _text(_protocol(first)), _text(_protocol(second))
    tables = [html for html in kept_fresh if "Wyniki według kryteriów weryfikacji" in html and "Protokół walidacji</h1>" not in html]
    assert len(tables) == 1 and len(kept_fresh) == 3  # one table, each protocol's own pages
    assert "Żółkiewska" not in tables[0] and "Kowalski" not in tables[0] and "spełnione</span>" not in tables[0].replace("niespełnione</span>", "")
    assert "Zofia Żółkiewska-Gęślak" in first_text and "Kowalski" not in first_text
    assert "Jan Kowalski-Drugi" in second_text and "Żółkiewska" not in second_text
    # A criterion's wording changed in the qualification: its next protocol shows the new text, from a new table.
    criterion = next(c for c in services.all_criteria(second) if c.code == "1.1.a")
    criterion.text_pl = "wymienia zasady pozyskiwania danych (brzmienie zmienione)"
    db.session.commit()
    assert "(brzmienie zmienione)" in _text(_protocol(second)) and len(kept_fresh) == 5
