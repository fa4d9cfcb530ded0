"""Files people attach (appeal grounds, renewal evidence): checked by their content, then kept in
the database as a :class:`~examportal.models.StoredFile`, never under the web root.

The rules, the same everywhere: not empty; at most :data:`MAX_UPLOAD_BYTES` (below the request
limit, so a slightly larger file gets this message rather than a 413); a PDF, JPEG or PNG by its
first bytes whatever its name says; an image no larger than :data:`MAX_IMAGE_PIXELS` (a small file
that decodes to a huge bitmap — an "image bomb" — is refused before anyone opens it); the name
reduced to its last path part, printable, at most 120 characters, with the extension of its real
type.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from flask import send_file
from flask_babel import gettext
from PIL import Image, UnidentifiedImageError

from .extensions import db
from .models import StoredFile, User, utcnow

MAX_UPLOAD_BYTES = 4 * 1024 * 1024
#: 40 megapixels: an A4 page scanned at 600 dpi is about 35.
MAX_IMAGE_PIXELS = 40_000_000
MAX_NAME_LENGTH = 120

#: (first bytes, MIME type, extension)
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)


def _(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel ships no type information)."""
    return str(gettext(text, **values))


class UploadError(ValueError):
    """The file was refused; the message (translated) says why and what to do."""


@dataclass(frozen=True)
class Upload:
    """A file whose content passed the checks, not stored yet."""

    name: str
    mimetype: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def safe_name(filename: str | None, suffix: str, default: str = "plik") -> str:
    """The last part of the name a browser sent (some send a whole path, with / or \\), printable,
    short, ending in ``suffix`` (the extension of the type the content really has)."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"\\/:*?<>|').strip().lstrip(".")
    name = name[:MAX_NAME_LENGTH]
    lowered = name.lower()
    if not (lowered.endswith(suffix) or (suffix == ".jpg" and lowered.endswith(".jpeg"))):
        name = (name or default)[:MAX_NAME_LENGTH - len(suffix)] + suffix
    return name


def _image_size_refusal(data: bytes) -> str | None:
    """Why an image is refused (damaged, or too many pixels), read from its header only."""
    too_large = _("The image has too many pixels to open safely: save it at a lower resolution or as a PDF.")
    try:
        with warnings.catch_warnings():
            # Pillow warns between its limit and twice it, and raises above: both mean too large.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # reads the header only, decodes nothing
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # Pillow's own limit, above ours
        return too_large
    except (UnidentifiedImageError, OSError, ValueError):
        return _("The image cannot be read: it is damaged. Scan or save it again.")
    return too_large if width * height > MAX_IMAGE_PIXELS else None


def read_upload(filename: str | None, data: bytes, default_name: str = "plik") -> Upload:
    """Check an uploaded file (see the module's rules); raises :class:`UploadError`."""
    if not data:
        raise UploadError(_("The file %(name)s is empty: choose it again.", name=safe_name(filename, "", default_name)
                            or default_name))
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(_("The file is larger than %(limit)s MB: save it at a lower resolution or as a PDF.",
                            limit=MAX_UPLOAD_BYTES // (1024 * 1024)))
    kind = next(((mimetype, suffix) for magic, mimetype, suffix in SIGNATURES if data.startswith(magic)), None)
    if kind is None:
        raise UploadError(_("Attach a PDF, JPEG or PNG file: the content of this one is of another type, "
                            "whatever its name says."))
    mimetype, suffix = kind
    if mimetype.startswith("image/"):
        refusal = _image_size_refusal(data)
        if refusal:
            raise UploadError(refusal)
    return Upload(name=safe_name(filename, suffix, default_name), mimetype=mimetype, data=data)


def read_storage(storage: Any, default_name: str = "plik") -> Upload:
    """Check a werkzeug ``FileStorage`` from a form (read at most one byte over the limit)."""
    data = storage.stream.read(MAX_UPLOAD_BYTES + 1)
    return read_upload(storage.filename, data, default_name)


def store(upload: Upload, owner: User | None) -> StoredFile:
    """Add the checked file to the session (the caller commits with what it belongs to)."""
    stored = StoredFile(owner_id=owner.id if owner is not None else None, filename=upload.name,
                        mimetype=upload.mimetype, size=len(upload.data), sha256=upload.sha256, data=upload.data,
                        uploaded_at=utcnow())
    db.session.add(stored)
    return stored


def send_stored(stored: StoredFile) -> Any:
    """The file as a download (never shown inline: a PDF or image opens in the viewer the browser
    chooses, not as a page of this site), with its checked name."""
    response = send_file(io.BytesIO(stored.data), mimetype=stored.mimetype, as_attachment=True,
                         download_name=stored.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
