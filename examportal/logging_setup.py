"""Logs as JSON lines, each with the id of the request (or job) it belongs to, and no personal data.

One handler on the root logger writes every record to stderr: as a JSON object per line
(``LOG_FORMAT=json``, production and tests) or as readable text (``LOG_FORMAT=text``, the
development default). Every record passes two filters on the way out:

- :class:`RequestIdFilter` stamps it with :func:`current_request_id`;
- :class:`RedactingFilter` removes personal data: PESEL numbers, e-mail addresses, passwords in
  URLs, and whatever sits under a sensitive key (password, answer, response, pesel, token, ...)
  in the message's arguments, in ``key=value`` text and in ``extra`` fields.

The request id comes from the incoming ``X-Request-ID`` header when it is a sane token (a proxy
that sets one lets its logs and ours be joined), else it is generated; the response carries it back
in the same header.

Jobs carry the id of the request that enqueued them. The job code passes it along and nothing
else::

    # where the job is enqueued (inside the request)
    queue.enqueue(task, ..., meta={"request_id": current_request_id()})

    # where the worker runs it
    with bind_request_id(job.meta.get("request_id")):
        task(...)

A job enqueued outside a request (the scheduler) gets a fresh id of its own from
:func:`bind_request_id`, so its lines can still be told apart.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Flask, g, request
from flask.logging import default_handler
from flask.wrappers import Response
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
LOG_FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Probes and scrapes come every few seconds: their request lines are DEBUG, not INFO noise.
QUIET_ENDPOINTS = frozenset({"main.healthz", "main.readyz", "metrics.scrape"})
OWN_LOGGERS = ("examportal", "sandbox_crm", "question_bank")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("examportal_request_id", default=None)

# Letters, digits and a few separators, 8 to 128 of them: enough for a UUID or a proxy's hex id,
# never a line break or markup that would forge or break a log line.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")


# --------------------------------------------------------------------------- request ids


def new_request_id() -> str:
    """A fresh id: a UUID4 with its dashes that redaction leaves alone.

    A UUID's last group has 12 hex digits, so about one in 200 UUIDs holds a run of exactly 11
    decimal digits there, which redaction would log as "[pesel]"; such a UUID is drawn again.
    """
    while True:
        candidate = str(uuid.uuid4())
        if redact_text(candidate) == candidate:
            return candidate


def sane_request_id(value: str | None) -> str | None:
    """``value`` if it may serve as a request id, else None (also when redaction would change it)."""
    if value and SANE_REQUEST_ID.fullmatch(value) and redact_text(value) == value:
        return value
    return None


def current_request_id() -> str | None:
    """The id of the request being served, or of the request that enqueued the running job."""
    return _request_id.get()


@contextlib.contextmanager
def bind_request_id(request_id: str | None) -> Iterator[str]:
    """Log everything inside the block under ``request_id`` (a fresh id when it is None or not sane).

    Meant for job code: the worker wraps a job in it with the id that the enqueuing request passed
    along. Yields the id in force.
    """
    bound = sane_request_id(request_id) or new_request_id()
    token = _request_id.set(bound)
    try:
        yield bound
    finally:
        _request_id.reset(token)


# --------------------------------------------------------------------------- redaction

REDACTED = "[redacted]"
# Word parts of a key (or of a ``key=value`` in text) whose value is never logged.
SENSITIVE_WORDS = frozenset({
    "password", "passwd", "answer", "response", "pesel", "token", "secret", "authorization", "cookie",
})
_SENSITIVE_ALTERNATION = "|".join(sorted(SENSITIVE_WORDS))
# A PESEL is 11 digits; a longer run of digits is something else (and stays readable).
PESEL = re.compile(r"(?<!\d)\d{11}(?!\d)")
PESEL_FLOOR = 10**10
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# scheme://user:password@host — a database or Redis URL in an error message.
URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*):(?P<password>[^@/\s]+)@", re.IGNORECASE)
# password=..., "answer": [...], csrf_token: abc, newPassword=... — in free text (a formatted dict, a
# query string). As for keys, the sensitive word must be a whole word of the name: answer_seq is
# hidden, answered_at is not.
KEY_VALUE = re.compile(
    r"(?<![A-Za-z0-9_])(?P<key>(?:[A-Za-z0-9]+_|[a-z0-9]+(?=[A-Z]))*(?i:" + _SENSITIVE_ALTERNATION + r")s?(?:_[A-Za-z0-9]+)*)"
    r"(?![A-Za-z0-9])(?P<sep>[\"']?\s*[:=]\s*)"
    r"(?P<value>\[[^\]]*\]?|\{[^}]*\}?|\"[^\"]*\"?|'[^']*'?|[^\s,;&)}\]]+)",
)
# What any of the four needs to find: text without it is returned as it is (every request's log
# line is mostly such text, and one search is a quarter of four substitutions).
_MAYBE_SENSITIVE = re.compile(r"://|@|\d{11}|(?i:" + _SENSITIVE_ALTERNATION + ")")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_KEY_PARTS = re.compile(r"[^a-z0-9]+")
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def is_sensitive_key(key: object) -> bool:
    """Whether a value under ``key`` must not be logged: any word of the key (``csrf_token``,
    ``newPassword``, ``answers``) is a sensitive one."""
    return isinstance(key, str) and _sensitive_key(key)


@functools.lru_cache(maxsize=1024)  # a record's keys are mostly the same few names
def _sensitive_key(key: str) -> bool:
    for part in _KEY_PARTS.split(_CAMEL.sub(r"\1_\2", key).lower()):
        if part in SENSITIVE_WORDS or (part.endswith("s") and part[:-1] in SENSITIVE_WORDS):
            return True
    return False


def redact_text(text: str) -> str:
    """``text`` without PESEL numbers, e-mail addresses, URL passwords and values of sensitive keys."""
    return _substituted(text) if _MAYBE_SENSITIVE.search(text) else text


def _substituted(text: str) -> str:
    text = URL_PASSWORD.sub(lambda m: f"{m['head']}:{REDACTED}@", text)
    text = KEY_VALUE.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
    text = EMAIL.sub("[email]", text)
    return PESEL.sub("[pesel]", text)


def redact_value(value: Any) -> Any:
    """A copy of ``value`` fit for a log: mappings lose what sits under sensitive keys, strings
    (and anything that is not plain data, by its text) are redacted."""
    if isinstance(value, Mapping):
        return {key: REDACTED if is_sensitive_key(key) else redact_value(item) for key, item in value.items()}
    if isinstance(value, tuple):  # a record's args stay a tuple for %-formatting
        return tuple(redact_value(item) for item in value)
    if isinstance(value, list | set | frozenset):
        return [redact_value(item) for item in value]
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):  # fewer than 11 digits are no PESEL
        return value if -PESEL_FLOOR < value < PESEL_FLOOR or redact_text(str(value)) == str(value) else "[pesel]"
    if isinstance(value, str):
        return redact_text(value)
    return redact_text(str(value))


def _without_sensitive_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: REDACTED if is_sensitive_key(key) else _without_sensitive_keys(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(_without_sensitive_keys(item) for item in value)
    if isinstance(value, list):
        return [_without_sensitive_keys(item) for item in value]
    return value


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request (or job) id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class RedactingFilter(logging.Filter):
    """Removes personal data from the message, its arguments, ``extra`` fields and tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, Mapping):  # a structured message (python-json-logger merges it)
            record.msg = redact_value(record.msg)
        else:
            if record.args:
                # Values under sensitive keys go before formatting ("%s" of a form's dict); the
                # rest is redacted in the formatted text (a PESEL may be formatted with "%d").
                record.args = _without_sensitive_keys(record.args)
            try:
                message = record.getMessage()
            except (TypeError, ValueError, KeyError):  # a broken format string still gets logged, redacted
                message = f"{record.msg} {record.args!r}"
            record.msg, record.args = redact_text(message), None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRIBUTES:
                setattr(record, key, REDACTED if is_sensitive_key(key) else redact_value(value))
        if record.exc_info:
            # Exception messages carry SQL, form values and addresses: format once, redacted.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


# --------------------------------------------------------------------------- handler


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]  # typeshed's TextIO parameter
    """Writes to whatever ``sys.stderr`` is at the time (a test's capture, gunicorn's redirect)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def make_formatter(log_format: str) -> logging.Formatter:
    """The JSON lines formatter (timestamp, level, logger, message, request_id, extra fields) or the text one."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    return JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s",
                         rename_fields={"levelname": "level", "name": "logger"}, timestamp=True,
                         json_ensure_ascii=False)


def make_handler(log_format: str, stream: Any = None) -> logging.Handler:
    """A handler with the formatter for ``log_format`` and both filters; to stderr unless ``stream`` is given."""
    handler: logging.Handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    return handler


def configure(log_format: str, level: str | int = "INFO") -> logging.Handler:
    """Send every logger's records through one handler of ours on the root logger (idempotent:
    a second call replaces the first's handler).

    ``level`` is that of the portal's own loggers; libraries keep the root's (WARNING by default),
    so their chatter (a PDF engine's progress) stays out unless it is a warning.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "examportal", False)]:
        root.removeHandler(old)
    handler = make_handler(log_format)
    handler.examportal = True  # type: ignore[attr-defined]  # marks the handler as ours for the next call
    root.addHandler(handler)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level.upper() if isinstance(level, str) else level)
    # Alembic's env.py runs logging.config.fileConfig, which disables every logger that exists
    # by then (ours, when migrations run in the same process as the app): turn ours back on.
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.split(".", 1)[0] in OWN_LOGGERS:
            logger.disabled = False
    return handler


_request_log = logging.getLogger("examportal.request")


def log_request(method: str, endpoint: str | None, status: int, seconds: float | None) -> None:
    """The request's one log line, under the request id in force. The endpoint, never the path:
    paths carry tokens (password reset, e-mail confirmation)."""
    _request_log.log(logging.DEBUG if endpoint in QUIET_ENDPOINTS else logging.INFO, "request",
                     extra={"method": method, "endpoint": endpoint, "status": status,
                            "duration_ms": round(seconds * 1000, 1) if seconds is not None else None})


def init_app(app: Flask) -> None:
    """Configure logging from LOG_FORMAT and LOG_LEVEL, and give every request an id and a log line."""
    configure(app.config.get("LOG_FORMAT", "json"), app.config.get("LOG_LEVEL", "INFO"))
    app.logger.removeHandler(default_handler)  # records reach the root handler; no second copy

    @app.before_request
    def assign_request_id() -> None:
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        g.request_id_token = _request_id.set(request_id)
        g.request_id = request_id  # for templates and code that reads g; current_request_id() is the API
        g.request_log_started = time.perf_counter()

    @app.after_request
    def log_each_request(response: Response) -> Response:
        request_id = current_request_id()
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_log_started")
        log_request(request.method, request.endpoint, response.status_code,
                    time.perf_counter() - started if started else None)
        return response

    @app.teardown_request
    def forget_request_id(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is None:
            return
        try:
            _request_id.reset(token)
        except ValueError:  # torn down in another context (a streamed response): clear instead
            _request_id.set(None)
