"""What a new user met on a walk through the Polish UI: stored codes shown by name, numbers and
times written the Polish way, the favicon, the operator's answers before the start, the login
error alone, the institution button, where a validation stands for the candidate, the practical
page after a failed theory test, the declaration naming its candidates, mail links on the port
the development server runs on, and the sandbox's log and messages."""
from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.extensions import db
from examportal.i18n import number, percent
from examportal.models import (
    AttemptStatus,
    AuditEntry,
    CommitteeMember,
    OutboxMail,
    Role,
    TheoryAttempt,
    ValidationDecision,
    utcnow,
)
from examportal.models.base import LabelledEnum, set_labels
from examportal.security import public_url
from sandbox_crm import labels as sandbox_labels
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_institution,
    make_practical_attempt,
    make_session,
    make_theory_result,
    make_user,
    write_theory_bank,
)

NBSP = "\u00a0"


def text(response) -> str:
    assert response.status_code in (200, 400), response.status_code
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- labels of stored codes


def test_an_enum_without_a_label_for_every_member_is_refused_at_import():
    class Colour(LabelledEnum):
        RED = "red"
        GREEN = "green"

    with pytest.raises(ValueError, match="green"):
        set_labels(Colour, {Colour.RED: "czerwony"})


def test_every_verb_and_object_the_sandbox_logs_has_a_label():
    """A verb or object type added to the action log without a label would reach the pages raw."""
    from pathlib import Path

    source = "\n".join(p.read_text(encoding="utf-8") for p in Path(sandbox_labels.__file__).parent.rglob("*.py"))
    verbs = set(re.findall(r'record\(\s*workspace,\s*"(\w+)"', source)) | {"won", "lost"}  # opportunity.status
    objects = set(re.findall(r'record\(\s*workspace,\s*[\w."]+,\s*"(\w+)"', source))
    objects |= set(re.findall(r'record_filter\([^,]+,\s*"(\w+)"', source))
    objects |= set(re.findall(r'_record_filter\(workspace,\s*"(\w+)"', source))
    assert {"create", "update", "move", "import", "freeze"} <= verbs and {"company", "board", "task"} <= objects
    assert not verbs - set(sandbox_labels.VERB_LABELS), verbs - set(sandbox_labels.VERB_LABELS)
    assert not objects - set(sandbox_labels.OBJECT_LABELS), objects - set(sandbox_labels.OBJECT_LABELS)


@pytest.fixture
def console_world(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    ic = make_institution("Fundacja T", qualifications=[qualification])
    operator = make_user((Role.OPERATOR, ic), first_name="Olga")
    session = make_session(ic, qualification, operator_id=operator.id)
    enrolment = enrol(session, make_user(Role.CANDIDATE, first_name="Kasia", last_name="Kowalska"))
    return {"operator": operator, "session": session, "enrolment": enrolment}


def _act(client, session_id, **data):
    form = {"target": "0", "kind": "incident", "minutes": "", "reason": "Sala 12"} | {k: str(v) for k, v in data.items()}
    response = client.post(f"/operator/sessions/{session_id}/actions", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_the_operator_console_names_statuses_and_actions_in_polish(app, console_world):
    session = console_world["session"]
    console = client_as(app, console_world["operator"], lang="pl")
    url = f"/operator/sessions/{session.id}"
    page = text(console.get(url))
    # Before the start the test has no questions yet: no "0 / 0".
    assert re.search(r'<td class="c-answered">—</td>', page) and "0 / 0" not in page
    assert '<td class="c-status">zablokowany</td>' in page and "jeszcze nie połączony" in page
    _act(console, session.id, kind="unlock")
    _act(console, session.id, kind="extra_time", minutes=5)
    page = text(console.get(url))
    record = page.split('id="actions"')[1]
    assert "odblokowanie testu" in record and "dodanie czasu +5 min" in record
    assert "extra_time" not in record and "unlock" not in record
    assert '<td class="c-status">odblokowany</td>' in page

    # The live refresh gets the texts to show from the server, in the operator's language and time.
    attempt = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == console_world["enrolment"].id))
    attempt.last_contact_at = datetime(2026, 12, 2, 17, 3, 25, tzinfo=UTC)
    db.session.commit()
    [row] = console.get(f"{url}/status.json").get_json()["rows"]
    assert row["status"] == "unlocked" and row["status_label"] == "odblokowany"
    assert row["answered_text"] == "—" and row["connection_label"] == "rozłączony"
    assert row["last_contact"] == "2 gru 2026, 18:03:25"  # Warsaw time, not "2026-12-02T17:03:25+00:00"
    english = client_as(app, console_world["operator"], lang="en")
    [row] = english.get(f"{url}/status.json").get_json()["rows"]
    assert row["status_label"] == "unlocked" and row["last_contact"].startswith("Dec 2, 2026, 6:03:25")
    script = (app.static_folder + "/operator.js")
    with open(script, encoding="utf-8") as handle:
        assert "row.last_contact;" in handle.read()  # the refresh no longer writes the ISO timestamp


def test_theory_results_name_the_attempt_status_and_write_percentages_the_polish_way(app, qualification):
    ic = make_institution("Fundacja W", qualifications=[qualification])
    staff = make_user((Role.STAFF, ic))
    session = make_session(ic, qualification)
    attempt = make_theory_result(enrol(session, make_user(Role.CANDIDATE)), qualification, passed=False)
    attempt.score_points, attempt.score_max, attempt.score_percent = 4.5, 36, 13.3333
    db.session.commit()
    page = text(client_as(app, staff, lang="pl").get(f"/theory/sessions/{session.id}/results"))
    assert f"4,5 / 36 (13,33{NBSP}%)" in page and "<td>oddany</td>" in page and "submitted" not in page
    page = text(client_as(app, staff, lang="en").get(f"/theory/sessions/{session.id}/results"))
    assert "4.5 / 36 (13.33%)" in page and "<td>submitted</td>" in page


def test_numbers_and_percentages_follow_the_page_language(app):
    with app.test_request_context():
        with force_locale("pl"):
            assert percent(13.3333) == f"13,33{NBSP}%" and percent(60) == f"60{NBSP}%" and percent(None) == "—"
            assert number(1.5) == "1,5" and number(12345.678) == f"12{NBSP}345,68" and number(0.5, 2, fixed=True) == "0,50"
            assert sandbox_labels.percent_text(33.3) == f"33,3{NBSP}%"
        with force_locale("en"):
            assert percent(13.3333) == "13.33%" and number(0.5, 2, fixed=True) == "0.50"
            assert sandbox_labels.percent_text(33.3) == "33.3%"


def test_mail_statuses_are_named(app, qualification):
    ic = make_institution("Fundacja M", qualifications=[qualification])
    staff = make_user((Role.STAFF, ic))
    db.session.add(OutboxMail(recipient="kandydat@example.pl", subject="Wynik walidacji", body="…", status="queued"))
    db.session.commit()
    page = text(client_as(app, staff, lang="pl").get("/dev/mailbox/"))
    assert "<td>oczekuje na wysłanie</td>" in page and "queued" not in page


# --------------------------------------------------------------------------- small things


def test_every_page_links_a_favicon_that_is_there(client):
    page = text(client.get("/"))
    links = re.findall(r'<link rel="icon" href="([^"]+)"', page)
    assert links
    for href in links:
        icon = client.get(href)
        assert icon.status_code == 200 and icon.mimetype.startswith("image/")
        icon.close()
    # And where a browser looks when a page names none (a print view).
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype.startswith("image/")
    icon.close()


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_a_wrong_password_shows_only_the_login_error(app, lang):
    from flask_babel import gettext

    with app.test_request_context(), force_locale(lang):
        error, summary = gettext("Wrong e-mail or password."), gettext("Please correct the marked fields.")
    user = make_user(Role.CANDIDATE)
    page = text(client_as(app, None, lang=lang).post("/auth/login", data={"email": user.email, "password": "nie-to"}))
    assert error in page and summary not in page


def test_the_admin_registers_an_institution_not_themselves(app):
    admin = make_user(Role.ADMIN)
    page = text(client_as(app, admin, lang="pl").get("/institution/all"))
    assert "Zarejestruj instytucję</button>" in page and "Zarejestruj się" not in page


# --------------------------------------------------------------------------- the candidate's pages


def _decide(enrolment, decider, positive: bool) -> None:
    db.session.add(ValidationDecision(enrolment_id=enrolment.id, positive=positive, decided_by_id=decider.id,
                                      justification=None if positive else "Kryterium 2.4.f niespełnione.",
                                      decided_at=utcnow(), protocol_pdf=b"%PDF-", protocol_sha256="0" * 64))
    db.session.commit()


def test_my_sessions_say_where_the_validation_stands(app, qualification):
    ic = make_institution("Fundacja S", qualifications=[qualification])
    chair = make_user((Role.ASSESSOR, ic))
    candidate = make_user(Role.CANDIDATE)
    enrolments = {title: enrol(make_session(ic, qualification, title=title), candidate)
                  for title in ("Sesja A", "Sesja B", "Sesja C", "Sesja D", "Sesja E", "Sesja F")}
    make_practical_attempt(enrolments["Sesja B"])  # the practical part is over: the committee decides next
    _decide(enrolments["Sesja C"], chair, positive=True)
    _decide(enrolments["Sesja D"], chair, positive=False)
    make_theory_result(enrolments["Sesja E"], qualification, passed=False)  # not admitted to the practical part
    enrolments["Sesja F"].status = enrolments["Sesja F"].status.WITHDRAWN
    db.session.commit()
    page = text(client_as(app, candidate, lang="pl").get("/sessions/mine"))
    states = dict(re.findall(r"<td>(Sesja [A-F])</td>.*?</td>\s*<td>([^<]*)</td>", page, re.S))
    assert states == {"Sesja A": "zapisany", "Sesja B": "oczekuje na decyzję komisji",
                      "Sesja C": "decyzja: pozytywna", "Sesja D": "decyzja: negatywna",
                      "Sesja E": "oczekuje na decyzję komisji", "Sesja F": "wycofany z sesji"}


@pytest.mark.parametrize("released", [True, False])
def test_the_practical_page_after_a_failed_theory_says_it_is_closed(app, qualification, released):
    ic = make_institution("Fundacja P", qualifications=[qualification])
    candidate = make_user(Role.CANDIDATE)
    enrolment = enrol(make_session(ic, qualification), candidate)
    make_theory_result(enrolment, qualification, passed=False, released=released)
    page = text(client_as(app, candidate).get(f"/practical/enrolments/{enrolment.id}"))
    closed = "The practical part is closed to you: your theory test was not passed."
    opens = "The practical exam opens once your theory test result has been released and is a pass."
    # Until the release the candidate learns nothing of the result.
    assert (closed in page, opens in page) == ((True, False) if released else (False, True))
    assert "Start the practical exam" not in page


# --------------------------------------------------------------------------- the declaration of impartiality


@pytest.fixture
def declaration_world(app, qualification):
    ic = make_institution("Fundacja D", qualifications=[qualification])
    session = make_session(ic, qualification, title="Sesja z deklaracją")
    first = enrol(session, make_user(Role.CANDIDATE, first_name="Irena", last_name="Kowalczyk"))
    second = enrol(session, make_user(Role.CANDIDATE, first_name="Jacek", last_name="Mazur"))
    return {"ic": ic, "session": session, "first": first, "second": second}


def test_the_declaration_names_the_candidates_before_it_is_signed(app, declaration_world):
    w = declaration_world
    assessor = make_user((Role.ASSESSOR, w["ic"]))
    member = add_member(w["session"], assessor)
    client = client_as(app, assessor, lang="pl")
    url = f"/sessions/{w['session'].id}/committee-view"
    page = text(client.get(url))
    form = page.split("Deklaracja dotyczy tych kandydatów")[1].split("</form>")[0]
    assert "Irena Kowalczyk" in form and "Jacek Mazur" in form and "wymienionych powyżej" in form
    assert "/committee/enrolments/" not in page  # their work opens only after the signature
    covered = re.search(r'name="covered" type="hidden" value="([^"]*)"', page).group(1)
    assert covered == f"{w['first'].id},{w['second'].id}"

    assert client.post(url, data={"confirm": "y", "covered": covered}).status_code == 302
    db.session.expire_all()
    assert member.declared_at is not None
    assert (f"Deklaracja obejmuje kandydatów: Irena Kowalczyk (zapis nr {w['first'].id}); "
            f"Jacek Mazur (zapis nr {w['second'].id}).") in member.declaration_text
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "committee.impartiality_declared"))
    assert entry.after["enrolment_ids"] == [w["first"].id, w["second"].id]
    assert "Kowalczyk" not in str(entry.after) and "Mazur" not in str(entry.after)  # people by id only


def test_a_member_for_one_candidate_declares_towards_that_candidate_only(app, declaration_world):
    w = declaration_world
    extra = make_user((Role.ASSESSOR, w["ic"]))
    db.session.add(CommitteeMember(session_id=w["session"].id, assessor_id=extra.id, enrolment_id=w["second"].id))
    db.session.commit()
    client = client_as(app, extra, lang="en")
    url = f"/sessions/{w['session'].id}/committee-view"
    page = text(client.get(url))
    assert "Jacek Mazur" in page and "Kowalczyk" not in page
    assert client.post(url, data={"confirm": "y", "covered": str(w["second"].id)}).status_code == 302
    member = db.session.scalar(select(CommitteeMember).where(CommitteeMember.assessor_id == extra.id))
    assert member.declaration_text.endswith(f"Candidates covered: Jacek Mazur (enrolment no. {w['second'].id}).")


def test_a_declaration_over_a_list_that_changed_meanwhile_is_not_signed(app, declaration_world):
    w = declaration_world
    assessor = make_user((Role.ASSESSOR, w["ic"]))
    member = add_member(w["session"], assessor)
    client = client_as(app, assessor, lang="en")
    url = f"/sessions/{w['session'].id}/committee-view"
    seen = re.search(r'name="covered" type="hidden" value="([^"]*)"', text(client.get(url))).group(1)
    late = enrol(w["session"], make_user(Role.CANDIDATE, first_name="Halina", last_name="Późna"))
    for covered in (seen, "abc", "99999999999"):
        response = client.post(url, data={"confirm": "y", "covered": covered})
        page = text(response)
        assert response.status_code == 400 and "changed while the page was open" in page
        assert "Halina Późna" in page and f'value="{seen},{late.id}"' in page  # the list as it is now
    db.session.expire_all()
    assert member.declared_at is None


# --------------------------------------------------------------------------- mail links in development


def test_mail_links_follow_the_port_served_when_no_public_address_is_set(app):
    from examportal.config import DevelopmentConfig

    assert DevelopmentConfig.PUBLIC_BASE_URL == os.environ.get("PUBLIC_BASE_URL", "")
    app.config["PUBLIC_BASE_URL"] = ""
    with app.test_request_context(environ_overrides={"SERVER_PORT": "8123"}):
        assert public_url("auth.login") == "http://127.0.0.1:8123/auth/login"
    with app.test_request_context(environ_overrides={"SERVER_PORT": "²"}):
        assert public_url("auth.login") == "http://127.0.0.1:5000/auth/login"
    user = make_user(Role.CANDIDATE)
    client = app.test_client()
    # The Host header is the sender's choice: only the port the server is bound to counts.
    response = client.post("/auth/reset", data={"email": user.email}, headers={"Host": "evil.example:9999"},
                           environ_overrides={"SERVER_PORT": "8123"})
    assert response.status_code == 302
    mail = db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == user.email)).all()[-1]
    assert "http://127.0.0.1:8123/auth/reset/" in mail.body and "evil.example" not in mail.body
    app.config["PUBLIC_BASE_URL"] = "https://egzaminy.example.pl"
    with app.test_request_context(environ_overrides={"SERVER_PORT": "8123"}):
        assert public_url("auth.login") == "https://egzaminy.example.pl/auth/login"


# --------------------------------------------------------------------------- the sandbox


@pytest.fixture
def workspace(app, qualification):
    ic = make_institution("Fundacja C", qualifications=[qualification])
    candidate = make_user(Role.CANDIDATE)
    attempt = make_practical_attempt(enrol(make_session(ic, qualification), candidate), finished=False)
    return {"client": client_as(app, candidate, lang="pl"), "base": f"/sandbox/w/{attempt.workspace_id}"}


def test_the_action_log_names_verbs_objects_fields_and_values_in_polish(app, workspace):
    client, base = workspace["client"], workspace["base"]
    response = client.post(f"{base}/companies/new", data={"name": "Alfa Hurt Sp. z o.o.", "city": "Kraków"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    flash = re.findall(r'<div class="flash flash--\w+"[^>]*>([^<]*)<', text(client.get(response.headers["Location"])))
    # A name ending in an abbreviation's full stop takes no second one.
    assert flash == ["Utworzono firmę Alfa Hurt Sp. z o.o."]
    company_url = response.headers["Location"]
    response = client.post(f"{company_url.rstrip('/')}/edit", data={
        "name": "Alfa Hurt Sp. z o.o.", "city": "Kraków", "size": "small", "potential_value": "125000,50"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    log = text(client.get(f"{base}/log"))
    assert '<span class="badge badge--info" data-verb="update">zmiana</span> <span data-object="company">firma</span>' in log
    assert '<span class="badge badge--info" data-verb="create">utworzenie</span> <span data-object="company">firma</span>' in log
    assert "<th>Wartość potencjalna (PLN)</th>" in log and "<th>Wielkość</th>" in log
    assert f"125{NBSP}000,50" in log and "Mała (10–49 pracowników)" in log
    shown = re.sub(r'\sdata-[a-z-]+="[^"]*"', "", log)  # what the page shows (the data attributes are for scripts and tests)
    for code in ("potential_value", ">update<", ">create<", "> company", ">small<"):
        assert code not in shown, code
    options = re.search(r'<select id="verb".*?</select>', log, re.S).group(0)
    assert ">zmiana</option>" in options and ">update</option>" not in options
    dashboard = text(client.get(f"{base}/"))
    assert '<span class="badge badge--info">zmiana</span> firma' in dashboard


def test_the_report_csv_names_its_charset_once(app, workspace):
    response = workspace["client"].get(f"{workspace['base']}/reports/export.csv?source=tasks")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_a_logged_value_reads_as_a_person_says_it(app):
    value = sandbox_labels.value_text
    with app.test_request_context(), force_locale("pl"):
        assert value(True) == "tak" and value(None) == "—" and value([]) == "—"
        assert value("in_progress", "status", "task") == "W toku"
        # The same code means another thing for another object.
        assert (value("open", "status", "task"), value("open", "status", "opportunity")) == ("Nierozpoczęte", "Otwarte")
        assert value("1200.00", "unit_price") == f"1{NBSP}200,00"
        assert value("2026-12-02", "due_date") == "2 gru 2026"
        assert value({"status": "done", "count": 3}, "filters", "task") == "Status: Wykonane; Znalezione wiersze: 3"
        assert value("anything-else", "notes") == "anything-else"
        assert sandbox_labels.single_full_stop("Utworzono firmę Alfa Sp. z o.o..") == "Utworzono firmę Alfa Sp. z o.o."
        assert sandbox_labels.single_full_stop("Czekaj...") == "Czekaj..."
        assert sandbox_labels.single_full_stop("Ot tak....") == "Ot tak..."
    assert AttemptStatus.SUBMITTED.value == "submitted"  # the stored code itself is unchanged
