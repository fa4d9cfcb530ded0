"""Error pages: a clear, translated message, never a stack trace."""
from __future__ import annotations

from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from .extensions import db

MESSAGES = {
    400: lambda: _("The request could not be understood. Please go back and try again."),
    403: lambda: _("You do not have permission to open this page."),
    404: lambda: _("The page you are looking for does not exist or is not available to you."),
    405: lambda: _("This action is not available here."),
    413: lambda: _("The file is too large. Please choose a smaller file."),
    415: lambda: _("This address takes a form, not a JSON document. Send the form from its page."),
    429: lambda: _("Too many attempts. Please wait a moment and try again."),
}


def wants_json() -> bool:
    """Whether the client is a script that reads JSON (the test page's autosave, the operator's console)."""
    return request.accept_mimetypes.best == "application/json"


def unavailable(status: int, message: str):
    """An error answer that needs no database: JSON for scripts (which keep their queued answers
    and retry), else a page that does not extend the site layout (which reads the logged-in user)."""
    if wants_json():
        return {"error": message, "retry": True}, status
    # Flask-Login's template context loads the user from the database: render as nobody.
    g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]
    return render_template("errors/unavailable.html", code=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError):
        """The database went away (or refused a statement): 503, rendered without it."""
        # The endpoint, not the path: a path may carry a token (password reset, confirmation).
        current_app.logger.error("database error on %s %s: %s", request.method, request.endpoint, error)
        try:
            db.session.rollback()
        except SQLAlchemyError as rollback_error:  # the connection is gone: nothing to roll back
            current_app.logger.warning("rollback after a database error failed: %s", rollback_error)
        return unavailable(503, _("The service is briefly unavailable. Nothing you typed is lost: "
                                  "wait a moment and try again."))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/error.html", code=400,
                               message=_("Your form expired or was sent from another page. Please reload the page and send it again.")), 400

    @app.errorhandler(500)
    def server_error(error):
        message = _("Something went wrong on our side. Nothing you typed is lost: go back and try again.")
        if wants_json():
            return {"error": message}, 500
        try:
            return render_template("errors/error.html", code=500, message=message), 500
        except SQLAlchemyError as page_error:  # the layout reads the user from the database
            current_app.logger.error("error page needs the database, which failed: %s", page_error)
            return unavailable(500, message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        message = MESSAGES.get(error.code or 500, lambda: error.description)()
        # A description set deliberately by abort(..., description=...) is more specific;
        # Flask-Limiter's is the untranslated limit ("10 per 1 minute"), not a message.
        if (error.description and error.description != type(error).description
                and not isinstance(error, RateLimitExceeded)):
            message = error.description
        if request.accept_mimetypes.best == "application/json":
            return {"error": message}, error.code
        return render_template("errors/error.html", code=error.code, message=message), error.code
