"""Rules of the theory test: the attempt's lifecycle (the bank, the start, autosave, submission,
expiry), the operator's actions, release.

The pure parts take plain data and are unit-tested without a request: the blueprint draw
(:mod:`.draw`), the server-side clock (:mod:`.clock`), scoring (:mod:`.scoring`) and
``read_form_answer``; the rest read and write the database and commit.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Insert,
    Select,
    Text,
    Update,
    bindparam,
    case,
    event,
    exists,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction, selectinload

from question_bank import items as bank

from ..audit import services as audit_log
from ..extensions import db
from ..models import (
    AttemptAnswer,
    AttemptItem,
    AttemptStatus,
    Criterion,
    Enrolment,
    EnrolmentStatus,
    LearningOutcome,
    OperatorAction,
    OperatorActionKind,
    OutcomeSet,
    Qualification,
    TheoryAttempt,
    User,
    ValidationSession,
    VoidedItem,
    utcnow,
)
from ..models.theory import EMPTY_ANSWERS_JSON, is_answer
from ..operator import services as operator_rules
from .clock import CONTACT_WRITE_SECONDS, accommodation_seconds, add_months, connection_state, last_contact, seconds_shown, time_left
from .draw import DrawError, DrawnItem, draw_balanced
from .errors import TheoryError
from .reliability import FormItem, pass_probabilities
from .scoring import decides_pass, item_of, points_for, score_items

DEFAULT_BANK = Path(__file__).resolve().parents[2] / "question_bank" / "items"
ATTEMPT_FIELDS = ("status", "started_at", "deadline_at", "paused_at", "paused_seconds_total", "extra_seconds",
                  "submitted_at", "score_points", "score_percent", "passed", "released_at")


class StaleTab(TheoryError):
    """An answer sent with a sequence number another window of the same attempt already used for a
    different answer: this window is out of date and must reload (its answer is not taken)."""

    status_code = 409


class AttemptClosed(TheoryError):
    """The attempt no longer accepts answers (submitted, or the time is up)."""

    status_code = 409


class AttemptPaused(TheoryError):
    """The operator paused the attempt: nothing is accepted until they resume it."""

    status_code = 409


# --------------------------------------------------------------------------- pure: reading a form answer


def read_form_answer(form, presented: Mapping[str, Any]) -> Any:
    """The raw answer in ``form`` for an item shown as ``presented``; None when nothing was chosen.

    The item's type reads its own fields (``QuestionType.read_form``); its messages are msgids,
    translated here, where the portal reads every form answer."""
    try:
        question_type = bank.get_type(str(presented.get("type")))
    except bank.ItemFormatError:
        raise bank.ResponseError(_("This question type cannot be answered here.")) from None
    try:
        return question_type.read_form(form, presented)
    except bank.FormAnswerError as error:
        raise bank.ResponseError(_(error.msgid, **error.params)) from None


# --------------------------------------------------------------------------- the candidate's page: opaque ids

PRESENTED_PARTS = ("options", "premises", "responses")


def page_ids(attempt_item: AttemptItem) -> dict[str, str]:
    """Each option, premise and response id of the item → the opaque id the candidate's page uses.

    The bank's ids follow the author's order (a matching key is often p1→r1, p2→r2), so a page
    that carried them would give the key away to anyone reading its source. Page ids are keyed
    hashes of the attempt item and the id: stable for the attempt (a reload, an offline replay),
    unrelated between attempts, and meaningless without the server's secret.
    """
    secret = str(current_app.config["SECRET_KEY"]).encode()
    presented = attempt_item.snapshot["presented"]
    ids = [i for part in PRESENTED_PARTS for i in presented.get(part, [])]
    return {i: "v" + hmac.new(secret, f"theory-page-id:{attempt_item.id}:{i}".encode(), hashlib.sha256).hexdigest()[:16]
            for i in ids}


def _translate(value: Any, mapping: Mapping[str, str]) -> Any:
    """``value`` (an answer: an id, a list of ids, premise → response) with every id mapped."""
    if isinstance(value, str):
        if value not in mapping:
            raise bank.ResponseError(_("This answer is not one of the question's options. Reload the page."))
        return mapping[value]
    if isinstance(value, list):
        return [_translate(v, mapping) for v in value]
    if isinstance(value, dict):
        return {_translate(k, mapping): _translate(v, mapping) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class PageForm:
    """How the candidate's page showed one attempt item: what its form reads, in page ids."""

    shown: dict[str, Any]
    from_page: dict[str, str]

    def read(self, form) -> Any:
        """The answer in a form sent from the page, in the bank's ids (see :func:`page_ids`)."""
        return _translate(read_form_answer(form, self.shown), self.from_page)


def page_form(attempt_item: AttemptItem) -> PageForm:
    """The item as its page's form shows it (the same for every answer to it: its snapshot never changes)."""
    to_page = page_ids(attempt_item)
    presented = attempt_item.snapshot["presented"]
    shown = {**presented, **{part: [to_page[i] for i in presented.get(part, [])] for part in PRESENTED_PARTS}}
    return PageForm(shown, {page: internal for internal, page in to_page.items()})


def read_page_answer(form, attempt_item: AttemptItem) -> Any:
    """The answer in a form sent from the candidate's page, in the bank's ids (see :func:`page_ids`)."""
    return page_form(attempt_item).read(form)


def candidate_display(attempt_item: AttemptItem, locale: str) -> dict[str, Any]:
    """What the candidate's page shows of an item: :func:`display` with page ids, no key, and the
    stored answer in page ids."""
    to_page = page_ids(attempt_item)
    shown = display(attempt_item.snapshot, locale)
    for part in PRESENTED_PARTS:
        shown[part] = [(to_page[i], text) for i, text in shown[part]]
    shown["choices"] = [(to_page[c], c) for c in shown["choices"]]
    shown.pop("key", None)
    shown.pop("rationale", None)
    response = attempt_item.response
    shown["response"] = response if isinstance(response, bool) or response is None else _translate(response, to_page)
    return shown


# --------------------------------------------------------------------------- pure: display


def _text(text: Mapping[str, str] | None, locale: str) -> str:
    if not text:
        return ""
    return text.get(locale) or text["pl"]


def display(snapshot: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """The item of a snapshot in the order it was shown, with texts in ``locale`` (Polish as fallback)."""
    item, presented = snapshot["item"], snapshot["presented"]
    question_type = bank.get_type(item["type"])

    def ordered(part: str, order_key: str) -> list[tuple[str, str]]:
        texts = {o["id"]: _text(o["text"], locale) for o in item.get(part, [])}
        return [(oid, texts[oid]) for oid in presented.get(order_key, []) if oid in texts]

    return {
        "type": item["type"],
        "stem": _text(item["stem"], locale),
        "options": ordered("options", "options"),
        "premises": ordered("premises", "premises"),
        "responses": ordered("responses", "responses"),
        "choices": question_type.display_choices(presented),
        "template": question_type.template,
        "rationale": _text(item.get("rationale"), locale),
        "key": item.get("key"),
        "criteria": item.get("criteria", []),
    }


# --------------------------------------------------------------------------- the database side


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def test_criteria(qualification_id: int) -> list[str]:
    """Codes of the qualification's criteria verified by the theory test."""
    return list(db.session.scalars(
        select(Criterion.code).join(LearningOutcome).join(OutcomeSet)
        .where(OutcomeSet.qualification_id == qualification_id, Criterion.method == bank.TEST_METHOD)
        .order_by(Criterion.code)
    ))


def all_bank_items() -> list[bank.Item]:
    """Every item of the bank (THEORY_ITEM_BANK, else question_bank/items), whatever its state; BankError if unusable.

    Parsed once per process and file state: re-parsing the YAML bank on every draw cost more
    than half a second of CPU per test start on an exam day. Items are frozen, so sharing is safe;
    an edited file (size or modification time) is read again.
    """
    path = Path(current_app.config.get("THEORY_ITEM_BANK") or DEFAULT_BANK)
    if not path.exists():
        return bank.load_items(path)  # raises BankError naming the path
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    stamp = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file())
    return list(_load_bank_cached(str(path), stamp))


@functools.lru_cache(maxsize=8)
def _load_bank_cached(path: str, stamp: tuple) -> tuple[bank.Item, ...]:
    # ``stamp`` is part of the cache key only; a BankError is not cached (lru_cache keeps results only).
    return tuple(bank.load_items(path))


def bank_items() -> list[bank.Item]:
    """The approved items of the bank (THEORY_ITEM_BANK, else question_bank/items); DrawError if it
    cannot be loaded. Drafts, items under review, retired and voided items are never drawn."""
    voided = voided_ids()
    try:
        return [item for item in all_bank_items() if item.approved and item.id not in voided]
    except bank.BankError as error:
        current_app.logger.error("theory item bank unusable: %s", error)
        raise DrawError(_("The item bank cannot be used at the moment. Tell the operator.")) from error


def reliability(qualification: Qualification, forms: int = 100, trials: int = 4000,
                seed: int = 13881) -> dict[float, float]:
    """The probability of passing the theory part by true ability, for the current bank, blueprint
    and decision rule (see :mod:`.reliability`): ``forms`` forms drawn as attempts are, facilities
    from the item statistics of every institution where an item has enough responses."""
    from .statistics import MIN_RESPONSES

    config = qualification.rules.theory
    criteria = test_criteria(qualification.id)
    items = bank_items()
    institution_ids = set(db.session.scalars(select(ValidationSession.institution_id).distinct()))
    facilities = {s.item_id: s.facility for s in item_statistics(institution_ids)
                  if s.responses >= MIN_RESPONSES and s.facility is not None}
    drawn = [draw_balanced(items, criteria, config.item_count, seed + n) for n in range(forms)]
    form_items = [[FormItem(tuple(d.item.criteria), facilities.get(d.item.id)) for d in form] for form in drawn]
    return pass_probabilities(form_items, criteria, config.pass_mark_percent, config.decision_rule,
                              trials=trials, seed=seed)


def takes_the_test(enrolment: Enrolment) -> bool:
    """Enrolled, the theory part not recognised from an earlier validation, and no new assessment
    of earlier work ordered by an appeal (that enrolment's parts were taken in its first session)."""
    return (enrolment.status == EnrolmentStatus.ENROLLED and enrolment.theory_recognized_from_id is None
            and enrolment.reassessment_of_id is None)


def _existing_attempts(session: ValidationSession, listed: bool = True) -> dict[int, TheoryAttempt]:
    """The session's attempts by enrolment; ``listed``: with their candidates (the lists sort by name)."""
    query = select(TheoryAttempt).where(TheoryAttempt.session_id == session.id)
    return {a.enrolment_id: a for a in db.session.scalars(
        query.options(selectinload(TheoryAttempt.candidate)) if listed else query)}


def _listed(session: ValidationSession, attempts: dict[int, TheoryAttempt]) -> list[TheoryAttempt]:
    """The attempts of candidates who take the test here, and any started one, by name."""
    active = {e.id for e in session.enrolments if takes_the_test(e)}
    return sorted((a for a in attempts.values() if a.enrolment_id in active or a.started_at is not None),
                  key=lambda a: (a.candidate.last_name, a.candidate.first_name, a.id))


def _create_missing_attempts(session: ValidationSession, existing: dict[int, TheoryAttempt]) -> bool:
    """Add an attempt (not started) for every enrolled candidate who takes the test and has none;
    whether any was added (flushed, in the caller's transaction)."""
    limit = session.qualification.rules.theory.time_limit_minutes * 60
    created = False
    for enrolment in session.enrolments:
        if takes_the_test(enrolment) and enrolment.id not in existing:
            attempt = TheoryAttempt(enrolment_id=enrolment.id, candidate_id=enrolment.candidate_id,
                                    session_id=session.id, seed=secrets.randbits(62), time_limit_seconds=limit,
                                    status=AttemptStatus.NOT_STARTED)
            db.session.add(attempt)
            existing[enrolment.id] = attempt
            created = True
    if created:
        db.session.flush()
    return created


def ensure_attempts(session: ValidationSession) -> list[TheoryAttempt]:
    """One attempt (not started) for every enrolled candidate of the session who takes the test
    (:func:`takes_the_test`); returns all of them. Those it creates are in the caller's transaction."""
    existing = _existing_attempts(session)
    _create_missing_attempts(session, existing)
    return _listed(session, existing)


def open_console(session: ValidationSession) -> None:
    """The operator's console lists every candidate's attempt: create those not made yet (by the
    check-in, an action) and commit them, so the ids the console shows are the attempts' own."""
    if _create_missing_attempts(session, _existing_attempts(session, listed=False)):
        db.session.commit()


def attempt_for_enrolment(enrolment: Enrolment, lock: bool = False) -> TheoryAttempt | None:
    """The enrolment's attempt; with ``lock``, read FOR UPDATE (as :func:`_locked` reads it, so the
    services that lock it again in this transaction read nothing more)."""
    where = TheoryAttempt.enrolment_id == enrolment.id
    return _read_locked(where) if lock else db.session.scalar(select(TheoryAttempt).where(where))


def counted_attempt(enrolment: Enrolment) -> TheoryAttempt | None:
    """The attempt whose result counts for the enrolment: its own, or — its theory part recognised
    from an earlier validation (``Enrolment.theory_recognized_from_id``) — that enrolment's passed one.

    A new assessment ordered by an appeal (``Enrolment.reassessment_of_id``) takes no test: the
    result that counted for the enrolment assessed again counts, passed or not.
    """
    seen: set[int] = set()
    while (enrolment.theory_recognized_from_id is None and enrolment.reassessment_of is not None
           and enrolment.id not in seen):
        seen.add(enrolment.id)
        enrolment = enrolment.reassessment_of
    counted_id = enrolment.theory_recognized_from_id or enrolment.id
    return db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == counted_id))


def recognisable_enrolment(enrolment: Enrolment) -> Enrolment | None:
    """The candidate's earlier enrolment whose passed theory part counts for ``enrolment``
    (recognition of prior achievements, ZSK act art. 49), or None.

    Only a part passed at the same institution in the same qualification: a submitted attempt,
    released and passed, whose submission lies at most the qualification's ``carry_over_months``
    before this session starts (the day the part would be taken again). The latest such pass
    counts. Nothing is recognised once the candidate has started this session's test.
    """
    own = attempt_for_enrolment(enrolment)
    if own is not None and own.started_at is not None:
        return None
    session = enrolment.session
    months = session.qualification.rules.carry_over_months
    latest = db.session.scalar(
        select(TheoryAttempt).join(Enrolment, TheoryAttempt.enrolment_id == Enrolment.id)
        .join(ValidationSession, Enrolment.session_id == ValidationSession.id)
        .where(Enrolment.candidate_id == enrolment.candidate_id, Enrolment.id != enrolment.id,
               ValidationSession.institution_id == session.institution_id,
               ValidationSession.qualification_id == session.qualification_id,
               TheoryAttempt.status == AttemptStatus.SUBMITTED, TheoryAttempt.passed.is_(True),
               TheoryAttempt.released_at.is_not(None), TheoryAttempt.submitted_at < session.starts_at)
        .order_by(TheoryAttempt.submitted_at.desc(), TheoryAttempt.id.desc()).limit(1))
    if latest is None or latest.submitted_at is None or add_months(latest.submitted_at, months) < session.starts_at:
        return None
    return latest.enrolment


def recognition_refusal(enrolment: Enrolment) -> str | None:
    """Why the candidate does not take the theory test: it is recognised from an earlier validation,
    or the enrolment is a new assessment of earlier work ordered after an appeal."""
    if enrolment.reassessment_of is not None:
        return _("This is a new assessment of your earlier work, ordered after your appeal (session “%(title)s”): "
                 "you do not take the theory test or the practical exam again; the result of your theory part "
                 "there counts.", title=enrolment.reassessment_of.session.title)
    source = enrolment.theory_recognized_from
    if source is None:
        return None
    return _("Your theory part is recognised from your earlier validation (session “%(title)s”): you do not take "
             "the theory test again. The practical part is open to you.", title=source.session.title)


def _audit(action: str, attempt: TheoryAttempt, before: dict | None, extra: dict | None = None) -> None:
    after = audit_log.snapshot(attempt, ATTEMPT_FIELDS)
    if extra:
        after.update(extra)
    audit_log.record(action, attempt, before=before, after=after, institution_id=attempt.session.institution_id)


def start(attempt: TheoryAttempt, now: datetime | None = None) -> TheoryAttempt:
    """Draw the candidate's items and start the clock (only once the operator has unlocked the attempt)."""
    now = _now(now)
    attempt = _locked(attempt)  # a double click must not draw twice
    if attempt.status in (AttemptStatus.IN_PROGRESS, AttemptStatus.PAUSED, AttemptStatus.SUBMITTED):
        return attempt
    recognised = recognition_refusal(attempt.enrolment)
    if recognised:
        raise TheoryError(recognised)
    if attempt.status != AttemptStatus.UNLOCKED:
        raise TheoryError(_("The operator has not unlocked the test for you yet. Wait for their signal and reload the page."))
    before = audit_log.snapshot(attempt, ATTEMPT_FIELDS)
    # The items drawn at check-in, by id (their snapshots are the question pages' to read).
    drawn = db.session.execute(select(AttemptItem.item_id, exists().where(VoidedItem.item_id == AttemptItem.item_id))
                               .where(AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)).all()
    item_ids = [item_id for item_id, _voided in drawn]
    if any(voided for _item_id, voided in drawn):
        attempt.items.clear()  # an item drawn at check-in was voided since: draw again
        db.session.flush()
        item_ids = []
    if not item_ids:
        _put_items(attempt, _draw(attempt))
        item_ids = [item.item_id for item in attempt.items]
    attempt.status = AttemptStatus.IN_PROGRESS
    attempt.started_at = now
    accommodation = accommodation_seconds(attempt)
    attempt.deadline_at = now + timedelta(seconds=attempt.time_limit_seconds + accommodation)
    attempt.last_contact_at = now
    _audit("theory.started", attempt, before, {"items": item_ids,
                                               "accommodation_minutes": accommodation // 60})
    db.session.commit()
    return attempt


def _draw(attempt: TheoryAttempt) -> list[DrawnItem]:
    config = attempt.session.qualification.rules.theory
    return draw_balanced(bank_items(), test_criteria(attempt.session.qualification_id), config.item_count,
                         attempt.seed)


def _put_items(attempt: TheoryAttempt, drawn: list[DrawnItem]) -> None:
    for position, entry in enumerate(drawn, start=1):
        attempt.items.append(AttemptItem(
            position=position, item_id=entry.item.id, item_version=entry.item.version,
            fingerprint=bank.fingerprint(entry.item),
            snapshot={"item": bank.item_to_dict(entry.item), "presented": entry.presented},
        ))


def prepare(enrolment: Enrolment) -> TheoryAttempt | None:
    """Draw the candidate's items ahead of the start (at check-in), so that the operator's signal
    only starts the clocks: the draw's CPU is spread over check-in, not spent by every candidate
    at once. Nothing is shown before the start (the question pages need a running attempt); an
    item voided in between is replaced at the start. The caller commits. ``None`` when the
    candidate takes no test here (recognised part, not enrolled)."""
    if not takes_the_test(enrolment):
        return None
    attempt = attempt_for_enrolment(enrolment)
    if attempt is None:
        attempt = next((a for a in ensure_attempts(enrolment.session) if a.enrolment_id == enrolment.id), None)
        if attempt is None:
            return None
    attempt = _locked(attempt)
    if attempt.status in (AttemptStatus.NOT_STARTED, AttemptStatus.UNLOCKED) and not attempt.items:
        _put_items(attempt, _draw(attempt))
        _audit("theory.items_drawn", attempt, None, {"items": [item.item_id for item in attempt.items]})
    return attempt


def touch(attempt: TheoryAttempt, now: datetime | None = None) -> TheoryAttempt:
    """Record that the candidate's page reached the server; submit the attempt if its time is up.

    The contact is written only when the stored one is CONTACT_WRITE_SECONDS old or more (or there
    is none): a heartbeat in between reads and writes nothing.
    """
    now = _now(now)
    if attempt.status == AttemptStatus.IN_PROGRESS and time_left(attempt, now) <= 0:
        attempt = _locked(attempt)
        attempt.last_contact_at = now
        if attempt.status == AttemptStatus.IN_PROGRESS and time_left(attempt, now) <= 0:
            _submit(attempt, now, by_deadline=True)
        db.session.commit()
    elif attempt.last_contact_at is None or (now - attempt.last_contact_at).total_seconds() >= CONTACT_WRITE_SECONDS:
        attempt.last_contact_at = now
        db.session.commit()
    return attempt


#: The ids of the attempts this transaction has read FOR UPDATE: their rows stay locked, and their
#: objects current, until it ends (then :func:`_forget_locks` empties it).
_LOCKED = "theory_attempts_locked"


def _locked(attempt: TheoryAttempt) -> TheoryAttempt:
    """Re-read the attempt FOR UPDATE so two saves of one attempt run one after the other (once per
    transaction: an attempt it has locked already is held until it ends)."""
    held = db.session.info.setdefault(_LOCKED, set())
    identity = inspect(attempt).identity  # the id without loading an expired attempt first
    attempt_id = identity[0] if identity else attempt.id
    if attempt_id in held and attempt in db.session:
        return attempt
    locked = _read_locked(TheoryAttempt.id == attempt_id)
    if locked is None:
        raise LookupError(f"theory attempt {attempt_id} no longer exists")
    return locked


def _read_locked(where: ColumnElement[bool]) -> TheoryAttempt | None:
    """The attempt ``where`` says, read afresh FOR UPDATE and remembered as held (:data:`_LOCKED`)."""
    attempt = db.session.scalar(select(TheoryAttempt).where(where).with_for_update()
                                .execution_options(populate_existing=True))
    if attempt is not None:
        db.session.info.setdefault(_LOCKED, set()).add(attempt.id)
    return attempt


@event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, _transaction: SessionTransaction) -> None:
    """Any transaction's end (a savepoint's too, to be safe) lets go of what :func:`_locked` held."""
    session.info.pop(_LOCKED, None)


def ack(attempt: TheoryAttempt, seq: int, saved_at: datetime, now: datetime, applied: bool = True) -> dict[str, Any]:
    """The acknowledgement the page shows and re-syncs its clock from."""
    return {"seq": seq, "saved_at": saved_at.isoformat(), "time_left": seconds_shown(attempt, now),
            "status": attempt.status.value, "applied": applied}


def attempt_item_at(attempt: TheoryAttempt, position: int) -> AttemptItem | None:
    """The attempt's item at ``position``, alone (the other questions and their snapshots are not loaded)."""
    return db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id,
                                                       AttemptItem.position == position))


def attempt_items_from(attempt: TheoryAttempt, position: int, count: int) -> list[AttemptItem]:
    """The attempt's items at ``position`` and the ``count - 1`` after it that exist, in order, in one
    query (the others and their snapshots are not loaded); empty when there is none at ``position``."""
    found = list(db.session.scalars(select(AttemptItem).where(
        AttemptItem.attempt_id == attempt.id, AttemptItem.position >= position, AttemptItem.position < position + count)
        .order_by(AttemptItem.position)))
    return found if found and found[0].position == position else []


def last_seq(attempt: TheoryAttempt) -> int:
    """The highest sequence number any window of the attempt has saved (0 before the first answer).

    Read from the answers' history (its unique index on attempt and sequence answers it), so an
    autosave never writes the attempt's row.
    """
    return int(db.session.scalar(select(func.coalesce(func.max(AttemptAnswer.seq), 0))
                                 .where(AttemptAnswer.attempt_id == attempt.id)) or 0)


def _refuse_unless_running(attempt: TheoryAttempt, now: datetime) -> None:
    """Raise the refusal for an attempt that takes no answers now; the time being up submits it."""
    if attempt.status == AttemptStatus.IN_PROGRESS and time_left(attempt, now) <= 0:
        attempt = _locked(attempt)
        attempt.last_contact_at = now
        if attempt.status == AttemptStatus.IN_PROGRESS and time_left(attempt, now) <= 0:
            _submit(attempt, now, by_deadline=True)
        db.session.commit()
    if attempt.status == AttemptStatus.SUBMITTED:
        raise AttemptClosed(_("The test has been submitted; no more answers are accepted."))
    if attempt.status == AttemptStatus.PAUSED:
        raise AttemptPaused(_("The operator has paused the test. Your answer will be saved when they resume it."))
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise TheoryError(_("The test has not started yet."))


def save_answer(attempt: TheoryAttempt, position: int, raw_response: Any, seq: int, flagged: bool = False,
                now: datetime | None = None, attempt_item: AttemptItem | None = None) -> dict[str, Any]:
    """Autosave one answer; idempotent by ``seq`` and last-writer-by-seq per item.

    A replay of a sequence number already stored returns the original acknowledgement; the same
    number stored for another answer (another window of the attempt) is refused as stale. An answer
    with a lower ``seq`` than the item's current one is kept in the history but does not replace
    the newer answer. Refused once submitted, when the time is up (which submits the attempt) and
    while paused. Bad input raises TheoryError with a message for the candidate. ``attempt_item``
    is the item at ``position`` when the caller has already loaded it.

    The write is one conditional UPDATE of the item's own row (the highest sequence wins, whatever
    order concurrent saves arrive in, and nothing lands on an attempt paused or scored meanwhile)
    and the INSERT of the answer into the history, whose unique (attempt, seq) makes a replay a
    no-op. The attempt's row is read, never written or locked: its last contact is the latest
    answer's time (:func:`last_contact`), its last sequence the history's (:func:`last_seq`).
    """
    now = _now(now)
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq < 2 ** 62:
        raise TheoryError(_("The answer's sequence number is missing or invalid. Reload the page."))
    _refuse_unless_running(attempt, now)
    if attempt_item is None or attempt_item.position != position:
        attempt_item = attempt_item_at(attempt, position)
    if attempt_item is None:
        raise TheoryError(_("There is no question number %(n)s in this test.", n=position))
    if raw_response is None:
        response = None
    else:
        try:
            response = bank.normalize_response(item_of(attempt_item), raw_response)
        except bank.ResponseError as error:
            raise TheoryError(_("Your answer could not be read: %(reason)s", reason=str(error))) from error
    acknowledged = ack(attempt, seq, now, now)  # the attempt's clock as read, before the commit expires it
    try:
        applied = write_answer(attempt.id, attempt_item.id, seq, response, flagged, now)
        if applied is not None:
            db.session.commit()
    except IntegrityError:
        # The sequence number is taken: a replay (the page's queue sent it again, or two tabs
        # replayed one queue at once) or another window's answer under the same number.
        db.session.rollback()
        replay = db.session.scalar(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id,
                                                               AttemptAnswer.seq == seq))
        if replay is None:
            raise
        if not _same_answer(replay, position, raw_response):
            raise StaleTab(_("This test is open in another window, which has saved newer answers. This window is "
                             "out of date: reload it (the answer you just gave here was not saved).")) from None
        return ack(attempt, seq, replay.saved_at, now, replay.applied)
    if applied is None:
        # The operator paused it or the candidate submitted since the attempt was read.
        db.session.rollback()  # expires the attempt: the refusal reads its state afresh
        _refuse_unless_running(attempt, now)
        # Resumed again in the meantime: save as if it had just arrived.
        return save_answer(attempt, position, raw_response, seq, flagged, now)
    return acknowledged | {"applied": applied}


def write_answer(attempt_id: int, attempt_item_id: int, seq: int, response: Any, flagged: bool,
                 now: datetime) -> bool | None:
    """The two writes of an autosave, in the caller's transaction (the caller commits): the item's
    row by one conditional UPDATE, the answer into the history.

    Returns whether the answer replaced the item's stored one (False: the item holds a newer
    sequence number; the answer is kept in the history only), or None when the attempt no longer
    takes answers (paused or submitted since it was read; nothing was written). Raises
    IntegrityError when ``seq`` is already in the history (the caller rolls back: the update with it).
    """
    connection = db.session.connection()
    update_item, attempt_status, insert_answer = _answer_statements()
    values = {"b_attempt": attempt_id, "b_item": attempt_item_id, "b_seq": seq, "b_response": response,
              "b_flagged": bool(flagged), "b_now": now}
    applied = cast("CursorResult[Any]", connection.execute(update_item, values)).rowcount == 1
    if not applied:
        # An older sequence than the item's, a replay, or the attempt paused or submitted since
        # it was read: only the last is refused.
        if connection.execute(attempt_status, values).scalar_one_or_none() is not AttemptStatus.IN_PROGRESS:
            return None
    connection.execute(insert_answer, values | {"b_applied": applied})
    return applied


@functools.cache
def _answer_statements() -> tuple[Update, Select[Any], Insert]:
    """The statements of :func:`write_answer`, built once (an autosave only changes their parameters)."""
    attempt_id = bindparam("b_attempt", type_=TheoryAttempt.id.type)
    running = select(TheoryAttempt.id).where(TheoryAttempt.id == attempt_id,
                                             TheoryAttempt.status == AttemptStatus.IN_PROGRESS).exists()
    # Scoring at the submission sets every item's points under a row lock: an answer racing the
    # submission either lands before it is scored or finds points set and changes nothing.
    update_item = (update(AttemptItem)
                   .where(AttemptItem.id == bindparam("b_item"), AttemptItem.answer_seq < bindparam("b_seq"),
                          AttemptItem.points.is_(None), running)
                   .values(response=bindparam("b_response", type_=AttemptItem.response.type),
                           flagged=bindparam("b_flagged"), answer_seq=bindparam("b_seq"),
                           answered_at=bindparam("b_now", type_=AttemptItem.answered_at.type)))
    attempt_status: Select[Any] = select(TheoryAttempt.status).where(TheoryAttempt.id == attempt_id)
    insert_answer = insert(AttemptAnswer).values(
        attempt_id=attempt_id, attempt_item_id=bindparam("b_item"), seq=bindparam("b_seq"),
        response=bindparam("b_response", type_=AttemptAnswer.response.type), flagged=bindparam("b_flagged"),
        applied=bindparam("b_applied"), saved_at=bindparam("b_now", type_=AttemptAnswer.saved_at.type))
    return update_item, attempt_status, insert_answer


def _same_answer(stored: AttemptAnswer, position: int, raw_response: Any) -> bool:
    """Whether an answer sent again under a stored sequence number is that same answer (a replay
    from the page's queue) rather than another window's answer that happened to get the number."""
    if stored.attempt_item.position != position:
        return False
    if raw_response is None:
        return stored.response is None
    try:
        return bank.normalize_response(item_of(stored.attempt_item), raw_response) == stored.response
    except bank.ResponseError:
        return False


@dataclass(frozen=True)
class MapEntry:
    """A question as the question map and the review list show it (no text: no snapshot is loaded)."""

    position: int
    answered: bool
    flagged: bool
    answered_at: datetime | None


def question_map(attempt: TheoryAttempt) -> list[MapEntry]:
    """The attempt's questions in order, answered or not and flagged or not, read without their items'
    snapshots (the question page renders one item, the review page none)."""
    rows = cast("Iterable[tuple[int, Any, bool, datetime | None]]", db.session.execute(
        select(AttemptItem.position, AttemptItem.response, AttemptItem.flagged, AttemptItem.answered_at)
        .where(AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)))
    return [MapEntry(position, is_answer(response), bool(flagged), answered_at)
            for position, response, flagged, answered_at in rows]


def item_count(attempt: TheoryAttempt) -> int:
    """How many questions the attempt has (0 before the draw)."""
    return int(db.session.scalar(select(func.count()).select_from(AttemptItem)
                                 .where(AttemptItem.attempt_id == attempt.id)) or 0)


def resume_position(attempt: TheoryAttempt, remembered: int | None) -> int:
    """The question to continue at: the one last shown in this browser, else the last one answered, else 1."""
    entries = question_map(attempt)
    if remembered is not None and 1 <= remembered <= len(entries):
        return remembered
    answered = [e for e in entries if e.answered_at is not None]
    return max(answered, key=lambda e: (e.answered_at, e.position)).position if answered else 1


def next_seq(attempt: TheoryAttempt) -> int:
    """The sequence number for an answer sent without the script (a plain form post)."""
    return last_seq(attempt) + 1


def _submit(attempt: TheoryAttempt, now: datetime, by_deadline: bool) -> None:
    before = audit_log.snapshot(attempt, ATTEMPT_FIELDS)
    if by_deadline and attempt.deadline_at is not None:
        # The attempt ends at its deadline, not at the moment someone noticed.
        end = attempt.deadline_at + timedelta(seconds=attempt.extra_seconds + attempt.paused_seconds_total)
        attempt.submitted_at = min(now, end)
    else:
        attempt.submitted_at = now
    attempt.status = AttemptStatus.SUBMITTED
    attempt.submitted_by_deadline = by_deadline
    attempt.paused_at = None
    # Lock the items before reading their answers: an autosave in flight either commits first (and
    # is scored) or waits and then finds the item scored (see save_answer). Scored as read here (not
    # loaded again through ``attempt.items``); nothing is flushed meanwhile, so the attempt's row is
    # written once, with its scores.
    with db.session.no_autoflush:
        items = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
                                   .order_by(AttemptItem.position).with_for_update()
                                   .execution_options(populate_existing=True)).all()
        score(attempt, voided_ids(), items)
    _audit("theory.submitted_at_deadline" if by_deadline else "theory.submitted", attempt, before)


def voided_ids() -> set[str]:
    """Ids of the items staff found faulty and voided (see :mod:`.voiding`)."""
    return set(db.session.scalars(select(VoidedItem.item_id)))


def score(attempt: TheoryAttempt, voided: set[str], items: Iterable[AttemptItem] | None = None) -> None:
    """Score the attempt's answers (``items``: the attempt's items when the caller has read them
    already): each item's points, the overall and per-criterion results and the pass under the
    qualification's decision rule. A voided item keeps its points (for the item statistics) but
    counts neither for nor against the candidate."""
    config = attempt.session.qualification.rules.theory
    scored = []
    for attempt_item in attempt.items if items is None else items:
        item = item_of(attempt_item)
        attempt_item.points = points_for(item, attempt_item.response, config.partial_credit == "per_pair")
        if attempt_item.item_id not in voided:
            scored.append((item.criteria, attempt_item.points))
    result = score_items(scored, test_criteria(attempt.session.qualification_id), config.pass_mark_percent)
    attempt.score_points = result["points"]
    attempt.score_max = result["max"]
    attempt.score_percent = result["percent"]
    attempt.passed = decides_pass(result, config.decision_rule, config.pass_mark_percent)
    attempt.criterion_scores = result["criteria"]


def submit(attempt: TheoryAttempt, now: datetime | None = None) -> TheoryAttempt:
    """The candidate's final submission: score and close the attempt."""
    now = _now(now)
    attempt = _locked(attempt)
    if attempt.status == AttemptStatus.SUBMITTED:
        return attempt
    if attempt.status == AttemptStatus.PAUSED:
        raise AttemptPaused(_("The operator has paused the test. You can submit it when they resume it."))
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise TheoryError(_("The test has not started yet."))
    attempt.last_contact_at = now
    _submit(attempt, now, by_deadline=time_left(attempt, now) <= 0)
    db.session.commit()
    return attempt


def expire_overdue(now: datetime | None = None) -> list[TheoryAttempt]:
    """Submit every attempt in progress whose time is up (``flask theory expire``); returns them."""
    now = _now(now)
    candidates = db.session.scalars(
        select(TheoryAttempt).where(TheoryAttempt.status == AttemptStatus.IN_PROGRESS, TheoryAttempt.deadline_at <= now)
    ).all()
    expired = []
    for attempt in candidates:
        if time_left(attempt, now) <= 0:
            _submit(attempt, now, by_deadline=True)
            expired.append(attempt)
    db.session.commit()
    return expired


# --------------------------------------------------------------------------- operator actions


def _targets(session: ValidationSession, attempt: TheoryAttempt | None) -> list[TheoryAttempt]:
    return [attempt] if attempt is not None else ensure_attempts(session)


def operator_action(session: ValidationSession, operator: User, kind: OperatorActionKind, reason: str,
                    attempt: TheoryAttempt | None = None, minutes: int | None = None,
                    now: datetime | None = None) -> OperatorAction:
    """Unlock, add time, pause, resume or note an incident for one attempt or the whole session.

    Every action needs the session's operator and a reason (:func:`..operator.services.refusal`); it
    changes the attempts in a state it applies to (``operator.services.THEORY_TRANSITIONS``), goes
    into the session record and is audited per attempt changed.
    """
    now = _now(now)
    refused = operator_rules.refusal(session, operator, kind, reason, minutes)
    if refused:
        raise TheoryError(refused)
    reason = reason.strip()
    if attempt is not None and attempt.session_id != session.id:
        raise TheoryError(_("This candidate is not in this session."))
    if kind == OperatorActionKind.UNLOCK and attempt is not None and attempt.enrolment.checked_in_at is None:
        raise TheoryError(_("Check the candidate in first: the test is unlocked only for candidates whose "
                            "identity document was compared with the application."))
    transition = operator_rules.THEORY_TRANSITIONS.get(kind)  # None: a note, which changes no attempt
    changed = not_checked_in = 0
    for target in _targets(session, attempt):
        if transition is None or target.status not in transition.applies_to:
            continue
        before = audit_log.snapshot(target, ATTEMPT_FIELDS)
        if kind == OperatorActionKind.UNLOCK:
            if target.enrolment.checked_in_at is None:  # the whole session: those not checked in stay locked
                not_checked_in += 1
                continue
        elif kind == OperatorActionKind.EXTRA_TIME:
            target.extra_seconds += (minutes or 0) * 60  # minutes checked above for extra time
        elif kind == OperatorActionKind.PAUSE:
            if time_left(target, now) <= 0:
                continue
            target.paused_at = now
        elif kind == OperatorActionKind.RESUME:
            if target.paused_at is None:
                continue
            target.paused_seconds_total += (now - target.paused_at).total_seconds()
            target.paused_at = None
        if transition.becomes is not None:
            target.status = transition.becomes
        changed += 1
        _audit(f"theory.operator.{kind.value}", target, before, {"reason": reason, "minutes": minutes})
    if kind not in operator_rules.NOTES and changed == 0:
        if not_checked_in:
            raise TheoryError(_("Nothing to do: no locked candidate is checked in yet."))
        raise TheoryError(_("Nothing to do: no candidate is in a state this action applies to."))
    action = operator_rules.record(session, operator, kind, reason, minutes, now, attempt=attempt)
    db.session.commit()
    return action


def console_rows(session: ValidationSession, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per candidate for the operator's live table (also the JSON the console polls), for
    the attempts made so far (:func:`open_console` makes the missing ones)."""
    now = _now(now)
    progress = _progress(session)
    rows = []
    for attempt in _listed(session, _existing_attempts(session)):
        items, answered, last_answer = progress.get(attempt.id, (0, 0, None))
        contact = last_contact(attempt.last_contact_at, last_answer)
        rows.append({
            "attempt_id": attempt.id,
            "candidate": attempt.candidate.full_name,
            "status": attempt.status.value,
            "answered": answered,
            "items": items,
            "time_left": seconds_shown(attempt, now),
            "extra_minutes": attempt.extra_seconds // 60,
            # Granted on the formal check: in the deadline from the start, and what else to provide.
            "accommodation_minutes": attempt.enrolment.extra_time_minutes,
            "accommodations": attempt.enrolment.accommodations or "",
            "last_contact_at": contact.isoformat() if contact else None,
            "connection": connection_state(contact, now),
            "checked_in": attempt.enrolment.checked_in_at is not None,
        })
    return rows


def _progress(session: ValidationSession) -> dict[int, tuple[int, int, datetime | None]]:
    """For each attempt of the session: its questions, those answered and when the last answer was
    saved — counted by the database (the console polls every few seconds during the test: no item
    and no snapshot of a thousand candidates' tests is loaded for it)."""
    answered = func.coalesce(AttemptItem.response.cast(Text), "null").not_in(EMPTY_ANSWERS_JSON)  # is_answer in SQL
    rows = cast("Iterable[tuple[int, int, int | None, datetime | None]]", db.session.execute(
        select(AttemptItem.attempt_id, func.count(), func.sum(case((answered, 1), else_=0)), func.max(AttemptItem.answered_at))
        .join(TheoryAttempt, TheoryAttempt.id == AttemptItem.attempt_id)
        .where(TheoryAttempt.session_id == session.id).group_by(AttemptItem.attempt_id)))
    return {attempt_id: (int(items), int(done or 0), last) for attempt_id, items, done, last in rows}


def recognised_enrolments(session: ValidationSession) -> list[Enrolment]:
    """Enrolled candidates whose theory part is recognised from an earlier validation: no test for them."""
    return [e for e in session.enrolments
            if e.status == EnrolmentStatus.ENROLLED and e.theory_recognized_from_id is not None]


# --------------------------------------------------------------------------- results


def release_results(session: ValidationSession, actor: User, now: datetime | None = None) -> int:
    """Make the scored attempts of the session visible to their candidates; returns how many were released."""
    now = _now(now)
    released = 0
    for attempt in db.session.scalars(select(TheoryAttempt).where(
            TheoryAttempt.session_id == session.id, TheoryAttempt.status == AttemptStatus.SUBMITTED,
            TheoryAttempt.released_at.is_(None))):
        before = audit_log.snapshot(attempt, ATTEMPT_FIELDS)
        attempt.released_at = now
        attempt.released_by_id = actor.id
        _audit("theory.results_released", attempt, before)
        released += 1
    if not released:
        raise TheoryError(_("There are no submitted tests whose results are not yet released."))
    db.session.commit()
    return released


def session_attempts(session: ValidationSession) -> list[TheoryAttempt]:
    """The session's attempts with their candidates and enrolments (the lists show both for every
    row: read in one query each, not one per row)."""
    return list(db.session.scalars(
        select(TheoryAttempt).where(TheoryAttempt.session_id == session.id).order_by(TheoryAttempt.id)
        .options(selectinload(TheoryAttempt.candidate), selectinload(TheoryAttempt.enrolment))
    ))


def criterion_texts(qualification_id: int, locale: str) -> dict[str, str]:
    """Criterion code → wording, for result tables."""
    rows = db.session.scalars(select(Criterion).join(LearningOutcome).join(OutcomeSet)
                              .where(OutcomeSet.qualification_id == qualification_id))
    return {c.code: c.text(locale) for c in rows}


# --------------------------------------------------------------------------- item statistics


def item_statistics(institution_ids: set[int], session_id: int | None = None) -> list:
    """Item statistics over the submitted attempts of the institutions' sessions (or one session)."""
    if not institution_ids:
        return []
    sessions = select(ValidationSession.id).where(ValidationSession.institution_id.in_(institution_ids))
    if session_id is not None:
        sessions = sessions.where(ValidationSession.id == session_id)
    return item_statistics_of(sessions)


def item_statistics_of(session_ids: Any) -> list:
    """Item statistics over the submitted attempts of these sessions (ids, or a query of them)."""
    from .statistics import Response, compute

    query = (
        select(AttemptItem.attempt_id, AttemptItem.item_id, AttemptItem.points, AttemptItem.response, AttemptItem.snapshot)
        .join(TheoryAttempt, AttemptItem.attempt_id == TheoryAttempt.id)
        .where(TheoryAttempt.status == AttemptStatus.SUBMITTED, TheoryAttempt.session_id.in_(session_ids))
    )
    rows = []
    # mypy 1.x cannot unpack SQLAlchemy 2.1's variadic Row: name the column types here.
    result = cast("Iterable[tuple[int, str, float | None, Any, dict[str, Any] | None]]", db.session.execute(query))
    for attempt_id, item_id, points, response, snapshot in result:
        item = (snapshot or {}).get("item", {})
        rows.append(Response(attempt_id=attempt_id, item_id=item_id, points=points or 0.0, response=response,
                             key=item.get("key"), options=bank.counted_options(item)))
    return compute(rows)
