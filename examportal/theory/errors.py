"""The base of every refusal of the theory test.

Its own module so that the pure draw (:mod:`.draw`) and the attempt's lifecycle
(:mod:`.services`) raise one family of errors, which the views catch as one, without the draw
importing the lifecycle.
"""
from __future__ import annotations


class TheoryError(ValueError):
    """A rule of the theory test refused the request; the message (translated) says why and what to do."""

    status_code = 400
