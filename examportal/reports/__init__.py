"""Reports the ZSK act asks of a certifying institution (the quarterly ZRK report, art. 65; the
internal evaluation, art. 64) and the read-only pages of an external auditor.

The routes live in ``zrk_views``, ``evaluation_views`` and ``auditor_views``, which the app
factory imports to register them on ``bp``."""
from flask import Blueprint

bp = Blueprint("reports", __name__)
