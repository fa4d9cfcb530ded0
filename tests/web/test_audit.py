"""The audit log browser: who sees which entries, the filters, and bad filter input."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from examportal.audit import services as audit_log
from examportal.extensions import db
from examportal.models import Role
from tests.factories import client_as, make_institution, make_user


@pytest.fixture
def log(app, monkeypatch):
    """Two certifying institutions with a validating child each, and entries spread over three months."""
    a = make_institution("Fundacja A")
    a_child = make_institution("Ośrodek A", parent=a)
    b = make_institution("Fundacja B")
    b_child = make_institution("Ośrodek B", parent=b)
    people = {
        "staff_a": make_user((Role.STAFF, a), first_name="Beata", last_name="Nowak", email="beata@a.pl"),
        "staff_a_child": make_user((Role.STAFF, a_child), first_name="Cecylia", last_name="Dziecko"),
        "staff_b": make_user((Role.STAFF, b), first_name="Zenon", last_name="Obcy", email="zenon@b.pl"),
        "admin": make_user(Role.ADMIN),
        "candidate": make_user(Role.CANDIDATE),
        "assessor": make_user((Role.ASSESSOR, a)),
    }

    def add(action, object_type, institution, actor, when):
        monkeypatch.setattr(audit_log, "utcnow", lambda: when)
        audit_log.record(action, object_type=object_type, object_id=1, actor=actor,
                         institution_id=institution.id if institution else None,
                         before={"state": "old"}, after={"state": "new", "html": "<b>x</b>"})
        db.session.commit()

    jan, feb, mar = (datetime(2026, m, d, 12, 0, tzinfo=UTC) for m, d in ((1, 10), (2, 15), (3, 20)))
    add("alpha.created", "validation_session", a, people["staff_a"], jan)
    add("alpha.updated", "validation_session", a, people["staff_a"], feb)
    add("alphachild.enrolled", "enrolment", a_child, people["staff_a_child"], mar)
    add("beta.created", "validation_session", b, people["staff_b"], feb)
    add("betachild.enrolled", "enrolment", b_child, people["staff_b"], feb)
    add("system.loaded", "qualification", None, None, jan)
    monkeypatch.undo()
    assert audit_log.verify_chain() == []
    people["institution_a"] = a
    return people


def actions(response) -> set[str]:
    return set(re.findall(r'<tr data-action="([a-z_.]+)">', response.get_data(as_text=True)))


ALL = {"alpha.created", "alpha.updated", "alphachild.enrolled", "beta.created", "betachild.enrolled", "system.loaded"}


def test_certifying_staff_see_their_own_and_their_validating_institutions_entries(app, log):
    response = client_as(app, log["staff_a"]).get("/audit/")
    assert response.status_code == 200
    assert actions(response) == {"alpha.created", "alpha.updated", "alphachild.enrolled"}
    page = response.get_data(as_text=True)
    assert "Zenon" not in page and "zenon@b.pl" not in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page  # before/after values are escaped


def test_validating_staff_see_only_their_institution(app, log):
    assert actions(client_as(app, log["staff_a_child"]).get("/audit/")) == {"alphachild.enrolled"}


def test_staff_of_b_never_see_a(app, log):
    assert actions(client_as(app, log["staff_b"]).get("/audit/")) == {"beta.created", "betachild.enrolled"}


def test_admin_sees_everything(app, log):
    assert ALL <= actions(client_as(app, log["admin"]).get("/audit/"))  # and the log-in entries


@pytest.mark.parametrize("who, status", [("candidate", 403), ("assessor", 403)])
def test_other_roles_are_refused(app, log, who, status):
    assert client_as(app, log[who]).get("/audit/").status_code == status


def test_anonymous_is_sent_to_login(app, log):
    response = client_as(app).get("/audit/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("query, expected", [
    ("action=alpha", {"alpha.created", "alpha.updated", "alphachild.enrolled"}),
    ("action=alpha.updated", {"alpha.updated"}),
    ("action=beta", set()),  # another institution's entries never appear, even when asked for
    ("object_type=enrolment", {"alphachild.enrolled"}),
    ("object_type=validation", set()),  # object type matches exactly
    ("actor=Cecylia", {"alphachild.enrolled"}),
    ("actor=beata@a.pl", {"alpha.created", "alpha.updated"}),
    ("actor=Zenon", set()),
    ("date_from=2026-02-01", {"alpha.updated", "alphachild.enrolled"}),
    ("date_to=2026-02-15", {"alpha.created", "alpha.updated"}),  # the end date is inclusive
    ("date_from=2026-02-01&date_to=2026-02-28", {"alpha.updated"}),
    ("date_from=2026-02-01&object_type=validation_session&actor=Nowak", {"alpha.updated"}),
    ("action=%25", set()),          # "%" and "_" are literal characters, not wildcards
    ("action=alpha_created", set()),
])
def test_filters(app, log, query, expected):
    response = client_as(app, log["staff_a"]).get(f"/audit/?{query}")
    assert response.status_code == 200
    assert actions(response) == expected


def test_admin_filters_across_institutions(app, log):
    assert actions(client_as(app, log["admin"]).get("/audit/?action=created")) == {"alpha.created", "beta.created"}


@pytest.mark.parametrize("query", [
    "date_from=notadate",
    "date_to=2026-13-45",
    "date_from=2026-03-01&date_to=2026-02-01",
    "date_to=9999-12-31",
    "date_from=0001-01-01",
    "action=" + "x" * 10_000,
    "actor=" + "ą" * 300,
])
def test_bad_filter_input_gives_a_clear_error(app, log, query):
    response = client_as(app, log["staff_a"]).get(f"/audit/?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'class="error"' in page
    # Never a peek beyond the user's institutions, even with a broken filter.
    assert not actions(response) & {"beta.created", "betachild.enrolled", "system.loaded"}


def test_bad_filter_value_is_kept_and_escaped(app, log):
    response = client_as(app, log["staff_a"]).get("/audit/?date_from=<script>alert(1)</script>")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_garbage_page_number_does_not_break_the_page(app, log):
    for page in ("abc", "-1", "999999", "1e9"):
        assert client_as(app, log["staff_a"]).get(f"/audit/?page={page}").status_code == 200


def test_pages_keep_the_filters(app, log):
    for i in range(55):
        audit_log.record("bulk.changed", object_type="thing", object_id=i, institution_id=log["institution_a"].id)
    db.session.commit()
    client = client_as(app, log["staff_a"])
    first = client.get("/audit/?action=bulk").get_data(as_text=True)
    assert first.count('data-action="bulk.changed"') == 50
    older = re.search(r'href="([^"]*page=2[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "action=bulk" in older
    second = client.get(older)
    assert second.get_data(as_text=True).count('data-action="bulk.changed"') == 5


# --------------------------------------------------------------------------- a readable log


def _session_changed(log, **after):
    audit_log.record("session.updated", object_type="validation_session", object_id=7, actor=log["staff_a"],
                     institution_id=log["institution_a"].id,
                     before={"title": "Sesja łódzka", "status": "planned", "capacity": 12, "passed": None},
                     after={"title": "Sesja żółta — gęślą jaźń", "status": "closed", "capacity": 12, "passed": True, **after})
    db.session.commit()


def _row(page: str, action: str) -> str:
    match = re.search(rf'<tr data-action="{re.escape(action)}">(.*?)</tr>', page, re.S)
    assert match, page[:2000]
    return match.group(1)


def test_the_log_shows_a_readable_diff_with_polish_characters(app, log):
    _session_changed(log)
    page = client_as(app, log["staff_a"]).get("/audit/?action=session.updated").get_data(as_text=True)
    row = _row(page, "session.updated")
    assert "\\u0142" not in page and "\\u017c" not in page and '{"' not in row
    assert "Validation session changed" in row and ">session.updated<" not in row
    assert re.search(r"Title:</span>\s*<del><span class=\"sr-only\">Before: </span>Sesja łódzka</del> →\s*"
                     r"<ins><span class=\"sr-only\">After: </span>Sesja żółta — gęślą jaźń</ins>", row), row
    assert "planned" in row and "closed" in row and "yes" in row
    assert "Places" not in row  # unchanged fields are left out
    assert "Beata Nowak" in row  # the actor, by name for staff of the same institution


def test_the_polish_log_speaks_polish(app, log):
    _session_changed(log)
    page = client_as(app, log["staff_a"], lang="pl").get("/audit/?action=session.updated").get_data(as_text=True)
    row = _row(page, "session.updated")
    assert "Zmieniono sesję walidacyjną" in row and "Tytuł:" in row
    assert "zaplanowany" in row and "zamknięty" in row and "tak" in row
    assert "Validation session changed" not in row and "planned" not in row


def test_creation_and_removal_show_one_side(app, log):
    audit_log.record("institution.role_revoked", object_type="user_role", object_id=3, institution_id=log["institution_a"].id,
                     before={"user_id": log["assessor"].id, "role": "assessor"})
    audit_log.record("practical.absence_recorded", object_type="enrolment", object_id=3,
                     institution_id=log["institution_a"].id, after={"note": "Nie stawiła się.", "by": log["staff_a"].id})
    db.session.commit()
    page = client_as(app, log["staff_a"]).get("/audit/").get_data(as_text=True)
    revoked = _row(page, "institution.role_revoked")
    assert "Role revoked" in revoked and log["assessor"].full_name in revoked
    assert re.search(r"Role:</span>\s*<del><span class=\"sr-only\">Before: </span>Assessor</del> →\s*—", revoked), revoked
    absence = _row(page, "practical.absence_recorded")
    assert "<del>" not in absence and "text kept in its own record" in absence and "Beata Nowak" in absence


def test_people_are_named_only_for_viewers_allowed_to_see_them(app, log, qualification):
    from tests.factories import enrol, make_session

    candidate = make_user(Role.CANDIDATE, first_name="Kamila", last_name="Zapisana")
    enrol(make_session(log["institution_a"], qualification), candidate)
    stranger = make_user(Role.CANDIDATE, first_name="Oskar", last_name="Obcy")
    audit_log.record("training.recorded", object_type="training_record", object_id=1, institution_id=log["institution_a"].id,
                     after={"candidate_id": candidate.id, "trainer_id": stranger.id, "votes": {str(stranger.id): True}})
    db.session.commit()
    row = _row(client_as(app, log["staff_a"]).get("/audit/?action=training").get_data(as_text=True), "training.recorded")
    assert "Kamila Zapisana" in row
    assert "Oskar" not in row and f"person #{stranger.id}" in row
    row = _row(client_as(app, log["admin"]).get("/audit/?action=training").get_data(as_text=True), "training.recorded")
    assert "Kamila Zapisana" in row and "Oskar Obcy: yes" in row


def test_the_who_filter_finds_only_people_the_viewer_may_see(app, log):
    # Zenon (another institution's staff) acts in institution A's log: staff of A do not learn his name.
    audit_log.record("alpha.visited", object_type="thing", actor=log["staff_b"], institution_id=log["institution_a"].id)
    db.session.commit()
    client = client_as(app, log["staff_a"])
    assert actions(client.get("/audit/?actor=Zenon")) == set()
    assert "alpha.visited" in actions(client.get("/audit/"))
    assert actions(client_as(app, log["admin"]).get("/audit/?actor=Zenon")) >= {"alpha.visited", "beta.created"}
    assert actions(client_as(app, log["admin"]).get("/audit/?actor=system")) == {"system.loaded"}


@pytest.mark.parametrize("lang, text", [("en", "session changed"), ("pl", "zmieniono sesję")])
def test_the_action_filter_matches_translated_names(app, log, lang, text):
    _session_changed(log)
    assert actions(client_as(app, log["staff_a"], lang=lang).get(f"/audit/?action={text}")) == {"session.updated"}


def _recorded_action_codes() -> set[str]:
    """Every action code passed as a literal to audit_log.record(...) or an area's _audit(...)."""
    import ast
    from pathlib import Path

    from examportal.models import DataRequestStatus, OperatorActionKind

    # What an f-string's placeholder stands for, by the code's prefix.
    expansions = {"operator.": OperatorActionKind, "theory.operator.": OperatorActionKind,
                  "practical.operator.": OperatorActionKind, "data_request.": DataRequestStatus}

    codes: set[str] = set()
    for path in Path(audit_log.__file__).resolve().parents[1].rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in ("record", "_audit") or (name == "record" and getattr(node.func, "value", None) is not None
                                                    and getattr(node.func.value, "id", "") != "audit_log"):
                continue
            parts = [node.args[0]]
            while parts:
                part = parts.pop()
                if isinstance(part, ast.IfExp):  # "theory.submitted_at_deadline" if ... else "theory.submitted"
                    parts += [part.body, part.orelse]
                elif isinstance(part, ast.Constant) and isinstance(part.value, str):
                    codes.add(part.value)
                elif isinstance(part, ast.JoinedStr):  # f"operator.{kind.value}"
                    prefix = "".join(str(v.value) for v in part.values if isinstance(v, ast.Constant))
                    assert prefix in expansions, f"{path.name}: say what {prefix}{{...}} stands for in expansions"
                    codes.update(prefix + member.value for member in expansions[prefix]
                                 if not (prefix == "data_request." and member == DataRequestStatus.OPEN))
    return codes


def test_every_recorded_action_has_a_translated_name(app):
    from examportal.audit.display import ACTION_LABELS

    codes = _recorded_action_codes()
    assert {"account.login", "theory.submitted", "practical.finished", "operator.pause", "theory.operator.unlock"} <= codes
    missing = sorted(codes - set(ACTION_LABELS))
    assert not missing, f"add a label to examportal/audit/display.py ACTION_LABELS for: {missing}"
