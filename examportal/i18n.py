"""Languages: Polish by default, English selectable (Flask-Babel)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask, current_app, has_request_context, session
from flask_babel import format_datetime, format_decimal, format_percent, get_locale
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from .extensions import babel

# Polish puts a (non-breaking) space between a number and the percent sign: "13,33 %".
_PERCENT_PATTERNS = {"pl": "#,##0\u00a0%"}


def select_locale() -> str:
    """The chosen language: explicit choice in the session, the user's setting, else Polish."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # a service called from the CLI or a test, outside any request
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if isinstance(chosen, str) and chosen in languages:
        return chosen
    try:
        if current_user and current_user.is_authenticated and current_user.locale in languages:
            return current_user.locale
    except SQLAlchemyError:  # the database is down: the error page still speaks the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def local_datetime(value: datetime | None, style: str = "short") -> str:
    """A UTC instant in the institution's time zone, written the page's way ("2.12.2026, 18:03")."""
    return format_datetime(value, style) if value else "—"


def number(value: float | Decimal | None, digits: int = 2, fixed: bool = False) -> str:
    """A number the page's way, with at most (``fixed``: exactly) ``digits`` decimals: "13,5" in
    Polish, "13.5" in English."""
    if value is None:
        return "—"
    return format_decimal(value, "#,##0" + ("." + ("0" if fixed else "#") * digits if digits else ""))


def percent(value: float | Decimal | None, digits: int = 2) -> str:
    """A percentage given in percent units (``13.333``) the page's way: "13,33 %" or "13.33%"."""
    if value is None:
        return "—"
    decimals = "." + "#" * digits if digits else ""
    pattern = _PERCENT_PATTERNS.get(str(get_locale()), "#,##0%").replace("#,##0", "#,##0" + decimals, 1)
    return format_percent(Decimal(str(value)) / 100, pattern)


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/translations"),
    )

    app.jinja_env.filters["localdatetime"] = local_datetime
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["dict_without"] = lambda mapping, key: {k: v for k, v in mapping.items() if k != key}

    @app.context_processor
    def inject_qualification_method():
        def qualification_method(criterion) -> str:
            methods = criterion.outcome.outcome_set.qualification.methods
            name = methods.get(criterion.method)
            return (name["en"] if str(get_locale()) == "en" else name["pl"]) if name else criterion.method

        return {"qualification_method": qualification_method}

    @app.context_processor
    def inject_locale():
        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"]}
