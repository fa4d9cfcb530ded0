"""Certificate numbers: gap-free and unique under concurrent issuing.

One counter row per (issuer, qualification, year) holds the last number used. Taking a number
locks that row (``SELECT … FOR UPDATE``) until the issuing transaction ends: a second issuer
waits, then reads the incremented value; a transaction that rolls back gives its number back
with it. A number is therefore never used twice and never skipped. On SQLite the locking read
takes the database's write lock instead (``extensions._sqlite_locking_read``), which gives the
same guarantee.
"""
from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import CertificateCounter, Institution, Qualification
from . import rules


def _counter_query(institution_id: int, qualification_id: int, year: int) -> Select[CertificateCounter]:
    return (select(CertificateCounter)
            .where(CertificateCounter.institution_id == institution_id,
                   CertificateCounter.qualification_id == qualification_id, CertificateCounter.year == year)
            .with_for_update()
            # The locked row's current value, never a copy the session already holds.
            .execution_options(populate_existing=True))


def _locked_counter(institution_id: int, qualification_id: int, year: int) -> CertificateCounter:
    query = _counter_query(institution_id, qualification_id, year)
    counter = db.session.scalar(query)
    if counter is None:
        try:
            with db.session.begin_nested():
                db.session.add(CertificateCounter(institution_id=institution_id, qualification_id=qualification_id,
                                                  year=year, last_sequence=0))
        except IntegrityError:
            pass  # another issuer created the row first (we waited for its commit): lock that one below
        counter = db.session.scalar(query)
    if counter is None:  # only if the row vanished between the insert and the select
        raise RuntimeError("the certificate counter row could not be created")
    return counter


def take_number(institution: Institution, qualification: Qualification, year: int) -> tuple[str, int]:
    """The next certificate number of ``institution`` for ``qualification`` in ``year``, and its sequence.

    Call inside the transaction that stores the certificate; the counter stays locked until it ends.
    """
    counter = _locked_counter(institution.id, qualification.id, year)
    counter.last_sequence += 1
    db.session.flush()
    return rules.format_number(rules.number_prefix(institution.short_name), qualification.code, year,
                               counter.last_sequence), counter.last_sequence
