"""Logs as JSON lines with the request id (carried into jobs), and no personal data in them."""
from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from collections.abc import Iterator

import hypothesis
import pytest
import yaml
from hypothesis import strategies as st

from examportal import logging_setup
from examportal.logging_setup import (
    REQUEST_ID_HEADER,
    bind_request_id,
    current_request_id,
    make_handler,
    new_request_id,
    redact_text,
    sane_request_id,
)
from examportal.models import AttemptStatus, Role
from examportal.theory import services
from tests import factories

PESEL = "44051401359"
EMAIL = "anna.kowalska@example.pl"


class Captured:
    """Every record that reaches the root logger, as our JSON handler writes it."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """Request it after ``app``: building the app sets the portal's log level from its config."""
    capture = Captured()
    handler = make_handler("json", capture.stream)
    root, portal = logging.getLogger(), logging.getLogger("examportal")
    level = portal.level
    root.addHandler(handler)
    portal.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(handler)
        portal.setLevel(level)


@pytest.fixture
def log() -> logging.Logger:
    logger = logging.getLogger("examportal.tests.logging")
    logger.disabled = False
    return logger


# --------------------------------------------------------------------------- redaction


def test_a_pesel_and_an_email_in_the_message_are_redacted(captured, log):
    log.warning("candidate %s registered with PESEL %s", EMAIL, PESEL)
    log.warning(f"inline: pesel={PESEL}, mail <{EMAIL}>")
    log.warning("as a number: %d", int(PESEL))
    first, second, third = captured.records()
    assert first["message"] == "candidate [email] registered with PESEL [pesel]"
    assert PESEL not in captured.stream.getvalue() and EMAIL not in captured.stream.getvalue()
    assert second["message"] == "inline: pesel=[redacted], mail <[email]>"
    assert third["message"] == "as a number: [pesel]"


def test_what_is_under_a_sensitive_key_is_redacted_in_arguments_text_and_extra_fields(captured, log):
    log.warning("form %s", {"answer": ["opt-secret-1", "opt-secret-2"], "position": 3, "csrf_token": "tok-secret"})
    log.warning("login password=hunter2-secret&next=/dashboard; reset token: tok-secret-2")
    log.warning('payload {"response": "secret text", "seq": 4}')
    log.warning("saved", extra={"answer": "secret text", "newPassword": "pw-secret",
                                "details": {"pesel": "12345", "note": f"write to {EMAIL}", "responses": ["a"]},
                                "seq": 5})
    text = captured.stream.getvalue()
    assert "secret" not in text and "hunter2" not in text and EMAIL not in text
    form, login, payload, saved = captured.records()
    assert form["message"] == "form {'answer': [redacted], 'position': 3, 'csrf_token': [redacted]}"
    assert login["message"] == "login password=[redacted]&next=/dashboard; reset token: [redacted]"
    assert payload["message"] == 'payload {"response": [redacted], "seq": 4}'
    assert saved["answer"] == saved["newPassword"] == "[redacted]" and saved["seq"] == 5
    assert saved["details"] == {"pesel": "[redacted]", "note": "write to [email]", "responses": "[redacted]"}


def test_passwords_in_urls_and_personal_data_in_tracebacks_are_redacted(captured, log):
    log.error("cannot reach postgresql+psycopg://exam:db-pass-secret@db.internal/exam")
    try:
        raise ValueError(f"duplicate key (pesel)=({PESEL}) for {EMAIL}")
    except ValueError:
        log.exception("insert failed")
    url, failure = captured.records()
    assert url["message"] == "cannot reach postgresql+psycopg://exam:[redacted]@db.internal/exam"
    assert "ValueError" in failure["exc_info"] and "Traceback" in failure["exc_info"]
    assert PESEL not in failure["exc_info"] and EMAIL not in failure["exc_info"]


def test_what_is_not_personal_stays_readable():
    assert redact_text("order 123456789012 of 2026-12-02, 10 items, session 42") == \
        "order 123456789012 of 2026-12-02, 10 items, session 42"
    assert redact_text("request f47ac10b-58cc-4372-a567-0e02b2c3d479 took 12 ms") == \
        "request f47ac10b-58cc-4372-a567-0e02b2c3d479 took 12 ms"


_PIECES = st.sampled_from(["password", "Token", "answer", "pesel", "csrf_", "new", "Password", "=", ": ", "'", '"',
                            "@", "example", ".pl", "://", "user", ":", "/", "1", "0", "4405140135", " ", ",", "[", "]",
                            "ą", "x", "_", "-"])


@hypothesis.given(st.lists(_PIECES, max_size=25).map("".join) | st.text(max_size=60))
def test_text_the_quick_check_passes_needs_no_redaction(text):
    """redact_text returns text that none of its patterns could match as it is: the same as
    running every substitution on it."""
    assert redact_text(text) == logging_setup._substituted(text)


@pytest.mark.parametrize("text", [
    *(f"{word}=x" for word in sorted(logging_setup.SENSITIVE_WORDS)),
    *(f"{word.upper()}: x" for word in sorted(logging_setup.SENSITIVE_WORDS)),
    "paſſword=x",  # case-folds to "password"
    "numer \u0664\u0664\u0660\u0665\u0661\u0664\u0660\u0661\u0663\u0665\u0669",  # eleven Arabic-Indic digits
    "mail anna@example.pl",
    "postgresql://u:p@h/db",
])
def test_what_the_patterns_match_passes_the_quick_check(text):
    assert redact_text(text) == logging_setup._substituted(text) != text


@hypothesis.given(st.integers())
def test_numbers_are_redacted_as_their_text(number):
    expected = number if redact_text(str(number)) == str(number) else "[pesel]"
    assert logging_setup.redact_value(number) == expected


def test_a_broken_format_string_is_still_logged_redacted(captured, log):
    log.warning("two placeholders %s %s", PESEL)  # noqa: PLE1206  (the broken call is the point)
    (record,) = captured.records()
    assert "two placeholders" in record["message"] and PESEL not in record["message"]


# --------------------------------------------------------------------------- request ids


def test_request_ids_are_taken_only_when_sane():
    assert sane_request_id("f47ac10b-58cc-4372-a567-0e02b2c3d479") == "f47ac10b-58cc-4372-a567-0e02b2c3d479"
    assert sane_request_id("0123456789abcdef0123456789abcdef") == "0123456789abcdef0123456789abcdef"  # nginx's $request_id
    for bad in (None, "", "short", "a" * 129, "id with spaces", "id\nforged line", "<script>alert</script>",
                PESEL, f"x-{PESEL}", EMAIL):
        assert sane_request_id(bad) is None, bad


def test_a_fresh_request_id_is_never_one_that_redaction_would_change(monkeypatch):
    # The last group of this UUID holds 11 decimal digits in a row: logged, it would read "[pesel]".
    drawn = iter([uuid.UUID("a29eec4d-6f2b-4ef1-8eea-46452300643c"), uuid.UUID("485cac4b-3169-4405-b5de-ed1f44e92987")])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(drawn))
    assert new_request_id() == "485cac4b-3169-4405-b5de-ed1f44e92987"


def test_a_job_logs_under_the_id_it_was_given_and_a_job_without_one_gets_its_own(captured, log):
    assert current_request_id() is None

    def job(request_id, seen):
        with bind_request_id(request_id) as bound:
            seen.append(bound)
            log.info("job ran")

    seen: list[str] = []
    for given in ("enqueuer-request-0001", None, "not sane"):
        worker = threading.Thread(target=job, args=(given, seen))
        worker.start()
        worker.join()
    assert seen[0] == "enqueuer-request-0001"
    assert uuid.UUID(seen[1]) and uuid.UUID(seen[2])
    assert [r["request_id"] for r in captured.records()] == seen
    assert current_request_id() is None


def test_the_text_format_for_development_is_readable(log):
    stream = io.StringIO()
    handler = make_handler("text", stream)
    log.addHandler(handler)
    try:
        with bind_request_id("dev-request-0001"):
            log.warning("mail to %s", EMAIL)
    finally:
        log.removeHandler(handler)
    assert stream.getvalue().rstrip().endswith("WARNING examportal.tests.logging [dev-request-0001] mail to [email]")
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        make_handler("xml")


# --------------------------------------------------------------------------- through the app


def test_each_request_logs_a_json_line_with_its_id_which_the_response_returns(app_factory, capsys):
    app = app_factory(LOG_LEVEL="INFO")
    client = app.test_client()
    response = client.get("/auth/login", headers={REQUEST_ID_HEADER: "proxy-request-0001"})
    assert response.headers[REQUEST_ID_HEADER] == "proxy-request-0001"
    generated = client.get("/auth/login", headers={REQUEST_ID_HEADER: "bad id"}).headers[REQUEST_ID_HEADER]
    assert uuid.UUID(generated)
    assert uuid.UUID(client.get("/auth/login").headers[REQUEST_ID_HEADER]) != uuid.UUID(generated)

    # What the app's own handler wrote to stderr (Alembic's logging set-up may add plain lines).
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["logger"] == "examportal.request"]
    assert [r["request_id"] for r in requests][:2] == ["proxy-request-0001", generated]
    first = requests[0]
    assert {"timestamp", "level", "logger", "message", "request_id"} <= set(first)
    assert first["level"] == "INFO" and first["endpoint"] == "auth.login" and first["status"] == response.status_code
    assert first["method"] == "GET" and isinstance(first["duration_ms"], float)
    assert current_request_id() is None  # nothing left behind after the request


def test_a_request_id_goes_along_with_what_the_request_starts(app, client, captured):
    """The job code's side: the enqueuing request reads current_request_id(), the worker binds it."""
    carried = {}

    @app.route("/_test/enqueue")
    def enqueue():
        carried["request_id"] = current_request_id()
        return "queued"

    client.get("/_test/enqueue", headers={REQUEST_ID_HEADER: "enqueuing-request-42"})
    worker = threading.Thread(target=lambda: _run_job(carried["request_id"]))
    worker.start()
    worker.join()
    job_lines = [r for r in captured.records() if r["logger"] == "examportal.jobs.test"]
    assert [(r["message"], r["request_id"]) for r in job_lines] == [("job done", "enqueuing-request-42")]


def _run_job(request_id: str | None) -> None:
    with bind_request_id(request_id):
        logging.getLogger("examportal.jobs.test").info("job done")


def _bank_with_recognisable_options(directory) -> str:
    """The synthetic bank, its single-choice options renamed so an answer is easy to spot in a log."""
    items = factories.theory_item_dicts()
    for item in items:
        if item["type"] == "single_choice":
            rename = {option["id"]: f"chosen-{option['id']}-zq" for option in item["options"]}
            for option in item["options"]:
                option["id"] = rename[option["id"]]
            item["key"] = [rename[k] for k in item["key"]]
    (directory / "items.yaml").write_text(yaml.safe_dump(items, allow_unicode=True), encoding="utf-8")
    return str(directory)


@pytest.fixture
def sql_logged() -> Iterator[None]:
    """Someone debugging turns on SQL logging (before the test's connection opens: it reads the level then)."""
    sql = logging.getLogger("sqlalchemy.engine")
    level = sql.level
    sql.setLevel(logging.INFO)
    try:
        yield
    finally:
        sql.setLevel(level)


def test_a_theory_autosave_logs_no_answer(sql_logged, app, captured, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = _bank_with_recognisable_options(tmp_path)
    session = factories.make_session(factories.make_institution(qualifications=[qualification]), qualification)
    candidate = factories.make_user(Role.CANDIDATE)
    attempt = factories.make_attempt(factories.enrol(session, candidate), status=AttemptStatus.UNLOCKED)
    services.start(attempt)
    item = next(i for i in attempt.items if i.snapshot["item"]["type"] == "single_choice")
    page_option = services.candidate_display(item, "pl")["options"][1][0]
    client = factories.client_as(app, candidate)

    response = client.post(f"/theory/attempts/{attempt.id}/answer",
                           data={"position": str(item.position), "seq": "1", "answer": page_option})
    assert response.status_code == 200 and response.get_json()["applied"] is True
    item = services.candidate_display(item, "pl")
    assert item["response"] == page_option  # saved, so the answer went through the database

    records = captured.records()
    assert any(r.get("endpoint") == "theory.autosave" and r["status"] == 200 for r in records)
    # SQL logging was on: the statements are there, their values (the answer among them) are not.
    assert any(r["logger"] == "sqlalchemy.engine.Engine" and "UPDATE attempt_item" in r["message"] for r in records)
    text = captured.stream.getvalue()
    assert page_option not in text and "-zq" not in text
    assert not any("answer" in r for r in records)
