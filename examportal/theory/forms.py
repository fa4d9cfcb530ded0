"""Forms of the theory test (the answer fields themselves are read by services.read_form_answer)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField
from wtforms.validators import DataRequired

from ..forms import PortalForm


class StartForm(PortalForm):
    """Starting the clock: a form so that it is a POST with a CSRF token."""


class SubmitForm(PortalForm):
    confirm = BooleanField(
        _l("I have checked my answers and want to submit the test. I cannot change it afterwards."),
        validators=[DataRequired(message=_l("Tick the box to confirm that you want to submit the test."))],
    )


class ReleaseForm(PortalForm):
    confirm = BooleanField(
        _l("Release the theory results of this session to the candidates."),
        validators=[DataRequired(message=_l("Tick the box to confirm the release."))],
    )
