"""Keeping and releasing personal data: the retention policy, the purge of records past it, and
people's requests about their data (RODO art. 15-17).

The routes live in ``views``, which the app factory imports to register them on ``bp``."""
from flask import Blueprint

bp = Blueprint("records", __name__)
