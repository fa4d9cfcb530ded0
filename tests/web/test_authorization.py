"""THE authorization walker: every route of the app, every role of institution A, objects of
institution B in the URL. Nothing of B may leak; every route needs an explicit decision here."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from examportal.credentials import badge
from examportal.credentials import keys as credential_keys
from examportal.models import Role
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_application,
    make_attempt,
    make_institution,
    make_session,
    make_user,
    record_training,
)

ANON, STAFF, CHILD_STAFF, OPERATOR, ASSESSOR, APPEALS, CANDIDATE, ADMIN, AUDITOR = (
    "anonymous", "staff", "child_staff", "operator", "assessor", "appeals", "candidate", "admin", "auditor")
# AUDITOR: an external auditor with a live mandate over A's certifying institution (all of its past).
ROLES = (ANON, STAFF, CHILD_STAFF, OPERATOR, ASSESSOR, APPEALS, CANDIDATE, ADMIN, AUDITOR)
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
    ("audit.index", "GET"): decide(403, staff=200, child_staff=200, admin=200, auditor=200),
    # External auditors: staff grant and revoke mandates over their own institutions; the auditor
    # reads the pack of a mandate of their own (B's mandate: 404).
    ("reports.auditor_mandates", "GET"): decide(403, staff=200, child_staff=200),
    ("reports.auditor_mandates", "POST"): decide(403, staff=400, child_staff=400),  # empty form
    ("reports.revoke_mandate", "POST"): STAFF_ONLY_ON_B,
    ("reports.audit_pack", "GET"): decide(403, auditor=200),
    ("reports.audit_pack_mandate", "GET"): decide(404),
    # Internal evaluations (art. 64): staff make and edit their institution's; readers (staff, an
    # auditor within the mandate) read them; B's report is not found; an auditor never POSTs (403).
    ("reports.evaluations_index", "GET"): decide(403, staff=200, child_staff=200, auditor=200),
    ("reports.evaluation_new", "GET"): decide(403, staff=200, child_staff=200),
    ("reports.evaluation_new", "POST"): decide(403, staff=400, child_staff=400),  # empty form: errors, nothing made
    ("reports.evaluation_show", "GET"): decide(403, staff=404, child_staff=404, auditor=404),
    ("reports.evaluation_pdf", "GET"): decide(403, staff=404, child_staff=404, auditor=404),
    ("reports.evaluation_csv", "GET"): decide(403, staff=404, child_staff=404, auditor=404),
    ("reports.evaluation_conclusions", "POST"): STAFF_ONLY_ON_B,
    # The quarterly ZRK report (art. 65): a certifying institution's staff, an auditor within the
    # mandate's period (the walker's covers the last finished quarter); a validating institution
    # reports through its certifying one (403). B's institution in ?institution=: test_zrk_views.
    ("reports.zrk_page", "GET"): decide(403, staff=200, auditor=200),
    ("reports.zrk_csv", "GET"): decide(403, staff=200, auditor=200),
    ("reports.zrk_pdf", "GET"): decide(403, staff=200, auditor=200),
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
    ("sessions.progress_page", "GET"): STAFF_ONLY_ON_B,
    ("sessions.progress_message", "POST"): STAFF_ONLY_ON_B,
    ("sessions.progress_export", "POST"): STAFF_ONLY_ON_B,
    ("sessions.committee_view", "GET"): decide(403, assessor=404),
    ("sessions.committee_view", "POST"): decide(403, assessor=404),
    ("sessions.my_committees", "GET"): decide(403, assessor=200),
    ("sessions.my_operated", "GET"): decide(403, operator=200),
    ("sessions.my_enrolments", "GET"): decide(403, candidate=200),
    # Applications: candidates apply to published sessions (B's is unpublished: not found) and see
    # and withdraw only their own; staff decide only their institution's (B's: not found).
    ("applications.sessions", "GET"): decide(403, candidate=200),
    ("applications.apply", "GET"): decide(403, candidate=404),
    ("applications.apply", "POST"): decide(403, candidate=404),
    ("applications.mine", "GET"): decide(403, candidate=200),
    ("applications.withdraw", "POST"): decide(403, candidate=404),
    ("applications.identity", "GET"): decide(403, candidate=200),
    ("applications.identity", "POST"): decide(403, candidate=400),  # empty form: errors, nothing saved
    ("applications.accept", "POST"): STAFF_ONLY_ON_B,
    ("applications.reject", "POST"): STAFF_ONLY_ON_B,
    # Institutions and their people.
    ("institution.index", "GET"): decide(403, staff=200, child_staff=200),
    # The administrator gives any institution its staff (a new one has nobody who could).
    ("institution.people", "GET"): decide(403, staff=404, child_staff=404, admin=200),
    ("institution.people", "POST"): decide(403, staff=404, child_staff=404, admin=400),  # empty form
    ("institution.revoke", "POST"): decide(403, staff=404, child_staff=404, admin=redirect("/people")),
    ("institution.qualifications", "GET"): decide(403, admin=200),
    ("institution.qualifications", "POST"): decide(403, admin=400),  # empty form: nothing authorised
    ("institution.withdraw_qualification", "POST"): decide(403, admin=400),  # empty form: nothing withdrawn
    ("institution.deactivate_account", "POST"): decide(403, admin=400),  # empty form: nobody deactivated
    ("institution.reactivate_account", "POST"): decide(403, admin=400),
    # Competence records: the staff of the person's institution only; the evidence too.
    ("competence.edit", "GET"): STAFF_ONLY_ON_B,
    ("competence.edit", "POST"): STAFF_ONLY_ON_B,
    ("competence.evidence", "GET"): STAFF_ONLY_ON_B,
    ("institution.settings", "GET"): STAFF_ONLY_ON_B,
    ("institution.settings", "POST"): STAFF_ONLY_ON_B,
    ("institution.admin_institutions", "GET"): decide(403, admin=200),
    ("institution.admin_institutions", "POST"): decide(403, admin=400),
    ("institution.reset_second_factor", "POST"): decide(403, admin=400),  # empty form: nobody's factor is reset
    # The exam-system operator's console: only the session's own operator.
    ("operator.console", "GET"): decide(403, operator=404),
    ("operator.status", "GET"): decide(403, operator=404),
    ("operator.act", "POST"): decide(403, operator=404),
    ("operator.record_absence", "POST"): decide(403, operator=404),
    ("checkin.page", "GET"): decide(403, operator=404),
    ("checkin.check_in", "POST"): decide(403, operator=404),
    # The theory test: only the candidate's own enrolment and attempt.
    ("theory.overview", "GET"): decide(403, candidate=404),
    ("theory.start", "POST"): decide(403, candidate=404),
    ("theory.question", "GET"): decide(403, candidate=404),
    ("theory.question", "POST"): decide(403, candidate=404),
    ("theory.questions", "GET"): decide(403, candidate=404),
    ("theory.autosave", "POST"): decide(403, candidate=404),
    ("theory.heartbeat", "POST"): decide(403, candidate=404),
    ("theory.review", "GET"): decide(403, candidate=404),
    ("theory.submit", "POST"): decide(403, candidate=404),
    ("theory.item_statistics", "GET"): decide(403, staff=200, child_staff=200),
    ("theory.item_statistics_csv", "GET"): decide(403, staff=200, child_staff=200),
    ("theory.voided", "GET"): decide(403, staff=200, child_staff=200),
    ("theory.voided", "POST"): decide(403, staff=400, child_staff=400),
    # Recording a correction of a decision a voided item changed: staff of the session's institution only.
    ("theory.correct_decision", "GET"): STAFF_ONLY_ON_B,
    ("theory.correct_decision", "POST"): STAFF_ONLY_ON_B,
    ("theory.session_results", "GET"): STAFF_ONLY_ON_B,
    ("theory.session_results", "POST"): STAFF_ONLY_ON_B,
    ("theory.committee_results", "GET"): decide(403, assessor=404),
    ("theory.committee_attempt", "GET"): decide(403, assessor=404),
    # The practical exam: only the candidate's own enrolment.
    ("practical.overview", "GET"): decide(403, candidate=404),
    ("practical.start", "POST"): decide(403, candidate=404),
    ("practical.finish", "POST"): decide(403, candidate=404),
    ("practical.status", "GET"): decide(403, candidate=404),
    ("practical.practice", "POST"): decide(403, candidate=404),
    ("practical.answer", "POST"): decide(403, candidate=404),
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
    ("certification.issue_requested_duplicate", "POST"): STAFF_ONLY_ON_B,
    ("certification.refuse_duplicate_request", "POST"): STAFF_ONLY_ON_B,
    ("certification.duplicate_requests", "GET"): decide(403, staff=200, child_staff=200),
    ("certification.reprint", "POST"): STAFF_ONLY_ON_B,
    ("certification.certificate_pdf", "GET"): decide(404),
    ("certification.duplicate_pdf", "GET"): decide(404),
    ("certification.mine", "GET"): decide(200),
    # Only the holder asks for a duplicate of their certificate: B's is "not found" for everyone of A.
    ("certification.request_duplicate", "POST"): decide(404),
    ("verify.form", "GET"): everyone(200),
    ("verify.lookup", "GET"): everyone(400),  # nothing typed: the form again
    ("verify.show", "GET"): everyone(404),  # "13881" is no certificate's code
    # Open Badges: what a checker fetches is public (B's issuer profile names B: that is on every
    # certificate B issues); a credential is its holder's and the issuer's staff's only.
    ("ob.issuer", "GET"): everyone(200),
    ("ob.key_list", "GET"): everyone(200),
    ("ob.key", "GET"): everyone(200),
    ("ob.jwks", "GET"): everyone(200),
    ("ob.status_list", "GET"): everyone(200),
    ("ob.badge_image", "GET"): everyone(200),
    ("ob.credential_json", "GET"): decide(404, anonymous=404),
    ("ob.credential_svg", "GET"): decide(404, anonymous=404),
    ("ob.verify", "GET"): everyone(200),
    ("ob.verify", "POST"): everyone(400),  # nothing sent: the form again
    # Complaints: anyone files one (an empty form: the errors); staff of the certifying institution
    # handle those about it and its validating institutions, a handler sees the ones assigned to
    # them; B's complaint is "not found" for everyone of A who could handle complaints.
    ("complaints.new", "GET"): everyone(200),
    ("complaints.new", "POST"): everyone(400),
    ("complaints.filed", "GET"): everyone(redirect("/complaints/new")),  # this browser filed none
    ("complaints.index", "GET"): decide(403, staff=200, child_staff=200, appeals=200),
    ("complaints.detail", "GET"): decide(403, staff=404, child_staff=404, appeals=404),
    ("complaints.acknowledge", "POST"): STAFF_ONLY_ON_B,
    ("complaints.assign", "POST"): STAFF_ONLY_ON_B,
    ("complaints.close", "POST"): decide(403, staff=404, child_staff=404, appeals=404),
    # Renewals: the holder applies for and follows their own (B's certificate and application are
    # "not found" for everyone of A); staff of the issuing institution list them and assign the
    # assessor; only the assigned assessor opens one (B's is assigned to nobody of A).
    ("renewals.apply", "GET"): decide(404),
    ("renewals.apply", "POST"): decide(404),
    ("renewals.detail", "GET"): decide(404),
    ("renewals.resubmit", "GET"): decide(404),
    ("renewals.resubmit", "POST"): decide(404),
    ("renewals.withdraw", "POST"): decide(404),
    ("renewals.evidence_file", "GET"): decide(404),
    ("renewals.staff_list", "GET"): decide(403, staff=200, child_staff=200),
    ("renewals.staff_detail", "GET"): STAFF_ONLY_ON_B,
    ("renewals.assign", "POST"): STAFF_ONLY_ON_B,
    ("renewals.assessor_list", "GET"): decide(403, assessor=200),
    ("renewals.assess", "GET"): decide(403, assessor=404),
    ("renewals.declare", "POST"): decide(403, assessor=404),
    ("renewals.judge", "POST"): decide(403, assessor=404),
    ("renewals.judge_period", "POST"): decide(403, assessor=404),
    ("renewals.return_to_holder", "POST"): decide(403, assessor=404),
    ("renewals.decide", "POST"): decide(403, assessor=404),
    # Appeals: the appellant alone files, follows, withdraws and adds to their own (B's decision and
    # appeal are "not found" for everyone of A); the files only for the appellant and the declared
    # panel — never staff; staff of the certifying institution handle the appeals and the requests
    # to see exam work (B's: not found); a panel member only the appeals they sit on.
    ("appeals.mine", "GET"): decide(200),
    ("appeals.new", "GET"): decide(404),
    ("appeals.new", "POST"): decide(404),
    ("appeals.show", "GET"): decide(404),
    ("appeals.withdraw", "POST"): decide(404),
    ("appeals.add_files", "POST"): decide(404),
    ("appeals.download", "GET"): decide(404),
    ("appeals.request_review", "POST"): decide(404),
    ("appeals.review_work", "GET"): decide(404),
    ("appeals.staff_index", "GET"): decide(403, staff=200, child_staff=200),
    ("appeals.staff_show", "GET"): STAFF_ONLY_ON_B,
    ("appeals.acknowledge", "POST"): STAFF_ONLY_ON_B,
    ("appeals.appoint", "POST"): STAFF_ONLY_ON_B,
    ("appeals.remove_member", "POST"): STAFF_ONLY_ON_B,
    ("appeals.start_review", "POST"): STAFF_ONLY_ON_B,
    ("appeals.staff_file", "GET"): decide(403, staff=200, child_staff=200),
    ("appeals.staff_file_for", "GET"): STAFF_ONLY_ON_B,
    ("appeals.staff_file_for", "POST"): STAFF_ONLY_ON_B,
    ("appeals.staff_reviews", "GET"): decide(403, staff=200, child_staff=200),
    ("appeals.grant_review", "POST"): STAFF_ONLY_ON_B,
    ("appeals.refuse_review", "POST"): STAFF_ONLY_ON_B,
    ("appeals.panel_index", "GET"): decide(403, appeals=200),
    ("appeals.panel_show", "GET"): decide(403, appeals=404),
    ("appeals.declare", "POST"): decide(403, appeals=404),
    ("appeals.propose", "POST"): decide(403, appeals=404),
    ("appeals.vote", "POST"): decide(403, appeals=404),
    ("appeals.panel_work", "GET"): decide(403, appeals=404),
    ("appeals.panel_protocol", "GET"): decide(403, appeals=404),
    # Personal data (RODO art. 15-17): everyone signed in has "my data" and downloads their own copy
    # (the walk checks it holds nothing of B); an empty request form is refused; B's candidate's
    # request is "not found" for everyone of A, to withdraw or to review. Staff review their
    # institutions' requests; the administrator those no institution holds (B's is held by B).
    ("records.mine", "GET"): decide(200),
    ("records.copy", "POST"): decide(200),
    ("records.ask_correction", "POST"): decide(400),  # empty form: nothing filed
    ("records.ask_erasure", "POST"): decide(400),  # not confirmed: nothing filed
    ("records.withdraw", "POST"): decide(404),
    ("records.staff_index", "GET"): decide(403, staff=200, child_staff=200, admin=200),
    ("records.staff_show", "GET"): decide(403, staff=404, child_staff=404, admin=404),
    ("records.grant", "POST"): decide(403, staff=404, child_staff=404, admin=404),
    ("records.refuse", "POST"): decide(403, staff=404, child_staff=404, admin=404),
    ("records.extend", "POST"): decide(403, staff=404, child_staff=404, admin=404),
}

# Public documents that name B by design (the issuer's name is printed on its certificates).
PUBLIC_OF_B = {"ob.issuer": {"Fundacja B"},
               # Anyone may complain about any institution: the form lists them all.
               "complaints.new": {"Fundacja B", "Ośrodek B"}}

# Pages where the administrator legitimately sees every institution's data.
ADMIN_SEES_ALL = {"audit.index", "institution.admin_institutions", "institution.reset_second_factor",
                  "institution.people", "institution.revoke", "institution.qualifications",
                  "institution.withdraw_qualification", "institution.deactivate_account", "institution.reactivate_account",
                  "jobs.index", "jobs.detail", "jobs.progress", "jobs.result"}

# Pages a role legitimately reaches must show that role's own data of A (so an empty page
# cannot pass for a well-scoped one).
MUST_SHOW_A = {
    ("reports.audit_pack", AUDITOR): "Fundacja A",
    ("reports.auditor_mandates", STAFF): "Audytor A-Zewnętrzny",
    ("reports.zrk_page", STAFF): "Fundacja A",
    ("reports.zrk_page", AUDITOR): "Fundacja A",
    ("sessions.index", STAFF): "SESJA-A-JAWNA",
    ("sessions.index", CHILD_STAFF): "SESJA-A-JAWNA",
    ("sessions.training", STAFF): "KURS-A",
    ("sessions.my_committees", ASSESSOR): "SESJA-A-JAWNA",
    ("sessions.my_operated", OPERATOR): "SESJA-A-JAWNA",
    ("sessions.my_enrolments", CANDIDATE): "SESJA-A-JAWNA",
    ("applications.mine", CANDIDATE): "SESJA-A-JAWNA",
    ("sessions.create", STAFF): "Ośrodek A",
    ("institution.index", STAFF): "Ośrodek A",
    ("institution.index", CHILD_STAFF): "Ośrodek A",
    ("certification.register", STAFF): "Anna Jawna",
    ("certification.register", CHILD_STAFF): "Anna Jawna",
    ("certification.fees", STAFF): "SESJA-A-JAWNA",
    ("certification.duplicate_requests", STAFF): "Anna Jawna",
    ("certification.mine", CANDIDATE): "Fundacja A",
    ("complaints.index", STAFF): "Zofia A-Skarżąca",
    ("complaints.index", APPEALS): "Zofia A-Skarżąca",  # the complaint they handle
    ("renewals.staff_list", STAFF): "Anna Jawna",
    ("appeals.mine", CANDIDATE): "the conduct of the theory test",  # A's own appeal
    ("appeals.staff_index", STAFF): "Anna Jawna",  # the appellant of A's appeal
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
    w[AUDITOR] = make_user((Role.AUDITOR, ic), first_name="Audytor", last_name=f"{letter}-Zewnętrzny")
    from datetime import date, timedelta

    from examportal.certification.rules import today
    from examportal.models import AuditorMandate

    w["mandate"] = AuditorMandate(user_id=w[AUDITOR].id, institution_id=ic.id, period_from=date(2000, 1, 1),
                                  period_to=today(), expires_on=today() + timedelta(days=30), granted_by_id=w[STAFF].id)
    from examportal.extensions import db

    db.session.add(w["mandate"])
    from examportal.models import EvaluationReport
    from examportal.reports.evaluation import compute_figures

    # An internal evaluation of the institution's last years (a short reliability simulation).
    w["evaluation"] = EvaluationReport(
        institution_id=ic.id, qualification_id=qualification.id, period_from=date(2020, 1, 1), period_to=today(),
        made_by_id=w[STAFF].id, figures=compute_figures(ic, qualification, date(2020, 1, 1), today(),
                                                        reliability_forms=1, reliability_trials=100))
    db.session.add(w["evaluation"])
    session = make_session(child, qualification, title=secret, operator_id=w[OPERATOR].id)
    w["session"] = session
    w["member"] = add_member(session, w[ASSESSOR], declared=True)
    add_member(session, w["assessor2"])
    w["enrolment"] = enrol(session, w[CANDIDATE])
    w["attempt"] = make_attempt(w["enrolment"])
    w["application"] = make_application(session, w[CANDIDATE])
    from examportal import jobs

    w["job"] = jobs.start("session_archive", institution_id=child.id, session_id=session.id)
    from examportal.certification import services as certification
    from tests.certtools import make_certificate

    w["certificate"] = make_certificate(w["enrolment"], w[STAFF])
    w["duplicate"] = certification.issue_duplicate(w[STAFF], w["certificate"], "Utrata oryginału")
    w["duplicate_request"] = certification.request_duplicate(w[CANDIDATE], w["certificate"], "Zniszczony w pożarze")
    from examportal.complaints import services as complaints

    # About the validating institution, so handled by the certifying one's staff; B's appeals member handles B's.
    w["complaint"] = complaints.file_complaint(
        institution_id=child.id, name=f"Zofia {letter}-Skarżąca", email=f"skarga.{letter.lower()}@{letter.lower()}.example",
        text=f"Skarga na ośrodek {letter}", locale="pl")
    complaints.acknowledge(w[STAFF], w["complaint"])
    complaints.assign(w[STAFF], w["complaint"], w[APPEALS].id, [w[OPERATOR].id])
    from datetime import timedelta

    from examportal.certification.rules import today
    from tests.factories import expiring, make_renewal

    # The holder applies to renew the certificate in its last months (nobody assigned yet).
    w["renewal"] = make_renewal(expiring(w["certificate"], today() + timedelta(days=90)))
    from tests.appealtools import walker_objects

    # The candidate's appeal with a file and a declared panel member, and a granted request to see their work.
    w.update(walker_objects(w))
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
            b["complaint"].name, b["complaint"].email,
            b["trainer"].full_name]


def competence_record_id(user) -> int:
    """The id of the person's competence record as an assessor (the factories give every assessor one)."""
    from sqlalchemy import select

    from examportal.extensions import db
    from examportal.models import CompetenceRecord

    return db.session.scalar(select(CompetenceRecord.id).where(CompetenceRecord.user_id == user.id))


def data_request_id(objects: dict) -> int:
    """The id of the candidate's open request for a correction of their data (made on first use)."""
    if "data_request" not in objects:
        from examportal.models import DataRequestKind
        from examportal.records import requests as data_requests

        objects["data_request"] = data_requests.ask(objects[CANDIDATE], DataRequestKind.CORRECTION,
                                                    "Błędna data urodzenia.")
    return objects["data_request"].id


def validation_decision_id(enrolment) -> int:
    """The id of the enrolment's validation decision (issuing its certificate made one)."""
    from examportal.committee.services import decision_for

    decision = decision_for(enrolment)
    assert decision is not None
    return decision.id


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
            "request_id": lambda: objects["duplicate_request"].id,
            "application_id": lambda: objects["application"].id,
            "kid": lambda: credential_keys.published_keys(objects["ic"].id)[0].kid,
            "list_id": lambda: badge.credential_for(objects["certificate"]).revocation_list_id,
            "position": lambda: 1,
            "task_number": lambda: 8,
            "institution_id": lambda: objects["ic"].id,
            "assignment_id": lambda: objects[STAFF].roles[0].id,
            "user_id": lambda: objects[ASSESSOR].id,
            "kind": lambda: "assessor",
            "record_id": lambda: competence_record_id(objects[ASSESSOR]),
            "token": lambda: "garbage.token-that-is-not-signed",
            "code": lambda: "en" if rule.endpoint == "main.set_language" else "13881",
            "validation_decision_id": lambda: validation_decision_id(objects["enrolment"]),
            "complaint_id": lambda: objects["complaint"].id,
            "renewal_id": lambda: objects["renewal"].id,
            "evidence_id": lambda: objects["renewal"].evidence[0].id,
            "period_id": lambda: objects["renewal"].periods[0].id,
            "appeal_id": lambda: objects["appeal"].id,
            "file_id": lambda: objects["appeal_file"].id,
            "panel_member_id": lambda: objects["panel_member"].id,
            "review_id": lambda: objects["work_review"].id,
            "subject": lambda: "theory",
            "subject_id": lambda: objects["attempt"].id,
            "mandate_id": lambda: objects["mandate"].id,
            "evaluation_id": lambda: objects["evaluation"].id,
            "data_request_id": lambda: data_request_id(objects),
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
    for role in (STAFF, CHILD_STAFF, OPERATOR, ASSESSOR, APPEALS, CANDIDATE, AUDITOR):
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
            hidden = [] if (role == ADMIN and rule.endpoint in ADMIN_SEES_ALL) else \
                [secret for secret in forbidden if secret not in PUBLIC_OF_B.get(rule.endpoint, ())]
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
    assert b["duplicate_request"].status.value == "open" and b["certificate"].duplicates == [b["duplicate"]]
    assert b["application"].status.value == "submitted" and b["application"].enrolment_id is None
    assert b["complaint"].status.value == "assigned" and b["complaint"].handler_id == b[APPEALS].id
    assert b["renewal"].status.value == "submitted" and b["renewal"].assessor_id is None
    assert b["appeal"].status.value == "acknowledged" and [m.id for m in b["appeal"].panel] == [b["panel_member"].id]
    assert len(b["appeal"].files) == 1 and not b["appeal"].proposals
    assert b["work_review"].status.value == "granted"
    assert b["data_request"].status.value == "open" and b["data_request"].decided_by_id is None


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
