"""Appeals against a decision as it stands: a validation decision that a recorded correction turned
negative is appealable, its window counted from the correction; a formal check or a renewal decided
again after an upheld appeal is a new decision with a window of its own (one appeal per decision
still); and nobody who took part in the decision appealed sits on the panel — an assessor replaced
after judging the renewal evidence, whoever voided items of the appellant's test or corrected the
decision included."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale

from examportal.appeals import remedies, rules
from examportal.appeals import services as appeals
from examportal.appeals.rules import Involvement
from examportal.committee import corrections
from examportal.extensions import db
from examportal.models import AppealRemedy, AppealSubject, Role, UserRole
from examportal.renewals import services as renewals
from examportal.theory import voiding
from tests import factories
from tests.certtools import certification_world, make_certificate
from tests.factories import (
    accept_renewal_evidence,
    client_as,
    enrol,
    expiring,
    make_applicant,
    make_renewal,
    make_user,
)
from tests.remedytools import appeal_row, decide, validation_world

GROUNDS = "Unieważnienie pytań zmieniło mój wynik na negatywny."


def refusal(decision: appeals.Decision) -> str | None:
    with force_locale("en"):
        found = appeals.filing_refusal(decision, rules.today())
    return str(found) if found is not None else None


# --------------------------------------------------------------------------- a decision corrected to negative


def _sit(session, candidate, correct):
    """``candidate`` sits the theory test of ``session`` (``correct`` right answers of 36, the rest
    unanswered; released) and finishes the practical task."""
    enrolment = enrol(session, candidate)
    return enrolment, factories.sit_theory_test(enrolment, correct, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def _voided_world(app, qualification, tmp_path, short_name):
    """A candidate whose passed theory test (22 of 36) two voided items turn into a fail, decided
    positive by the committee (the decision sent 30 days ago)."""
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    w = validation_world(qualification, short_name=short_name)
    enrolment, attempt = _sit(w["session"], make_applicant(first_name="Wiktor", last_name="Testowy", locale="en"), 22)
    decision = decide(enrolment, [w["chair"], w["member"]])
    assert decision.positive
    decision.notified_at = decision.decided_at = datetime.now(UTC) - timedelta(days=30)
    db.session.commit()
    return w, enrolment, attempt, decision


def _void_two(voider, attempt):
    for ai in attempt.items[:2]:  # 20 of 34: not passed
        voiding.void_item(voider, ai.item_id, "Klucz niejednoznaczny.")
    assert attempt.passed is False


def test_a_decision_corrected_to_negative_can_be_appealed(app, qualification, tmp_path):
    """Every decision is appealable. A recorded correction that turns the candidate's positive
    validation result negative is a decision against them, its window counted from the day the
    corrected result was sent (the original decision was sent 30 days ago)."""
    w, enrolment, attempt, decision = _voided_world(app, qualification, tmp_path, "PA")
    positive = appeals.load(AppealSubject.VALIDATION, decision.id)
    assert positive is not None and not positive.appealable  # as decided: nothing to appeal
    _void_two(w["staff"], attempt)
    correction = corrections.correct_after_voiding(w["staff"], decision, "Unieważniono dwa wadliwe pytania testu.")
    assert corrections.standing_positive(decision) is False
    mine = [d for d in appeals.candidate_decisions(enrolment.candidate)
            if d.subject == AppealSubject.VALIDATION and d.subject_id == decision.id]
    assert len(mine) == 1, "the negative validation result (as corrected) is not among the candidate's decisions"
    corrected = mine[0]
    assert corrected.appealable and corrected.correction is not None and corrected.correction.id == correction.id
    assert corrected.sent_on == rules.local_day(correction.notified_at or correction.corrected_at)
    assert refusal(corrected) is None
    # The candidate's page and the filing agree: the page shows the decision as corrected.
    client = client_as(app, enrolment.candidate)
    url = f"/appeals/new/validation/{decision.id}"
    page = client.get(url).get_data(as_text=True)
    assert "corrected on" in page and "Unieważniono dwa wadliwe pytania testu." in page
    assert client.post(url, data={"grounds": "Pytania nie były wadliwe."}).status_code == 302
    [appeal] = appeals.appellant_appeals(enrolment.candidate)
    assert appeal.sent_on == corrected.sent_on and appeal.window_ends_on == corrected.sent_on + timedelta(days=14)
    # One appeal per decision still.
    assert "already appealed" in (refusal(corrected) or "")


def test_a_correction_recorded_by_an_upheld_appeal_opens_no_new_window(app, qualification):
    """The panel's correction is the outcome of the appeal, not a new decision: an appeal upheld with a
    correction that still leaves the result negative closes the way to another appeal."""
    w = validation_world(qualification, short_name="PK")
    decision = decide(w["enrolment"], [w["chair"], w["member"]], not_met=("2.4.a", "2.4.b"))
    appeal = appeal_row(AppealSubject.VALIDATION, decision, w["candidate"], w["ic"], remedy=AppealRemedy.CORRECTION,
                        detail={"criteria": {"2.4.a": {"before": False, "after": True}}}, enrolment=w["enrolment"],
                        panel=(w["panel"], w["panel2"]))
    remedies.carry_out(appeal, w["panel"])
    db.session.commit()
    assert corrections.standing_positive(decision) is False
    after = appeals.load(AppealSubject.VALIDATION, decision.id)
    assert after is not None and after.appealable and after.correction is None
    assert "already been appealed" in (refusal(after) or "")


# --------------------------------------------------------------------------- decided again after an appeal


def _renewal_world(qualification, short_name):
    w = certification_world(qualification, short_name=short_name)
    w["holder"] = w["candidates"][1]  # not trained by w["trainer"]
    w["certificate"] = expiring(make_certificate(w["enrolments"][1], w["staff"]), rules.today() + timedelta(days=150))
    w["assessor"] = make_user((Role.ASSESSOR, w["ic"]), first_name="Ewa", last_name="Oceniająca", locale="en")
    return w


def _declared_renewal(w):
    application = renewals.assign(w["staff"], make_renewal(w["certificate"]), w["assessor"])
    application = renewals.declare(w["assessor"], application, True)
    return accept_renewal_evidence(w["assessor"], application, "Kompletne.")


def test_a_renewal_rejected_again_after_an_upheld_appeal_can_be_appealed(app, qualification):
    """An upheld appeal sends the rejected renewal back for a new decision. If the assessor rejects it
    again, that is a new decision against the holder: appealable like the first, once."""
    w = _renewal_world(qualification, "RG")
    application = _declared_renewal(w)
    renewals.decide(w["assessor"], application, False, "Za mało udokumentowanej pracy z systemem CRM.")
    panel = [make_user((Role.APPEALS, w["ic"]), last_name=f"Panel{n}") for n in (1, 2)]
    first = appeal_row(AppealSubject.RENEWAL, application, w["holder"], w["ic"], remedy=AppealRemedy.RECONSIDER,
                       enrolment=w["certificate"].enrolment, certificate=w["certificate"], panel=tuple(panel))
    remedies.carry_out(first, panel[0])
    db.session.commit()
    reopened = appeals.load(AppealSubject.RENEWAL, application.id)
    assert reopened is not None and "cannot be appealed" in (refusal(reopened) or "")  # undecided again yet
    renewals.decide(w["assessor"], application, False, "Podtrzymuję: brak dowodu pracy z systemem CRM.")
    decision = appeals.load(AppealSubject.RENEWAL, application.id)
    assert decision is not None and refusal(decision) is None, "the second rejection cannot be appealed"
    assert decision.sent_on == rules.local_day(application.notified_at)
    second = appeals.file_appeal(w["holder"], decision, "Zaświadczenie obejmuje cały okres.")
    assert second.id != first.id
    assert "already appealed" in (refusal(decision) or "")


def test_an_application_rejected_again_after_an_upheld_appeal_can_be_appealed(app, qualification):
    """The same for the formal check: the application goes back to the check after an upheld
    appeal; a second rejection is a new decision, appealable once."""
    from examportal.applications import services as applications

    w = validation_world(qualification, short_name="RF")
    published = factories.make_published_session(w["ic"], qualification)
    application = factories.make_application(published, w["candidate"])
    applications.reject(w["staff"], application, "Brak potwierdzenia tożsamości.")
    first = appeal_row(AppealSubject.APPLICATION, application, w["candidate"], w["ic"],
                       remedy=AppealRemedy.RECONSIDER, panel=(w["panel"], w["panel2"]))
    remedies.carry_out(first, w["panel"])
    db.session.commit()
    second_staff = make_user((Role.STAFF, w["ic"]), (Role.APPEALS, w["ic"]), first_name="Sabina", last_name="Druga")
    applications.reject(second_staff, application, "Nadal brak potwierdzenia tożsamości.")
    decision = appeals.load(AppealSubject.APPLICATION, application.id)
    assert decision is not None and refusal(decision) is None, "the second rejection cannot be appealed"
    assert decision.sent_on == rules.local_day(application.decided_at)
    second = appeals.file_appeal(w["candidate"], decision, "Dowód osobisty był załączony.")
    assert second.id != first.id
    assert "already appealed" in (refusal(decision) or "")
    # Whoever decided the first rejection took part in the matter too: off the second appeal's panel.
    involved = appeals.involved_people(second)
    assert Involvement.APPLICATION in involved.get(w["staff"].id, set())
    assert Involvement.APPLICATION in involved.get(second_staff.id, set())


def test_a_decided_appeal_still_closes_the_way_when_the_decision_was_not_taken_again(app, qualification):
    """Without a new decision the panel's decision is final: a dismissed appeal against a rejection
    leaves no way to a second appeal against the same rejection."""
    from examportal.applications import services as applications
    from examportal.models import AppealStatus

    w = validation_world(qualification, short_name="RD")
    application = factories.make_application(factories.make_published_session(w["ic"], qualification), w["candidate"])
    applications.reject(w["staff"], application, "Brak potwierdzenia tożsamości.")
    appeal_row(AppealSubject.APPLICATION, application, w["candidate"], w["ic"], status=AppealStatus.DISMISSED,
               panel=(w["panel"], w["panel2"]))
    decision = appeals.load(AppealSubject.APPLICATION, application.id)
    assert decision is not None and "already been appealed" in (refusal(decision) or "")


# --------------------------------------------------------------------------- the appeals panel


def test_a_replaced_renewal_assessor_does_not_sit_on_the_appeals_panel(app, qualification):
    """Nobody who took part in the decision appealed sits on the panel. The first assessor of a
    renewal judged (and rejected) the holder's evidence before staff replaced them; the replacement
    rejected the renewal. The first assessor took part in that analysis: not a panel member."""
    w = _renewal_world(qualification, "RP")
    first = w["assessor"]
    first.roles.append(UserRole(role=Role.APPEALS, institution_id=w["ic"].id))
    unused = make_user((Role.ASSESSOR, w["ic"]), (Role.APPEALS, w["ic"]), first_name="Urszula", last_name="Nieużyta")
    db.session.commit()
    application = renewals.assign(w["staff"], make_renewal(w["certificate"]), first)
    renewals.declare(first, application, True)
    renewals.judge(first, application, application.evidence[0].id, "rejected", "Zaświadczenie bez pieczęci pracodawcy.")
    second = make_user((Role.ASSESSOR, w["ic"]), first_name="Olaf", last_name="Drugi")
    renewals.assign(w["staff"], application, second)
    renewals.declare(second, application, True)
    renewals.judge(second, application, application.evidence[0].id, "rejected", "Zaświadczenie bez pieczęci pracodawcy.")
    renewals.judge_period(second, application, application.periods[0].id, False)
    renewals.decide(second, application, False, "Brak udokumentowanej pracy z systemem CRM.")
    appeal = appeals.file_appeal(w["holder"], appeals.load(AppealSubject.RENEWAL, application.id),
                                 "Zaświadczenie ma pieczęć, proszę o ponowną ocenę.")
    with force_locale("en"):
        reason = appeals.member_refusal(appeal, first)
        assert reason is not None and "assessed or decided the appellant's renewal" in reason
        # An assessor who took no part in this renewal may sit.
        assert appeals.member_refusal(appeal, unused) is None


def test_whoever_voided_the_items_that_failed_the_appellant_does_not_sit_on_the_panel(app, qualification, tmp_path):
    """Nobody who took part in the decision appealed sits on the panel. A staff member (also an
    appeals-panel member) voided two items, which turned the candidate's passed test into a fail;
    the candidate appeals the theory result. The person whose voiding made that result must not
    decide the appeal."""
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    w = validation_world(qualification, short_name="PV")
    voider = make_user((Role.STAFF, w["ic"]), (Role.APPEALS, w["ic"]), first_name="Wanda", last_name="Unieważniająca")
    bystander = make_user((Role.STAFF, w["ic"]), (Role.APPEALS, w["ic"]), first_name="Bogdan", last_name="Postronny")
    enrolment, attempt = _sit(w["session"], make_applicant(first_name="Adam", last_name="Odwołujący"), 22)
    assert attempt.passed is True
    _void_two(voider, attempt)
    released = rules.local_day(attempt.released_at)
    appeal = appeals.file_appeal(enrolment.candidate, appeals.load(AppealSubject.THEORY, attempt.id), GROUNDS,
                                 on=released + timedelta(days=3))
    with force_locale("en"):
        reason = appeals.member_refusal(appeal, voider)
        assert reason is not None and "voided items of the appellant's theory test" in reason
        assert appeals.member_refusal(appeal, bystander) is None


def test_whoever_corrected_the_decision_does_not_sit_on_the_panel(app, qualification, tmp_path):
    """Staff who recorded the correction appealed against took part in that decision."""
    w, enrolment, attempt, decision = _voided_world(app, qualification, tmp_path, "PC")
    voider = make_user((Role.STAFF, w["ic"]), (Role.APPEALS, w["ic"]), first_name="Wanda", last_name="Unieważniająca")
    corrector = make_user((Role.STAFF, w["ic"]), (Role.APPEALS, w["ic"]), first_name="Kamil", last_name="Korygujący")
    _void_two(voider, attempt)
    corrections.correct_after_voiding(corrector, decision, "Unieważniono dwa wadliwe pytania testu.")
    appeal = appeals.file_appeal(enrolment.candidate, appeals.load(AppealSubject.VALIDATION, decision.id),
                                 "Pytania nie były wadliwe.")
    involved = appeals.involved_people(appeal)
    assert Involvement.CORRECTION in involved.get(corrector.id, set())
    assert Involvement.VOIDING in involved.get(voider.id, set())
    with force_locale("en"):
        assert appeals.member_refusal(appeal, corrector) is not None
        assert "voided items" in (appeals.member_refusal(appeal, voider) or "")


@pytest.mark.parametrize("kind, fragment", [
    (Involvement.CORRECTION, "corrected the appellant's validation decision"),
    (Involvement.VOIDING, "voided items of the appellant's theory test"),
])
def test_the_new_kinds_of_involvement_name_their_reason(app, kind, fragment):
    with force_locale("en"):
        found = rules.panel_refusal("Jan Kowalski", [kind])
    assert found is not None and found.startswith("Jan Kowalski") and fragment in found
