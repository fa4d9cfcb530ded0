"""People's requests about their personal data (RODO art. 15-17) and their review by staff.

* A copy of everything held (art. 15) is given at once, as a download (see :mod:`.export`); it is
  recorded as a granted request of kind ``access`` and audited.
* A correction (art. 16) says what is wrong; staff grant it, saying what they did, or refuse it
  with the reason. Data printed on a certificate is corrected where certificates are: the
  certificate's page reissues a corrected certificate.
* An erasure (art. 17) is granted only when nothing must be kept (:func:`.retention.retention_of`):
  the person is then anonymised. While the law keeps the records, granting is refused by this code,
  which records the retention reasons and the first day erasure is possible.

A person has at most one open request of each kind and may withdraw it. Who reviews: staff of the
institution the person last dealt with (their latest enrolment or application, else the
institution they hold a role at) — and staff of its certifying institution, whose staff manage
their validating institutions' files. A request of someone who never dealt with an institution
(``institution_id`` None) is the platform's: its administrators review it. Everyone who may
review a new request is mailed when it is filed, with the day the law's month to answer ends
(RODO art. 12(3)).

Every change is audited (ids only; free text as a digest) and each decision is mailed to the
person in their language. Each function commits once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import render_template
from flask_babel import force_locale, gettext
from sqlalchemy import Select, false, or_, select

from ..audit import services as audit_log
from ..certification import services as certification
from ..certification.rules import WARSAW
from ..extensions import db
from ..mail.services import queue_localised, queue_mail
from ..models import (
    Application,
    Certificate,
    CertificateStatus,
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    Enrolment,
    Role,
    User,
    UserRole,
    ValidationSession,
    utcnow,
)
from ..renewals.rules import add_months
from ..security import public_url, role_holders, staff_institution_ids
from . import export
from .retention import Retention, anonymise, retention_of

#: The longest text a person or staff may write (a page of text; a bound on what a form posts).
MAX_TEXT = 5000


def _(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel ships no type information)."""
    return str(gettext(text, **values))


class DataRequestError(ValueError):
    """A rule refused the action; the message says why (translated)."""


# --------------------------------------------------------------------------- who reviews


def responsible_institution_id(user: User) -> int | None:
    """The institution that reviews ``user``'s requests: that of their latest enrolment or
    application; without any, the institution of a role they hold; None if neither."""
    moments: list[tuple[Any, int]] = []
    for moment, institution_id in db.session.execute(
            select(Enrolment.created_at, ValidationSession.institution_id)
            .join(ValidationSession, Enrolment.session_id == ValidationSession.id)
            .where(Enrolment.candidate_id == user.id)):
        moments.append((moment, institution_id))
    for moment, institution_id in db.session.execute(
            select(Application.submitted_at, ValidationSession.institution_id)
            .join(ValidationSession, Application.session_id == ValidationSession.id)
            .where(Application.candidate_id == user.id)):
        moments.append((moment, institution_id))
    if moments:
        return max(moments, key=lambda pair: pair[0])[1]
    return db.session.scalar(select(UserRole.institution_id).where(
        UserRole.user_id == user.id, UserRole.institution_id.is_not(None)).order_by(UserRole.id))


def may_review(user: User, request: DataRequest) -> bool:
    """Whether ``user`` reviews this request: staff of its institution (or of that institution's
    certifying one); the platform's administrators for a request no institution holds."""
    if request.institution_id is None:
        return user.has_role(Role.ADMIN)
    return request.institution_id in staff_institution_ids(user)


def reviewers(request: DataRequest) -> list[User]:
    """The active accounts :func:`may_review` lets decide ``request``, but the person's own: staff
    of its institution and of that institution's certifying one, or the platform's administrators."""
    if request.institution_id is None:
        return _administrators(request)
    institution = request.institution
    holding = [request.institution_id] + ([institution.parent_id] if institution and institution.parent_id else [])
    return [person for person in role_holders(holding, [Role.STAFF]) if person.id != request.user_id]


def _administrators(request: DataRequest) -> list[User]:
    """The platform's active administrators, but the person who made ``request``."""
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True), User.id != request.user_id)
        .distinct().order_by(User.id)))


#: The further months RODO art. 12(3) allows to answer a complex request (or one of many), once
#: the person is told within the first month why.
EXTENSION_MONTHS = 2


def answer_by(request: DataRequest) -> date:
    """The last day of the month the law gives to answer a request (RODO art. 12(3)), counted from
    the day it was made in Poland (31 January → 28 or 29 February), and two months later once
    staff have extended it (:func:`extend`). On the safe side, a day that is a Saturday, Sunday or
    holiday is not moved to the next working day (Regulation 1182/71 would). The further months run
    from the first month's last day (31 January → 28 February → 28 April)."""
    first_month = add_months(request.created_at.astimezone(WARSAW).date(), 1)
    return add_months(first_month, EXTENSION_MONTHS) if request.extended_at else first_month


def reviewable(user: User) -> Select[DataRequest]:
    """The requests ``user`` reviews, open ones first (oldest first), then the decided ones."""
    institutions = staff_institution_ids(user)
    scope = [DataRequest.institution_id.in_(institutions)] if institutions else []
    if user.has_role(Role.ADMIN):
        scope.append(DataRequest.institution_id.is_(None))
    return (select(DataRequest).where(or_(*scope) if scope else false(), DataRequest.kind != DataRequestKind.ACCESS)
            .order_by((DataRequest.status != DataRequestStatus.OPEN), DataRequest.created_at, DataRequest.id))


def open_count(user: User) -> int:
    """How many requests wait for ``user``'s review (for the dashboard)."""
    return len(list(db.session.scalars(reviewable(user).where(DataRequest.status == DataRequestStatus.OPEN))))


# --------------------------------------------------------------------------- the person's side


def requests_of(user: User) -> list[DataRequest]:
    """The person's requests, newest first."""
    return list(db.session.scalars(select(DataRequest).where(DataRequest.user_id == user.id)
                                   .order_by(DataRequest.created_at.desc(), DataRequest.id.desc())))


def open_request(user: User, kind: DataRequestKind) -> DataRequest | None:
    return db.session.scalar(select(DataRequest).where(DataRequest.user_id == user.id, DataRequest.kind == kind,
                                                       DataRequest.status == DataRequestStatus.OPEN))


def _audit(action: str, request: DataRequest, actor: User | None, before: dict[str, Any] | None = None,
           **after: Any) -> None:
    audit_log.record(action, request, before=before, after={
        "kind": request.kind, "status": request.status, "user_id": request.user_id, **after},
        actor=actor, institution_id=request.institution_id)


def copy_of_data(user: User) -> tuple[DataRequest, bytes]:
    """Everything held about ``user`` as a ZIP (see :mod:`.export`), recorded as a granted request
    for a copy and audited (how many files and documents, never their content)."""
    archive = export.collect(user)
    request = DataRequest(user_id=user.id, institution_id=responsible_institution_id(user),
                          kind=DataRequestKind.ACCESS, status=DataRequestStatus.GRANTED, decided_at=utcnow())
    db.session.add(request)
    db.session.flush()
    # The copy names the request it answers (the request itself is in it as it is now).
    archive.files["data_requests.json"] = [*archive.files.get("data_requests.json", []), export.row(request)]
    data = export.to_zip(archive)
    _audit("data_request.copy_downloaded", request, user, files=len(archive.files), documents=archive.document_count)
    db.session.commit()
    return request, data


def _locked_person(user: User) -> User:
    """The person's row, locked: two requests filed at once are serialised (one open per kind)."""
    return db.session.scalars(select(User).where(User.id == user.id).with_for_update(key_share=True)).one()


def ask(user: User, kind: DataRequestKind, details: str | None) -> DataRequest:
    """File a request for a correction (``details`` says what is wrong: required) or erasure
    (``details`` optional); one open request per kind."""
    if kind == DataRequestKind.ACCESS:
        raise ValueError("a copy of the data is given at once (copy_of_data), never asked for")
    text = (details or "").strip()
    if kind == DataRequestKind.CORRECTION and not text:
        raise DataRequestError(_("Say what is wrong and what it should be."))
    if len(text) > MAX_TEXT:
        raise DataRequestError(_("Shorten the text to %(n)d characters.", n=MAX_TEXT))
    _locked_person(user)
    if open_request(user, kind) is not None:
        raise DataRequestError(_("You already have an open request for %(kind)s: wait for its answer or withdraw it.",
                                 kind=kind.label))
    request = DataRequest(user_id=user.id, institution_id=responsible_institution_id(user), kind=kind,
                          details=text or None)
    db.session.add(request)
    db.session.flush()
    _audit("data_request.filed", request, user)
    link, deadline = public_url("records.staff_show", data_request_id=request.id), answer_by(request)
    people = reviewers(request)
    for reviewer in people:
        queue_localised(reviewer, "data_request_filed_staff", lambda: _("A request about personal data to review"),
                        data_request=request, answer_by=deadline, link=link)
    if not people and request.institution_id is not None:
        # Nobody may review it (no active staff, or the only one filed it): the administrators,
        # who grant staff roles, are told, so that the month to answer does not run out unseen.
        people_link = public_url("institution.people", institution_id=request.institution_id)
        for admin in _administrators(request):
            queue_localised(admin, "data_request_unreviewable_admin",
                            lambda: _("A request about personal data that nobody can review"),
                            data_request=request, answer_by=deadline, link=people_link)
    db.session.commit()
    return request


def withdraw(user: User, request: DataRequest) -> DataRequest:
    """The person withdraws their open request."""
    request = _locked(request)
    if request.user_id != user.id:
        raise DataRequestError(_("Only the person who made the request may withdraw it."))
    if request.status != DataRequestStatus.OPEN:
        raise DataRequestError(_("The request has already been %(status)s.", status=request.status.label))
    request.status, request.decided_at = DataRequestStatus.WITHDRAWN, utcnow()
    _audit("data_request.withdrawn", request, user, before={"status": DataRequestStatus.OPEN})
    db.session.commit()
    return request


# --------------------------------------------------------------------------- review


def _locked(request: DataRequest) -> DataRequest:
    """The request as it is now, locked: two reviewers acting at once are serialised."""
    current = db.session.scalar(select(DataRequest).where(DataRequest.id == request.id).with_for_update()
                                .execution_options(populate_existing=True))
    if current is None:
        raise DataRequestError(_("The request no longer exists."))
    return current


def _reviewed(staff: User, request: DataRequest, kind: DataRequestKind | None = None) -> DataRequest:
    request = _locked(request)
    if not may_review(staff, request):
        raise DataRequestError(_("Only staff of the institution holding the person's records may decide this request."))
    if request.user_id == staff.id:
        raise DataRequestError(_("Your own request is decided by someone else."))
    if request.status != DataRequestStatus.OPEN:
        raise DataRequestError(_("The request has already been %(status)s.", status=request.status.label))
    if kind is not None and request.kind != kind:
        raise DataRequestError(_("This is not a request for %(kind)s.", kind=kind.label))
    return request


def _text(value: str | None, missing: str) -> str:
    text = (value or "").strip()
    if not text:
        raise DataRequestError(missing)
    if len(text) > MAX_TEXT:
        raise DataRequestError(_("Shorten the text to %(n)d characters.", n=MAX_TEXT))
    return text


def _decide(staff: User, request: DataRequest, status: DataRequestStatus, reason: str,
            possible_on: date | None = None) -> None:
    request.status, request.reason, request.possible_on = status, reason, possible_on
    request.decided_by_id, request.decided_at = staff.id, utcnow()
    db.session.flush()
    _audit(f"data_request.{status.value}", request, staff, before={"status": DataRequestStatus.OPEN},
           decided_by=staff.id, reason=reason, possible_on=possible_on)


def _mail(request: DataRequest) -> None:
    queue_localised(request.user, "data_request_decided", lambda: _subject(request), data_request=request,
                    name=request.user.first_name, mine_link=public_url("records.mine"))


def _subject(request: DataRequest) -> str:
    if request.status == DataRequestStatus.GRANTED:
        return _("Your request for %(kind)s has been granted", kind=request.kind.label)
    return _("Your request for %(kind)s has been refused", kind=request.kind.label)


def grant_correction(staff: User, request: DataRequest, done: str | None) -> DataRequest:
    """Staff grant a correction, saying what they corrected (the person receives it)."""
    request = _reviewed(staff, request, DataRequestKind.CORRECTION)
    text = _text(done, _("Say what was corrected: the person receives it."))
    _decide(staff, request, DataRequestStatus.GRANTED, text)
    _mail(request)
    db.session.commit()
    return request


def refuse(staff: User, request: DataRequest, reason: str | None) -> DataRequest:
    """Staff refuse a correction or an erasure, with the reason the person receives. An erasure
    refused while the records must be kept also names the first day it is possible."""
    request = _reviewed(staff, request)
    text = _text(reason, _("Give the reason for the refusal: the person receives it."))
    possible_on = None
    if request.kind == DataRequestKind.ERASURE:
        retention = retention_of(request.user)
        possible_on = None if _erasable(retention) else retention.erasable_from
    _decide(staff, request, DataRequestStatus.REFUSED, text, possible_on)
    _mail(request)
    db.session.commit()
    return request


def extension_refusal(request: DataRequest, now: datetime | None = None) -> str | None:
    """Why the time to answer ``request`` cannot be extended (now), or None: once only, while it is
    open, and within the first month (the person must be told before it ends)."""
    if request.status != DataRequestStatus.OPEN:
        return _("The request has already been %(status)s.", status=request.status.label)
    if request.extended_at is not None:
        return _("The time to answer has already been extended; the law allows it once.")
    if (now or utcnow()).astimezone(WARSAW).date() > answer_by(request):
        return _("The month to answer is over: the time can be extended only within it.")
    return None


def extend(staff: User, request: DataRequest, reason: str | None, now: datetime | None = None) -> DataRequest:
    """Staff extend the time to answer by two months (RODO art. 12(3): a complex request, or many),
    telling the person why (:func:`extension_refusal` says when it is not possible)."""
    now = now or utcnow()
    request = _reviewed(staff, request)
    refused = extension_refusal(request, now)
    if refused:
        raise DataRequestError(refused)
    text = _text(reason, _("Give the reason for the extension: the person receives it."))
    before = {"answer_by": answer_by(request)}
    request.extended_at, request.extended_by_id, request.extension_reason = now, staff.id, text
    db.session.flush()
    until = answer_by(request)
    _audit("data_request.extended", request, staff, before=before, answer_by=until, reason=text)
    queue_localised(request.user, "data_request_extended",
                    lambda: _("The answer to your request for %(kind)s will take longer", kind=request.kind.label),
                    data_request=request, answer_by=until, name=request.user.first_name,
                    mine_link=public_url("records.mine"))
    db.session.commit()
    return request


@dataclass(frozen=True)
class ErasureOutcome:
    """What :func:`erase` did: granted (the person is anonymised) or refused by the retention."""

    request: DataRequest
    granted: bool


def _erasable(retention: Retention) -> bool:
    """Whether nothing keeps the records any longer (erasure possible today)."""
    return retention.erasable_on <= retention.as_of


def erase(staff: User, request: DataRequest) -> ErasureOutcome:
    """Staff grant an erasure. Granted only when nothing must be kept: the person is anonymised
    (and can no longer sign in). Otherwise the code refuses it — whatever staff wanted — and the
    refusal records the retention's reasons and the first day erasure is possible."""
    request = _reviewed(staff, request, DataRequestKind.ERASURE)
    person = request.user
    retention = retention_of(person)
    if not _erasable(retention):
        reason = "\n".join(retention.reasons) or _("The law requires the records to be kept.")
        _decide(staff, request, DataRequestStatus.REFUSED, reason, retention.erasable_from)
        _mail(request)
        db.session.commit()
        return ErasureOutcome(request, granted=False)
    # Told before the account's address is replaced; the message names nobody (the outbox row
    # outlives the person's data only until it is sent).
    address, locale, request_id = person.email, person.locale or "pl", request.id
    anonymise(person, actor=staff, cause="erasure")
    request = _locked(db.session.get_one(DataRequest, request_id))
    _decide(staff, request, DataRequestStatus.GRANTED, _("The personal data has been erased."))
    with force_locale(locale):
        subject = _("Your request for %(kind)s has been granted", kind=request.kind.label)
        body = render_template("mail/data_request_decided.txt", data_request=request, name=None, mine_link=None)
    queue_mail(address, subject, body, user=request.user)
    db.session.commit()
    return ErasureOutcome(request, granted=True)


# --------------------------------------------------------------------------- the review page


def certificates_to_correct(staff: User, request: DataRequest) -> list[Certificate]:
    """The person's standing certificates ``staff`` may correct (a correction of data printed on
    one is made there: a corrected certificate is reissued)."""
    standing = (CertificateStatus.VALID, CertificateStatus.SUSPENDED)
    found = db.session.scalars(select(Certificate).where(Certificate.holder_id == request.user_id,
                                                         Certificate.state.in_(standing))
                               .order_by(Certificate.issued_on.desc(), Certificate.id.desc()))
    return [c for c in found if certification.can_view(staff, c)]


def retention_for(request: DataRequest) -> tuple[Retention, bool]:
    """The retention of the person of an erasure request, and whether erasure is possible today."""
    retention = retention_of(request.user)
    return retention, _erasable(retention)
