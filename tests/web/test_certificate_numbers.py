"""Certificate numbers: ``<issuer>/<qualification>/<year>/<6-digit sequence>``, one counter per issuer,
qualification and year, never repeated and never skipped — also when issuers work at the same time.

The concurrent tests use real threads, each with its own application context (so its own database
session and connection), and really commit. On PostgreSQL they start together and the counter row's
lock decides; SQLite has one writer at a time, so there the threads take turns.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from examportal.certification import numbering, rules, services
from examportal.extensions import db
from examportal.models import Certificate, CertificateCounter, Role
from tests.certtools import certification_decision
from tests.factories import enrol, make_institution, make_session, make_user, run_together

THREADS = 8


def _issuer(qualification, short_name="VCC"):
    return make_institution(f"Fundacja {short_name}", qualifications=[qualification], short_name=short_name)


def test_numbers_follow_on_per_issuer_qualification_and_year(app, qualification):
    vcc, other = _issuer(qualification), _issuer(qualification, short_name="Warto Szkolić/WS")
    assert [numbering.take_number(vcc, qualification, 2026)[0] for _ in range(3)] == [
        "VCC/13881/2026/000001", "VCC/13881/2026/000002", "VCC/13881/2026/000003"]
    assert numbering.take_number(vcc, qualification, 2027) == ("VCC/13881/2027/000001", 1)  # a new year starts again
    assert numbering.take_number(other, qualification, 2026) == ("Warto-Szkolic-WS/13881/2026/000001", 1)
    db.session.commit()
    counters = {(c.institution_id, c.year): c.last_sequence for c in db.session.scalars(select(CertificateCounter))}
    assert counters == {(vcc.id, 2026): 3, (vcc.id, 2027): 1, (other.id, 2026): 1}


def test_a_rolled_back_issue_gives_its_number_back(app, qualification):
    vcc = _issuer(qualification)
    assert numbering.take_number(vcc, qualification, 2026)[1] == 1
    db.session.commit()
    assert numbering.take_number(vcc, qualification, 2026)[1] == 2
    db.session.rollback()  # the certificate was never stored
    assert numbering.take_number(vcc, qualification, 2026)[1] == 2  # no gap


def test_issued_certificates_are_numbered_without_gaps(app, qualification):
    vcc = _issuer(qualification)
    session = make_session(vcc, qualification)
    staff = make_user((Role.STAFF, vcc))
    numbers = []
    for n in range(3):
        decision = certification_decision(enrol(session, make_user(Role.CANDIDATE, first_name=f"K{n}")), staff)
        numbers.append(services.issue_certificate(decision, staff).number)
    year = rules.today().year
    assert numbers == [f"VCC/13881/{year}/{n:06d}" for n in (1, 2, 3)]


@pytest.mark.committing
def test_concurrent_takers_of_numbers_wait_for_each_other(app, qualification):
    vcc = _issuer(qualification)
    ids = (vcc.id, qualification.id)
    db.session.commit()

    def take(_n):
        from examportal.models import Institution, Qualification

        institution, qual = db.session.get(Institution, ids[0]), db.session.get(Qualification, ids[1])
        _number, sequence = numbering.take_number(institution, qual, 2026)
        time.sleep(0.05)  # hold the counter a while: a second taker must wait, not read the same value
        db.session.commit()
        return sequence

    results, errors = run_together(app, take, range(THREADS))
    assert errors == []
    assert sorted(results) == list(range(1, THREADS + 1))
    db.session.expire_all()
    assert db.session.scalar(select(CertificateCounter.last_sequence)) == THREADS


@pytest.mark.committing
def test_concurrent_issuing_never_repeats_or_skips_a_number(app, qualification):
    vcc = _issuer(qualification)
    session = make_session(vcc, qualification)
    staff = make_user((Role.STAFF, vcc))
    decision_ids = [certification_decision(enrol(session, make_user(Role.CANDIDATE, first_name=f"Kandydat{n}")), staff).id
                    for n in range(THREADS)]
    # Two workers may pick up the same decision (a retried job): it still gets one certificate.
    decision_ids.append(decision_ids[0])

    def issue(decision_id):
        from examportal.models import CertificationDecision

        decision = db.session.get(CertificationDecision, decision_id)
        return services.issue_certificate(decision).number

    results, errors = run_together(app, issue, decision_ids)
    assert errors == []
    year = rules.today().year
    assert sorted(set(results)) == [f"VCC/13881/{year}/{n:06d}" for n in range(1, THREADS + 1)]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Certificate.id))) == THREADS
    assert sorted(db.session.scalars(select(Certificate.sequence))) == list(range(1, THREADS + 1))
