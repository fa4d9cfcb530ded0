"""The sandbox's own exceptions, importable by any of its modules without pulling in the rest."""
from __future__ import annotations


class SeedError(ValueError):
    """The scenario's seed data has a section no seeder knows, or a row it cannot load."""
