"""Flask extensions, created once and bound to the app in :func:`examportal.create_app`.

The commit rule, for the whole codebase (the sandbox included):

- **One commit per request, by the owner of the unit of work.** In the portal that is the service
  function a view calls for a change: it checks, changes, and commits once at its end. What it calls
  (rules, helpers, another service's building blocks, whose docstrings say "in the caller's
  transaction") adds and flushes but never commits. Views never commit; when a service refuses (it
  raises, sometimes after taking a row lock or beginning its changes), the view rolls back and shows
  the reason.
- **Mail goes out after the commit.** It is queued into the outbox in the same transaction
  (:func:`examportal.mail.services.queue_mail`) and delivered by the worker once committed, so a
  change that rolls back mails nobody and a committed one is never without its mail.
- **The sandbox** (:mod:`sandbox_crm`) keeps the same rule in its own layers: its services also run
  inside the host's transaction (seeding the workspace of a practical attempt, the host API), so they
  flush and never commit, and its views, the only request-level layer it has, commit once.
- Background jobs are their own units of work: a job commits its steps, not the request that queued
  it; queuing one commits its record first, so the worker finds it (``jobs.core.OWN_UNIT``).

``tests/unit/test_commit_rule.py`` checks where a commit may be written, and the test suite fails
any request that commits twice (``tests/commit_guard.py``).
"""
from typing import TYPE_CHECKING, Any

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION: dict[str, Any] = {
    "ix": "ix_%(column_0_label)s",
    # Unique constraints become indexes, which share one namespace with tables in PostgreSQL:
    # prefix every name (explicit or derived) with the table so "name" never collides.
    "uq": "uq_%(table_name)s_%(constraint_name_or_columns)s",
    "constraint_name_or_columns": lambda constraint, table: (
        constraint.name if isinstance(constraint.name, str) else "_".join(c.name for c in constraint.columns)
    ),
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


@event.listens_for(Engine, "before_cursor_execute")
def _sqlite_locking_read(conn: Connection, cursor: Any, statement: str, parameters: Any,
                         context: ExecutionContext | None, executemany: bool) -> None:
    """SQLite has no ``SELECT … FOR UPDATE`` (its dialect leaves the clause out): there a locking
    read takes the database's write lock first (``BEGIN IMMEDIATE``, waiting its turn) when its
    transaction holds none yet, so the sections that read a row FOR UPDATE before changing it (a
    start clicked twice at once, two decisions on one enrolment) run one after the other on the
    zero-set-up database as on PostgreSQL. A connection already in a transaction is left as it is
    (pysqlite begins one at the first write, so it holds the lock then; the test harness begins its
    own, where the test's one connection has no one to race)."""
    if conn.dialect.name != "sqlite" or context is None:
        return
    compiled = getattr(context, "compiled", None)
    if compiled is None or getattr(compiled.statement, "_for_update_arg", None) is None:
        return
    if not conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        cursor.execute("BEGIN IMMEDIATE")

# The declarative base every model derives from. Flask-SQLAlchemy builds ``db.Model`` at run time
# (adding ``query`` and automatic table names); to a type checker it is our typed Base.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()


class _CSRFProtect(CSRFProtect):
    """Flask-WTF's protection, with a referrer that is no URL (``https://host:99999/``, which its
    parser cannot read) refused as one from another site (400) instead of failing the request (500)."""

    def protect(self, apply_exemptions: bool = False) -> None:
        try:
            super().protect(apply_exemptions)
        except ValueError:
            self._error_response("The referrer does not match the host.")


csrf = _CSRFProtect()
babel = Babel()
# Storage comes from RATELIMIT_STORAGE_URI: memory:// by default, redis://... in production.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
