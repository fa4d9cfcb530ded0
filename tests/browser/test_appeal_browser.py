"""The appeal procedure in a real browser, end to end: a candidate with a negative validation
decision appeals from their result page (grounds and a PDF); staff of the certifying institution
acknowledge the appeal, appoint a panel of two and start the review; each member declares
impartiality, one proposes to uphold it with a new assessment of the practical part by a new
committee, the other approves; the system creates the reassessment. Staff appoint the new committee
(a member of the first one is refused, the reason shown), the new committee scores (through the
services: 39 criteria), records the results and decides positively in the browser; staff certify
the session and the candidate sees the positive result and the certificate under "My certificates"."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from examportal.committee import services as committee
from examportal.extensions import db
from examportal.models import (
    Appeal,
    AppealRemedy,
    AppealStatus,
    Certificate,
    CertificateStatus,
    Enrolment,
    ValidationDecision,
    ValidationSession,
)
from tests.appealtools import PDF
from tests.browser.a11y import Audit
from tests.remedytools import decide, validation_world

pytestmark = pytest.mark.browser

GROUNDS = ("Komisja uznała, że nie wykonałam zadań 2.4.a i 2.5.a, a w moim systemie CRM są zapisane "
           "wszystkie wymagane czynności. Wnoszę o ponowną ocenę części praktycznej.")
JUSTIFICATION = ("Zespół stwierdził, że komisja pominęła część zapisów w dzienniku działań kandydatki; "
                 "część praktyczna zostanie oceniona ponownie przez nową komisję.")
REASSESSMENT_LABEL = "a new assessment of the practical part by a new committee"


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=f"/tmp/appeal_{name}.png", full_page=True)


def _flash(page: Page, text: str) -> None:
    expect(page.locator(".flash").filter(has_text=text).first).to_be_visible()


def _score_all_met(enrolment: Enrolment, user) -> None:
    """A member of the new committee submits "met" on every criterion they score, the optional
    interview follow-ups too, as test_validation_journey does in the browser (the services here:
    39 criteria in the browser twice would make this test slow)."""
    member = committee.member_of(enrolment, user)
    assert member is not None
    entries = {c.id: committee.ScoreEntry(True, "",
                                          "Kandydatka omówiła swoje działania w systemie CRM." if c.method == "interview"
                                          else "")
               for c in committee.scored_criteria(enrolment)}
    committee.save_scores(member, enrolment, entries, submit=True)


@pytest.fixture
def world(app, qualification):
    w = validation_world(qualification, short_name="OB")
    for person in ("candidate", "staff", "panel", "panel2", "spare", "spare2"):
        w[person].locale = "en"
    db.session.commit()
    # The first committee's decision: negative, two practical criteria not met (a real protocol).
    w["decision"] = decide(w["enrolment"], [w["chair"], w["member"]], not_met=("2.4.a", "2.5.a"))
    assert w["decision"].positive is False
    return w


def test_an_upheld_appeal_leads_to_a_new_committee_and_a_certificate(app, new_page, world, tmp_path):
    audit = Audit()
    first, decision_id = world["enrolment"], world["decision"].id
    candidate_name = world["candidate"].full_name
    scan = tmp_path / "zrzuty-ekranu-crm.pdf"
    scan.write_bytes(PDF)

    # 1. The candidate reads the negative result and appeals from it: the grounds and a PDF.
    me = new_page(world["candidate"])
    me.goto("/sessions/mine")
    me.get_by_role("link", name="My result").click()
    me.wait_for_url(f"**/committee/result/{first.id}")
    expect(me.locator(".badge.danger").filter(has_text="Negative")).to_be_visible()
    expect(me.locator(".appeal-option")).to_have_attribute("data-state", "can")
    me.get_by_role("link", name="Appeal against this decision").click()
    me.wait_for_url(f"**/appeals/new/validation/{decision_id}")
    expect(me.locator("h1")).to_contain_text("Appeal against")
    # Without grounds the appeal is refused, next to the field.
    me.get_by_role("button", name="File the appeal").click()
    expect(me.locator("#grounds-error")).to_contain_text("Give the grounds of the appeal")
    audit.check(me, "appeal form with an error")
    me.fill("#grounds", GROUNDS)
    me.set_input_files("#files", str(scan))
    _shot(me, "01_candidate_files")
    me.get_by_role("button", name="File the appeal").click()
    me.wait_for_url("**/appeals/*")
    _flash(me, "Your appeal has been filed.")
    expect(me.locator(".badge.status")).to_have_text("filed")
    expect(me.locator(".appeal-files")).to_contain_text("zrzuty-ekranu-crm.pdf")
    audit.check(me, "the appellant's appeal")
    db.session.expire_all()
    appeal = db.session.scalar(select(Appeal).where(Appeal.appellant_id == world["candidate"].id))
    assert appeal is not None and appeal.status == AppealStatus.FILED and appeal.grounds == GROUNDS
    assert [f.file.data for f in appeal.files] == [PDF]
    appeal_id = appeal.id
    # The result page now links to the appeal instead of offering another.
    me.goto(f"/committee/result/{first.id}")
    expect(me.locator(".appeal-option")).to_have_attribute("data-state", "appealed")

    # 2. Staff of the certifying institution acknowledge it, appoint a panel of two, start the review.
    staff = new_page(world["staff"])
    staff.goto("/appeals/staff")
    row = staff.locator(f"tr[data-appeal='{appeal_id}']")
    expect(row).to_contain_text(candidate_name)
    row.get_by_role("link", name=f"Appeal no. {appeal_id}").click()
    expect(staff.locator(".grounds")).to_have_text(GROUNDS)
    expect(staff.locator(".appeal-files")).to_have_count(0)  # staff never see the files
    expect(staff.locator(".review-refusal")).to_contain_text("Acknowledge the appeal first")
    staff.get_by_role("button", name="Acknowledge the appeal").click()
    _flash(staff, "The appeal is acknowledged")
    expect(staff.locator(".badge.status")).to_have_text("acknowledged")
    staff.select_option("#member", label=world["panel"].full_name)
    staff.check("#is_chair")
    staff.get_by_role("button", name="Appoint").click()
    _flash(staff, "The member has been appointed")
    # One member is not a panel: the review cannot start yet.
    expect(staff.locator(".review-refusal")).to_be_visible()
    staff.select_option("#member", label=world["panel2"].full_name)
    staff.get_by_role("button", name="Appoint").click()
    _flash(staff, "The member has been appointed")
    expect(staff.locator("table.panel tbody tr")).to_have_count(2)
    expect(staff.locator("table.panel")).to_contain_text("not yet signed")
    audit.check(staff, "appeal for staff, the panel appointed")
    _shot(staff, "02_staff_panel")
    staff.get_by_role("button", name="Start the review").click()
    _flash(staff, "The review has started")
    expect(staff.locator(".badge.status")).to_have_text("under review")

    # 3. Each panel member declares impartiality; only then the grounds and the file open.
    chair = new_page(world["panel"])
    chair.goto("/appeals/panel")
    chair.get_by_role("link", name=f"Appeal no. {appeal_id}").click()
    expect(chair.locator(".grounds")).to_have_count(0)
    chair.check("#confirm")
    chair.get_by_role("button", name="Sign the declaration").click()
    _flash(chair, "Your declaration of impartiality has been recorded.")
    expect(chair.locator(".grounds")).to_have_text(GROUNDS)
    with chair.expect_download() as download:
        chair.locator(".appeal-files a").first.click()
    assert Path(download.value.path()).read_bytes() == PDF

    member = new_page(world["panel2"])
    member.goto("/appeals/panel")
    member.get_by_role("link", name=f"Appeal no. {appeal_id}").click()
    member.check("#confirm")
    member.get_by_role("button", name="Sign the declaration").click()
    _flash(member, "Your declaration of impartiality has been recorded.")

    # One proposes to uphold it with a new assessment by a new committee, with the justification.
    chair.reload()
    chair.check("input[name=outcome][value=uphold]")
    chair.get_by_label(REASSESSMENT_LABEL).check()
    chair.fill("#justification", JUSTIFICATION)
    audit.check(chair, "the panel's proposal form")
    _shot(chair, "03_panel_proposal")
    chair.get_by_role("button", name="Propose").click()
    _flash(chair, "The decision has been proposed.")
    expect(chair.locator(".proposal[data-status=open]")).to_contain_text(REASSESSMENT_LABEL)

    # The other approves: the appeal is upheld and the system orders the new assessment.
    member.reload()
    expect(member.locator(".proposal")).to_contain_text(JUSTIFICATION)
    member.check("input[name=vote][value=approve]")
    member.get_by_role("button", name="Vote").click()
    _flash(member, "The appeal is decided; the appellant has been told.")
    expect(member.locator(".badge.status")).to_have_text("upheld")
    audit.check(member, "the panel after the decision")

    db.session.expire_all()
    appeal = db.session.get(Appeal, appeal_id)
    assert appeal.status == AppealStatus.UPHELD and appeal.remedy == AppealRemedy.REASSESSMENT
    assert appeal.justification == JUSTIFICATION and appeal.remedy_done_at is not None
    new_id, session_id = appeal.remedy_detail["enrolment_id"], appeal.remedy_detail["session_id"]
    new = db.session.get(Enrolment, new_id)
    session = db.session.get(ValidationSession, session_id)
    assert new.reassessment_of_id == first.id and new.session_id == session_id and session.committee == []
    session_title = session.title

    # The appellant sees the decision, its justification and what follows.
    me.goto(f"/appeals/{appeal_id}")
    expect(me.locator(".badge.status")).to_have_text("upheld")
    decided = me.locator("section.appeal-decision")
    expect(decided).to_contain_text(JUSTIFICATION)
    expect(decided).to_contain_text(REASSESSMENT_LABEL)
    audit.check(me, "the appellant's upheld appeal")
    _shot(me, "04_candidate_upheld")

    # 4. Staff appoint a NEW committee: a member of the first one is refused, with the reason.
    staff.goto("/sessions/")
    staff.get_by_role("link", name=session_title).click()
    staff.wait_for_url(f"**/sessions/{session_id}")
    # The picker marks them before anyone chooses; choosing them anyway is refused with the reason.
    staff.select_option("#assessor_id", label=f"{world['chair'].full_name} — cannot sit on this committee")
    staff.get_by_role("button", name="Add to the committee").click()
    expect(staff.locator("#assessor_id-error")).to_contain_text(
        f"{world['chair'].full_name} cannot sit on this committee: they were on the committee that first assessed "
        f"{candidate_name}")
    _shot(staff, "05_staff_refused_member")
    audit.check(staff, "the reassessment session with a refused member")
    staff.select_option("#assessor_id", label=world["spare"].full_name)
    staff.check("#is_chair")
    staff.get_by_role("button", name="Add to the committee").click()
    _flash(staff, "The assessor has been added to the committee.")
    staff.select_option("#assessor_id", label=world["spare2"].full_name)
    staff.get_by_role("button", name="Add to the committee").click()
    _flash(staff, "The assessor has been added to the committee.")
    db.session.expire_all()
    assert {m.assessor_id for m in db.session.get(ValidationSession, session_id).committee} == {
        world["spare"].id, world["spare2"].id}

    # 5. The new committee declares impartiality in the browser; the scoring is done through the services.
    new_chair, new_member = new_page(world["spare"]), new_page(world["spare2"])
    for page in (new_chair, new_member):
        page.goto("/sessions/committees")
        page.get_by_role("link", name=session_title).click()
        page.get_by_label("I declare that I am impartial").check()
        page.get_by_role("button", name="Sign the declaration").click()
        _flash(page, "Your declaration of impartiality has been recorded.")
    new_chair.get_by_role("link", name=candidate_name).click()
    new_chair.wait_for_url(f"**/committee/enrolments/{new_id}")
    expect(new_chair.locator(".reassessment-note")).to_contain_text("new assessment ordered after an upheld appeal")
    db.session.expire_all()
    new = db.session.get(Enrolment, new_id)
    _score_all_met(new, world["spare"])
    _score_all_met(new, world["spare2"])

    # The chair records the (pre-filled, agreed) results and proposes a positive decision; the other approves.
    new_chair.goto(f"/committee/enrolments/{new_id}/consolidation")
    expect(new_chair.locator("table .badge.warn").filter(has_text="differ")).to_have_count(0)
    new_chair.get_by_role("button", name="Record the committee's results").click()
    _flash(new_chair, "The committee's results have been recorded.")
    new_chair.get_by_label("Positive").check()
    new_chair.get_by_role("button", name="Propose the decision").click()
    _flash(new_chair, "The decision has been proposed.")
    expect(new_chair.locator("h2").filter(has_text="Proposed decision: positive")).to_be_visible()
    new_member.goto(f"/committee/enrolments/{new_id}/consolidation")
    new_member.get_by_label("I approve the proposed decision").check()
    new_member.get_by_role("button", name="Record my vote").click()
    _flash(new_member, "Your vote has been recorded.")
    expect(new_member.locator("h2").filter(has_text="Decision: positive")).to_be_visible()
    audit.check(new_member, "the new committee's decision")
    _shot(new_member, "06_new_committee_decision")
    db.session.expire_all()
    positive = committee.decision_for(db.session.get(Enrolment, new_id))
    assert positive is not None and positive.positive
    assert db.session.get(ValidationDecision, decision_id).positive is False  # the first decision is kept

    # 6. Staff certify the reassessment session (not anyone from the first assessment: these staff were not).
    staff.goto(f"/sessions/{session_id}")
    staff.get_by_role("link", name="Certification of this session").click()
    expect(staff.locator("input.pick")).to_have_count(1)
    staff.get_by_role("button", name="Decide for the selected candidates").click()
    staff.wait_for_url("**/jobs/*")
    expect(staff.locator("#job-status")).to_have_text("finished")
    db.session.expire_all()
    certificate = db.session.scalar(select(Certificate).where(Certificate.holder_id == world["candidate"].id))
    assert certificate is not None and certificate.enrolment_id == new_id
    assert certificate.state == CertificateStatus.VALID and certificate.pdf_sha256

    # 7. The candidate: the new assessment's positive result, the first one marked as changed by the
    # appeal, and the certificate under "My certificates".
    me.goto("/sessions/mine")
    me.locator("tr").filter(has_text=session_title).get_by_role("link", name="My result").click()
    me.wait_for_url(f"**/committee/result/{new_id}")
    expect(me.locator(".badge.ok").filter(has_text="Positive")).to_be_visible()
    expect(me.get_by_text("All learning outcomes confirmed")).to_be_visible()
    expect(me.locator(".reassessment-note")).to_be_visible()
    audit.check(me, "the new result")
    _shot(me, "07_candidate_positive")
    me.goto(f"/committee/result/{first.id}")
    expect(me.locator(".decision-changed")).to_have_text("changed by appeal")
    expect(me.locator("#decision-changes .reassessment")).to_contain_text(session_title)
    me.goto("/certification/mine")
    card = me.locator(f'section[data-number="{certificate.number}"]')
    expect(card).to_be_visible()
    expect(card.locator("a.button[download]")).to_be_visible()
    audit.check(me, "my certificates")
    _shot(me, "08_candidate_certificate")
    audit.assert_clean()
