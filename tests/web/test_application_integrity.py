"""Nobody decides their own case: a staff member who applies as a candidate to their institution's
session is checked by another staff member, never by themself."""
from __future__ import annotations

import pytest
from flask_babel import force_locale

from examportal.applications import services as applications
from examportal.extensions import db
from examportal.models import ApplicationStatus, Role, UserRole
from tests.factories import (
    client_as,
    make_applicant,
    make_application,
    make_institution,
    make_published_session,
    make_user,
)


@pytest.fixture
def insider_application(app, qualification):
    """A staff member of the institution applies to its session asking for 240 extra minutes."""
    ic = make_institution("Fundacja PF", qualifications=[qualification], short_name="PF")
    published = make_published_session(ic, qualification)
    insider = make_applicant(first_name="Iwona", last_name="Wewnętrzna", locale="en")
    insider.roles.append(UserRole(role=Role.STAFF, institution_id=ic.id))
    db.session.commit()
    return {"ic": ic, "insider": insider, "staff": make_user((Role.STAFF, ic)),
            "application": make_application(published, insider, extra_time_minutes=240)}


def test_staff_do_not_decide_their_own_application(insider_application):
    """The insider may neither accept (granting themself the extra time) nor reject their own
    application; the refusal says why."""
    application, insider = insider_application["application"], insider_application["insider"]
    with force_locale("en"):
        assert "your own application" in applications.decide_refusal(insider, application)
        with pytest.raises(applications.ApplicationError, match="your own application"):
            applications.accept(insider, application, extra_time_minutes=240)
        db.session.rollback()
        with pytest.raises(applications.ApplicationError, match="your own application"):
            applications.reject(insider, application, "Rezygnuję.")
        db.session.rollback()
    assert application.status == ApplicationStatus.SUBMITTED and application.enrolment_id is None


def test_another_staff_member_decides_a_colleagues_application(insider_application):
    """The legitimate path: another staff member of the institution accepts it."""
    application = insider_application["application"]
    assert applications.decide_refusal(insider_application["staff"], application) is None
    outcome = applications.accept(insider_application["staff"], application, extra_time_minutes=30)
    assert outcome.application.status == ApplicationStatus.ACCEPTED
    assert outcome.application.enrolment.extra_time_minutes == 30


def test_the_session_page_offers_no_decision_on_ones_own_application(app, insider_application):
    """The insider's session page names why they do not decide their own application instead of
    offering accept and reject forms that would be refused; a colleague's page offers them."""
    application = insider_application["application"]
    session_url = f"/sessions/{application.session_id}"
    page = client_as(app, insider_application["insider"]).get(session_url).get_data(as_text=True)
    assert f"/applications/{application.id}/accept" not in page and f"/applications/{application.id}/reject" not in page
    assert "your own application" in page
    colleague_page = client_as(app, insider_application["staff"]).get(session_url).get_data(as_text=True)
    assert f"/applications/{application.id}/accept" in colleague_page and "your own application" not in colleague_page
