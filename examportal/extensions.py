"""Flask extensions, created once and bound to the app in :func:`examportal.create_app`."""
from typing import TYPE_CHECKING, Any

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
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

# The declarative base every model derives from. Flask-SQLAlchemy builds ``db.Model`` at run time
# (adding ``query`` and automatic table names); to a type checker it is our typed Base.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Storage comes from RATELIMIT_STORAGE_URI: memory:// by default, redis://... in production.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
