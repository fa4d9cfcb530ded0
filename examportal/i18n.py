"""Languages: Polish by default, English selectable (Flask-Babel)."""
from __future__ import annotations

from flask import Flask, current_app, has_request_context, session
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from .extensions import babel


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


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/translations"),
    )

    from flask_babel import format_datetime

    app.jinja_env.filters["localdatetime"] = lambda value: format_datetime(value, "short") if value else "—"
    app.jinja_env.filters["dict_without"] = lambda mapping, key: {k: v for k, v in mapping.items() if k != key}

    @app.context_processor
    def inject_role_label():
        from flask_babel import get_locale
        from flask_babel import gettext as _

        labels = {
            "candidate": _("Candidate"), "operator": _("Exam-system operator"), "assessor": _("Assessor"),
            "appeals": _("Appeals panel member"), "staff": _("Institution staff"), "admin": _("Administrator"),
        }
        def qualification_method(criterion) -> str:
            methods = criterion.outcome.outcome_set.qualification.methods
            name = methods.get(criterion.method)
            return (name["en"] if str(get_locale()) == "en" else name["pl"]) if name else criterion.method

        return {"role_label": lambda role: labels.get(role, role), "qualification_method": qualification_method}

    @app.context_processor
    def inject_locale():
        from flask_babel import get_locale

        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"]}
