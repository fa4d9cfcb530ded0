"""The operator's check-in form (one per candidate on the check-in page)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField
from wtforms.validators import DataRequired

from ..forms import PortalForm, select_choices
from .services import IDENTITY_DOCUMENTS


class CheckInForm(PortalForm):
    document = SelectField(_l("Identity document compared"),
                           choices=select_choices([("", _l("— choose —")), *IDENTITY_DOCUMENTS.items()]),
                           validators=[DataRequired(message=_l("Choose the kind of identity document you compared."))])
    matches = BooleanField(_l("The name and PESEL (or date of birth) on the document match the application"))
