"""Forms of the committee's work. The per-criterion inputs are named after criterion ids and
parsed by :func:`parse_verdicts` (their number depends on the qualification)."""
from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.validators import Optional as OptionalValue

from ..forms import PortalForm, select_choices

VERDICTS = {"met": True, "not_met": False, "": None}


class ScoresheetForm(PortalForm):
    save = SubmitField(_l("Save draft"))
    submit = SubmitField(_l("Submit my scores"))


class ResultsForm(PortalForm):
    record = SubmitField(_l("Record the committee's results"))


class DecisionForm(PortalForm):
    outcome = RadioField(_l("Decision"), choices=select_choices([("positive", _l("Positive")), ("negative", _l("Negative"))]),
                         validators=[DataRequired(message=_l("Choose the decision."))])
    justification = TextAreaField(_l("Justification (required for a negative decision: name every unmet criterion)"),
                                  validators=[OptionalValue(), Length(max=10000)])


class VoteForm(PortalForm):
    vote = RadioField(_l("Your vote"), choices=select_choices([("approve", _l("I approve the proposed decision")),
                                                               ("dissent", _l("I dissent"))]),
                      validators=[DataRequired(message=_l("Choose whether you approve or dissent."))])
    reason = TextAreaField(_l("Reason for the dissent (it goes into the protocol)"), validators=[OptionalValue(), Length(max=5000)])


class AbsenceForm(PortalForm):
    note = TextAreaField(_l("How the absence was established"),
                         validators=[DataRequired(message=_l("Say how the absence was established.")), Length(max=2000)])


class VerdictError(ValueError):
    pass


def parse_verdicts(data: Mapping[str, str], criterion_ids, prefix: str) -> dict[int, tuple[bool | None, str, str]]:
    """Read ``{prefix}-{id}-met``, ``-comment`` and ``-notes`` for each criterion id.

    Raises VerdictError for a value that no radio button offers (a forged form).
    """
    parsed = {}
    for criterion_id in criterion_ids:
        raw = data.get(f"{prefix}-{criterion_id}-met", "")
        if raw not in VERDICTS:
            raise VerdictError(raw)
        comment = data.get(f"{prefix}-{criterion_id}-comment", "")[:5000]
        notes = data.get(f"{prefix}-{criterion_id}-notes", "")[:5000]
        if "\x00" in comment or "\x00" in notes:
            raise VerdictError("NUL")
        parsed[criterion_id] = (VERDICTS[raw], comment, notes)
    return parsed
