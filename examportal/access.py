"""Who may load what: the loaders views use for the object a URL names, and who may see a
candidate's exam work.

Each loader answers 404 — never 403 — to anyone the object is not for, so a guessed id tells
nothing about whether it exists. Three shapes recur across the areas and live here: a row of a
given parent (:func:`row_or_404` with the parent's column, e.g. an enrolment of *this* session), a
row that names the current user (:func:`own_or_404`: their enrolment, appeal, request ...) and a
row of an institution the current user manages as staff (:func:`staff_row_or_404`). Area-specific
rules (a theory attempt taken only from the exam room, a certificate seen by its institutions)
build on these in their own modules.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.interfaces import ORMOption

from sandbox_crm.params import MAX_ID

from .committee.services import member_of, scoring_refusal
from .extensions import db
from .models import Enrolment, User, ValidationSession
from .practical.services import attempt_for_workspace, reassessing_enrolments
from .security import require_institution, staff_institution_ids
from .sessions.services import trained_pairs

M = TypeVar("M")


def row_or_404(model: type[M], row_id: int, *, options: Sequence[ORMOption] = (), **expected: object) -> M:
    """The row with this id, or 404 — also for an id no INTEGER column holds, which the database
    driver would refuse with an error instead of finding nothing.

    ``expected``: values the row's columns must hold, else 404 too — a row of the parent the URL
    names before it (``row_or_404(Enrolment, enrolment_id, session_id=session.id)``), so that an id
    of another parent's row in the same URL finds nothing. ``options``: loader options of the query.
    """
    if not 0 < row_id <= MAX_ID:
        abort(404)
    row = db.session.get(model, row_id, options=options)
    if row is None or any(getattr(row, column) != value for column, value in expected.items()):
        abort(404)
    return row


def own_or_404(model: type[M], row_id: int, owner: str = "candidate_id") -> M:
    """A row that names the current user in its ``owner`` column: theirs as the candidate, the
    appellant, the holder, the assigned assessor ... Anyone else's is not found."""
    return row_or_404(model, row_id, **{owner: current_user.id})


def staff_row_or_404(model: type[M], row_id: int, institution_of: Callable[[M], int]) -> M:
    """A row of an institution the current user manages as staff (see :func:`staff_institution_ids`);
    ``institution_of`` says which institution the row belongs to (its own column, or its session's)."""
    row = row_or_404(model, row_id)
    require_institution(institution_of(row), staff_institution_ids())
    return row


def staff_session_or_404(session_id: int) -> ValidationSession:
    """A session of an institution the current user manages as staff."""
    return staff_row_or_404(ValidationSession, session_id, lambda session: session.institution_id)


def own_enrolment_or_404(enrolment_id: int) -> Enrolment:
    """An enrolment of the current user as a candidate. Without its extra committee member, which
    an enrolment otherwise loads with it for the staff's lists: no candidate's page shows it, and
    the waiting page and the start, which the whole room asks for at once, save a query."""
    return row_or_404(Enrolment, enrolment_id, options=[lazyload(Enrolment.extra_members)], candidate_id=current_user.id)


def operated_session_or_404(session_id: int) -> ValidationSession:
    """A session the current user is the exam-system operator of (the check-in desk, the console)."""
    return own_or_404(ValidationSession, session_id, owner="operator_id")


# --------------------------------------------------------------------------- who may see exam work
#
# A candidate's exam work (the theory answers, the practical workspace and its action log) has
# three audiences, each with its own rule, since each follows its own procedure:
#
# * those assessing it: :func:`may_see_exam_work` (the practical workspace in the sandbox);
# * the session's committee reading the theory results: :func:`declared_member_session_or_404` for
#   the session's list, and for one candidate's answers :func:`work_refusal`;
# * an appeal: the candidate while staff keep their request to see the work open, and the
#   appeal's panel after declaring impartiality (``appeals.views``: ``review_work``, ``panel_work``).
#   Staff of the certifying institution decide the request but never see the work there.
#
# The committee's case page (``committee.views``) shows the practical part to the member who may
# assess the candidate (``committee.services.scoring_refusal``): that is the committee's half of
# :func:`may_see_exam_work`; the case page is where one scores, which staff do not.


def may_see_exam_work(user: User, enrolment: Enrolment) -> bool:
    """Whether ``user`` may look at the enrolment's exam work as it is assessed: a member of the
    committee assessing it who may assess the candidate (declared impartiality, did not train them,
    is not the candidate, the candidate still enrolled), or staff of that session's institution —
    for the enrolment's own committee and for that of every new assessment of the same work
    ordered by an appeal (:func:`~examportal.practical.services.reassessing_enrolments`)."""
    staff_of = staff_institution_ids(user)
    for assessed in (enrolment, *reassessing_enrolments(enrolment)):
        member = member_of(assessed, user)
        if member is not None and scoring_refusal(member, assessed) is None:
            return True
        if assessed.session.institution_id in staff_of:
            return True
    return False


def work_refusal(member: User, enrolment: Enrolment) -> str | None:
    """Why a member of the candidate's committee may not read the candidate's answers, or None: the
    rule of who may assess them (``committee.services.scoring_refusal``: not the candidate, not one
    who trained them, the declaration signed, the candidate still enrolled)."""
    return scoring_refusal(member_of(enrolment, member), enrolment)


def work_refusals(member: User, enrolments: Sequence[Enrolment]) -> dict[int, str | None]:
    """:func:`work_refusal` for each of ``enrolments``, by enrolment id: whom the member trained is
    read once for the whole list (a session's list of a thousand candidates, not a query each)."""
    trained = {record.candidate_id for record in trained_pairs([member.id], [e.candidate_id for e in enrolments])}
    return {e.id: scoring_refusal(member_of(e, member), e, trained) for e in enrolments}


def may_read_exam_workspace(user: User, workspace_id: int) -> bool:
    """Whether ``user`` may look (read only) at an exam workspace of the sandbox CRM: the work of
    its attempt's enrolment, by :func:`may_see_exam_work`. Not for a practice workspace."""
    attempt = attempt_for_workspace(workspace_id)
    return attempt is not None and may_see_exam_work(user, attempt.enrolment)


def declared_member_session_or_404(session_id: int) -> ValidationSession:
    """A session on whose standing committee the current user sits, for the committee's view of the
    theory results and answers of every candidate of the session; before the member has signed the
    declaration of impartiality, a redirect to sign it. Unlike :func:`may_see_exam_work` it opens
    the whole session's list at once, to the standing committee only (a member appointed for one
    candidate after a dissent is not on it), and asks nothing about a single candidate (whether
    the member trained them, whether they were withdrawn)."""
    session = row_or_404(ValidationSession, session_id)
    member = next((m for m in session.committee if m.assessor_id == current_user.id), None)
    if member is None:
        abort(404)
    if not member.has_declared:
        flash(_("Sign the declaration of impartiality before you see the candidates' work."), "warning")
        abort(redirect(url_for("sessions.committee_view", session_id=session.id)))
    return session
