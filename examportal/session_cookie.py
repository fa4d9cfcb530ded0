"""The session cookie is sent again only when what it holds has changed.

Flask sends a new cookie whenever the session was *touched*. Flask-Login's strong session
protection touches every session that holds something but no logged-in user (the login page's
CSRF token, the second step of logging in) on every request, so every response to such a session
carried a copy of it, the icon's and the stylesheet's too. A browser applies cookies in the order
the responses arrive: an icon fetched while the second-step form was being sent could answer after
it and put the not-yet-logged-in session back, and the next page asked for the code again. Sending
the cookie only when its content differs from the one the request brought makes a response that
changed nothing unable to undo one that did.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

_ARRIVED = "_examportal_cookie_as_received"


class ChangedOnlySessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        session = super().open_session(app, request)
        if session is not None:
            # Kept outside the mapping, so it is never stored in the cookie.
            setattr(session, _ARRIVED, self._content(session))
        return session

    def should_set_cookie(self, app: Flask, session: Any) -> bool:
        if session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]:
            return True  # a sliding expiry is renewed on every response, as Flask does
        return bool(session.modified) and self._content(session) != getattr(session, _ARRIVED, None)

    def _content(self, session: SecureCookieSession) -> str:
        return str(self.serializer.dumps(dict(session)))
