"""The sandboxed template engine of offer templates (criteria 2.2.a–b).

A candidate writes an offer body with merge tags (``{{ klient.nazwa }}``,
``{% for p in pozycje %}...{% endfor %}``): plain text with simple formatting, or
HTML (what the body's own text means is :mod:`.offer_markup`'s business, applied to
every rendered body). The body is untrusted: it is rendered by
:class:`OfferTemplateEnvironment`, an immutable Jinja sandbox that

- sees only a whitelisted context of plain values (dicts, lists, strings,
  numbers, dates) — never ORM objects, never the application's config;
- allows a short list of attributes, callables and filters, so nothing reaches
  ``__class__``, ``__globals__``, ``str.format`` or the ``cycler``/``namespace``
  globals;
- escapes every value (autoescape on, no ``|safe``, no ``{% autoescape %}``);
- runs on a budget: every loop iteration, call and printed value costs steps,
  ``range()`` is short, operators refuse huge strings/lists/integers, and the
  output has a maximum length, so a hostile template fails fast instead of
  hanging or filling memory.

Problems are reported, not raised: :func:`check_template` lists syntax errors
(with their line), forbidden constructs and unknown tags before rendering, and
:func:`render_template` returns the HTML (laid out and allow-listed by
:func:`.offer_markup.format_output`) or the problems that stopped it.

The module is pure (no database, no request); the tag names are Polish ASCII
identifiers, so they read naturally to a Polish candidate and type on any keyboard,
while their descriptions in :data:`TAG_GROUPS` are translated.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from types import BuiltinMethodType, MethodType
from typing import Any, cast

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.runtime import LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from . import offer_markup

TEMPLATE_NAME = "szablon"

MAX_SOURCE_CHARS = 50_000  # a template body longer than this is refused
MAX_OUTPUT_CHARS = 300_000  # rendering stops when the output grows past this
MAX_VALUE_LEN = 20_000  # longest string / list an operator, filter or call may produce
MAX_INT_BITS = 512  # largest integer an operator may produce
MAX_RANGE = 1_000  # longest range() a template may ask for
STEP_BUDGET = 200_000  # loop iterations + calls + printed characters / 10, per render
CALL_COST = 5  # a macro call costs more steps than a loop pass: it is several times slower


# --------------------------------------------------------------------------- tags


@dataclass(frozen=True)
class Tag:
    """One merge tag of the palette: its expression and what it holds."""

    expr: str
    description: Any  # lazy translated string
    sample: Any = None


@dataclass(frozen=True)
class TagGroup:
    """Tags sharing a root name: ``klient`` → ``klient.nazwa``, ``klient.nip`` ...

    ``fields`` maps the attribute to its description; a group without fields is a
    single value (``data_oferty``); ``is_list`` marks a list whose items have the
    fields (``pozycje``: loop over it).
    """

    root: str
    title: Any
    fields: dict[str, Any] = field(default_factory=dict)
    is_list: bool = False
    description: Any = None

    def tags(self) -> list[Tag]:
        """The palette entries of the group, as the candidate would type them."""
        if self.is_list:
            return [Tag("{% for p in " + self.root + " %}…{% endfor %}", self.description)] + [
                Tag("{{ p." + name + " }}", desc) for name, desc in self.fields.items()
            ]
        if not self.fields:
            return [Tag("{{ " + self.root + " }}", self.description)]
        return [Tag("{{ " + self.root + "." + name + " }}", desc) for name, desc in self.fields.items()]


TAG_GROUPS: list[TagGroup] = [
    TagGroup("klient", _l("Customer (company)"), {
        "nazwa": _l("Company name"),
        "nip": _l("Tax number (NIP)"),
        "regon": _l("REGON number"),
        "adres": _l("Street address"),
        "miasto": _l("City"),
        "region": _l("Region (voivodeship)"),
        "branza": _l("Industry"),
        "email": _l("Company e-mail"),
        "telefon": _l("Company phone"),
        "www": _l("Website"),
    }),
    TagGroup("kontakt", _l("Recipient (contact person)"), {
        "imie": _l("First name"),
        "nazwisko": _l("Last name"),
        "imie_nazwisko": _l("First and last name"),
        "stanowisko": _l("Position"),
        "email": _l("E-mail"),
        "telefon": _l("Phone"),
    }),
    TagGroup("oferta", _l("Offer"), {
        "numer": _l("Offer number"),
        "tytul": _l("Offer title"),
        "uwagi": _l("Notes written on the offer"),
    }),
    TagGroup("szansa", _l("Opportunity (if the offer is linked to one)"), {
        "nazwa": _l("Opportunity name"),
        "wartosc": _l("Opportunity value"),
    }),
    TagGroup("sprzedawca", _l("Sender"), {
        "imie_nazwisko": _l("Name of the person sending the offer"),
    }),
    TagGroup("pozycje", _l("Offer lines"), {
        "lp": _l("Line number"),
        "nazwa": _l("Product or service name"),
        "opis": _l("Product description"),
        "jm": _l("Unit"),
        "ilosc": _l("Quantity"),
        "cena_netto": _l("Net unit price"),
        "rabat": _l("Discount in percent"),
        "stawka_vat": _l("VAT rate"),
        "wartosc_netto": _l("Net value of the line"),
        "wartosc_vat": _l("VAT of the line"),
        "wartosc_brutto": _l("Gross value of the line"),
    }, is_list=True, description=_l("Loop over the offer lines; inside use p.nazwa, p.ilosc …")),
    TagGroup("tabela_pozycji", _l("Lines table"), description=_l("Ready-made table of all offer lines")),
    TagGroup("suma_netto", _l("Net total"), description=_l("Total net value")),
    TagGroup("suma_vat", _l("VAT total"), description=_l("Total VAT")),
    TagGroup("suma_brutto", _l("Gross total"), description=_l("Total gross value")),
    TagGroup("waluta", _l("Currency"), description=_l("Currency code, e.g. PLN")),
    TagGroup("data_oferty", _l("Offer date"), description=_l("Date the offer is issued")),
    TagGroup("waznosc_do", _l("Valid until"), description=_l("Date until which the offer is valid")),
]
TAG_ROOTS: dict[str, TagGroup] = {group.root: group for group in TAG_GROUPS}
RULES = [
    _l("Write plain text: a blank line starts a new paragraph and every line break is kept."),
    _l("Simple formatting: **bold**; a line starting with “- ” is a bullet point; “# ” starts a heading."),
    # No "<" in these: Flask-Babel's lazy strings are marked safe, so the page would not escape a tag.
    _l("Or write HTML with tags such as p, h1, table: the layout then follows the tags. Scripts and other tags "
       "are shown as text."),
    _l("Loops: {% for p in pozycje %} … {% endfor %}; conditions: {% if kontakt.imie %} … {% endif %}."),
    _l("Filters: upper, lower, title, default, length, round, join, replace, truncate."),
    _l("Values are always escaped; scripts, includes and Python objects are not available."),
]
# Names a template may use besides the tags: our own short range().
ALLOWED_GLOBALS = {"range"}


def sample_context() -> dict:
    """Example data for the preview: every tag of the palette has a value."""
    lines = [
        {"lp": 1, "nazwa": "Wdrożenie systemu CRM", "opis": "Konfiguracja i szkolenie", "jm": "usł.",
         "ilosc": "1", "cena_netto": "12 000,00", "rabat": "10", "stawka_vat": "23%",
         "wartosc_netto": "10 800,00", "wartosc_vat": "2 484,00", "wartosc_brutto": "13 284,00"},
        {"lp": 2, "nazwa": "Licencja użytkownika (rok)", "opis": "", "jm": "szt.",
         "ilosc": "5", "cena_netto": "600,00", "rabat": "0", "stawka_vat": "23%",
         "wartosc_netto": "3 000,00", "wartosc_vat": "690,00", "wartosc_brutto": "3 690,00"},
    ]
    return {
        "klient": {"nazwa": "Przykładowa Spółka z o.o.", "nip": "5250000000", "regon": "140000000",
                   "adres": "ul. Złota 44", "miasto": "Warszawa", "region": "mazowieckie",
                   "branza": "Handel", "email": "biuro@przyklad.pl", "telefon": "+48 22 000 00 00",
                   "www": "przyklad.pl"},
        "kontakt": {"imie": "Anna", "nazwisko": "Żółkiewska", "imie_nazwisko": "Anna Żółkiewska",
                    "stanowisko": "Kierownik zakupów", "email": "anna@przyklad.pl", "telefon": "600 000 000"},
        "oferta": {"numer": "OF/2025/001", "tytul": "Oferta wdrożenia CRM", "uwagi": ""},
        "szansa": {"nazwa": "Wdrożenie CRM", "wartosc": "15 000,00"},
        "sprzedawca": {"imie_nazwisko": "Jan Kowalski"},
        "pozycje": lines,
        "tabela_pozycji": lines_table(lines, "13 800,00", "3 174,00", "16 974,00"),
        "suma_netto": "13 800,00",
        "suma_vat": "3 174,00",
        "suma_brutto": "16 974,00",
        "waluta": "PLN",
        "data_oferty": "01.03.2025",
        "waznosc_do": "31.03.2025",
    }


def lines_table(lines: list[dict], net: str, vat: str, gross: str) -> Markup:
    """The ready-made HTML table behind ``{{ tabela_pozycji }}`` (every value escaped)."""
    head = [_("No."), _("Product or service"), _("Qty"), _("Unit"), _("Net price"), _("Discount %"),
            _("VAT"), _("Net value"), _("Gross value")]
    rows = []
    for line in lines:
        cells = [line["lp"], line["nazwa"], line["ilosc"], line["jm"], line["cena_netto"], line["rabat"],
                 line["stawka_vat"], line["wartosc_netto"], line["wartosc_brutto"]]
        rows.append(Markup("<tr>{}</tr>").format(Markup("").join(Markup("<td>{}</td>").format(c) for c in cells)))
    totals = Markup('<tr class="totals"><th colspan="7">{}</th><td>{}</td><td>{}</td></tr>').format(
        _("Total (VAT %(vat)s)", vat=vat), net, gross)
    return Markup('<table class="offer-lines"><thead><tr>{}</tr></thead><tbody>{}{}</tbody></table>').format(
        Markup("").join(Markup("<th>{}</th>").format(h) for h in head), Markup("").join(rows), totals)


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """Something that stops a template from rendering, for the candidate to fix."""

    kind: str  # syntax | forbidden | unknown_tag | security | limit | error
    message: str
    line: int | None = None

    def __str__(self) -> str:
        if self.line:
            return _("Line %(line)d: %(message)s", line=self.line, message=self.message)
        return self.message


@dataclass
class RenderResult:
    """The rendered HTML, or the problems that prevented it; ``format`` says how the body was read."""

    html: str | None = None
    problems: list[Problem] = field(default_factory=list)
    format: str = offer_markup.TEXT

    @property
    def ok(self) -> bool:
        return self.html is not None and not self.problems


class TemplateLimitError(TemplateError):
    """The template asked for too much work or too large a value."""


class Budget:
    """Steps a single render may spend; spending past it raises :class:`TemplateLimitError`."""

    def __init__(self, steps: int = STEP_BUDGET) -> None:
        self.left = steps

    def charge(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            raise TemplateLimitError(_("The template does too much work (too many loop passes or calls)."))


class OfferUndefined(StrictUndefined):
    """Using an unknown tag is an error (reported), never a silently empty text."""


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple, dict)) else 0


def _check_value(value: Any) -> Any:
    """Refuse a string, list or integer larger than the limits; return ``value`` otherwise."""
    if isinstance(value, (str, list, tuple, dict)) and len(value) > MAX_VALUE_LEN:
        raise TemplateLimitError(_("A value in the template grew too large (over %(n)d characters or items).",
                                   n=MAX_VALUE_LEN))
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError(_("A number in the template grew too large."))
    return value


# --------------------------------------------------------------------------- the sandbox

SAFE_STR_METHODS = frozenset({
    "upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith", "endswith",
    "isdigit", "isalpha", "isupper", "islower",
})
SAFE_LOOP_ATTRIBUTES = frozenset({
    "index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0",
    "previtem", "nextitem", "cycle", "changed",
})
SAFE_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
    "forceescape", "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max",
    "min", "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr", "sort",
    "string", "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "wordcount",
)


def _precheck(name: str, value: Any, args: tuple, kwargs: dict) -> None:
    """Refuse the arguments of ``join`` / ``replace`` that would build a huge string."""
    if name == "join":
        sep = args[0] if args else kwargs.get("d", "")
        if _size(sep) * _size(value) > MAX_VALUE_LEN:
            raise TemplateLimitError(_("The joined text would be too long."))
    elif name == "replace" and len(args) >= 2 and isinstance(value, str):
        old, new = str(args[0]), str(args[1])
        occurrences = value.count(old) if old else len(value) + 1
        if len(value) + occurrences * len(new) > MAX_VALUE_LEN:
            raise TemplateLimitError(_("The replaced text would be too long."))


def _wrap_filter(env: OfferTemplateEnvironment, name: str, func: Callable) -> Callable:
    """``func`` charging the budget by the size of its input and refusing an oversized result."""

    @wraps(func)
    def limited(*args: Any, **kwargs: Any) -> Any:
        skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
        value = args[skip] if len(args) > skip else None
        env.budget.charge(1 + _size(value) // 10)
        _precheck(name, value, args[skip + 1:], kwargs)
        return _check_value(func(*args, **kwargs))

    return limited


class _BudgetedIterator:
    """Iterates a for-loop's sequence, charging the budget for every pass."""

    def __init__(self, iterable: Any, budget: Budget, cost: int) -> None:
        self._length = len(iterable) if isinstance(iterable, (list, tuple, str, dict, range)) else None
        self._iterator = iter(iterable)
        self._budget = budget
        self._cost = cost

    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> Any:
        item = next(self._iterator)
        self._budget.charge(self._cost)
        return item

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("no length")
        return self._length


def _literal_size(node: nodes.Node) -> int:
    """Characters of literal template text inside ``node`` (what one loop pass writes at least)."""
    return sum(len(data.data) for data in node.find_all(nodes.TemplateData))


def _budget_loops(ast: nodes.Template) -> None:
    """Wrap every for-loop's sequence in the ``_budgeted`` filter, priced by the loop body's literal text."""
    for loop in ast.find_all(nodes.For):
        cost = 1 + sum(_literal_size(child) for child in loop.body) // 10
        loop.iter = nodes.Filter(loop.iter, "_budgeted", [nodes.Const(cost)], [], None, None,
                                 lineno=loop.lineno)


class _BudgetedCodeGenerator(CodeGenerator):
    """Jinja's code generator with every ``~`` concatenation checked for size."""

    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
        self.write("environment.checked_value(")
        super().visit_Concat(node, frame)
        self.write(")")


def _safe_range(*args: int) -> range:
    """``range()`` for templates: at most :data:`MAX_RANGE` numbers."""
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise TemplateLimitError(_("range() may produce at most %(n)d numbers.", n=MAX_RANGE))
    return rng


class OfferTemplateEnvironment(ImmutableSandboxedEnvironment):
    """An immutable Jinja sandbox with a whitelist of attributes, callables and filters and a budget.

    One environment serves one render (the budget is per render); creating it is cheap.
    """

    code_generator_class = _BudgetedCodeGenerator
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget()
        super().__init__(autoescape=True, undefined=OfferUndefined, finalize=self._finalize,
                         trim_blocks=True, lstrip_blocks=True, cache_size=0, auto_reload=False)
        self.globals = {"range": _safe_range}
        self.filters = {name: _wrap_filter(self, name, JINJA_FILTERS[name]) for name in SAFE_FILTERS}
        self.filters["_budgeted"] = self._budgeted

    def _generate(self, source: Any, name: str | None, filename: str | None, defer_init: bool = False) -> str:
        # Compiling (not parsing for checks) puts every loop on the budget.
        if isinstance(source, str):
            source = self._parse(source, name, filename)
        _budget_loops(source)
        return super()._generate(source, name, filename, defer_init=defer_init)

    def _budgeted(self, iterable: Any, cost: int) -> _BudgetedIterator:
        return _BudgetedIterator(iterable, self.budget, cost)

    def _finalize(self, value: Any) -> Any:
        self.budget.charge(1 + len(str(value)) // 10)
        return value

    def checked_value(self, value: Any) -> Any:
        return _check_value(value)

    # -- attribute and call whitelist ------------------------------------------------

    def wrap_str_format(self, value: Any) -> None:
        # str.format is never reachable (it is not in SAFE_STR_METHODS); no wrapped variant either.
        return None

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("_"):
            return False
        if isinstance(obj, str):
            return attr in SAFE_STR_METHODS
        if isinstance(obj, LoopContext):
            return attr in SAFE_LOOP_ATTRIBUTES
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        if isinstance(obj, Macro) or obj is _safe_range:
            return True
        if isinstance(obj, (MethodType, BuiltinMethodType)):
            owner = getattr(obj, "__self__", None)
            name = getattr(obj, "__name__", "")
            if isinstance(owner, str):
                return name in SAFE_STR_METHODS
            if isinstance(owner, LoopContext):
                return name in {"cycle", "changed"}
        # Block references (``self.block()``, ``super()``) render a block of this very template.
        return type(obj).__name__ == "BlockReference" or getattr(obj, "__name__", "") == "super"

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self.budget.charge(CALL_COST + sum(_size(a) for a in args) // 10)
        if not __self.is_safe_callable(__obj):
            raise SecurityError(_("Calling this is not allowed in an offer template."))
        return _check_value(__context.call(__obj, *args, **kwargs))

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "%" and isinstance(left, str):
            raise SecurityError(_("Formatting text with the percent operator is not allowed; use the filters."))
        if operator_ == "**":
            # (mypy infers abs() of a union as object)
            if not isinstance(right, (int, float, Decimal)) or cast("int | float | Decimal", abs(right)) > 64:
                raise TemplateLimitError(_("The exponent is too large."))
        if operator_ == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                    if len(seq) * max(times, 0) > MAX_VALUE_LEN:
                        raise TemplateLimitError(_("A value in the template grew too large (over %(n)d characters or items).",
                                                   n=MAX_VALUE_LEN))
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                    raise TemplateLimitError(_("A number in the template grew too large."))
        return _check_value(self.binop_table[operator_](left, right))


# --------------------------------------------------------------------------- checks


FORBIDDEN_NODES: dict[type[nodes.Node], Any] = {
    nodes.Extends: _l("{% extends %} is not available in offer templates."),
    nodes.Include: _l("{% include %} is not available in offer templates."),
    nodes.Import: _l("{% import %} is not available in offer templates."),
    nodes.FromImport: _l("{% from … import %} is not available in offer templates."),
    nodes.EvalContextModifier: _l("{% autoescape %} is not available: values are always escaped."),
}


def _name_lines(ast: nodes.Template) -> dict[str, int]:
    lines: dict[str, int] = {}
    for name in ast.find_all(nodes.Name):
        if name.ctx == "load":
            lines.setdefault(name.name, name.lineno)
    return lines


def _field_problems(ast: nodes.Template) -> list[Problem]:
    """Unknown fields of known tags: ``klient.nazwaa``, and ``p.cenaa`` inside ``for p in pozycje``."""
    problems = []
    item_vars: dict[str, TagGroup] = {}
    for loop in ast.find_all(nodes.For):
        if isinstance(loop.iter, nodes.Name) and isinstance(loop.target, nodes.Name):
            group = TAG_ROOTS.get(loop.iter.name)
            if group is not None and group.is_list:
                item_vars[loop.target.name] = group
    # find_all() yields only the node types asked for (typed as their common base, Expr).
    accesses = cast("Iterator[nodes.Getattr | nodes.Getitem]", ast.find_all((nodes.Getattr, nodes.Getitem)))
    for node in accesses:
        if not isinstance(node.node, nodes.Name):
            continue
        if isinstance(node, nodes.Getattr):
            attr = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            attr = node.arg.value
        else:
            continue
        root = node.node.name
        group = TAG_ROOTS.get(root)
        if group is not None and (group.is_list or not group.fields):
            continue
        if group is None:
            group = item_vars.get(root)
        if group is not None and attr not in group.fields:
            problems.append(Problem("unknown_tag", _("Unknown tag: %(tag)s", tag=f"{root}.{attr}"), node.lineno))
    return problems


def check_template(source: str) -> list[Problem]:
    """Problems found without rendering: size, syntax (with line), forbidden tags, unknown tags."""
    if len(source) > MAX_SOURCE_CHARS:
        return [Problem("limit", _("The template is too long (at most %(n)d characters).", n=MAX_SOURCE_CHARS))]
    env = OfferTemplateEnvironment()
    try:
        ast = env.parse(source, name=TEMPLATE_NAME)
    except TemplateSyntaxError as exc:
        return [Problem("syntax", _("Syntax error: %(message)s", message=exc.message or ""), exc.lineno)]
    problems = []
    for node_type, message in FORBIDDEN_NODES.items():
        for node in ast.find_all(node_type):
            problems.append(Problem("forbidden", str(message), node.lineno))
    for loop in ast.find_all(nodes.For):
        if loop.recursive:
            problems.append(Problem("forbidden", _("Recursive loops are not available in offer templates."),
                                    loop.lineno))
    try:
        undeclared = meta.find_undeclared_variables(ast)
    except TemplateSyntaxError as exc:  # an unknown filter or test is found while compiling
        return [*problems, Problem("syntax", _("Syntax error: %(message)s", message=exc.message or ""), exc.lineno)]
    lines = _name_lines(ast)
    for name in sorted(undeclared - set(TAG_ROOTS) - ALLOWED_GLOBALS):
        problems.append(Problem("unknown_tag", _("Unknown tag: %(tag)s", tag=name), lines.get(name)))
    problems.extend(_field_problems(ast))
    return sorted(problems, key=lambda p: (p.line or 0, p.kind, p.message))


# --------------------------------------------------------------------------- rendering

PLAIN_TYPES = (str, int, float, Decimal, bool, date, datetime, type(None))


def ensure_plain(value: Any, path: str = "context") -> None:
    """Raise ``TypeError`` unless ``value`` is made of dicts, lists and plain scalars only."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: keys must be strings")
            ensure_plain(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            ensure_plain(item, f"{path}[{index}]")
    elif not isinstance(value, PLAIN_TYPES):
        raise TypeError(f"{path}: {type(value).__name__} is not a plain value")


def _template_line(exc: BaseException) -> int | None:
    """The template line an exception was raised at (Jinja rewrites the traceback to show it)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_NAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_template(source: str, context: dict, steps: int = STEP_BUDGET) -> RenderResult:
    """Render ``source`` with ``context`` (plain values only) in the sandbox.

    Returns the HTML, or the problems: those of :func:`check_template`, or the
    one that stopped rendering (unknown value, forbidden access, limit reached,
    any other template error) with its line where known.
    """
    ensure_plain(context)
    problems = check_template(source)
    if problems:
        return RenderResult(problems=problems)
    env = OfferTemplateEnvironment(Budget(steps))
    template = env.template_class.from_code(
        env, env.compile(source, TEMPLATE_NAME, TEMPLATE_NAME), env.make_globals(None), None)
    parts: list[str] = []
    written = 0
    try:
        for chunk in template.generate(context):
            written += len(chunk)
            if written > MAX_OUTPUT_CHARS:
                raise TemplateLimitError(_("The document is too long (over %(n)d characters).", n=MAX_OUTPUT_CHARS))
            parts.append(chunk)
    except SecurityError as exc:
        return RenderResult(problems=[Problem("security", _("Not allowed: %(message)s", message=str(exc)),
                                              _template_line(exc))])
    except TemplateLimitError as exc:
        return RenderResult(problems=[Problem("limit", str(exc), _template_line(exc))])
    except UndefinedError as exc:
        return RenderResult(problems=[Problem("unknown_tag", _("No value: %(message)s", message=str(exc)),
                                              _template_line(exc))])
    except RecursionError as exc:
        return RenderResult(problems=[Problem("limit", _("The template calls itself too deeply."),
                                              _template_line(exc))])
    # AssertionError: a filter's own check of its arguments (``truncate(-1)``); NameError: Jinja's
    # compiler writes a float constant too large for a float as ``inf``, a name nothing defines.
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError, AssertionError,
            NameError) as exc:
        return RenderResult(problems=[Problem("error", _("The template could not be rendered: %(message)s",
                                                        message=str(exc)[:300]), _template_line(exc))])
    mode = template_format(source)
    return RenderResult(html=offer_markup.format_output("".join(parts), mode), format=mode)


def template_format(source: str) -> str:
    """How a (syntactically valid) body is read: plain text with simple formatting, or HTML.

    Only the template's own text counts, not the merge-tag values (the lines table is HTML
    whatever the body is).
    """
    ast = OfferTemplateEnvironment().parse(source, name=TEMPLATE_NAME)
    literal = "".join(data.data for data in ast.find_all(nodes.TemplateData))
    return offer_markup.template_format(literal)


def palette() -> list[TagGroup]:
    """The tag groups shown on the template editor, in order."""
    return list(TAG_GROUPS)
