"""An institution's runtime settings: what it changes without a deploy (InstitutionSettings).

The contact details shown to its candidates, the days before a session when enrolled candidates
are reminded, and the logo, signature image and signatory printed on the certificates it issues.
A validating institution without a settings row of its own uses its certifying institution's
(:func:`effective_settings_for`).
"""
from __future__ import annotations

import base64
import hashlib
import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from PIL import Image
from sqlalchemy import inspect, select

from ..audit import services as audit_log
from ..extensions import db
from ..models import Institution, InstitutionSettings, User, utcnow


def _(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel ships no type information)."""
    return str(gettext(text, **values))


#: Images are small print marks: a logo or a scanned signature never needs more.
MAX_IMAGE_BYTES = 512 * 1024
#: Larger pictures are refused before they are decoded (a small file may declare a huge picture).
MAX_IMAGE_SIDE = 4000
#: The signatures of the two formats accepted, read from the bytes (a file's name proves nothing).
IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png", "PNG"), (b"\xff\xd8\xff", "image/jpeg", "JPEG"))
MAX_REMINDERS = 5
REMINDER_RANGE = (1, 60)
PHONE_CHARACTERS = frozenset("0123456789 +-()")
IMAGE_FIELDS = ("logo", "signature")
TEXT_FIELDS = ("contact_email", "contact_phone", "contact_note", "signatory_name", "signatory_title")


class SettingsRefused(ValueError):
    """A settings value was refused; ``field`` names the form field the message belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SettingsChange:
    """The settings as a staff member saves them: the text values (None: empty), the reminder days,
    and per image either new bytes, a removal, or neither (kept as it is)."""

    contact_email: str | None = None
    contact_phone: str | None = None
    contact_note: str | None = None
    reminder_days: list[int] = field(default_factory=list)
    signatory_name: str | None = None
    signatory_title: str | None = None
    logo: bytes | None = None
    remove_logo: bool = False
    signature: bytes | None = None
    remove_signature: bool = False


@dataclass(frozen=True)
class Contact:
    """How a candidate reaches an institution, as its settings say (any part may be missing)."""

    institution_name: str
    email: str | None
    phone: str | None
    note: str | None


def image_mimetype(data: bytes) -> str | None:
    """``image/png`` or ``image/jpeg`` when the bytes start like one, else None."""
    return next((mimetype for magic, mimetype, _format in IMAGE_SIGNATURES if data.startswith(magic)), None)


def image_data_uri(data: bytes | None) -> str | None:
    """The image as a ``data:`` URI (for a page's preview or the certificate's renderer), None for no image."""
    mimetype = image_mimetype(data) if data else None
    if data is None or mimetype is None:
        return None
    return f"data:{mimetype};base64,{base64.b64encode(data).decode('ascii')}"


def image_problem(data: bytes) -> str | None:
    """Why the bytes are not an acceptable logo or signature image (None when they are): at most
    512 KB, PNG or JPEG by their first bytes, and a picture that decodes, of at most 4000 px a side."""
    if len(data) > MAX_IMAGE_BYTES:
        return _("The image is larger than 512 KB: save it smaller (a logo or a signature needs no more).")
    mimetype = image_mimetype(data)
    if mimetype is None:
        return _("This file is not a PNG or JPEG image (whatever its name says): choose a PNG or JPEG file.")
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its pixel limit; here a huge picture is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as picture:
                expected = next(name for _magic, kind, name in IMAGE_SIGNATURES if kind == mimetype)
                if picture.format != expected:
                    raise ValueError(picture.format)
                width, height = picture.size
                if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
                    return _("The image is larger than %(n)d pixels a side: scale it down.", n=MAX_IMAGE_SIDE)
                # WeasyPrint turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process, so decoding
                # alone accepts a cut file: a PNG's chunks are checked to its end, a JPEG must have its end.
                if expected == "PNG":
                    picture.verify()
                elif b"\xff\xd9" not in data[2:]:
                    raise ValueError("no JPEG end-of-image marker")
            with Image.open(io.BytesIO(data)) as picture:
                picture.load()  # decodes the whole picture: a damaged file fails here, not in the PDF
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _("This image cannot be read: it is damaged or not really a PNG or JPEG file. Save it again and choose it.")
    return None


def parse_reminder_days(text: str | None) -> list[int]:
    """The reminder days typed as comma-separated whole numbers ("7, 1"), largest first; [] for none.

    Refused (:class:`SettingsRefused`): anything that is not a whole number, and whatever
    :func:`reminder_days_problem` refuses.
    """
    days: list[int] = []
    for raw in (text or "").split(","):
        part = raw.strip()
        if not part:
            continue
        if len(part) > 3 or not (part.isascii() and part.isdigit()):
            raise SettingsRefused("reminder_days", _("“%(part)s” is not a whole number of days: write numbers separated by "
                                                     "commas, e.g. 7, 1.", part=part[:20]))
        days.append(int(part))
    problem = reminder_days_problem(days)
    if problem:
        raise SettingsRefused("reminder_days", problem)
    return sorted(days, reverse=True)


def reminder_days_problem(days: list[int]) -> str | None:
    """Why the reminder days are not acceptable (None when they are): whole numbers of days from 1 to
    60, each once, at most 5 of them."""
    low, high = REMINDER_RANGE
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int) or not low <= day <= high:
            return _("A reminder is sent %(low)d to %(high)d days before the session: %(day)s is outside that range.",
                     low=low, high=high, day=day)
    repeated = sorted({day for day in days if days.count(day) > 1})
    if repeated:
        return _("Each reminder day once: %(days)s is given more than once.", days=", ".join(map(str, repeated)))
    if len(days) > MAX_REMINDERS:
        return _("At most %(n)d reminders: choose the days that matter most.", n=MAX_REMINDERS)
    return None


def phone_problem(phone: str) -> str | None:
    """Why the text is not a telephone number (None when it is): digits, spaces, "-", brackets and a
    leading "+", with 9 to 15 digits."""
    digits = sum(ch.isdigit() for ch in phone)
    if not set(phone) <= PHONE_CHARACTERS or "+" in phone[1:] or not 9 <= digits <= 15:
        return _("Enter a telephone number of 9 to 15 digits, e.g. +48 12 345 67 89.")
    return None


def settings_of(institution: Institution) -> InstitutionSettings | None:
    """The institution's own settings row, if it has saved any."""
    return db.session.get(InstitutionSettings, institution.id)


def _settings_with_parents(institution_ids: set[int]) -> tuple[dict[int, int | None], dict[int, InstitutionSettings]]:
    """(institution id → its certifying institution's id, settings rows of both by institution id):
    two queries, whatever the number of institutions."""
    parents = dict(db.session.execute(select(Institution.id, Institution.parent_id).where(
        Institution.id.in_(institution_ids))).all())
    rows = {row.institution_id: row for row in db.session.scalars(select(InstitutionSettings).where(
        InstitutionSettings.institution_id.in_(institution_ids | {p for p in parents.values() if p is not None})))}
    return parents, rows


def effective_settings_for(institution_ids: Iterable[int]) -> dict[int, InstitutionSettings]:
    """For each institution that has settings to use: its own row or, for a validating institution
    that has saved none, its certifying institution's."""
    wanted = set(institution_ids)
    if not wanted:
        return {}
    parents, rows = _settings_with_parents(wanted)
    found = {}
    for institution_id in wanted:
        parent = parents.get(institution_id)
        chosen = rows.get(institution_id) or (rows.get(parent) if parent is not None else None)
        if chosen is not None:
            found[institution_id] = chosen
    return found


def _reachable(settings: InstitutionSettings | None) -> bool:
    return settings is not None and bool(settings.contact_email or settings.contact_phone)


def contacts_for(institution_ids: Iterable[int]) -> dict[int, Contact]:
    """How candidates reach each institution: the e-mail, telephone and note of its own settings when
    they give an e-mail or a telephone, else of its certifying institution's (as the applications'
    mails do, see applications.services.institution_contact); institutions with neither are left out."""
    wanted = set(institution_ids)
    if not wanted:
        return {}
    parents, rows = _settings_with_parents(wanted)
    chosen: dict[int, InstitutionSettings] = {}
    for institution_id in wanted:
        parent = parents.get(institution_id)
        for source in (institution_id, parent):
            if source is not None and _reachable(rows.get(source)):
                chosen[institution_id] = rows[source]
                break
    names = dict(db.session.execute(select(Institution.id, Institution.name).where(
        Institution.id.in_({s.institution_id for s in chosen.values()}))).all()) if chosen else {}
    return {institution_id: Contact(names.get(s.institution_id, ""), s.contact_email, s.contact_phone, s.contact_note)
            for institution_id, s in chosen.items()}


def reminder_days_of(settings: InstitutionSettings | None) -> list[int]:
    """The reminder days a settings row holds, ignoring anything that is not a valid day (the column is JSON)."""
    if settings is None or not isinstance(settings.reminder_days, list):
        return []
    low, high = REMINDER_RANGE
    return sorted({d for d in settings.reminder_days if isinstance(d, int) and not isinstance(d, bool) and low <= d <= high},
                  reverse=True)


def sha256_of(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data else None


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def _check_change(change: SettingsChange) -> None:
    """Every rule of the settings, whatever the form already checked (a service may be called without one)."""
    limits = {"contact_email": 254, "contact_phone": 30, "contact_note": 1000, "signatory_name": 200, "signatory_title": 200}
    for name, limit in limits.items():
        value = _clean(getattr(change, name))
        if value is not None and len(value) > limit:
            raise SettingsRefused(name, _("At most %(n)d characters.", n=limit))
    email = _clean(change.contact_email)
    if email is not None and (email.count("@") != 1 or any(ch.isspace() for ch in email) or not all(email.split("@"))):
        raise SettingsRefused("contact_email", _("Enter a valid e-mail address."))
    phone = _clean(change.contact_phone)
    if phone is not None and (problem := phone_problem(phone)):
        raise SettingsRefused("contact_phone", problem)
    if problem := reminder_days_problem(list(change.reminder_days)):
        raise SettingsRefused("reminder_days", problem)
    for name in IMAGE_FIELDS:
        data: bytes | None = getattr(change, name)
        if data is not None and getattr(change, f"remove_{name}"):
            raise SettingsRefused(name, _("Either choose a new image or remove the present one, not both."))
        if data is not None and (problem := image_problem(data)):
            raise SettingsRefused(name, problem)


def update_settings(institution: Institution, actor: User, change: SettingsChange) -> list[str]:
    """Save the institution's settings (creating its row on the first save); returns the names of the
    fields that changed (none: nothing is saved or audited).

    The audit entry names the fields that changed; it holds no contact detail or name (they may be a
    person's), the reminder days as they are, and the images by SHA-256.
    """
    _check_change(change)
    settings = settings_of(institution)
    if settings is None:
        settings = InstitutionSettings(institution_id=institution.id, reminder_days=[])
        db.session.add(settings)
    changed: list[str] = []
    for name in TEXT_FIELDS:
        value = _clean(getattr(change, name))
        if getattr(settings, name) != value:
            setattr(settings, name, value)
            changed.append(name)
    days = sorted(set(change.reminder_days), reverse=True)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if list(settings.reminder_days or []) != days:
        before["reminder_days"], after["reminder_days"] = list(settings.reminder_days or []), days
        settings.reminder_days = days
        changed.append("reminder_days")
    for name in IMAGE_FIELDS:
        old: bytes | None = getattr(settings, name)
        new: bytes | None = None if getattr(change, f"remove_{name}") else getattr(change, name)
        if new is None and not getattr(change, f"remove_{name}"):
            continue  # no new file chosen: the image stays
        if sha256_of(old) == sha256_of(new):
            continue
        before[f"{name}_sha256"], after[f"{name}_sha256"] = sha256_of(old), sha256_of(new)
        setattr(settings, name, new)
        setattr(settings, f"{name}_mimetype", image_mimetype(new) if new else None)
        changed.append(name)
    if not changed:
        if inspect(settings).pending:
            db.session.expunge(settings)
        return []
    settings.updated_by_id, settings.updated_at = actor.id, utcnow()
    audit_log.record("institution.settings_changed", settings, object_id=institution.id, before=before or None,
                     after={"changed": changed, **after}, institution_id=institution.id)
    db.session.commit()
    return changed


def document_marks(institution: Institution) -> dict[str, Any] | None:
    """What the institution's settings add to a certificate it issues, fixed in the certificate's
    content at issue: the signatory's name and title, and the SHA-256 of the logo and signature
    (the bytes stay in the settings; a print loads them by this hash, see certification.pdf).
    None when the settings add nothing."""
    settings = settings_of(institution)
    if settings is None:
        return None
    marks = {"signatory_name": settings.signatory_name, "signatory_title": settings.signatory_title,
             "logo_sha256": sha256_of(settings.logo), "signature_sha256": sha256_of(settings.signature)}
    if not any(marks.values()):
        return None
    return {"institution_id": institution.id, **marks}

