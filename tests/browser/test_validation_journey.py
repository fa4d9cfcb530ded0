"""One candidate's whole validation in a real browser, every step through the pages people use.

The operator unlocks the theory test and the candidate passes it; staff release the result. The
candidate does the practical exam in the sandbox CRM beside the task sheet and finishes. Two
assessors declare impartiality and score blind; the chair records the results and a positive
decision; the candidate sees it and the protocol PDF is the stored one, in Polish, with the
candidate's name spelt right.
"""
from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import PracticalAttempt, Role, ValidationDecision
from tests.factories import (
    add_member,
    enrol,
    make_institution,
    make_session,
    make_user,
    theory_item_dicts,
    write_theory_bank,
)

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/journey")

COMPANY = "Leśna Polana Sp. z o.o."
COMPANY_NIP = "7781234563"
PIPELINE = "Abonament księgowy — Leśna Polana"
STAGES = [("Pierwszy kontakt", "10"), ("Spotkanie i analiza", "40"), ("Oferta i umowa", "70")]
OPPORTUNITY = "Abonament roczny — Leśna Polana"
TEMPLATE = "Oferta abonamentowa (szablon egzaminacyjny)"
TEMPLATE_BODY = (
    "<h1>Oferta {{ oferta.numer }}: {{ oferta.tytul }}</h1>\n"
    "<p>Dla: {{ klient.nazwa }}, NIP {{ klient.nip }}; {{ kontakt.imie_nazwisko }}</p>\n"
    "{{ tabela_pozycji }}\n<p>Razem brutto: {{ suma_brutto }} {{ waluta }}; ważna do {{ waznosc_do }}.</p>\n"
    "<p>Opiekun klienta: {{ sprzedawca.imie_nazwisko }}</p>"
)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _flash(page: Page, text: str) -> None:
    expect(page.locator(".flash").filter(has_text=text).first).to_be_visible()


# --------------------------------------------------------------------------- theory


ITEMS_BY_STEM = {item["stem"]["en"]: item for item in theory_item_dicts()}


def _answer_correctly(page: Page) -> None:
    """Give the bank's key as the answer to the question on screen, by the texts a person reads
    (the page's ids are opaque: they do not reveal the bank's ids)."""
    form = page.locator("form.question:not([hidden])")
    item = ITEMS_BY_STEM[form.locator("h1.stem").inner_text().strip()]
    key = item["key"]
    kind = item["type"]

    def text(part: str, oid: str) -> str:
        return next(o["text"]["pl"] for o in item[part] if o["id"] == oid)

    if kind in ("single_choice", "multiple_choice"):
        for option in key:
            form.locator("label.radio", has_text=text("options", option)).locator("input").check()
    elif kind == "true_false":
        form.locator("label.radio", has_text=re.compile(r"^\s*(True)\s*$" if key else r"^\s*(False)\s*$")).locator("input").check()
    elif kind == "ordering":
        for place, option in enumerate(key, start=1):
            form.locator("label.order", has_text=text("options", option)).locator("select").select_option(str(place))
    elif kind == "matching":
        for premise, response in key.items():
            select = form.locator("label.match", has_text=text("premises", premise)).locator("select")
            select.select_option(label=text("responses", response))
    else:  # pragma: no cover - the synthetic bank has only these types
        raise AssertionError(kind)


def _take_theory_test(page: Page, enrolment_id: int) -> None:
    page.goto("/sessions/mine")
    page.get_by_role("link", name="Open the theory test").click()
    page.wait_for_url(f"**/theory/enrolments/{enrolment_id}")
    expect(page.locator("#attempt-status")).to_have_attribute("data-status", "unlocked")
    page.get_by_role("button", name="Start the test").click()
    page.wait_for_selector("#theory")
    page.wait_for_load_state("load")  # theory.js has run: "Next" switches questions on the page
    attempt_id = page.locator("#theory").get_attribute("data-attempt")
    total = int(page.locator("#theory").get_attribute("data-total"))  # the page renders its own question only
    _shot(page, "02-theory-question")
    for position in range(1, total + 1):
        expect(page.locator("#theory")).to_have_attribute("data-current", str(position))
        _answer_correctly(page)
        if position < total:
            page.locator("form.question:not([hidden]) button[value=next]").click()
    # Every answer has reached the server before leaving the page (the queue lives in this page's script).
    page.wait_for_function(f"() => localStorage.getItem('theory-queue-{attempt_id}') === '[]'")
    page.locator("form.question:not([hidden]) button[value=review]").click()
    page.wait_for_url("**/review")
    expect(page.get_by_text(f"You have answered {total} of {total} questions.")).to_be_visible()
    page.get_by_label("I have checked my answers").check()
    page.get_by_role("button", name="Submit the test").click()
    page.wait_for_url(f"**/theory/enrolments/{enrolment_id}")
    _flash(page, "Your test has been submitted")
    expect(page.locator("#theory-result-pending")).to_be_visible()


# --------------------------------------------------------------------------- practical


def _crm_nav(page: Page, label: str) -> None:
    page.locator("nav.crm-nav").get_by_role("link", name=label, exact=True).click()


def _create_company_and_contact(page: Page) -> None:
    page.locator("header.crm-topbar").get_by_role("link", name="+ Company").click()
    page.fill("#name", COMPANY)
    page.fill("#nip", COMPANY_NIP)
    page.fill("#industry", "gastronomia")
    page.select_option("#size", "micro")
    page.select_option("#region", "łódzkie")
    page.fill("#city", "Łódź")
    page.fill("#address", "ul. Piotrkowska 120")
    page.fill("#email", "biuro@lesna-polana.pl")
    page.fill("#phone", "42 630 11 22")
    page.fill("#source", "telefon od klienta")
    page.get_by_role("button", name="Save", exact=True).click()
    _flash(page, f"Company {COMPANY} created.")

    page.locator("header.crm-topbar").get_by_role("link", name="+ Contact").click()
    page.fill("#first_name", "Tomasz")
    page.fill("#last_name", "Wróbel")
    page.fill("#position", "właściciel")
    page.fill("#company", COMPANY)
    page.fill("#email", "tomasz.wrobel@lesna-polana.pl")
    page.fill("#phone", "601 202 303")
    page.fill("#source", "telefon od klienta")
    page.select_option("#legal_basis", "contract")
    page.get_by_role("button", name="Save", exact=True).click()
    _flash(page, "Contact Tomasz Wróbel created.")


def _create_pipeline(page: Page) -> None:
    _crm_nav(page, "Sales pipelines")
    page.get_by_role("link", name="+ New pipeline").click()
    page.fill("#name", PIPELINE)
    page.select_option("#customer_type", "b2b")
    page.select_option("#offer_kind", "service")
    page.select_option("#sales_form", "direct")
    page.fill("#goal_specific", "Pozyskać nowych klientów na stałą obsługę księgową spośród firm gastronomicznych.")
    page.select_option("#goal_metric", "new_customers")
    page.fill("#goal_target", "5")
    page.fill("#goal_deadline", (date.today() + timedelta(days=90)).isoformat())
    page.fill("#goal_achievable", "W zeszłym kwartale pozyskaliśmy 4 klientów z tej branży.")
    page.fill("#goal_relevance", "Stałe abonamenty stabilizują przychody biura.")
    page.get_by_role("button", name="Save", exact=True).click()
    _flash(page, f"Pipeline {PIPELINE} created.")
    for name, probability in STAGES:
        form = page.locator("#add-stage form")
        form.locator("#name").fill(name)
        form.locator("#probability").fill(probability)
        form.locator("#duration_days").fill("7")
        form.get_by_role("button", name="Save stage").click()
        _flash(page, f"Stage {name} added.")
    expect(page.locator("#stages tbody tr")).to_have_count(len(STAGES))


def _create_opportunity_with_task(page: Page) -> None:
    _crm_nav(page, "Opportunities")
    page.get_by_role("link", name="+ New opportunity").click()
    page.fill("#name", OPPORTUNITY)
    page.fill("#company", COMPANY)
    first_stage = page.locator(f"#stage_id optgroup[label='{PIPELINE}'] option").first.get_attribute("value")
    page.select_option("#stage_id", first_stage)
    page.fill("#value", "14 400,00")
    page.fill("#expected_close_date", (date.today() + timedelta(days=30)).isoformat())
    page.fill("#owner_name", "Zażółć Gęślińska")
    page.get_by_role("button", name="Save", exact=True).click()
    _flash(page, f"Opportunity {OPPORTUNITY} created in stage {STAGES[0][0]}.")

    tasks = page.locator("#tasks")
    tasks.locator("#title").fill("Umówić spotkanie i zebrać dokumenty")
    tasks.locator("#due_date").fill((date.today() + timedelta(days=3)).isoformat())
    tasks.locator("#priority").select_option("high")
    tasks.get_by_role("button", name="Add task").click()
    expect(page.locator("#tasks tbody tr").filter(has_text="Umówić spotkanie")).to_be_visible()


def _move_on_board(page: Page) -> None:
    # From the opportunity, its pipeline's board (the breadcrumb link).
    page.locator(".page-header").get_by_role("link", name=PIPELINE).click()
    page.wait_for_url(re.compile(r"/board\?pipeline=\d+"))
    card = page.locator(".board-card").filter(has_text=OPPORTUNITY)
    expect(card).to_be_visible()
    card.locator("select[name=stage_id]").select_option(label=f"2. {STAGES[1][0]}")
    card.get_by_role("button", name="Move to").click()
    _flash(page, f"{OPPORTUNITY} moved from {STAGES[0][0]} to {STAGES[1][0]}.")
    column = page.locator("section.board-column").filter(has=page.locator(f"header:has-text('{STAGES[1][0]}')"))
    expect(column.locator(".board-card").filter(has_text=OPPORTUNITY)).to_be_visible()
    _shot(page, "04-sales-board")


def _mark_won(page: Page) -> None:
    page.locator(".board-card").filter(has_text=OPPORTUNITY).get_by_role("link", name=OPPORTUNITY).click()
    close = page.locator("#close")
    close.locator("#outcome").select_option("won")
    close.locator("#reason").fill("Klient podpisał umowę abonamentową po analizie dokumentów.")
    close.get_by_role("button", name="Close opportunity").click()
    _flash(page, "Opportunity marked as won.")
    expect(page.locator("dl.props dd").filter(has_text="Klient podpisał umowę abonamentową")).to_be_visible()


def _prepare_offer(page: Page) -> None:
    _crm_nav(page, "Offer templates")
    page.get_by_role("link", name="+ New template").click()
    page.fill("#name", TEMPLATE)
    page.fill("#validity_days", "30")
    page.fill("#body", TEMPLATE_BODY)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".flash--success").first).to_be_visible()

    _crm_nav(page, "Offers")
    page.get_by_role("link", name="+ New offer").click()
    page.wait_for_url("**/offers/new**")
    page.wait_for_load_state("load")  # the script that reloads on a company change must be attached
    # Choosing the company reloads the form with that company's contacts.
    with page.expect_navigation():
        page.select_option("#company_id", label=COMPANY)
    contact = page.locator("#contact_id option").filter(has_text="Wróbel").get_attribute("value")
    page.select_option("#contact_id", contact)
    page.select_option("#template_id", label=TEMPLATE)
    page.fill("#title", "Obsługa księgowa — abonament roczny")
    page.get_by_role("button", name="Save", exact=True).click()
    _flash(page, "Add its lines.")
    page.fill("#name", "Pełna księgowość — abonament miesięczny")
    page.fill("#quantity", "12")
    page.fill("#unit_price", "1200,00")
    page.select_option("#vat_rate", "23")
    page.get_by_role("button", name="Add line").click()
    _flash(page, "Line added.")
    page.get_by_role("button", name="Generate offer (PDF)").click()
    _flash(page, "Offer generated")


def _generate_report(page: Page) -> None:
    _crm_nav(page, "Reports")
    page.fill("#title", "Szanse sprzedaży według etapów")
    page.get_by_role("button", name="Generate report").click()
    expect(page.locator(".report-result h2")).to_have_text("Szanse sprzedaży według etapów")


def _do_practical(page: Page, enrolment_id: int) -> None:
    page.goto("/sessions/mine")
    page.get_by_role("link", name="Practical exam").click()
    page.wait_for_url(f"**/practical/enrolments/{enrolment_id}")
    page.get_by_label("I am at my exam workstation").check()
    page.get_by_role("button", name="Start the practical exam").click()
    page.wait_for_url(re.compile(r"/sandbox/w/\d+/$"))
    sheet = page.locator("aside.task-sheet")
    expect(sheet).to_be_visible()
    expect(sheet.locator("ol.task-list li").first).to_be_visible()
    expect(sheet.locator(".countdown")).to_be_visible()
    _shot(page, "03-sandbox-with-task-sheet")

    _create_company_and_contact(page)
    _create_pipeline(page)
    _create_opportunity_with_task(page)
    _move_on_board(page)
    _mark_won(page)
    _prepare_offer(page)
    _generate_report(page)

    sheet.locator("#finish-confirm").check()
    sheet.get_by_role("button", name="Finish the practical exam").click()
    page.wait_for_url(f"**/practical/enrolments/{enrolment_id}")
    _flash(page, "Your practical exam has ended.")
    page.get_by_role("link", name="Look at your work (read-only)").click()
    expect(page.locator(".crm-frozen-banner")).to_contain_text("Frozen — read-only.")
    expect(page.locator("header.crm-topbar").get_by_role("link", name="+ Company")).to_have_count(0)
    expect(page.locator("aside.task-sheet .finish-form")).to_have_count(0)
    _shot(page, "05-frozen-workspace")


# --------------------------------------------------------------------------- committee


def _declare_and_open_case(page: Page, session_title: str, candidate_name: str) -> None:
    page.goto("/sessions/committees")
    page.get_by_role("link", name=session_title).click()
    page.get_by_label("I declare that I am impartial").check()
    page.get_by_role("button", name="Sign the declaration").click()
    _flash(page, "Your declaration of impartiality has been recorded.")
    expect(page.locator(".badge.ok").filter(has_text="Declaration signed")).to_be_visible()
    page.get_by_role("link", name=candidate_name).click()
    expect(page.locator("h1")).to_have_text(candidate_name)


def _check_evidence(page: Page) -> None:
    practical = page.locator("#practical")
    expect(practical.locator(".badge.ok").filter(has_text="finished")).to_be_visible()
    checks = practical.locator("table.evidence-checks tbody tr")
    expect(checks.first).to_be_visible()
    assert checks.count() >= 20
    expect(practical.locator("#check-2\\.4\\.f")).to_be_visible()
    replay = practical.locator("ol.replay")
    expect(replay.locator("li").filter(has_text=COMPANY).first).to_be_visible()
    expect(replay.locator("li").filter(has_text=OPPORTUNITY).first).to_be_visible()


def _score_all_met(page: Page, comment: str) -> int:
    rows = page.locator("table.scoresheet tbody tr")
    count = rows.count()
    for index in range(count):
        rows.nth(index).locator("input[type=radio][value=met]").check()
    # A remark where the evidence deserves one (a "not met" would require it).
    page.get_by_label("Comment 2.4.f").fill(comment)
    # The interview: what the candidate answered (the decision needs notes on each interview criterion).
    page.get_by_label("Interview notes 1.3.c").fill("Omówił szyfrowanie, blokadę ekranu i zasadę czystego biurka.")
    page.get_by_label("Interview notes 2.3.e").fill("Omówił wartość szans w lejku i sposób jej aktualizacji.")
    page.get_by_role("button", name="Submit my scores").click()
    _flash(page, "Your scores have been submitted.")
    expect(page.locator("table.scoresheet input[type=radio][value=met]:checked")).to_have_count(count)
    return count


def _consolidation_agrees(page: Page, scored: int) -> None:
    page.get_by_role("link", name="Go to the committee's consolidation").click()
    page.wait_for_url("**/consolidation")
    expect(page.get_by_text("Not every member has submitted yet")).to_have_count(0)
    expect(page.locator("table .badge.warn").filter(has_text="differ")).to_have_count(0)
    expect(page.locator("table .badge.ok").filter(has_text="agree")).to_have_count(scored)


# --------------------------------------------------------------------------- the journey


def test_validation_journey(app, qualification, tmp_path, new_page):
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    institution = make_institution(name="Centrum Kształcenia Łódź", qualifications=[qualification])
    operator = make_user((Role.OPERATOR, institution), first_name="Olga", last_name="Operatorska", locale="en")
    staff = make_user((Role.STAFF, institution), first_name="Stefan", last_name="Kadrowy", locale="en")
    chair = make_user(Role.ASSESSOR, first_name="Krzysztof", last_name="Wiśniewski", locale="en")
    second = make_user(Role.ASSESSOR, first_name="Małgorzata", last_name="Dąbrowska-Żak", locale="en")
    candidate = make_user(Role.CANDIDATE, first_name="Zażółć", last_name="Gęślińska", locale="en")
    session = make_session(institution, qualification, title="Walidacja CRM — sesja łódzka", operator_id=operator.id)
    enrolment = enrol(session, candidate)
    add_member(session, chair).is_chair = True
    add_member(session, second)
    db.session.commit()
    session_id, enrolment_id, session_title = session.id, enrolment.id, session.title

    # 1. The operator unlocks the test; the candidate answers every question correctly; staff release.
    console = new_page(operator)
    console.goto("/sessions/operated")
    console.locator("tr").filter(has_text=session_title).get_by_role("link", name="Open the console").click()
    console.wait_for_url(f"**/operator/sessions/{session_id}")
    console.check("input[name=kind][value=unlock]")
    console.fill("textarea[name=reason]", "Sesja rozpoczęta o czasie, tożsamość kandydatów sprawdzona")
    console.get_by_role("button", name="Record the action").click()
    _flash(console, "The action has been recorded.")
    expect(console.locator("#actions li").filter(has_text="tożsamość kandydatów sprawdzona")).to_be_visible()
    expect(console.locator("#console .c-status").first).to_have_text("unlocked")
    expect(console.locator("#console .c-answered").first).to_have_text("—")  # no questions before the start
    _shot(console, "01-operator-console")

    me = new_page(candidate)
    _take_theory_test(me, enrolment_id)
    console.reload()
    expect(console.locator("#console .c-status").first).to_have_text("submitted")
    expect(console.locator("#console .c-answered").first).to_have_text("36 / 36")

    office = new_page(staff)
    office.goto(f"/sessions/{session_id}")
    office.get_by_role("link", name="Theory results").click()
    office.wait_for_url(f"**/theory/sessions/{session_id}/results")
    office.get_by_label("Release the theory results").check()
    office.get_by_role("button", name="Release").click()
    _flash(office, "Released the results of 1 candidate(s).")

    me.reload()
    expect(me.locator("#theory-result")).to_contain_text("(100%)")
    expect(me.locator("#theory-result .badge.ok")).to_have_text("passed")

    # 2. The practical exam in the sandbox, beside the task sheet.
    _do_practical(me, enrolment_id)
    db.session.expire_all()
    attempt = db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == enrolment_id))
    assert attempt.status.value == "finished"

    # 3. Two assessors, each in their own browser context, score blind.
    chair_page, second_page = new_page(chair), new_page(second)
    _declare_and_open_case(chair_page, session_title, candidate.full_name)
    # Alone, the chair reads the evidence but cannot score: one person is never a committee.
    expect(chair_page.locator(".flash-danger").filter(has_text="at least 2 of its members have signed")).to_be_visible()
    _declare_and_open_case(second_page, session_title, candidate.full_name)
    chair_page.reload()
    expect(chair_page.locator(".flash-danger")).to_have_count(0)
    _check_evidence(chair_page)
    _shot(chair_page, "06-committee-case")
    scored = _score_all_met(chair_page, "Szansa zamknięta jako wygrana z podanym powodem.")

    second_page.reload()
    _check_evidence(second_page)
    expect(second_page.get_by_text("Submitted so far: 1 of 2 members.")).to_be_visible()
    # Nothing of the chair's verdicts shows through: only the follow-ups' default "not examined" is ticked.
    expect(second_page.locator("table.scoresheet input[type=radio]:not([value='']):checked")).to_have_count(0)
    expect(second_page.get_by_text("Szansa zamknięta jako wygrana")).to_have_count(0)
    second_page.goto(f"/committee/enrolments/{enrolment_id}/consolidation")
    second_page.wait_for_url(f"**/committee/enrolments/{enrolment_id}")
    _flash(second_page, "Submit your own scores first")
    expect(second_page.get_by_text("Szansa zamknięta jako wygrana")).to_have_count(0)
    assert _score_all_met(second_page, "Powód wygranej zapisany, etap przed zamknięciem przesunięty.") == scored

    _consolidation_agrees(second_page, scored)
    chair_page.reload()
    _consolidation_agrees(chair_page, scored)
    _shot(chair_page, "07-consolidation")

    # 4. The chair records the results (pre-filled: theory and the agreed scores) and a positive decision.
    results_form = chair_page.locator("form[action$='/results']")
    radios = results_form.locator("input[type=radio][value=met]")
    expect(results_form.locator("input[type=radio][value=met]:checked")).to_have_count(radios.count())
    chair_page.get_by_role("button", name="Record the committee's results").click()
    _flash(chair_page, "The committee's results have been recorded.")
    expect(chair_page.locator(".badge.danger")).to_have_count(0)
    chair_page.get_by_label("Positive").check()
    chair_page.get_by_role("button", name="Propose the decision").click()
    _flash(chair_page, "The decision has been proposed.")
    expect(chair_page.locator("h2").filter(has_text="Proposed decision: positive")).to_be_visible()
    # Not final until every member approves: the candidate sees nothing yet.
    me.goto(f"/committee/result/{enrolment_id}")
    expect(me.get_by_text("The committee has not decided yet.")).to_be_visible()
    second_page.reload()
    second_page.get_by_label("I approve the proposed decision").check()
    second_page.get_by_role("button", name="Record my vote").click()
    _flash(second_page, "Your vote has been recorded.")
    expect(second_page.locator("h2").filter(has_text="Decision: positive")).to_be_visible()
    chair_page.reload()
    expect(chair_page.locator("h2").filter(has_text="Decision: positive")).to_be_visible()

    me.goto("/sessions/mine")
    me.get_by_role("link", name="My result").click()
    expect(me.locator(".badge.ok").filter(has_text="Positive")).to_be_visible()
    expect(me.get_by_text("All learning outcomes confirmed")).to_be_visible()
    _shot(me, "08-candidate-result")

    # 5. The protocol, downloaded through the candidate's page, is the stored one.
    href = me.get_by_role("link", name="Validation protocol (PDF)").get_attribute("href")
    response = me.context.request.get(href)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    pdf = response.body()
    db.session.expire_all()
    decision = db.session.scalar(select(ValidationDecision).where(ValidationDecision.enrolment_id == enrolment_id))
    assert pdf == decision.protocol_pdf
    (SHOTS / "protocol.pdf").write_bytes(pdf)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = re.sub(r"\s+", " ", text)
    assert "Zażółć Gęślińska" in flat
    assert "POZYTYWNA" in flat
    assert "Krzysztof Wiśniewski (przewodniczący)" in flat
    assert "Małgorzata Dąbrowska-Żak" in flat
    assert "test teoretyczny: 100 % (próg 60 %)" in flat  # percentages written the Polish way
    assert "niespełnione" not in flat
    codes = [c.code for s in qualification.outcome_sets for o in s.outcomes for c in o.criteria]
    for code in codes:
        assert re.search(re.escape(code) + r"\b.*?spełnione", flat), code
    assert flat.count("spełnione") >= len(codes)
