"""The committee's pages only read: opening them (GET) leaves the database as it was — no row
written, no audit entry, no commit. The case page once created the member's scoresheet and ended
an overdue practical attempt (the practical part's committee view); the sheet is now made with the
first scores saved and the attempt is shown as ended by its deadline instead."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from examportal.extensions import db
from examportal.models import AuditEntry, PracticalAttempt, PracticalStatus, Role, Scoresheet, utcnow
from sandbox_crm.models.workspace import Workspace
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_institution,
    make_practical_attempt,
    make_session,
    make_theory_result,
    make_user,
)

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def world(app, qualification):
    institution = make_institution("Fundacja Czytająca", qualifications=[qualification])
    session = make_session(institution, qualification, title="Sesja do czytania")
    candidate = make_user(Role.CANDIDATE, first_name="Zofia", last_name="Zdająca")
    enrolment = enrol(session, candidate)
    theory = make_theory_result(enrolment, qualification)
    assessor = make_user((Role.ASSESSOR, institution), first_name="Edward", last_name="Oceniający")
    add_member(session, assessor, declared=True)
    # The practical attempt ran past its deadline and nobody has ended it yet.
    attempt = make_practical_attempt(enrolment, finished=False)
    attempt.started_at, attempt.deadline_at = utcnow() - timedelta(hours=2), utcnow() - timedelta(minutes=1)
    db.session.commit()
    return {"session": session, "enrolment": enrolment, "theory": theory, "assessor": assessor, "attempt": attempt}


@contextmanager
def recorded() -> Iterator[dict[str, list]]:
    """The write statements run and the commits made inside the block."""
    seen: dict[str, list] = {"writes": [], "commits": []}

    def statement(conn, cursor, sql, parameters, context, executemany):
        if sql.lstrip().upper().startswith(WRITES):
            seen["writes"].append(sql)

    def commit(session):
        seen["commits"].append(session)

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.session, "after_commit", commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.session, "after_commit", commit)


def _counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Scoresheet, AuditEntry, PracticalAttempt, Workspace))


def test_the_case_page_writes_nothing_before_the_first_scores_and_past_the_deadline(app, world):
    assessor = client_as(app, world["assessor"])
    before = _counts()
    with recorded() as seen:
        page = assessor.get(f"/committee/enrolments/{world['enrolment'].id}")
    assert page.status_code == 200
    assert "ended by the deadline" in page.get_data(as_text=True)  # the practical part's committee view
    assert seen == {"writes": [], "commits": []}
    assert _counts() == before
    db.session.expire_all()
    assert db.session.get(PracticalAttempt, world["attempt"].id).status == PracticalStatus.IN_PROGRESS
    assert db.session.get(Workspace, world["attempt"].workspace_id).frozen_at is None


@pytest.mark.parametrize("path", [
    "/committee/enrolments/{enrolment}/consolidation",
    "/theory/sessions/{session}/committee",
    "/theory/sessions/{session}/committee/{theory}",
    "/sessions/{session}/committee-view",
])
def test_the_committees_other_pages_write_nothing(app, world, path):
    assessor = client_as(app, world["assessor"])
    url = path.format(enrolment=world["enrolment"].id, session=world["session"].id, theory=world["theory"].id)
    before = _counts()
    with recorded() as seen:
        response = assessor.get(url)
    assert response.status_code in (200, 302), url
    assert seen == {"writes": [], "commits": []}, url
    assert _counts() == before
