"""THE authorization walker: every route of the app, every role of institution A, objects of
institution B in the URL. Nothing of B may leak; every route needs an explicit decision here."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from examportal.models import Role
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_attempt,
    make_institution,
    make_session,
    make_user,
    record_training,
)

ANON, STAFF, CHILD_STAFF, OPERATOR, ASSESSOR, APPEALS, CANDIDATE, ADMIN = (
    "anonymous", "staff", "child_staff", "operator", "assessor", "appeals", "candidate", "admin")
ROLES = (ANON, STAFF, CHILD_STAFF, OPERATOR, ASSESSOR, APPEALS, CANDIDATE, ADMIN)
LOGGED_IN = tuple(r for r in ROLES if r != ANON)

# Expected outcomes: a status code, or a redirect to a path.
LOGIN = ("redirect", "/auth/login")


def redirect(path: str):
    return ("redirect", path)


def decide(default, anonymous=LOGIN, **roles) -> dict:
    """One decision per role: ``default`` for every logged-in role not named, ``anonymous`` for the anonymous client."""
    decision = {role: roles.get(role, default) for role in LOGGED_IN}
    decision[ANON] = anonymous
    return decision


def everyone(outcome) -> dict:
    return dict.fromkeys(ROLES, outcome)


STAFF_ONLY_ON_B = decide(403, staff=404, child_staff=404)  # staff: B's object is "not found", no hint it exists

# Every (endpoint, method) of the app, with what each role gets when the URL points at B's objects.
DECISIONS = {
    ("main.index", "GET"): everyone(200),
    ("main.healthz", "GET"): everyone(200),
    ("main.readyz", "GET"): everyone(200),
    # The walker's clients come from 127.0.0.1, on the default allow-list; test_metrics refuses the rest.
    ("metrics.scrape", "GET"): everyone(200),
    ("main.favicon", "GET"): everyone(200),
    ("main.dashboard", "GET"): decide(200),
    ("main.set_language", "POST"): everyone(redirect("/")),
    ("qualifications.show", "GET"): everyone(200),
    ("auth.login", "GET"): decide(redirect("/dashboard"), anonymous=200),
    ("auth.login", "POST"): decide(redirect("/dashboard"), anonymous=200),
    ("auth.logout", "POST"): decide(redirect("/")),
    ("auth.register", "GET"): decide(redirect("/dashboard"), anonymous=200),
    ("auth.register", "POST"): decide(redirect("/dashboard"), anonymous=200),
    ("auth.confirm_email", "GET"): everyone(redirect("/auth/confirm")),
    ("auth.resend_confirmation", "GET"): everyone(200),
    ("auth.resend_confirmation", "POST"): everyone(200),
    ("auth.request_reset", "GET"): everyone(200),
    ("auth.request_reset", "POST"): everyone(200),
    ("auth.reset_password", "GET"): everyone(redirect("/auth/reset")),
    ("auth.reset_password", "POST"): everyone(redirect("/auth/reset")),
    # The second factor: every logged-in role of A has one set up (the candidate has none).
    ("auth.two_factor", "GET"): decide(redirect("/dashboard")),
    ("auth.two_factor", "POST"): decide(redirect("/dashboard")),
    ("auth.two_factor_setup", "GET"): decide(redirect("/auth/security"), candidate=200),
    ("auth.two_factor_setup", "POST"): decide(redirect("/auth/security"), candidate=200),  # empty code: the form again
    ("auth.security", "GET"): decide(200),
    ("auth.new_recovery_codes", "POST"): decide(200, candidate=redirect("/auth/security")),
    ("auth.disable_two_factor", "POST"): decide(200, candidate=redirect("/auth/security")),
    ("audit.index", "GET"): decide(403, staff=200, child_staff=200, admin=200),
    ("sessions.index", "GET"): decide(403, staff=200, child_staff=200),
    ("sessions.create", "GET"): decide(403, staff=200, child_staff=200),
    ("sessions.create", "POST"): decide(403, staff=400, child_staff=400),  # empty form: errors, nothing created
    ("sessions.training", "GET"): decide(403, staff=200, child_staff=200),
    ("sessions.training", "POST"): decide(403, staff=400, child_staff=400),
    ("sessions.detail", "GET"): STAFF_ONLY_ON_B,
    ("sessions.edit", "GET"): STAFF_ONLY_ON_B,
    ("sessions.edit", "POST"): STAFF_ONLY_ON_B,
    ("sessions.set_operator", "POST"): STAFF_ONLY_ON_B,
    ("sessions.add_assessor", "POST"): STAFF_ONLY_ON_B,
    ("sessions.remove_assessor", "POST"): STAFF_ONLY_ON_B,
    ("sessions.enrol", "POST"): STAFF_ONLY_ON_B,
    ("sessions.withdraw", "POST"): STAFF_ONLY_ON_B,
    ("sessions.appoint_extra_member", "POST"): STAFF_ONLY_ON_B,
    ("sessions.committee_view", "GET"): decide(403, assessor=404),
    ("sessions.committee_view", "POST"): decide(403, assessor=404),
    ("sessions.my_committees", "GET"): decide(403, assessor=200),
    ("sessions.my_operated", "GET"): decide(403, operator=200),
    ("sessions.my_enrolments", "GET"): decide(403, candidate=200),
    # Institutions and their people.
    ("institution.index", "GET"): decide(403, staff=200, child_staff=200),
    ("institution.people", "GET"): STAFF_ONLY_ON_B,
    ("institution.people", "POST"): STAFF_ONLY_ON_B,
    ("institution.revoke", "POST"): STAFF_ONLY_ON_B,
    ("institution.admin_institutions", "GET"): decide(403, admin=200),
    ("institution.admin_institutions", "POST"): decide(403, admin=400),
    ("institution.reset_second_factor", "POST"): decide(403, admin=400),  # empty form: nobody's factor is reset
    # The exam-system operator's console: only the session's own operator.
    ("operator.console", "GET"): decide(403, operator=404),
    ("operator.status", "GET"): decide(403, operator=404),
    ("operator.act", "POST"): decide(403, operator=404),
    ("operator.record_absence", "POST"): decide(403, operator=404),
    # The theory test: only the candidate's own enrolment and attempt.
    ("theory.overview", "GET"): decide(403, candidate=404),
    ("theory.start", "POST"): decide(403, candidate=404),
    ("theory.question", "GET"): decide(403, candidate=404),
    ("theory.question", "POST"): decide(403, candidate=404),
    ("theory.autosave", "POST"): decide(403, candidate=404),
    ("theory.heartbeat", "POST"): decide(403, candidate=404),
    ("theory.review", "GET"): decide(403, candidate=404),
    ("theory.submit", "POST"): decide(403, candidate=404),
    ("theory.item_statistics", "GET"): decide(403, staff=200, child_staff=200),
    ("theory.item_statistics_csv", "GET"): decide(403, staff=200, child_staff=200),
    ("theory.voided", "GET"): decide(403, staff=200, child_staff=200),
    ("theory.voided", "POST"): decide(403, staff=400, child_staff=400),
    ("theory.session_results", "GET"): STAFF_ONLY_ON_B,
    ("theory.session_results", "POST"): STAFF_ONLY_ON_B,
    ("theory.committee_results", "GET"): decide(403, assessor=404),
    ("theory.committee_attempt", "GET"): decide(403, assessor=404),
    # The practical exam: only the candidate's own enrolment.
    ("practical.overview", "GET"): decide(403, candidate=404),
    ("practical.start", "POST"): decide(403, candidate=404),
    ("practical.finish", "POST"): decide(403, candidate=404),
    ("practical.practice", "POST"): decide(403, candidate=404),
    # The committee's assessment: only members of that session's committee.
    # Background jobs: staff of the job's institution (and the administrator, who supervises them all).
    ("jobs.index", "GET"): decide(403, staff=200, child_staff=200, admin=200),
    ("jobs.detail", "GET"): decide(403, staff=404, child_staff=404, admin=200),
    ("jobs.progress", "GET"): decide(403, staff=404, child_staff=404, admin=200),
    ("jobs.result", "GET"): decide(403, staff=404, child_staff=404, admin=200),
    ("jobs.session_archive", "POST"): STAFF_ONLY_ON_B,
    ("committee.case", "GET"): decide(403, assessor=404),
    ("committee.practical_xapi", "GET"): decide(403, assessor=404),
    ("committee.save_scores", "POST"): decide(403, assessor=404),
    ("committee.consolidation", "GET"): decide(403, assessor=404),
    ("committee.record_results", "POST"): decide(403, assessor=404),
    ("committee.propose", "POST"): decide(403, assessor=404),
    ("committee.vote", "POST"): decide(403, assessor=404),
    ("committee.record_absence", "POST"): decide(403, assessor=404),
    # A decision's protocol and the candidate's result: nobody of A may read B's.
    ("committee.protocol", "GET"): decide(404),
    ("committee.result", "GET"): decide(404),
    # Certification: the institution's staff decide, record fees and manage certificates of their own
    # sessions; a certificate's PDF is its holder's and those staff's; verification is public.
    ("certification.session_candidates", "GET"): STAFF_ONLY_ON_B,
    ("certification.session_candidates", "POST"): STAFF_ONLY_ON_B,
    ("certification.session_fees", "GET"): STAFF_ONLY_ON_B,
    ("certification.session_fees", "POST"): STAFF_ONLY_ON_B,
    ("certification.fees", "GET"): decide(403, staff=200, child_staff=200),
    ("certification.register", "GET"): decide(403, staff=200, child_staff=200),
    ("certification.register_csv", "GET"): decide(403, staff=200, child_staff=200),
    ("certification.certificate", "GET"): STAFF_ONLY_ON_B,
    ("certification.suspend", "POST"): STAFF_ONLY_ON_B,
    ("certification.lift", "POST"): STAFF_ONLY_ON_B,
    ("certification.revoke", "POST"): STAFF_ONLY_ON_B,
    ("certification.correct", "POST"): STAFF_ONLY_ON_B,
    ("certification.duplicate", "POST"): STAFF_ONLY_ON_B,
    ("certification.reprint", "POST"): STAFF_ONLY_ON_B,
    ("certification.certificate_pdf", "GET"): decide(404),
    ("certification.duplicate_pdf", "GET"): decide(404),
    ("certification.mine", "GET"): decide(200),
    ("verify.form", "GET"): everyone(200),
    ("verify.lookup", "GET"): everyone(400),  # nothing typed: the form again
    ("verify.show", "GET"): everyone(404),  # "13881" is no certificate's code
}

# Pages where the administrator legitimately sees every institution's data.
ADMIN_SEES_ALL = {"audit.index", "institution.admin_institutions", "institution.reset_second_factor",
                  "jobs.index", "jobs.detail", "jobs.progress", "jobs.result"}

# Pages a role legitimately reaches must show that role's own data of A (so an empty page
# cannot pass for a well-scoped one).
MUST_SHOW_A = {
    ("sessions.index", STAFF): "SESJA-A-JAWNA",
    ("sessions.index", CHILD_STAFF): "SESJA-A-JAWNA",
    ("sessions.training", STAFF): "KURS-A",
    ("sessions.my_committees", ASSESSOR): "SESJA-A-JAWNA",
    ("sessions.my_operated", OPERATOR): "SESJA-A-JAWNA",
    ("sessions.my_enrolments", CANDIDATE): "SESJA-A-JAWNA",
    ("sessions.create", STAFF): "Ośrodek A",
    ("institution.index", STAFF): "Ośrodek A",
    ("institution.index", CHILD_STAFF): "Ośrodek A",
    ("certification.register", STAFF): "Anna Jawna",
    ("certification.register", CHILD_STAFF): "Anna Jawna",
    ("certification.fees", STAFF): "SESJA-A-JAWNA",
    ("certification.mine", CANDIDATE): "Fundacja A",
}

SKIPPED_BLUEPRINTS = ("sandbox.", "mail.")  # own isolation tests / development-only mailbox


def walked_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint != "static" and not rule.endpoint.startswith(SKIPPED_BLUEPRINTS)]


def methods_of(rule) -> set[str]:
    return set(rule.methods) - {"HEAD", "OPTIONS"}


@dataclass
class World:
    a: dict
    b: dict
    admin: object


def _institution_world(letter: str, qualification, secret: str) -> dict:
    ic = make_institution(f"Fundacja {letter}", qualifications=[qualification])
    child = make_institution(f"Ośrodek {letter}", parent=ic)
    w = {
        "ic": ic,
        "child": child,
        STAFF: make_user((Role.STAFF, ic), first_name="Personel", last_name=f"{letter}-Centrala"),
        CHILD_STAFF: make_user((Role.STAFF, child), first_name="Personel", last_name=f"{letter}-Oddział"),
        OPERATOR: make_user((Role.OPERATOR, child), first_name="Operator", last_name=f"{letter}-Operator"),
        ASSESSOR: make_user((Role.ASSESSOR, ic), first_name="Asesor", last_name=f"{letter}-Asesor"),
        "assessor2": make_user((Role.ASSESSOR, ic), first_name="Asesor", last_name=f"{letter}-Drugi"),
        "trainer": make_user((Role.ASSESSOR, ic), first_name="Trener", last_name=f"{letter}-Trener"),
        APPEALS: make_user((Role.APPEALS, ic), first_name="Odwołania", last_name=f"{letter}-Komisja"),
        CANDIDATE: make_user(Role.CANDIDATE, first_name="Bożena" if letter == "B" else "Anna",
                             last_name="Sekretna" if letter == "B" else "Jawna",
                             email=f"kandydat.{letter.lower()}@{letter.lower()}.example"),
    }
    session = make_session(child, qualification, title=secret, operator_id=w[OPERATOR].id)
    w["session"] = session
    w["member"] = add_member(session, w[ASSESSOR], declared=True)
    add_member(session, w["assessor2"])
    w["enrolment"] = enrol(session, w[CANDIDATE])
    w["attempt"] = make_attempt(w["enrolment"])
    from examportal import jobs

    w["job"] = jobs.start("session_archive", institution_id=child.id, session_id=session.id)
    from examportal.certification import services as certification
    from tests.certtools import make_certificate

    w["certificate"] = make_certificate(w["enrolment"], w[STAFF])
    w["duplicate"] = certification.issue_duplicate(w[STAFF], w["certificate"], "Utrata oryginału")
    training = record_training(w["trainer"], w[CANDIDATE], ic)
    training.course = f"KURS-{letter}"
    from examportal.extensions import db

    db.session.commit()
    return w


@pytest.fixture
def world(app, qualification) -> World:
    a = _institution_world("A", qualification, "SESJA-A-JAWNA")
    b = _institution_world("B", qualification, "SESJA-B-POUFNA")
    return World(a=a, b=b, admin=make_user(Role.ADMIN))


def b_secrets(world: World) -> list[str]:
    b = world.b
    return ["SESJA-B-POUFNA", b[CANDIDATE].full_name, b[CANDIDATE].email, "KURS-B", "Fundacja B", "Ośrodek B",
            b["trainer"].full_name]


def url_values(rule, objects: dict) -> dict:
    values = {}
    for argument in rule.arguments:
        filler = {
            "session_id": lambda: objects["session"].id,
            "member_id": lambda: objects["member"].id,
            "enrolment_id": lambda: objects["enrolment"].id,
            "attempt_id": lambda: objects["attempt"].id,
            "job_id": lambda: objects["job"].id,
            "certificate_id": lambda: objects["certificate"].id,
            "duplicate_id": lambda: objects["duplicate"].id,
            "position": lambda: 1,
            "institution_id": lambda: objects["ic"].id,
            "assignment_id": lambda: objects[STAFF].roles[0].id,
            "token": lambda: "garbage.token-that-is-not-signed",
            "code": lambda: "en" if rule.endpoint == "main.set_language" else "13881",
        }.get(argument)
        assert filler is not None, f"{rule.endpoint}: no value for URL parameter <{argument}>: add one to url_values()"
        values[argument] = filler()
    return values


def check(response, expected, where: str, forbidden: list[str]):
    text = response.get_data().decode("utf-8", "replace")  # an icon or a PDF is bytes
    assert response.status_code != 500, where
    if isinstance(expected, tuple):
        assert response.status_code == 302, f"{where}: {response.status_code}, expected a redirect to {expected[1]}"
        location = response.headers["Location"]
        assert location.split("?")[0].endswith(expected[1]) or location.startswith(expected[1] + "?"), \
            f"{where}: redirected to {location}, expected {expected[1]}"
    elif expected is not None:
        assert response.status_code == expected, f"{where}: {response.status_code}, expected {expected}"
    for secret in forbidden:
        assert secret not in text, f"{where}: shows B's {secret!r}"
        assert secret not in response.headers.get("Location", ""), f"{where}: redirect names B's {secret!r}"


def clients_of_a(app, world: World) -> dict:
    clients = {ANON: client_as(app)}
    for role in (STAFF, CHILD_STAFF, OPERATOR, ASSESSOR, APPEALS, CANDIDATE):
        clients[role] = client_as(app, world.a[role])
    clients[ADMIN] = client_as(app, world.admin)
    return clients


def test_every_route_has_a_decision(app):
    routes = {(rule.endpoint, method) for rule in walked_rules(app) for method in methods_of(rule)}
    missing = routes - set(DECISIONS)
    assert not missing, f"routes without an authorization decision in DECISIONS: {sorted(missing)}"
    stale = set(DECISIONS) - routes
    assert not stale, f"decisions for routes that no longer exist: {sorted(stale)}"
    for key, decision in DECISIONS.items():
        assert set(decision) == set(ROLES), key


def test_the_skipped_blueprints_exist(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert any(e.startswith("sandbox.") for e in endpoints)
    assert {"mail.index", "mail.show"} <= endpoints


def test_walk_every_route_as_every_role_of_a_with_b_objects(app, world):
    clients = clients_of_a(app, world)
    forbidden = b_secrets(world)
    # Logging out last keeps everyone logged in for the rest of the walk.
    rules = sorted(walked_rules(app), key=lambda r: (r.endpoint == "auth.logout", r.endpoint))
    walked = 0
    for rule in rules:
        path = rule.build(url_values(rule, world.b))[1]
        methods = methods_of(rule)
        for role in ROLES:
            client = clients[role]
            # The admin may read the whole audit log (platform supervision), B's entries included.
            hidden = [] if (role == ADMIN and rule.endpoint in ADMIN_SEES_ALL) else forbidden
            if "GET" not in methods:
                check(client.get(path), 405, f"GET {path} as {role}", hidden)
            for method in sorted(methods & {"GET", "POST"}, reverse=True):  # GET first
                response = client.get(path) if method == "GET" else client.post(path, data={})
                where = f"{method} {path} ({rule.endpoint}) as {role}"
                # A route without a decision fails test_every_route_has_a_decision; here it
                # must still leak nothing and never fail.
                expected = DECISIONS.get((rule.endpoint, method), {}).get(role)
                check(response, expected, where, hidden)
                if response.status_code == 200 and (rule.endpoint, role) in MUST_SHOW_A:
                    assert MUST_SHOW_A[(rule.endpoint, role)] in response.get_data(as_text=True), where
                walked += 1
    assert walked >= len(DECISIONS) * len(ROLES) * 0.9

    # Nothing of B changed through all those POSTs.
    from examportal.extensions import db

    db.session.expire_all()
    b = world.b
    assert b["session"].title == "SESJA-B-POUFNA" and b["session"].operator_id == b[OPERATOR].id
    assert len(b["session"].committee) == 2 and b["member"].declared_at is not None
    assert b["enrolment"].status.value == "enrolled"


def test_mixed_ids_of_a_and_b_are_refused(app, world):
    """A's own session in the URL with B's committee member or enrolment: still not found."""
    a, b = world.a, world.b
    for role in (STAFF, CHILD_STAFF):
        client = client_as(app, a[role])
        assert client.post(f"/sessions/{a['session'].id}/committee/{b['member'].id}/remove").status_code == 404
        assert client.post(f"/sessions/{a['session'].id}/enrolments/{b['enrolment'].id}/withdraw").status_code == 404
        # B's assessor, operator and candidate cannot be put on A's session either.
        assert client.post(f"/sessions/{a['session'].id}/committee", data={"assessor_id": b["assessor2"].id}).status_code == 400
        assert client.post(f"/sessions/{a['session'].id}/operator", data={"operator_id": b[OPERATOR].id}).status_code == 400
        response = client.post("/sessions/training", data={"trainer_id": b["trainer"].id, "candidate_email": a[CANDIDATE].email})
        assert response.status_code == 400
    from examportal.extensions import db

    db.session.expire_all()
    assert len(b["session"].committee) == 2 and b["enrolment"].status.value == "enrolled"
    assert {m.assessor_id for m in a["session"].committee} == {a[ASSESSOR].id, a["assessor2"].id}
    assert a["session"].operator_id == a[OPERATOR].id


def test_staff_of_a_reach_their_own_objects(app, world, qualification):
    a = world.a
    at_ic = make_session(a["ic"], qualification, title="SESJA-CENTRALI")
    for role in (STAFF, CHILD_STAFF):
        client = client_as(app, a[role])
        page = client.get(f"/sessions/{a['session'].id}")
        assert page.status_code == 200 and a[CANDIDATE].full_name in page.get_data(as_text=True)
        assert client.get(f"/sessions/{a['session'].id}/edit").status_code == 200
    # A validating institution's staff do not see their certifying institution's sessions.
    assert client_as(app, a[CHILD_STAFF]).get(f"/sessions/{at_ic.id}").status_code == 404
    assert client_as(app, a[STAFF]).get(f"/sessions/{at_ic.id}").status_code == 200
    for role in (OPERATOR, ASSESSOR, APPEALS, CANDIDATE):
        assert client_as(app, a[role]).get(f"/sessions/{a['session'].id}").status_code == 403


def test_candidate_a_cannot_see_candidate_bs_enrolments(app, world):
    page = client_as(app, world.a[CANDIDATE]).get("/sessions/mine").get_data(as_text=True)
    assert "SESJA-A-JAWNA" in page
    assert "SESJA-B-POUFNA" not in page


def test_an_assessor_cannot_open_the_committee_view_of_a_session_they_are_not_on(app, world, qualification):
    a = world.a
    same_institution = make_session(a["child"], qualification, title="SESJA-A-INNA")
    enrol(same_institution, make_user(Role.CANDIDATE, last_name="Niewidoczna"))
    client = client_as(app, a[ASSESSOR])
    assert client.get(f"/sessions/{a['session'].id}/committee-view").status_code == 200
    for session in (same_institution, world.b["session"]):
        url = f"/sessions/{session.id}/committee-view"
        for response in (client.get(url), client.post(url, data={"confirm": "y"})):
            assert response.status_code == 404
            page = response.get_data(as_text=True)
            assert session.title not in page and "Niewidoczna" not in page
    assert client.get("/sessions/999999/committee-view").status_code == 404


@pytest.mark.parametrize("settings", [{"DEV_MAILBOX": False}, {"DEV_MAILBOX": True, "MAIL_SERVER": "smtp.example.pl"}])
def test_the_development_mailbox_is_404_outside_development(app, world, settings):
    from examportal.extensions import db
    from examportal.mail.services import queue_mail

    mail = queue_mail("kandydat.b@b.example", "Tajny temat", "Tajna treść")
    db.session.commit()
    app.config.update(settings)
    for client in (client_as(app), client_as(app, world.admin)):
        for path in ("/dev/mailbox/", f"/dev/mailbox/{mail.id}"):
            response = client.get(path)
            assert response.status_code == 404
            assert "Tajny temat" not in response.get_data(as_text=True)
        assert "/dev/mailbox" not in client.get("/").get_data(as_text=True)


def test_the_development_mailbox_works_in_development(app):
    from examportal.extensions import db
    from examportal.mail.services import queue_mail

    mail = queue_mail("kto@example.pl", "Temat próbny", "Treść")
    db.session.commit()
    client = client_as(app)
    assert "Temat próbny" in client.get("/dev/mailbox/").get_data(as_text=True)
    assert client.get(f"/dev/mailbox/{mail.id}").status_code == 200
