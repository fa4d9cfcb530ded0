"""Authorization helpers, security headers and password hashing."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, has_request_context, request, url_for
from flask_login import current_user
from flask_login import login_required as _login_required
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import login_manager
from .models import Role

if TYPE_CHECKING:
    from .models import User

P = ParamSpec("P")
R = TypeVar("R")

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def is_safe_local_path(target: str | None) -> bool:
    """Whether ``target`` is a path on this site, safe to redirect to after a form.

    Browsers read a backslash as a slash and drop tabs and newlines, so "/\\evil.example"
    or "/\\t/evil.example" would leave the site just like "//evil.example".
    """
    if not target or not target.startswith("/") or "\\" in target:
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    return not target.startswith("//") and not urlsplit(target).netloc


def public_url(endpoint: str, **values) -> str:
    """An absolute link to ``endpoint`` for use outside the site (mail, QR codes).

    Built on PUBLIC_BASE_URL (scheme and host), never on the request's Host header: whoever sends
    a request chooses that header, and a password-reset link pointing at their host would hand
    them the token. In development PUBLIC_BASE_URL may be left empty: the link then goes to this
    machine (127.0.0.1) on the port the development server is bound to (its SERVER_PORT), so a
    demo served on another port sends links that work.
    """
    base = (current_app.config.get("PUBLIC_BASE_URL") or _served_here()).rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values)
    # A job or a command has no request, and url_for then wants SERVER_NAME: the path alone is
    # built from the URL map (the host comes from PUBLIC_BASE_URL above, never from config guesses).
    adapter = current_app.url_map.bind("localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    return base + adapter.build(endpoint, values)


def _served_here() -> str:
    port = request.environ.get("SERVER_PORT", "") if has_request_context() else ""
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        port = "5000"  # flask run's default, outside a request (a command sending mail)
    return f"http://127.0.0.1:{port}"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def check_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """Flask-Login's decorator, typed: the view needs a logged-in user (else the login page)."""
    return cast(Callable[P, R], _login_required(view))


def roles_required(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The view needs a logged-in user holding at least one of ``roles`` (403 otherwise)."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not any(current_user.has_role(role) for role in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def staff_institution_ids(user=None) -> set[int]:
    """Institutions whose data the user may manage as staff: their own and, for a
    certifying institution, the validating institutions linked to it. Admins: none
    implicitly (they administer the platform, not an institution's files)."""
    from sqlalchemy import select

    from .extensions import db
    from .models import Institution

    user = user or current_user
    own = user.institution_ids(Role.STAFF)
    if not own:
        return set()
    children = db.session.scalars(select(Institution.id).where(Institution.parent_id.in_(own))).all()
    return own | set(children)


def role_holders(institution_ids: Iterable[int], roles: Iterable[Role], *, active_only: bool = True) -> list[User]:
    """The people holding any of ``roles`` at any of ``institution_ids``, each once, by name (only
    active accounts unless ``active_only`` is False): whom to mail, whom a picker offers."""
    from sqlalchemy import select

    from .extensions import db
    from .models import User, UserRole

    query = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(UserRole.institution_id.in_(list(institution_ids)), UserRole.role.in_(list(roles)))
             .order_by(User.last_name, User.first_name, User.id).distinct())
    if active_only:
        query = query.where(User.active.is_(True))
    return list(db.session.scalars(query))


def require_institution(institution_id: int, allowed: Iterable[int]) -> None:
    """404 unless ``institution_id`` is among ``allowed`` (no hint that the object exists)."""
    if institution_id not in set(allowed):
        abort(404)


def headers(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The security headers every response carries (a response may set its own of each first)."""
    found = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"),
             ("Content-Security-Policy", CSP), ("Permissions-Policy", "camera=(), microphone=(), geolocation=()")]
    if config.get("SESSION_COOKIE_SECURE"):
        found.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return found


#: The endpoints that read a JSON body: a credential posted to the verifier. Every other endpoint
#: that takes a body reads a form, and Flask-WTF would read a JSON body as one (any JSON value
#: where the form's code expects text), so such a body is refused there (415) before any view.
JSON_ENDPOINTS = frozenset({"ob.verify"})


def init_app(app: Flask) -> None:
    @app.before_request
    def forms_only() -> None:
        if request.is_json and request.method not in ("GET", "HEAD", "OPTIONS") and request.endpoint not in JSON_ENDPOINTS:
            abort(415)

    @app.after_request
    def security_headers(response):
        for name, value in headers(app.config):
            response.headers.setdefault(name, value)
        return response
