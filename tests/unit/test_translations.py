"""Every UI string has a Polish translation, and the compiled catalogues are current."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "examportal" / "translations"
METHOD_MAP = [("examportal/**.py", "python"), ("sandbox_crm/**.py", "python"),
              ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
KEYWORDS = {"_": None, "_l": None, "N_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}


def _source_messages() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=METHOD_MAP, keywords=KEYWORDS,
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


def _catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


def test_every_ui_string_has_a_polish_translation():
    catalog = _catalog("pl")
    missing = sorted(m for m in _source_messages()
                     if not (catalog.get(m) and catalog.get(m).string and not catalog.get(m).fuzzy))
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
