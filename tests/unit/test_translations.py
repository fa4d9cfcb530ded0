"""Every UI string has a Polish translation, the compiled catalogues are current, and the main
pages rendered in Polish show no English and no stored code."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select

from examportal.committee import services as committee
from examportal.extensions import db
from examportal.models import Role, TheoryAttempt
from examportal.models.base import LabelledEnum
from examportal.models.mail import MAIL_STATUS_LABELS
from examportal.operator.views import CONNECTION_LABELS
from sandbox_crm.labels import FIELD_LABELS, OBJECT_LABELS, VERB_LABELS
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_institution,
    make_session,
    make_theory_result,
    make_user,
    write_theory_bank,
)

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "examportal" / "translations"
METHOD_MAP = [("examportal/**.py", "python"), ("sandbox_crm/**.py", "python"), ("question_bank/**.py", "python"),
              ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
KEYWORDS = {"_": None, "_l": None, "N_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2),
            "pgettext": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)}


def _source_messages() -> set[tuple[str, str | None]]:
    """(message id, context) of every UI string in the sources."""
    found = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map=METHOD_MAP, keywords=KEYWORDS,
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.add((message[0] if isinstance(message, tuple) else message, context))
    return {(m, c) for m, c in found if m}


def _catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


def test_every_ui_string_has_a_polish_translation():
    catalog = _catalog("pl")
    missing = sorted(f"{c}|{m}" if c else m for m, c in _source_messages()
                     if not ((found := catalog.get(m, context=c)) and found.string and not found.fuzzy))
    assert not missing, f"{len(missing)} strings lack a Polish translation, e.g. {missing[:10]}"


def test_polish_placeholders_match_the_english_ones():
    import re

    placeholder = re.compile(r"%\((\w+)\)s")
    wrong = [m.id for m in _catalog("pl") if m.id and m.string and
             set(placeholder.findall(m.id if isinstance(m.id, str) else m.id[0])) !=
             set(placeholder.findall(m.string if isinstance(m.string, str) else m.string[0]))]
    assert not wrong, f"placeholders differ in: {wrong[:10]}"


def test_compiled_catalogues_match_their_sources():
    for locale in ("pl", "en"):
        catalog = _catalog(locale)
        with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as handle:
            compiled = read_mo(handle)
        def key(value):
            return tuple(value) if isinstance(value, (list, tuple)) else value

        def translated(value):
            return all(value) if isinstance(value, (list, tuple)) else bool(value)

        # Identity translations change nothing at run time; the compiler may drop or keep them.
        expected = {key(m.id): key(m.string) for m in catalog
                    if m.id and translated(m.string) and not m.fuzzy and key(m.string) != key(m.id)}
        actual = {key(m.id): key(m.string) for m in compiled if m.id and key(m.string) != key(m.id)}
        assert actual == expected, f"{locale}: run `pybabel compile -d examportal/translations`"


def test_no_bare_percent_sign_in_a_translation():
    """Jinja's gettext always %-formats, so a lone "%" in a translation breaks the page (500)."""
    import re

    markers = re.compile(r"%\(\w+\)[sdf]|%%|%[sd]")
    wrong = []
    for m in _catalog("pl"):
        if not m.id or not m.string:
            continue
        msgid = m.id if isinstance(m.id, str) else m.id[0]
        for text in (m.string if isinstance(m.string, tuple) else (m.string,)):
            if markers.sub("", text).count("%") != markers.sub("", msgid).count("%"):
                wrong.append((msgid, text))
    assert not wrong, f"a lone % in: {wrong[:5]}"


# --- the pages in Polish ---------------------------------------------------------------------
# A string the catalogue does not know (an English literal in a template, a label built in code,
# a raw status code) reaches a Polish page untranslated. The main pages of every role are rendered
# in Polish with demo-like data, and their text is searched for English: the English source
# strings, the codes the database stores, and English sentence words. Names, codes in <code> and
# anything marked lang="en" (the language switch) are not text to translate.

PUNCTUATION = " \t\n:;,.·—–-→←()[]„”\"'!?…/|+*#%"
# Words of English sentences that Polish has no use for; two in one text mean English.
# ("a", "to", "on", "by" and "i" are Polish words too.)
ENGLISH_WORDS = frozenset({"the", "and", "of", "your", "is", "are", "with", "for", "this", "has", "have", "was",
                           "were", "you", "will", "been", "an", "it", "from", "not", "can", "must"})
SKIPPED_TAGS = {"script", "style", "code", "pre", "kbd", "samp"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
TEXT_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
# The evidence checks' summaries and evidence labels become message ids in the practical-validity issue.
EXEMPT_CLASSES = {"check-summary", "check-evidence"}


def _normal(text: str) -> str:
    return " ".join(text.split())


class _PageText(HTMLParser):
    """The texts of a page a person reads: text nodes and the labelling attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skipping: list[bool] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        skip = (bool(self._skipping and self._skipping[-1]) or tag in SKIPPED_TAGS
                or (a.get("lang") or "pl")[:2] != "pl" or bool(EXEMPT_CLASSES & set((a.get("class") or "").split())))
        if not skip:
            self.texts.extend(a[name] for name in TEXT_ATTRIBUTES if a.get(name))
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.texts.append(a["value"])
        if tag not in VOID_TAGS:
            self._skipping.append(skip)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self._skipping.pop()

    def handle_endtag(self, tag):
        if tag not in VOID_TAGS and self._skipping:
            self._skipping.pop()

    def handle_data(self, data):
        if not (self._skipping and self._skipping[-1]) and data.strip():
            self.texts.append(data)


def page_texts(html: str) -> list[str]:
    parser = _PageText()
    parser.feed(html)
    return [_normal(t) for t in parser.texts if _normal(t)]


_PLACEHOLDER = re.compile(r"%\(\w+\)[sdfg]|%[sdfg]")


def _bounded(part: str) -> str:
    """``part`` as a pattern matching whole words only ("by" must not match inside "pobytu")."""
    pattern = re.escape(part)
    if part[:1].isalnum():
        pattern = r"\b" + pattern
    if part[-1:].isalnum():
        pattern += r"\b"
    return pattern


class EnglishFinder:
    """Finds English in a Polish page's texts: a source string of the catalogue (exactly, or a
    phrase of three words or more inside a longer text), a stored code, or English sentence words.

    A source string that reads the same in Polish (``CRM``, ``PESEL``) or appears in a Polish
    translation is no evidence and is left out.
    """

    def __init__(self, codes: set[str]):
        catalog = _catalog("pl")
        polish = {_normal(str(m.string)) for m in catalog if m.id and m.string and not m.fuzzy and isinstance(m.string, str)}
        polish_text = "\n".join(polish)
        self.exact: set[str] = set()
        self.phrases: dict[tuple[str, ...], list[str]] = {}
        patterns: list[str] = []
        for msgid, context in _source_messages():
            message = catalog.get(msgid, context=context)
            translation = _normal(str(message.string)) if message and message.string and not message.fuzzy else ""
            if translation == _normal(msgid):
                continue
            parts = [_normal(part.replace("%%", "%")) for part in _PLACEHOLDER.split(msgid)]
            if not any(re.search(r"[A-Za-z]{2}", part) for part in parts):
                continue
            longest = max(parts, key=len).strip(PUNCTUATION)
            if len(parts) == 1 and len(longest.split()) < 3:
                if longest and longest not in polish:
                    self.exact.add(longest)
            elif len(longest.split()) >= 3:
                if longest not in polish_text:
                    self.phrases.setdefault(tuple(longest.split()[:3]), []).append(longest)
            elif sum(len(re.findall(r"[A-Za-z]", part)) for part in parts) > 3:
                # A pattern whose only words are "by" or "row" is no evidence: Polish has "by" too.
                patterns.append(".+?".join(_bounded(part) for part in parts))
        self.pattern = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
        self.codes = codes

    def find(self, text: str) -> str | None:
        bare = text.strip(PUNCTUATION)
        if bare in self.exact:
            return f"English text {bare!r}"
        words = text.split()
        for i in range(len(words) - 2):
            for phrase in self.phrases.get(tuple(words[i:i + 3]), ()):
                if phrase in text:
                    return f"English phrase {phrase!r}"
        if self.pattern is not None and self.pattern.fullmatch(bare):
            return f"English text {bare!r}"
        tokens = re.findall(r"[A-Za-z_]+", text)
        coded = [t for t in tokens if t in self.codes and ("_" in t or t == bare)]
        if coded:
            return f"a stored code {coded[0]!r}"
        english = [t for t in tokens if t.lower() in ENGLISH_WORDS]
        if len(english) >= 2:
            return f"English words {english}"
        return None


def stored_codes() -> set[str]:
    """The codes the database and the action log store, whose labels pages must show instead
    (those that read the same in Polish, like ``import``, are no evidence)."""
    def members(cls):
        for sub in cls.__subclasses__():
            yield from sub
            yield from members(sub)

    with force_locale("pl"):
        labels = {m.value: m.label for m in members(LabelledEnum)}
        for mapping in (MAIL_STATUS_LABELS, CONNECTION_LABELS, VERB_LABELS, OBJECT_LABELS, FIELD_LABELS):
            labels.update({code: str(label) for code, label in mapping.items()})
        return {code for code, label in labels.items() if _normal(str(label)).lower() != code.replace("_", " ")}


def test_the_finder_finds_english_and_spares_names_and_codes(app, finder_cache):
    finder = _finder(app, finder_cache)
    assert finder.find("Log out")  # a source string, untranslated
    assert finder.find("Before you see any candidate's work, sign the declaration. And more.")
    assert finder.find("Tests rescored: 3; pass or fail changed for: 1.")  # with placeholders
    assert finder.find("2.12.2026, 18:03 · extra_time +5 min")  # a stored code
    assert finder.find("unlocked") and finder.find("queued")
    assert finder.find("Please wait for the results of the session")  # English not in the catalogue
    for polish in ("Wyloguj", "Irena Kowalczyk", "Fundacja VCC", "CRM", "PESEL 90051701234", "13,33 %",
                   "Kraków, ul. Długa 1", "Import", "Sesja walidacyjna CRM — demo", "zamknięcie przestrzeni roboczej"):
        assert finder.find(polish) is None, polish
    assert page_texts('<p lang="en">Log out</p><code>extra_time</code><p title="Zapisz">Zapisz</p>') == ["Zapisz", "Zapisz"]


@pytest.fixture(scope="module")
def finder_cache() -> dict:
    """Extracting the catalogue's English strings takes seconds: once per module."""
    return {}


def _finder(app, cache: dict) -> EnglishFinder:
    if "finder" not in cache:
        with app.test_request_context():
            cache["finder"] = EnglishFinder(stored_codes())
    return cache["finder"]


@pytest.fixture
def demo_world(app, qualification, tmp_path):
    """A session as the demo has it, a little further on: one candidate decided (positive) after
    the practical part, one not admitted after a failed theory test, one taking the theory test;
    an operator action, mail in the outbox, an assessor who has not signed the declaration yet."""
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    ic = make_institution("Fundacja Certyfikująca", qualifications=[qualification])
    centre = make_institution("Ośrodek Walidacji Kraków", parent=ic, city="Kraków")
    w = {
        "admin": make_user(Role.ADMIN, first_name="Adam", last_name="Administrator"),
        "staff": make_user((Role.STAFF, ic), first_name="Beata", last_name="Nowak"),
        "operator": make_user((Role.OPERATOR, centre), first_name="Dorota", last_name="Zielińska"),
        "chair": make_user((Role.ASSESSOR, ic), first_name="Edward", last_name="Kamiński"),
        "member": make_user((Role.ASSESSOR, ic), first_name="Felicja", last_name="Lewandowska"),
        "unsigned": make_user((Role.ASSESSOR, ic), first_name="Grzegorz", last_name="Dąbrowski"),
        "decided": make_user(Role.CANDIDATE, first_name="Irena", last_name="Kowalczyk"),
        "failed": make_user(Role.CANDIDATE, first_name="Jacek", last_name="Mazur"),
        "testing": make_user(Role.CANDIDATE, first_name="Zofia", last_name="Wójcik"),
    }
    session = make_session(centre, qualification, title="Sesja walidacyjna CRM — demo", operator_id=w["operator"].id)
    add_member(session, w["chair"], declared=True).is_chair = True
    add_member(session, w["member"], declared=True)
    w["session"] = session
    # Another session, whose assessor is yet to sign the declaration naming its candidate.
    w["next_session"] = make_session(centre, qualification, title="Sesja walidacyjna CRM — styczeń")
    add_member(w["next_session"], w["unsigned"])
    enrol(w["next_session"], make_user(Role.CANDIDATE, first_name="Halina", last_name="Zając"))
    for who in ("decided", "failed", "testing"):
        w[f"{who}_enrolment"] = enrol(session, w[who])
    make_theory_result(w["decided_enrolment"], qualification)
    make_theory_result(w["failed_enrolment"], qualification, passed=False, failed_criteria=("1.1.a", "1.3.b"))
    db.session.commit()
    clients = {who: client_as(app, w[who], lang="pl") for who in ("staff", "operator", "chair", "member",
                                                                 "unsigned", "decided", "failed", "testing", "admin")}
    w["clients"] = clients

    # The operator unlocks the test and adds time; one candidate starts it.
    operator = clients["operator"]
    assert operator.get(f"/operator/sessions/{session.id}").status_code == 200
    testing = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == w["testing_enrolment"].id))
    for kind, minutes in (("unlock", ""), ("extra_time", "5")):
        response = operator.post(f"/operator/sessions/{session.id}/actions", data={
            "target": str(testing.id), "kind": kind, "minutes": minutes, "reason": "Sala 12, zgodnie z procedurą"})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert clients["testing"].post(f"/theory/enrolments/{w['testing_enrolment'].id}/start").status_code == 200
    w["testing_attempt"] = testing

    # The practical part: a company created and completed in the CRM, then finished.
    candidate, e = clients["decided"], w["decided_enrolment"]
    response = candidate.post(f"/practical/enrolments/{e.id}/start", data={"confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    workspace_id = committee.practical_attempt(e).workspace_id
    w["workspace_id"] = workspace_id
    response = candidate.post(f"/sandbox/w/{workspace_id}/companies/new",
                              data={"name": "Alfa Hurt Sp. z o.o.", "nip": "8381679687", "city": "Kraków"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    w["company_id"] = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    w["company_flash"] = candidate.get(response.headers["Location"]).get_data(as_text=True)
    response = candidate.post(f"/sandbox/w/{workspace_id}/companies/{w['company_id']}/edit", data={
        "name": "Alfa Hurt Sp. z o.o.", "nip": "8381679687", "city": "Kraków", "size": "small",
        "potential_value": "125000,50", "tags": "hurt, VIP"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert candidate.post(f"/practical/enrolments/{e.id}/finish", data={"confirm": "y"}).status_code == 302

    # Both members score, the chair records the results and proposes, the member approves.
    for who in ("chair", "member"):
        data = {"submit": "1"}
        for c in committee.scored_criteria(e):
            data[f"c-{c.id}-met"] = "" if c.interview_follow_up else "met"
            if c.method == "interview":
                data[f"c-{c.id}-notes"] = f"Kandydatka omówiła {c.code} na przykładzie z praktyki."
        response = clients[who].post(f"/committee/enrolments/{e.id}/scores", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    chair = clients["chair"]
    results = {f"r-{c.id}-met": "met" for c in committee.committee_criteria(e)}
    response = chair.post(f"/committee/enrolments/{e.id}/results", data={**results, "record": "1"})
    assert response.status_code == 302, re.findall(r'class="(?:error|flash[^"]*)"[^>]*>([^<]*)', response.get_data(as_text=True))
    assert chair.post(f"/committee/enrolments/{e.id}/decision", data={"outcome": "positive"}).status_code == 302
    assert clients["member"].post(f"/committee/enrolments/{e.id}/vote", data={"vote": "approve"}).status_code == 302
    assert committee.decision_for(e) is not None
    return w


def _pages(w) -> list[tuple[str, str]]:
    s, ws = w["session"].id, w["workspace_id"]
    decided, failed = w["decided_enrolment"].id, w["failed_enrolment"].id
    attempt = w["testing_attempt"].id
    return [
        (None, "/"), (None, "/auth/login"), (None, "/auth/register"), (None, "/qualifications/13881"),
        ("decided", "/dashboard"), ("decided", "/sessions/mine"), ("decided", f"/theory/enrolments/{decided}"),
        ("decided", f"/practical/enrolments/{decided}"), ("decided", f"/committee/result/{decided}"),
        ("decided", f"/sandbox/w/{ws}/"), ("decided", f"/sandbox/w/{ws}/log"),
        ("decided", f"/sandbox/w/{ws}/companies/{w['company_id']}"),
        ("failed", "/sessions/mine"), ("failed", f"/practical/enrolments/{failed}"),
        ("testing", f"/theory/attempts/{attempt}/q/1"), ("testing", f"/theory/attempts/{attempt}/review"),
        ("operator", "/sessions/operated"), ("operator", f"/operator/sessions/{s}"),
        ("unsigned", f"/sessions/{w['next_session'].id}/committee-view"),
        ("chair", "/sessions/committees"), ("chair", f"/sessions/{s}/committee-view"),
        ("chair", f"/committee/enrolments/{decided}"), ("chair", f"/committee/enrolments/{decided}/consolidation"),
        ("chair", f"/theory/sessions/{s}/committee"),
        ("staff", "/sessions/"), ("staff", f"/sessions/{s}"), ("staff", "/sessions/training"),
        ("staff", "/institution/"), ("staff", f"/theory/sessions/{s}/results"), ("staff", "/theory/statistics"),
        ("staff", "/dev/mailbox/"), ("staff", "/audit/"),
        ("admin", "/institution/all"),
    ]


def test_the_main_pages_in_polish_show_no_english(app, demo_world, finder_cache):
    """Every role's main pages, rendered in Polish, say nothing in English and show no raw code."""
    finder = _finder(app, finder_cache)
    anonymous = client_as(app, None, lang="pl")
    wrong_password = anonymous.post("/auth/login", data={"email": demo_world["decided"].email, "password": "nie-to-haslo"})
    found = {}
    for who, path in _pages(demo_world):
        response = (demo_world["clients"][who] if who else anonymous).get(path)
        assert response.status_code == 200, (who, path, response.status_code)
        html = response.get_data(as_text=True)
        assert '<html lang="pl">' in html, path
        found[path] = sorted({f"{reason} in {text!r}" for text in page_texts(html) if (reason := finder.find(text))})
    found["/auth/login (wrong password)"] = sorted(
        {f"{reason} in {text!r}" for text in page_texts(wrong_password.get_data(as_text=True)) if (reason := finder.find(text))})
    found = {path: problems for path, problems in found.items() if problems}
    assert not found, "English on Polish pages:\n" + "\n".join(f"{p}: {problems}" for p, problems in found.items())


def test_the_protocol_names_the_place_of_birth_without_declining_it(app, demo_world):
    """"ur. … w Kraków" would need the locative of any town a candidate types; the protocol says
    "miejsce urodzenia: Kraków" instead."""
    pdf = demo_world["clients"]["chair"].get(f"/committee/enrolments/{demo_world['decided_enrolment'].id}/protocol.pdf")
    assert pdf.status_code == 200
    flat = " ".join(" ".join(page.extract_text() for page in PdfReader(BytesIO(pdf.data)).pages).split())
    candidate = flat.split("Irena Kowalczyk", 1)[1][:200]
    assert "miejsce urodzenia: Kraków" in candidate and " w Kraków" not in candidate
    assert "data urodzenia: 01.01.1990" in candidate
