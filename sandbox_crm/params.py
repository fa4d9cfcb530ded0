"""Query-string and form parameters: one declaration per view, one parser per kind of value.

A view declares what it reads from the query string (``@params``) or from a posted form outside
a WTForms form (``@form_params``)::

    @bp.route("/w/<int:ws_id>/contacts")
    @params(q=Text(max=200), company=ID, tag=ID, page=PAGE)
    def contacts(q: str, company: int | None, tag: int | None, page: int): ...

The decorator parses the values before the view runs and passes them in as keyword arguments.
The declaration stays on the view (:func:`declared_params`), so a test walks every route's
parameters with hostile values, and nothing else in the code reads ``request.args`` or
``request.form`` by key (``tests/web/test_query_params.py`` checks the source).

What a bad value does depends on the kind of parameter, the same in every view:

* an id or a number (:data:`ID`, :class:`Number`): a 400 naming the parameter. Such a value
  comes from the application's own links and forms, so a malformed one was damaged or forged;
  ignoring or clamping it would show or change something else than what was asked for. The one
  exception is a *hint* (``Number(hint=True)``), a number the request does not depend on, such as
  the question a heartbeat says is on screen: a bad one is dropped, so the heartbeat still answers.
* a page number (:data:`PAGE`): the first page (lists clamp the page anyway, and an old link
  should still open the list).
* a closed choice (:class:`Choice`): its default; a flag (:class:`Flag`, :class:`Present`): off.
* free text (:class:`Text`, :class:`Fields`, :class:`RowValues`): cut to its maximum length.
* a date (:class:`Date`): none, and its name is in :func:`invalid_params` so that the page says
  so next to the field.
* a WTForms filter form (:class:`QueryForm`): the form validates its own fields (a NUL byte
  included) and shows the errors next to them.

A NUL byte in a declared value is refused with a 400 (PostgreSQL cannot store one in text). An
empty value is the same as an absent one. A parameter given more than once is read from its
first value (as ``request.args.get`` does), except :class:`Many`, which reads them all.

This module belongs to the sandbox so that the sandbox stays independent of its host; the host
application (examportal) uses the same parsers rather than a copy.
"""
from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn, TypeVar, cast

from flask import abort, g, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, Map
from wtforms.fields.core import UnboundField

__all__ = [
    "ID",
    "MAX_ID",
    "NEXT",
    "PAGE",
    "Choice",
    "Date",
    "Declaration",
    "Fields",
    "Flag",
    "IdConverter",
    "Indexed",
    "Many",
    "Number",
    "Param",
    "Present",
    "QueryForm",
    "RowValues",
    "Text",
    "current_query",
    "declared_params",
    "form_params",
    "invalid_params",
    "params",
    "parse_id",
    "parse_number",
    "refuse_damaged",
]

MAX_ID = 2**31 - 1  # the largest value an INTEGER column (every id) holds on every supported database
MAX_DIGITS = len(str(MAX_ID))


class IdConverter(IntegerConverter):
    """``<int:...>`` in a URL, bounded to what an id column holds: a larger number matches no
    route (404) instead of reaching the database, where it would overflow (a 500)."""

    def __init__(self, url_map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

F = TypeVar("F", bound=Callable[..., Any])


def parse_number(raw: str | None, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """A whole number in ``minimum``..``maximum`` written with ASCII digits, or None.

    ``str.isdigit()`` alone accepts "²" (which ``int()`` refuses) and "١٢" (which it reads as 12);
    without a length cap a 20-digit number overflows an INTEGER column (OverflowError on SQLite,
    DataError on PostgreSQL). Signs, spaces inside, decimals and exponents are not numbers here.
    """
    text = (raw or "").strip()
    if not text or len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def parse_id(raw: str | None) -> int | None:
    """A database id sent by a form or in a query string, or None when it is not one (empty,
    signed, non-ASCII digits, too long, or beyond an INTEGER column)."""
    return parse_number(raw, 1, MAX_ID)


def _refuse(message: str) -> NoReturn:
    abort(400, description=message)


def refuse_damaged(name: str) -> NoReturn:
    """Answer 400 for the parameter ``name`` that is not a valid value: for a parameter kind of a
    view's own (``GoTo`` in the theory test) or a filter form's hidden id, whose field error would go
    unseen."""
    _refuse(_damaged(name))


def _damaged(name: str) -> str:
    return str(_("This link or form is damaged: %(name)s is not a valid value. Go back and open it again.", name=name))


def _incomplete(name: str) -> str:
    return str(_("This link or form is incomplete: %(name)s is missing. Go back and open it again.", name=name))


def invalid_params() -> frozenset[str]:
    """Names of the declared parameters of this request whose value was unusable and dropped
    (a date that is not one), so that the page can say so next to the field."""
    return frozenset(g.get("invalid_params", ()))


def _mark_invalid(name: str) -> None:
    g.invalid_params = {*g.get("invalid_params", ()), name}


class Param:
    """One declared parameter: how to read it from the request's values and what a bad one does."""

    #: What the view gets when the parameter is absent or empty.
    default: Any = None
    #: Whether a bad value is refused with a 400 (else it falls back as the module docstring says).
    refuses: bool = False
    #: The request's name for it, when the view's keyword differs (``next`` is a builtin).
    key: str | None = None

    def named(self, key: str) -> Param:
        """This parameter read from the request key ``key`` (the view's keyword keeps its own name)."""
        clone = copy.copy(self)
        clone.key = key
        return clone

    def names(self, name: str) -> list[str]:
        """The request keys this parameter reads (for tests that walk every parameter)."""
        return [name]

    def raw_values(self, values: MultiDict[str, str], name: str) -> list[str]:
        return [value for key in self.names(name) for value in values.getlist(key)]

    def read(self, values: MultiDict[str, str], name: str) -> Any:
        raw = values.get(name)
        if raw is None or not raw.strip():
            return self.default
        return self.parse(raw, name)

    def parse(self, raw: str, name: str) -> Any:
        """The value of a present, non-empty ``raw`` (or the refusal, or the fallback): the text as
        sent, for a parameter that reads its values its own way (overriding :meth:`read`)."""
        return raw


class Number(Param):
    """A whole number (an id, a position, a sequence number) in ``minimum``..``maximum``."""

    refuses = True

    def __init__(self, minimum: int = 1, maximum: int = MAX_ID, *, required: bool = False, message: Any = None,
                 hint: bool = False) -> None:
        """``message`` (a lazy string) replaces the generic one when the value is missing or bad. A
        ``hint`` is a number the request does not depend on (the question a heartbeat says is shown):
        a bad one is dropped (None) rather than refused, so that the request itself still works."""
        self.minimum, self.maximum, self.required, self.message = minimum, maximum, required, message
        self.refuses = not hint

    def read(self, values: MultiDict[str, str], name: str) -> Any:
        raw = values.get(name)
        if (raw is None or not raw.strip()) and self.required:
            _refuse(str(self.message) if self.message else _incomplete(name))
        return super().read(values, name)

    def parse(self, raw: str, name: str) -> int | None:
        value = parse_number(raw, self.minimum, self.maximum)
        if value is None and self.refuses:
            _refuse(str(self.message) if self.message else _damaged(name))
        return value


#: A database id: 1 .. 2**31-1, ASCII digits only.
ID = Number()


class Page(Param):
    """A page number of a list: the first page for anything that is not one."""

    default = 1

    def parse(self, raw: str, name: str) -> int:
        return parse_number(raw, 1, MAX_ID) or 1


PAGE = Page()


class Text(Param):
    """Free text (a search, an e-mail address, a path to return to), stripped and cut to ``max``."""

    default = ""

    def __init__(self, max: int) -> None:
        self.max = max

    def parse(self, raw: str, name: str) -> str:
        return raw.strip()[: self.max]


#: A path of this site to return to (``?next=`` or a form's ``next``), as the keyword ``next_url``
#: (the view checks that it is local).
NEXT = Text(max=2000).named("next")


class Choice(Param):
    """One of a closed set of values; anything else is ``default``."""

    def __init__(self, values: Iterable[str], default: str = "") -> None:
        self.values = tuple(values)
        self.default = default

    def parse(self, raw: str, name: str) -> str:
        return raw if raw in self.values else self.default


class Flag(Param):
    """A checkbox-like switch: on when the value is ``on``."""

    default = False

    def __init__(self, on: str = "1") -> None:
        self.on = on

    def parse(self, raw: str, name: str) -> bool:
        return raw == self.on


class Present(Param):
    """A button's name: on when the parameter is there at all, whatever its value."""

    default = False

    def read(self, values: MultiDict[str, str], name: str) -> bool:
        return name in values


#: The dates a filter or a view may name: pages add days and months to them (a day after the
#: filter's last day, a schedule's stages), which the calendar's ends would not allow.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2999, 12, 31)


class Date(Param):
    """A date as YYYY-MM-DD between :data:`EARLIEST_DATE` and :data:`LATEST_DATE`; None (and listed
    in :func:`invalid_params`) when it is not one."""

    def parse(self, raw: str, name: str) -> date | None:
        text = raw.strip()
        try:
            if not text.isascii():
                raise ValueError(text)
            day = date.fromisoformat(text)
            if not EARLIEST_DATE <= day <= LATEST_DATE:
                raise ValueError(text)
            return day
        except ValueError:
            _mark_invalid(name)
            return None


class Many(Param):
    """Every value of a repeated parameter (ticked rows), each read as ``item``; at most ``limit``."""

    def __init__(self, item: Param, limit: int = 10_000) -> None:
        self.item, self.limit = item, limit
        self.refuses = item.refuses

    def read(self, values: MultiDict[str, str], name: str) -> list[Any]:
        raws = [raw for raw in values.getlist(name) if raw.strip()]
        if len(raws) > self.limit:
            _refuse(_damaged(name))
        return [self.item.parse(raw, name) for raw in raws]


class Indexed(Param):
    """A numbered family of parameters (``map_0``, ``map_1``, …) as a list ordered by number, with
    ``default`` for the numbers not sent; the numbers run from 0 to ``limit - 1``."""

    refuses = True

    def __init__(self, prefix: str, item: Param, limit: int = 200) -> None:
        self.prefix, self.item, self.limit = prefix, item, limit

    def names(self, name: str) -> list[str]:
        return [f"{self.prefix}0", f"{self.prefix}1"]

    def keys(self, values: MultiDict[str, str]) -> list[str]:
        return [key for key in values if key.startswith(self.prefix)]

    def raw_values(self, values: MultiDict[str, str], name: str) -> list[str]:
        return [value for key in self.keys(values) for value in values.getlist(key)]

    def read(self, values: MultiDict[str, str], name: str) -> list[Any] | None:
        found: dict[int, Any] = {}
        for key in self.keys(values):
            number = parse_number(key[len(self.prefix):], 0, self.limit - 1)
            if number is None:
                _refuse(_damaged(key))
            found[number] = self.item.read(values, key)
        if not found:
            return None
        return [found.get(number, self.item.default) for number in range(max(found) + 1)]


class RowValues(Param):
    """Text typed into a grid of rows and fields (``fix_3-company.nip``: row 3's NIP): ``{row:
    {field: text}}`` of those sent, each stripped and cut to ``max``. Rows run from 1 to ``rows``
    and fields are one of ``fields``; a key that names neither is a damaged form (400)."""

    def __init__(self, prefix: str, fields: Iterable[str], rows: int, max: int = 10_000) -> None:
        self.prefix, self.fields, self.rows, self.max = prefix, frozenset(fields), rows, max

    def names(self, name: str) -> list[str]:
        return [f"{self.prefix}1-{min(self.fields)}"]

    def keys(self, values: MultiDict[str, str]) -> list[str]:
        return [key for key in values if key.startswith(self.prefix)]

    def raw_values(self, values: MultiDict[str, str], name: str) -> list[str]:
        return [value for key in self.keys(values) for value in values.getlist(key)]

    def read(self, values: MultiDict[str, str], name: str) -> dict[int, dict[str, str]]:
        grid: dict[int, dict[str, str]] = {}
        for key in self.keys(values):
            row_text, _dash, field = key[len(self.prefix):].partition("-")
            row = parse_number(row_text, 1, self.rows)
            if row is None or field not in self.fields:
                _refuse(_damaged(key))
            grid.setdefault(row, {})[field] = (values.get(key) or "").strip()[: self.max]
        return grid


class Fields(Param):
    """Several named text parameters handed on together to a parser of their own (the report
    builder's configuration): ``{name: text}`` of those given, each stripped and cut to ``max``."""

    def __init__(self, keys: Iterable[str], max: int = 200) -> None:
        self.keys, self.max = tuple(keys), max

    def names(self, name: str) -> list[str]:
        return list(self.keys)

    def read(self, values: MultiDict[str, str], name: str) -> dict[str, str]:
        return {key: value.strip()[: self.max] for key in self.keys if (value := values.get(key)) is not None}


class QueryForm(Param):
    """A WTForms filter form bound to the query string; the view sets its choices and validates it."""

    def __init__(self, form_class: type[Any]) -> None:
        self.form_class = form_class

    def names(self, name: str) -> list[str]:
        return [key for key, _value in inspect.getmembers(self.form_class, lambda v: isinstance(v, UnboundField))]

    def raw_values(self, values: MultiDict[str, str], name: str) -> list[str]:
        return []  # the form's fields refuse a NUL byte themselves, next to the field

    def read(self, values: MultiDict[str, str], name: str) -> Any:
        return self.form_class(formdata=values)


@dataclass(frozen=True)
class Declaration:
    """The parameters a view reads from one part of the request (``args`` or ``form``)."""

    source: str
    params: Mapping[str, Param]

    def values(self) -> MultiDict[str, str]:
        return request.args if self.source == "args" else request.form

    def read(self, values: MultiDict[str, str] | None = None) -> dict[str, Any]:
        """The declared parameters from the request (or from ``values``, parsed elsewhere), refused
        as the view would refuse them (an HTTPException)."""
        values = self.values() if values is None else values
        for name, param in self.params.items():
            if any("\x00" in raw for raw in param.raw_values(values, param.key or name)):
                _refuse(_("The form contained an invisible control character (NUL). Remove it and send the form again."))
        return {name: param.read(values, param.key or name) for name, param in self.params.items()}

    def keys(self) -> dict[str, list[str]]:
        """The view's keyword → the request keys it reads."""
        return {name: param.names(param.key or name) for name, param in self.params.items()}


DECLARED = "declared_params"


def declared_params(view: Callable[..., Any]) -> tuple[Declaration, ...]:
    """The parameter declarations of a view function (empty when it reads none)."""
    return tuple(getattr(view, DECLARED, ()))


def _declare(source: str, declared: dict[str, Param]) -> Callable[[F], F]:
    declaration = Declaration(source, dict(declared))

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def parsed(*args: Any, **kwargs: Any) -> Any:
            kwargs.update(declaration.read())
            return view(*args, **kwargs)

        setattr(parsed, DECLARED, (*declared_params(view), declaration))
        return cast(F, parsed)

    return decorate


def params(**declared: Param) -> Callable[[F], F]:
    """Declare (and parse, and pass in) the query-string parameters a view reads."""
    return _declare("args", declared)


def form_params(**declared: Param) -> Callable[[F], F]:
    """Declare (and parse, and pass in) the posted form values a view reads outside a WTForms form."""
    return _declare("form", declared)


def current_query(**changes: Any) -> dict[str, Any]:
    """The query string of this request as it came (first values), with ``changes`` (None drops a
    key): for links that keep the page's filters, such as the next page."""
    query: dict[str, Any] = request.args.to_dict()
    query.update(changes)
    return {key: value for key, value in query.items() if value is not None}
