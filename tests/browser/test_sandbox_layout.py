"""The sandbox CRM beside the task sheet fits the screens exam rooms have (1280 to 1920 px wide).

In the practical exam the CRM shares the window with the task sheet. At every width the page has
no horizontal scroll bar, the task sheet stays beside the CRM and nothing of the CRM spills out of
its column or is cut off: what is wider than its place (a comparison report, the import preview,
the sales board) scrolls inside a box of its own.
"""
from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

WIDTHS = (1280, 1366, 1600, 1920)
HEIGHT = 900

# Every element of the CRM's column that sticks out of the box it is laid out in (its nearest
# ancestor that is not inline), unless that box scrolls sideways: then the overflow is reachable by
# scrolling it. An element sticking out of its box overlaps its neighbours (the next grid column,
# the task sheet) or is cut off by a box that hides its overflow.
OVERFLOW = r"""() => {
  const problems = [];
  const describe = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) {
    problems.push(`the page scrolls sideways: ${doc.scrollWidth} > ${window.innerWidth}`);
  }
  const work = document.querySelector(".practical-work");
  const column = work.getBoundingClientRect();
  const sheet = document.querySelector(".task-sheet").getBoundingClientRect();
  if (sheet.left < column.right || sheet.right > window.innerWidth || sheet.width < 250) {
    problems.push(`the task sheet is not beside the CRM: ${JSON.stringify(sheet)}`);
  }
  for (const el of work.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || style.visibility === "hidden" || style.position === "absolute"
        || style.position === "fixed") { continue; }
    let up = el.parentElement;
    while (up && up !== work && getComputedStyle(up).display.startsWith("inline")) { up = up.parentElement; }
    if (!up || ["auto", "scroll"].includes(getComputedStyle(up).overflowX)) { continue; }
    const limit = up.getBoundingClientRect();
    if (box.right > limit.right + 1 || box.left < limit.left - 1) {
      problems.push(`${describe(el)} (${Math.round(box.left)}–${Math.round(box.right)}) sticks out of `
                    + `${describe(up)} (${Math.round(limit.left)}–${Math.round(limit.right)})`);
    }
  }
  return problems.slice(0, 12);
}"""

# Every table wider than the box it sits in must be inside a box that scrolls sideways.
WIDE_TABLES = r"""() => Array.from(document.querySelectorAll(".practical-work table")).filter(table => {
  const wrap = table.parentElement;
  return table.scrollWidth > wrap.clientWidth + 1 && !["auto", "scroll"].includes(getComputedStyle(wrap).overflowX);
}).map(table => table.className || table.id || "table")"""


def _import_preview(page: Page, tmp_path) -> str:
    """Upload a CSV with many columns; the URL of its preview (the mapping and the rows)."""
    csv = tmp_path / "leady_z_targow_z_bardzo_dluga_nazwa_pliku.csv"
    csv.write_text(
        "firma;nip;regon;ulica;miasto;kod pocztowy;wojewodztwo;branza;osoba;stanowisko;email;telefon;www;"
        "podstawa prawna;zrodlo;uwagi\n"
        "Przedsiębiorstwo Handlowo-Usługowe Długa Nazwa Firmy Sp. z o.o.;5260250274;140000000;"
        "ul. Bardzo Długa Ulica Imienia Kogoś Znanego 123/45;Konstantynów Łódzki;95-050;łódzkie;"
        "hurtowa sprzedaż części zamiennych;Aleksandra Konstantynowicz-Wierzbicka;kierowniczka działu zakupów;"
        "aleksandra.konstantynowicz-wierzbicka@przedsiebiorstwo-handlowe.example.pl;+48 42 123 45 67;"
        "https://www.przedsiebiorstwo-handlowe.example.pl/kontakt;zgoda;targi;bez uwag\n",
        encoding="utf-8")
    page.locator("nav.crm-nav").get_by_role("link", name="Import", exact=True).click()
    page.set_input_files("#file", str(csv))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("table.import-rows")).to_be_visible()
    return page.url


def _comparison_report(base: str) -> str:
    """A report comparing this year with the last by stage (the workspace's rows were created today):
    the comparison adds columns (both periods, the difference, the change)."""
    year = date.today().year
    query = ("run=1&source=opportunities&group_by=stage&measure=sum_value&date_field=created_at"
             f"&date_from={year}-01-01&date_to={year}-12-31&compare=periods&b_from={year - 1}-01-01"
             f"&b_to={year - 1}-12-31&chart=table&title=Por%C3%B3wnanie+lat+wed%C5%82ug+etap%C3%B3w")
    return f"{base}/reports?{query}"


def test_the_crm_fits_beside_the_task_sheet_at_exam_room_widths(exam_page, tmp_path):
    page = exam_page
    base = re.search(r"^.*/sandbox/w/\d+", page.url).group(0)
    pages = {
        "dashboard": f"{base}/",
        "contacts": f"{base}/contacts",
        "companies": f"{base}/companies",
        "opportunities": f"{base}/opportunities/",
        "sales board": f"{base}/board",
        "tasks": f"{base}/tasks",
        "offers": f"{base}/offers",
        "offer template editor": f"{base}/offer-templates/new",
        "action log": f"{base}/log",
        "comparison report": _comparison_report(base),
        "import preview": _import_preview(page, tmp_path),
    }
    for name, listing in (("company", "/companies"), ("opportunity", "/opportunities/"), ("pipeline", "/pipelines/")):
        page.goto(base + listing)
        pages[name] = page.locator("main.crm-main table tbody a").first.get_attribute("href")
    problems = {}
    for name, url in pages.items():
        page.goto(url)
        if name == "comparison report":
            expect(page.locator(".report-result thead")).to_contain_text("Difference")
        if name == "sales board":
            expect(page.locator("section.board-column").nth(2)).to_be_attached()
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            page.wait_for_function(f"() => window.innerWidth === {width}")
            found = page.evaluate(OVERFLOW) + [f"a wide table not in a scrolling box: {t}"
                                               for t in page.evaluate(WIDE_TABLES)]
            if found:
                problems[f"{name} at {width} px"] = found
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(found) for where, found in problems.items())
