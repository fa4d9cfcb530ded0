"""Error pages: a clear, translated message, never a stack trace."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: lambda: _("The request could not be understood. Please go back and try again."),
    403: lambda: _("You do not have permission to open this page."),
    404: lambda: _("The page you are looking for does not exist or is not available to you."),
    405: lambda: _("This action is not available here."),
    413: lambda: _("The file is too large. Please choose a smaller file."),
    429: lambda: _("Too many attempts. Please wait a moment and try again."),
}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/error.html", code=400,
                               message=_("Your form expired or was sent from another page. Please reload the page and send it again.")), 400

    @app.errorhandler(500)
    def server_error(error):
        return render_template("errors/error.html", code=500,
                               message=_("Something went wrong on our side. Nothing you typed is lost: go back and try again.")), 500

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
