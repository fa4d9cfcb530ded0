"""The sandboxed offer-template engine: tags, errors with lines, and hostile templates."""
from __future__ import annotations

import time

import pytest

from sandbox_crm.services import templating
from sandbox_crm.services.templating import check_template, render_template, sample_context


def render(source: str):
    started = time.monotonic()
    result = render_template(source, sample_context())
    assert time.monotonic() - started < 3, "a template render must never take long"
    return result


def kinds(result) -> set[str]:
    return {problem.kind for problem in result.problems}


def test_renders_tags_loops_and_escapes_values():
    context = sample_context()
    context["klient"]["nazwa"] = "<b>Zażółć & syn</b>"
    result = render_template(
        "<p>{{ klient.nazwa }} / {{ kontakt.imie }}</p>{% for p in pozycje %}<i>{{ p.lp }}. {{ p.nazwa|upper }}</i>{% endfor %}"
        "{{ suma_brutto }} {{ waluta }} {{ data_oferty }} {{ waznosc_do }}",
        context,
    )
    assert result.ok, result.problems
    assert "&lt;b&gt;Zażółć &amp; syn&lt;/b&gt;" in result.html
    assert "<i>1. WDROŻENIE SYSTEMU CRM</i><i>2. LICENCJA UŻYTKOWNIKA (ROK)</i>" in result.html
    assert "16 974,00 PLN 01.03.2025 31.03.2025" in result.html


def test_ready_made_lines_table_is_markup_with_escaped_cells():
    context = sample_context()
    context["pozycje"][0]["nazwa"] = "<script>x</script>"
    context["tabela_pozycji"] = templating.lines_table(context["pozycje"], "1", "2", "3")
    result = render_template("{{ tabela_pozycji }}", context)
    assert result.ok
    assert '<table class="offer-lines">' in result.html
    assert "<script>" not in result.html and "&lt;script&gt;" in result.html


def test_every_palette_tag_renders_with_sample_data():
    source = "\n".join(tag.expr for group in templating.palette() for tag in group.tags()
                       if not tag.expr.startswith("{% for") and not tag.expr.startswith("{{ p."))
    source += "\n{% for p in pozycje %}" + "".join(
        tag.expr for tag in templating.TAG_ROOTS["pozycje"].tags() if tag.expr.startswith("{{ p.")) + "{% endfor %}"
    result = render(source)
    assert result.ok, result.problems


def test_unknown_tags_are_listed_with_their_lines_before_rendering():
    problems = check_template("Hello\n{{ klient.nazwaa }}\n{{ config }}\n{% for p in pozycje %}{{ p.cenaa }}{% endfor %}")
    found = {(p.kind, p.line, p.message.split(": ", 1)[1]) for p in problems}
    assert ("unknown_tag", 2, "klient.nazwaa") in found
    assert ("unknown_tag", 3, "config") in found
    assert ("unknown_tag", 4, "p.cenaa") in found


def test_syntax_error_is_reported_with_its_line():
    problems = check_template("line one\nline two\n{% for p in %}\n")
    assert len(problems) == 1
    assert problems[0].kind == "syntax" and problems[0].line == 3
    assert "Line 3" in str(problems[0])


@pytest.mark.parametrize("source", ["{{ 'x'|truncate(-1) }}", "{{ 1e309|int }}", "{{ 1e309 }}"])
def test_a_filter_refusing_its_arguments_or_an_impossible_number_is_a_problem_not_a_crash(source):
    """Jinja's ``truncate`` asserts its length; its compiler writes 1e309 as ``inf``, a name nothing
    defines: both were a 500 on the offer template's preview."""
    result = render_template(source, sample_context())
    assert result.problems or result.html is not None


def test_unknown_filter_is_a_syntax_problem_not_a_crash():
    problems = check_template("{{ klient|attr('__class__') }}")
    assert problems and problems[0].kind == "syntax"


@pytest.mark.parametrize("source", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ self.__init__ }}",
    "{{ '{0.__class__}'.format(1) }}",
    "{{ '%s' % klient }}",
    "{{ kontakt.imie.__class__.__mro__ }}",
    "{{ loop }}",
])
def test_hostile_attribute_access_is_refused(source):
    result = render(source)
    assert not result.ok
    assert kinds(result) & {"security", "unknown_tag"}
    assert "subclasses" not in str(result.html)


@pytest.mark.parametrize("source", ["{{ config }}", "{{ cycler.__init__.__globals__ }}", "{{ lipsum() }}",
                                    "{{ namespace() }}", "{{ request }}", "{{ joiner() }}"])
def test_globals_of_jinja_and_flask_do_not_exist(source):
    result = render(source)
    assert kinds(result) == {"unknown_tag"}


def test_self_renders_harmlessly():
    result = render("{{ self }}")
    assert result.ok and result.format == "text"
    # Plain text: one paragraph, and the only tag in it is that paragraph's.
    assert result.html == "<p>&lt;TemplateReference &#39;szablon&#39;&gt;</p>\n"


@pytest.mark.parametrize("source", [
    "{% for i in range(10**9) %}x{% endfor %}",
    "{{ 'a' * 10**9 }}",
    "{{ pozycje * 10**9 }}",
    "{{ 10**10**10**10 }}",
    "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
    "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}x{% endfor %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('a') }}",
    "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "{% set a = 'xxxxxxxxxx' * 1000 %}{% set b = a ~ a %}{% set c = b ~ b %}{% set d = c ~ c %}{{ d ~ d }}",
    "{% set x %}{% for i in range(1000) %}{% for j in range(1000) %}AAAAAAAAAAAAAAAAAAAA{% endfor %}{% endfor %}{% endset %}",
    "{{ range(1000)|join('x' * 5000) }}",
    "{{ ('a' * 10000)|replace('a', 'bbbbbbbbbb') }}",
    "{% for c in 'ab' recursive %}{{ loop(c) }}{% endfor %}",
])
def test_runaway_templates_stop_fast_with_a_clear_problem(source):
    result = render(source)
    assert not result.ok
    assert result.problems[0].message
    assert kinds(result) <= {"limit", "forbidden", "security"}


def test_output_size_is_capped():
    body = "{% for i in range(1000) %}" + "{{ klient.nazwa }}" * 50 + "{% endfor %}"
    result = render(body)
    assert kinds(result) == {"limit"}


@pytest.mark.parametrize("source", ["{% include 'x.html' %}", "{% extends 'base.html' %}", "{% import 'm' as m %}",
                                    "{% from 'm' import x %}", "{% autoescape false %}{{ klient.nazwa }}{% endautoescape %}"])
def test_forbidden_statements(source):
    assert {p.kind for p in check_template(source)} == {"forbidden"}


def test_safe_filter_is_not_available():
    problems = check_template("{{ klient.nazwa|safe }}")
    assert problems and problems[0].kind == "syntax"


def test_too_long_source_is_refused():
    assert check_template("x" * (templating.MAX_SOURCE_CHARS + 1))[0].kind == "limit"


def test_context_must_be_plain_values():
    class Row:
        name = "x"

    with pytest.raises(TypeError):
        render_template("{{ klient }}", {"klient": Row()})
    with pytest.raises(TypeError):
        render_template("{{ klient }}", {"klient": {"nazwa": Row()}})


def test_runtime_error_reports_the_template_line():
    result = render("ok\n\n{{ ''.__class__ }}")
    assert result.problems[0].line == 3


def test_allowed_string_methods_and_loop_helpers_work():
    result = render("{{ klient.nazwa.upper() }}|{% for p in pozycje %}{{ loop.index }}{{ loop.cycle('a', 'b') }}"
                    "{% if loop.last %}!{% endif %}{% endfor %}|{{ pozycje|map(attribute='nazwa')|join(', ') }}")
    assert result.ok, result.problems
    assert result.html.startswith("<p>PRZYKŁADOWA SPÓŁKA Z O.O.|1a2b!|Wdrożenie systemu CRM, Licencja")


def test_mutating_methods_are_refused():
    result = render("{{ pozycje.append(1) }}{{ klient.update({'a': 1}) }}")
    assert not result.ok


# --------------------------------------------------------------------------- plain text and formatting


LETTER = ("Szanowni Państwo,\n"
          "dziękujemy za rozmowę.\n"
          "\n"
          "Oferta dla **{{ klient.nazwa }}**:\n"
          "- wdrożenie\n"
          "- szkolenie\n"
          "\n"
          "Z poważaniem\n"
          "{{ sprzedawca.imie_nazwisko }}")


def test_a_plain_text_template_keeps_its_lines_paragraphs_bold_and_bullets():
    result = render(LETTER)
    assert result.ok, result.problems
    assert result.format == "text"
    assert result.html == (
        "<p>Szanowni Państwo,<br>\ndziękujemy za rozmowę.</p>\n"
        "<p>Oferta dla <strong>Przykładowa Spółka z o.o.</strong>:</p>\n"
        "<ul>\n<li>wdrożenie</li>\n<li>szkolenie</li>\n</ul>\n"
        "<p>Z poważaniem<br>\nJan Kowalski</p>\n")


def test_headings_and_an_unpaired_star_pair_in_plain_text():
    result = render("# {{ oferta.tytul }}\n## Warunki\nCena 2**3 zł")
    assert result.html == "<h1>Oferta wdrożenia CRM</h1>\n<h2>Warunki</h2>\n<p>Cena 2**3 zł</p>\n"


def test_the_lines_table_stays_a_table_between_paragraphs_of_plain_text():
    result = render("Pozycje:\n{{ tabela_pozycji }}\nRazem: {{ suma_brutto }}")
    assert result.format == "text"
    assert result.html.startswith('<p>Pozycje:</p>\n<table class="offer-lines"><thead>')
    assert result.html.endswith("</table><p>Razem: 16 974,00</p>\n")
    assert "<br>" not in result.html


def test_a_line_break_inside_a_value_is_kept_in_plain_text():
    context = sample_context()
    context["oferta"]["uwagi"] = "Pierwsza uwaga\r\nDruga uwaga"
    result = render_template("Uwagi: {{ oferta.uwagi }}", context)
    assert result.html == "<p>Uwagi: Pierwsza uwaga<br>\nDruga uwaga</p>\n"


@pytest.mark.parametrize("source", [
    "Dzień dobry\n<script>alert(1)</script>\nkoniec",
    "Dzień dobry <{{ 'script' }}>alert(1)</script>",  # a tag put together from a value
    "<p>HTML</p><script>alert(1)</script>",
    "<p>HTML</p><SCRIPT src=//x></SCRIPT>",
])
def test_script_in_a_template_is_shown_as_text_never_run(source):
    result = render(source)
    assert result.ok, result.problems
    assert "<script" not in result.html.lower()
    assert "&lt;script" in result.html.lower()


def test_html_in_a_plain_text_value_stays_escaped_and_does_not_make_the_body_html():
    context = sample_context()
    context["klient"]["nazwa"] = "<p>Firma</p><img src=x onerror=alert(1)>"
    result = render_template("Dla {{ klient.nazwa }}\nlinia", context)
    assert result.format == "text"
    assert "&lt;p&gt;Firma&lt;/p&gt;&lt;img src=x onerror=alert(1)&gt;" in result.html
    assert "<img" not in result.html


def test_an_html_template_keeps_its_layout_and_loses_scriptable_parts():
    result = render('<h1 onclick="alert(1)">{{ oferta.tytul }}</h1>\n<p style="text-align:right">a\nb</p>'
                    '<a href="javascript:alert(1)">x</a> <a href="https://przyklad.pl">www</a>'
                    '<iframe src="https://evil.example"></iframe><!-- hidden -->')
    assert result.format == "html"
    assert result.html == (
        '<h1>Oferta wdrożenia CRM</h1>\n<p style="text-align:right">a\nb</p>'
        '<a>x</a> <a href="https://przyklad.pl">www</a>'
        '&lt;iframe src=&#34;https://evil.example&#34;&gt;&lt;/iframe&gt;')


def test_the_default_html_template_renders_as_before():
    from sandbox_crm.services.offers import DEFAULT_TEMPLATE_BODY

    result = render(DEFAULT_TEMPLATE_BODY)
    assert result.ok and result.format == "html"
    assert "<br>" in result.html and "<p>Szanowna Pani" in result.html and "</table>" in result.html
    assert "<br>\n" not in result.html  # no line break added to an HTML body


def test_css_cannot_end_its_style_element_and_an_unclosed_script_hides_no_text():
    result = render("<p>Oferta</p><style>p > b { color: red } &lt;/style&gt;&lt;script&gt;alert(1)</style>")
    assert "<script" not in result.html.lower()
    assert "<style>p > b { color: red } \\3c /style>\\3c script>alert(1)</style>" in result.html
    result = render("Dzień dobry <script> i dalszy tekst\nkolejny wiersz")
    assert result.html == "<p>Dzień dobry &lt;script&gt; i dalszy tekst<br>\nkolejny wiersz</p>\n"
