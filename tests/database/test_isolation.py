"""The per-test transaction: what a test commits is visible inside it and gone after it."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import IntegrityError

from examportal.extensions import db
from examportal.models import Institution
from tests.dbtools import rolled_back
from tests.factories import make_institution


def _count_outside(database_url: str) -> int:
    """Count institutions through a connection of its own (what another client would see)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Institution.__table__))
    finally:
        engine.dispose()


@pytest.mark.committing
def test_commits_inside_the_block_are_rolled_back_at_its_end(app, database_url):
    with rolled_back(db):
        make_institution("Instytucja A")  # commits
        db.session.remove()  # a new session (a new request) still sees it
        assert db.session.scalar(select(func.count()).select_from(Institution)) == 1
        assert _count_outside(database_url) == 0  # nothing reached the database for good
    assert db.session.scalar(select(func.count()).select_from(Institution)) == 0


def test_a_failed_commit_rolls_back_to_the_savepoint_and_keeps_earlier_work(app):
    make_institution("Instytucja B")
    db.session.add(Institution(name="Instytucja B", short_name="B2", kind="certifying"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalars(select(Institution.name)).all() == ["Instytucja B"]
