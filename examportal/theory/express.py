"""The autosave's and the heartbeat's express lanes: an ordinary autosave answered in one
statement in front of Flask (two the first time a process meets its attempt or question), an
ordinary heartbeat in one (two when its last contact is old
enough to write, as :func:`services.touch` writes it) ahead of the other request hooks.

On exam day nearly every request is an autosave, and nearly every autosave is ordinary: the
candidate's own running test, a question that exists, a new sequence number, a readable answer.
The full view (:func:`examportal.theory.views.autosave`) reaches that answer through every hook
of the portal — the login loads the user with their roles, the second-factor gate and the test's
lockdown look at them, the view reads the attempt and then the item — before its two writes and
the commit, on a pooled connection pinged at checkout: eight round trips to the database and
Flask's whole request machinery, for a request that stores one answer.

:class:`AutosaveLane` is WSGI middleware in front of Flask. For a POST to the autosave's URL it
checks what the hooks would — the session cookie's signature and age, the login and Flask-Login's
strong session protection, the CSRF token (and, over HTTPS, the referrer) — then reads the attempt
with its item, its session's exam-room networks and its candidate's standing in one query
(:func:`_running_attempt_of_an_ordinary_candidate`, the heartbeat lane's condition too) and writes
the item's row and the answer's history row in one statement, on PostgreSQL in autocommit (the
statement is its own durable transaction). The write holds the same conditions and asserts that
the attempt's clock and networks are still those the answer was checked against, so a process
keeps what it read of each attempt and question and sends a later answer to them as the write
alone; when anything kept is no longer so, the write finds nothing and the lane reads again. The answer is the full view's acknowledgement, with
the portal's security headers, request id, log line and metrics.

It never refuses anything. Whatever is not ordinary — not PostgreSQL, no logged-in session, a bad
CSRF token, an attempt not running or nearly out of time, someone else's attempt, a deactivated
account, a role that owes a second factor, an address outside the exam room, a missing question,
an unreadable answer, a sequence number not above the item's (an older answer, a replay, another
window), a database error — it hands to Flask with the request as it came, and the full view
gives every refusal its reason. So both paths acknowledge the same answers, and each refusal
exists once. ``THEORY_EXPRESS_AUTOSAVE`` (on by default) switches both lanes off.
"""
from __future__ import annotations

import functools
import hmac
import io
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha512
from typing import Any
from urllib.parse import parse_qsl

import psycopg
from blinker import Namespace
from flask import Flask, current_app, g, jsonify, request, session
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, same_origin
from itsdangerous import BadData, URLSafeTimedSerializer
from psycopg.types.json import Json
from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    and_,
    bindparam,
    case,
    create_engine,
    event,
    exists,
    func,
    literal_column,
    null,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_cookie
from werkzeug.routing import RoutingException
from werkzeug.wsgi import get_host

from question_bank import items as bank
from sandbox_crm.params import MAX_ID, declared_params, parse_number

from .. import logging_setup, metrics, security
from ..checkin.services import networks_allow
from ..extensions import csrf, db, login_manager
from ..metrics import AUTOSAVE_LANE
from ..models import (
    AttemptAnswer,
    AttemptItem,
    AttemptStatus,
    Role,
    TheoryAttempt,
    User,
    UserRole,
    ValidationSession,
    utcnow,
)
from ..models.people import DECIDING_ROLES
from . import clock, positions, services
from .scoring import item_of

log = logging.getLogger(__name__)

#: Sent with the app each time the autosave's lane answered (the metrics count it too).
answered = Namespace().signal("examportal.autosave-lane-answered")

ENDPOINT = "theory.autosave"
HEARTBEAT = "theory.heartbeat"
#: Closer to the end than this, the full view answers (it submits the test when the time is up).
MARGIN_SECONDS = 5.0
#: A larger autosave (none is: a few ids and numbers) is left to Flask unread.
BODY_LIMIT = 16 * 1024
#: Signed texts (session cookies, CSRF tokens) kept verified, items' forms and attempts as read, per process.
SIGNED_KEPT = 4096
ITEMS_KEPT = 8192
ATTEMPTS_KEPT = 4096
#: The lane's connections per process, beside the app's pool: as many as a worker's threads
#: (gunicorn.conf.py), none beyond; when all are busy the full way answers at once.
LANE_POOL = {"pool_size": 4, "max_overflow": 0, "pool_timeout": 0.05}
FORM = "application/x-www-form-urlencoded"

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]


def init_app(app: Flask) -> None:
    """Put the autosave's lane in front of Flask (inside a proxy fix already in place, which gives
    it the client's address and scheme) and register the heartbeat's lane; call before the
    extensions' hooks (CSRF, limits, login) are registered."""
    app.wsgi_app = AutosaveLane(app, app.wsgi_app)  # type: ignore[method-assign]  # Flask's way to add middleware
    app.before_request(take_heartbeat)


def _enabled(config: Mapping[str, Any]) -> bool:
    return bool(config.get("THEORY_EXPRESS_AUTOSAVE", True))


# --------------------------------------------------------------------------- the autosave, in front of Flask


class AutosaveLane:
    """WSGI middleware: an ordinary autosave answered without Flask's request machinery; every
    other request, and every autosave that is not ordinary, handed to ``wsgi_app`` as it came."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._engines: dict[Engine, Engine] = {}
        self._lock = threading.Lock()
        # A page sends the same session cookie and CSRF token with each of its answers: each is
        # verified once per process (its signature; its age at every use), kept by its exact text.
        self._unsigned = functools.lru_cache(maxsize=SIGNED_KEPT)(self._unsign)
        # Each question's item and what its form reads, derived once per process from the item's
        # snapshot (never changed after the draw), by attempt and position: the read sends the
        # snapshot (2 KB on average, half the cost of an autosave) only for an item not known here.
        self._forms: dict[tuple[int, int], Question] = {}
        # Each attempt's clock and room networks as last read, by attempt: an answer is checked
        # against them and written on condition that they are still the attempt's (one statement).
        self._attempts: dict[int, Seen] = {}

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or not str(environ.get("PATH_INFO", "")).endswith("/answer") \
                or not _enabled(self.app.config):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        body = _small_form_body(environ)
        if body is None:
            return self.wsgi_app(environ, start_response)
        with self.app.app_context():  # its own: Flask pushes another for a request it gets
            try:
                answer = self._answer(environ, body)
            except Exception:  # the lane must never be why an autosave fails
                # Flask answers, and this is logged to be fixed. The one write is a single
                # statement: before it nothing was stored; after it, Flask finds the answer's
                # sequence number taken by the same answer and acknowledges it as a replay.
                log.exception("autosave lane failed; the full way answers")
                answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        return self._respond(environ, start_response, answer, started)

    def _answer(self, environ: WSGIEnviron, body: bytes) -> bytes | None:
        """The acknowledgement of an ordinary autosave, stored; None when it is not one (nothing stored)."""
        engine = db.engines.get(None)
        if not isinstance(engine, Engine) or engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
            return None  # the statements below are PostgreSQL's; the tests' shared connection is not an Engine
        if self.app.config.get("TRUSTED_HOSTS"):
            try:  # Flask refuses a request for another host (400)
                get_host(environ, self.app.config["TRUSTED_HOSTS"])
            except HTTPException:
                return None
        attempt_id = self._attempt_id(environ)
        cookie = self._session(environ) if attempt_id is not None else None
        user_id = _logged_in_user_of(cookie, environ) if cookie is not None else None
        if attempt_id is None or cookie is None or user_id is None:
            return None
        try:
            form = MultiDict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                                       errors="strict", max_num_fields=100))
        except ValueError:  # not UTF-8, too many fields: the full way reads it its own way
            return None
        if not self._csrf_valid(environ, form, cookie):
            return None
        try:  # the view's own declaration of its fields (a bad value is the full view's to refuse)
            fields = {name: value for declaration in declared_params(self.app.view_functions[ENDPOINT])
                      for name, value in declaration.read(form).items()}
        except HTTPException:
            return None
        position, seq, flagged = fields["position"], fields["seq"], bool(fields["flagged"])
        if position is None or not seq:
            return None
        return self._store(self._lane_engine(engine), attempt_id, user_id, position, seq, flagged, form,
                           environ.get("REMOTE_ADDR"))

    def _lane_engine(self, engine: Engine) -> Engine:
        """The lane's own engine on the app's database, with the app's engine options but these:
        autocommit (each statement is its own transaction), no ping at checkout (a broken
        connection fails a statement, and the full way, which pings, answers) and a small pool
        that is never waited for (:data:`LANE_POOL`). Disposed with the app's engine."""
        lane = self._engines.get(engine)
        if lane is None:
            with self._lock:
                lane = self._engines.get(engine)
                if lane is None:
                    options = {**self.app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
                               "isolation_level": "AUTOCOMMIT", "pool_pre_ping": False, **LANE_POOL}
                    lane = create_engine(engine.url, **options)
                    event.listen(engine, "engine_disposed", functools.partial(_dispose, lane))
                    self._engines[engine] = lane
        return lane

    def _unsign(self, serializer: URLSafeTimedSerializer, text: str) -> tuple[Any, float]:
        """(content, signed at) of a signed text; BadData when its signature is not ours (not kept)."""
        content, signed_at = serializer.loads(text, return_timestamp=True)
        return content, signed_at.timestamp()

    def _verified(self, serializer: URLSafeTimedSerializer, text: str, max_age: float | None) -> Any:
        """The content of ``text`` signed by ``serializer`` no longer than ``max_age`` seconds ago; BadData otherwise."""
        content, signed_at = self._unsigned(serializer, text)
        age = time.time() - signed_at
        if max_age is not None and not 0 <= age <= max_age:  # as itsdangerous: not from the future either
            raise BadData("expired")
        return content

    @functools.cached_property
    def _session_serializer(self) -> URLSafeTimedSerializer | None:
        interface = self.app.session_interface
        return interface.get_signing_serializer(self.app) if isinstance(interface, SecureCookieSessionInterface) else None

    @functools.cached_property
    def _csrf_serializer(self) -> URLSafeTimedSerializer:
        secret = self.app.config.get("WTF_CSRF_SECRET_KEY") or self.app.secret_key
        return URLSafeTimedSerializer(secret, salt="wtf-csrf-token")  # type: ignore[arg-type]

    def _question(self, attempt_id: int, position: int, known: Question | None, item_id: int,
                  snapshot: dict[str, Any] | None) -> Question | None:
        """The question at ``position`` as drawn: ``known`` when the read found that item (and sent
        no ``snapshot``), else made from ``snapshot`` and kept (the oldest kept one makes room)."""
        if snapshot is None:
            return known if known is not None and known.item_id == item_id else None
        item = AttemptItem(id=item_id, attempt_id=attempt_id, position=position, snapshot=snapshot)
        question = Question(item_id, item_of(item), services.page_form(item))
        _keep(self._forms, (attempt_id, position), question, ITEMS_KEPT, self._lock)
        return question

    def _store(self, engine: Engine, attempt_id: int, user_id: int, position: int, seq: int, flagged: bool,
               form: MultiDict[str, str], address: str | None) -> bytes | None:
        """Write the answer — one statement when this process has seen the attempt and the question,
        else a read and the write (each statement its own transaction); the acknowledgement, or
        None when the autosave is not ordinary (nothing written)."""
        try:
            pooled = engine.raw_connection()
        except PoolTimeout:
            return None  # every connection of the lane is busy: the full way answers
        except (DBAPIError, psycopg.Error) as error:  # the database cannot be reached: the full way says so (503)
            log.warning("autosave lane: %s; the full way answers", type(error).__name__)
            return None
        connection = pooled.driver_connection
        answer = Answer(attempt_id, user_id, position, seq, flagged, form, address, utcnow())
        try:
            if not isinstance(connection, psycopg.Connection):
                return None
            seen, known = self._attempts.get(attempt_id), self._forms.get((attempt_id, position))
            if seen is not None and known is not None and seen.user_id == user_id:
                ack = self._write(connection, engine.dialect, answer, seen, known)
                if ack is not None:
                    return ack
                # Something the lane kept is no longer so (or the answer is not ordinary): read again.
                with self._lock:
                    self._attempts.pop(attempt_id, None)
            row = connection.execute(_lane_read_sql(engine.dialect), {
                "attempt_id": attempt_id, "user_id": user_id, "position": position,
                "known_item_id": known.item_id if known is not None else 0}).fetchone()
            if row is None:
                return None
            seen = Seen(attempt_id, user_id, tuple(row[:len(_SEEN)]))
            _keep(self._attempts, attempt_id, seen, ATTEMPTS_KEPT, self._lock)
            question = self._question(attempt_id, position, known, row[len(_SEEN)], row[len(_SEEN) + 1])
            if question is None:
                return None
            return self._write(connection, engine.dialect, answer, seen, question)
        except psycopg.IntegrityError:
            return None  # the sequence number is taken (a replay, another window): nothing was written
        except psycopg.Error as error:
            # The statement failed whole (each is its own transaction): nothing was written, and
            # the full way answers — pinging and reconnecting when the connection is gone.
            log.warning("autosave lane: %s; the full way answers", type(error).__name__)
            if isinstance(error, psycopg.OperationalError):
                pooled.invalidate()
            return None
        finally:
            pooled.close()

    @staticmethod
    def _write(connection: psycopg.Connection[Any], dialect: Dialect, answer: Answer, seen: Seen,
               question: Question) -> bytes | None:
        """The answer checked against the attempt as ``seen`` (the time left, the room's networks)
        and ``question``, and written while the attempt is still so; its acknowledgement, or None."""
        attempt = seen.attempt
        if clock.time_left(attempt, answer.now) <= MARGIN_SECONDS or not networks_allow(seen.networks, answer.address):
            return None
        try:
            raw = question.form.read(answer.form)
            response = None if raw is None else bank.normalize_response(question.item, raw)
        except bank.ResponseError:
            return None
        stored = connection.execute(_lane_write_sql(dialect), {
            "attempt_id": answer.attempt_id, "user_id": answer.user_id, "position": answer.position,
            "item_id": question.item_id, "seq": answer.seq, "flagged": answer.flagged, "now": answer.now,
            "response": Json(response), **{f"seen_{n}": value for n, value in enumerate(seen.columns)}}).fetchone()
        if stored is None:  # an older sequence number, or the attempt or the item changed since it was seen
            return None
        ack = services.ack(attempt, answer.seq, answer.now, answer.now, True)
        return current_app.json.dumps(ack, separators=(",", ":")).encode() + b"\n"

    def _attempt_id(self, environ: WSGIEnviron) -> int | None:
        """The attempt's id when the request is for the autosave's URL (Flask's own routing)."""
        try:
            endpoint, values = self.app.url_map.bind_to_environ(environ).match()
        except (HTTPException, RoutingException):
            return None
        return int(values["attempt_id"]) if endpoint == ENDPOINT else None

    def _session(self, environ: WSGIEnviron) -> dict[str, Any] | None:
        """The session cookie's content as Flask would open it (signature and age checked), or None."""
        serializer = self._session_serializer
        value = parse_cookie(environ).get(self.app.config["SESSION_COOKIE_NAME"])
        if serializer is None or not value:
            return None
        try:
            content = self._verified(serializer, value, int(self.app.permanent_session_lifetime.total_seconds()))
        except BadData:
            return None
        # A permanent session's cookie is renewed by every answer Flask gives: not this lane's to skip.
        return content if isinstance(content, dict) and not content.get("_permanent") else None

    def _csrf_valid(self, environ: WSGIEnviron, form: MultiDict[str, str], cookie: dict[str, Any]) -> bool:
        """Flask-WTF's check (flask_wtf.csrf.CSRFProtect.protect) of the form's or the header's token."""
        config = self.app.config
        if not config.get("WTF_CSRF_ENABLED", True):
            return True
        field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        sent = (environ.get("HTTP_" + header.upper().replace("-", "_")) for header in config.get("WTF_CSRF_HEADERS", ()))
        token = form.get(field) or next((value for value in sent if value), None)
        expected = cookie.get(field)
        if not token or not isinstance(expected, str):
            return False
        try:
            signed = self._verified(self._csrf_serializer, token, config.get("WTF_CSRF_TIME_LIMIT", 3600))
        except BadData:
            return False
        if not isinstance(signed, str) or not hmac.compare_digest(expected, signed):
            return False
        if environ.get("wsgi.url_scheme") == "https" and config.get("WTF_CSRF_SSL_STRICT", True):
            referrer = environ.get("HTTP_REFERER")
            try:
                return bool(referrer) and same_origin(referrer, f"https://{get_host(environ)}/")
            except ValueError:  # a referrer that is not a URL (a port out of range): Flask-WTF's to refuse
                return False
        return True

    def _respond(self, environ: WSGIEnviron, start_response: StartResponse, body: bytes,
                 started: float) -> Iterable[bytes]:
        """The answer as the portal's hooks finish every response: security headers, the request id,
        the log line and the metrics (logging_setup, security, metrics)."""
        with logging_setup.bind_request_id(logging_setup.sane_request_id(environ.get("HTTP_X_REQUEST_ID"))) as request_id:
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Vary", "Cookie"),
                       *security.headers(self.app.config), (logging_setup.REQUEST_ID_HEADER, request_id)]
            elapsed = time.perf_counter() - started
            logging_setup.log_request("POST", ENDPOINT, 200, elapsed)
        metrics.observe(ENDPOINT, "POST", 200, elapsed, lane="express")
        answered.send(self.app)
        start_response("200 OK", headers)
        return [body]


def _small_form_body(environ: WSGIEnviron) -> bytes | None:
    """The posted form's bytes when it is a small URL-encoded one sent whole, with ``wsgi.input``
    replaced by them for Flask; None, and the request left as it came, for anything else."""
    content_type, _, parameters = str(environ.get("CONTENT_TYPE", "")).partition(";")
    if content_type.strip().lower() != FORM or parameters.strip().lower() not in ("", "charset=utf-8"):
        return None
    length = parse_number(str(environ.get("CONTENT_LENGTH") or ""), 0, BODY_LIMIT)
    if length is None:
        return None
    stream, chunks, missing = environ["wsgi.input"], [], length
    try:
        while missing > 0 and (chunk := stream.read(missing)):
            chunks.append(chunk)
            missing -= len(chunk)
    except OSError:  # the client went away: Flask answers what arrived as it answers any short body
        missing = -1
    body = b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(body)
    return body if missing == 0 else None


@dataclass(frozen=True)
class Question:
    """One drawn item of an attempt as the lane reads answers to it."""

    item_id: int
    item: bank.Item
    form: services.PageForm


@dataclass(frozen=True)
class Seen:
    """An attempt as the lane's read found it: its candidate and the columns of :data:`_SEEN`."""

    attempt_id: int
    user_id: int
    columns: tuple[Any, ...]

    @functools.cached_property
    def attempt(self) -> TheoryAttempt:
        """Its clock, for the rules that read it (:func:`_clock_copy`)."""
        return _clock_copy(self.attempt_id, *self.columns[:len(_CLOCK)])

    @property
    def networks(self) -> str | None:
        return self.columns[-1]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Answer:
    """One autosave as the lane read it from the request."""

    attempt_id: int
    user_id: int
    position: int
    seq: int
    flagged: bool
    form: MultiDict[str, str]
    address: str | None
    now: datetime


def _keep(kept: dict[Any, Any], key: Any, value: Any, limit: int, lock: threading.Lock) -> None:
    """``kept[key] = value``, the oldest entries making room beyond ``limit``."""
    with lock:
        kept.pop(key, None)
        while len(kept) >= limit:
            del kept[next(iter(kept))]
        kept[key] = value


def _dispose(engine: Engine, _disposed: Engine) -> None:
    engine.dispose()


def _session_identifier(environ: WSGIEnviron) -> str:
    """Flask-Login's strong session protection's identifier of this request's browser
    (flask_login.utils._create_identifier, from the WSGI environment)."""
    address: bytes | None = None
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", environ.get("REMOTE_ADDR"))
    if forwarded is not None:
        address = str(forwarded).encode("utf-8").split(b",")[0].strip()
    agent = environ.get("HTTP_USER_AGENT")
    agent_bytes = str(agent).encode("utf-8") if agent is not None else None
    # Flask-Login formats the bytes as Python shows them (b'...'), or None.
    return sha512(f"{address!r}|{agent_bytes!r}".encode()).hexdigest()


def _logged_in_user_of(cookie: dict[str, Any], environ: WSGIEnviron) -> int | None:
    """The id of the user the session is logged in as, held to Flask-Login's strong session
    protection (the session was made for this address and browser); None otherwise."""
    if "_user_id" not in cookie or cookie.get("_id") != _session_identifier(environ):
        return None
    return parse_number(str(cookie["_user_id"]), 1, MAX_ID)


#: The write of an ordinary autosave as one statement: the item's row by the same conditional
#: UPDATE as services.write_answer (the highest sequence wins; nothing lands on an item scored
#: meanwhile), and the answer into the history only when it did (a replay's sequence number fails
#: the history's unique index and rolls the statement back whole). ``{seen}`` is
#: :func:`_lane_write_sql`'s condition: the attempt is still as the lane read it.
_LANE_WRITE_SQL = """
WITH answered AS (
    UPDATE attempt_item
    SET response = %(response)s, flagged = %(flagged)s, answer_seq = %(seq)s, answered_at = %(now)s
    WHERE id = %(item_id)s AND attempt_id = %(attempt_id)s AND position = %(position)s
      AND answer_seq < %(seq)s AND points IS NULL AND EXISTS ({seen})
    RETURNING id
)
INSERT INTO attempt_answer (attempt_id, attempt_item_id, seq, response, flagged, applied, saved_at)
SELECT %(attempt_id)s, id, %(seq)s, %(response)s, %(flagged)s, true, %(now)s FROM answered
RETURNING seq
"""


def _placeholder(name: str, column: Any) -> ColumnElement[Any]:
    return literal_column(f"%({name})s", column.type)


def _compiled(query: Select[Any], dialect: Dialect, names: Iterable[str]) -> str:
    """``query`` compiled for the engine's dialect with the constants written out and psycopg's
    placeholders (:func:`_placeholder`) ``names`` for the rest."""
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    # The dialect doubles the percent signs of literal text for the driver; these are the driver's own.
    for name in names:
        sql = sql.replace(f"%%({name})s", f"%({name})s")
    return sql


@functools.cache
def _lane_read_sql(dialect: Dialect) -> str:
    """The lane's read: the heartbeat lane's condition and what :class:`Seen` keeps of the attempt,
    with the item (its snapshot unless it is ``known_item_id``)."""
    known = _placeholder("known_item_id", AttemptItem.id)
    snapshot = case((AttemptItem.id == known, null()), else_=AttemptItem.snapshot)
    query = _running_attempt_of_an_ordinary_candidate(
        select(*_SEEN, AttemptItem.id, snapshot).select_from(TheoryAttempt)
        .join(AttemptItem, and_(AttemptItem.attempt_id == TheoryAttempt.id,
                                AttemptItem.position == _placeholder("position", AttemptItem.position)))
        .where(AttemptItem.points.is_(None)),
        _placeholder("attempt_id", TheoryAttempt.id), _placeholder("user_id", User.id))
    return _compiled(query, dialect, ("attempt_id", "user_id", "position", "known_item_id"))


@functools.cache
def _lane_write_sql(dialect: Dialect) -> str:
    """:data:`_LANE_WRITE_SQL` with its condition: the heartbeat lane's (a running attempt of an
    ordinary candidate) and every column of :data:`_SEEN` as the lane read it (``seen_0`` …). An
    answer is written only while the clock and the room's networks it was checked against are
    still the attempt's: after a pause, extra time or new networks the write finds nothing."""
    names = [f"seen_{n}" for n in range(len(_SEEN))]
    seen = _running_attempt_of_an_ordinary_candidate(
        select(literal_column("1")).select_from(TheoryAttempt),
        _placeholder("attempt_id", TheoryAttempt.id), _placeholder("user_id", User.id),
    ).where(*(column.is_not_distinct_from(_placeholder(name, column)) for name, column in zip(names, _SEEN, strict=True)))
    return _LANE_WRITE_SQL.format(seen=_compiled(seen, dialect, ("attempt_id", "user_id", *names)))


# --------------------------------------------------------------------------- the heartbeat, ahead of the hooks


def take_heartbeat() -> ResponseReturnValue | None:
    """The answer to an ordinary heartbeat, or None to let the request go the full way."""
    if request.endpoint != HEARTBEAT or request.method != "POST" or not request.view_args or not _enabled(current_app.config):
        return None
    user_id = _logged_in_user()
    if user_id is None or not _csrf_valid():
        return None
    try:  # the view's own declaration of its fields (a bad value is the full view's to refuse)
        fields = {name: value for declaration in declared_params(current_app.view_functions[request.endpoint])
                  for name, value in declaration.read().items()}
    except HTTPException:
        return None
    return _heartbeat(int(request.view_args["attempt_id"]), user_id, fields["position"])


def _logged_in_user() -> int | None:
    """The id of the user this session is logged in as, held to Flask-Login's strong session
    protection (the session was made for this address and browser); None otherwise — then the
    full way decides (a remember-me cookie, a session from elsewhere, nobody)."""
    identifier = getattr(login_manager, "_session_identifier_generator", None)
    if identifier is None or "_user_id" not in session or session.get("_id") != identifier():
        return None
    return parse_number(str(session["_user_id"]), 1, MAX_ID)


def _csrf_valid() -> bool:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        csrf.protect()
    except CSRFError:
        return False
    return True


def _clock_copy(attempt_id: int, status: Any, time_limit_seconds: int, started_at: datetime | None,
                deadline_at: datetime | None, extra_seconds: int, paused_seconds_total: float) -> TheoryAttempt:
    """An unattached copy of the attempt with the columns of :data:`_CLOCK`, for the rules that read
    them (the clock, the page's ids): never added to the session, so nothing of it is ever written."""
    return TheoryAttempt(id=attempt_id, status=AttemptStatus(status), time_limit_seconds=time_limit_seconds,
                         started_at=started_at, deadline_at=deadline_at, extra_seconds=extra_seconds,
                         paused_seconds_total=paused_seconds_total)


_CLOCK = (TheoryAttempt.status, TheoryAttempt.time_limit_seconds, TheoryAttempt.started_at, TheoryAttempt.deadline_at,
          TheoryAttempt.extra_seconds, TheoryAttempt.paused_seconds_total)
#: What the autosave's lane checks an answer against, read once and kept per process (:class:`Seen`).
_SEEN = (*_CLOCK, ValidationSession.exam_networks)


def _running_attempt_of_an_ordinary_candidate(query: Select[Any], attempt_id: ColumnElement[Any],
                                              user_id: ColumnElement[Any]) -> Select[Any]:
    """``query`` (of the attempt ``attempt_id``) limited to a running attempt of ``user_id``
    whose account needs nothing else checked: active, a candidate, and holding no role that would
    owe a second factor it has not set up."""
    role = UserRole.__table__.c
    return (
        query.join(User, User.id == TheoryAttempt.candidate_id)
        .join(ValidationSession, ValidationSession.id == TheoryAttempt.session_id)
        .where(TheoryAttempt.id == attempt_id, TheoryAttempt.candidate_id == user_id,
               TheoryAttempt.status == AttemptStatus.IN_PROGRESS, User.active.is_(True),
               exists().where(role.user_id == user_id, role.role == Role.CANDIDATE),
               User.totp_secret.is_not(None) | ~exists().where(role.user_id == user_id,
                                                                role.role.in_(sorted(DECIDING_ROLES))))
    )


@functools.cache
def _heartbeat_statement() -> Select[Any]:
    """A heartbeat's one query: what the autosave's lane reads of the attempt (:data:`_SEEN`), the
    last contact and the highest sequence number saved (:func:`services.last_seq`)."""
    attempt_id = TheoryAttempt.id
    return _running_attempt_of_an_ordinary_candidate(select(
        *_SEEN, TheoryAttempt.last_contact_at,
        select(func.coalesce(func.max(AttemptAnswer.seq), 0)).where(AttemptAnswer.attempt_id == attempt_id)
        .scalar_subquery().label("last_seq")),
        bindparam("attempt_id", type_=TheoryAttempt.id.type), bindparam("user_id", type_=User.id.type))


def _heartbeat(attempt_id: int, user_id: int, position: int | None) -> ResponseReturnValue | None:
    """A heartbeat as the full view answers it (:func:`examportal.theory.views.heartbeat`): the
    clock and the highest sequence number saved, the last contact written when it is
    CONTACT_WRITE_SECONDS old (:func:`services.touch`), the question shown remembered in the session."""
    row = db.session.connection().execute(_heartbeat_statement(), {"attempt_id": attempt_id, "user_id": user_id}).one_or_none()
    if row is None:
        return None
    attempt = _clock_copy(attempt_id, *row[:len(_CLOCK)])
    now = utcnow()
    if clock.time_left(attempt, now) <= MARGIN_SECONDS or not networks_allow(row.exam_networks, request.remote_addr):
        return None
    if row.last_contact_at is None or (now - row.last_contact_at).total_seconds() >= clock.CONTACT_WRITE_SECONDS:
        db.session.execute(update(TheoryAttempt).where(TheoryAttempt.id == attempt_id,
                                                       TheoryAttempt.status == AttemptStatus.IN_PROGRESS)
                           .values(last_contact_at=now).execution_options(synchronize_session=False))
        db.session.commit()
    positions.remember(attempt, position)
    g.setdefault(AUTOSAVE_LANE, "express")
    return jsonify(status=attempt.status.value, time_left=clock.seconds_shown(attempt, now), last_seq=int(row.last_seq))
