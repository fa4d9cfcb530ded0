"""The evidence a holder attaches to a renewal application: refused with a clear message next to
the file, and nothing stored, when it is too large, not really a PDF/JPEG/PNG whatever its name
says, empty, or an image that would decode to a huge bitmap; a name with path parts keeps only its
last part. Several files may go in one application (more than the site-wide request limit)."""
from __future__ import annotations

import struct
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from examportal.certification import rules as certificate_rules
from examportal.extensions import db
from examportal.models import RenewalApplication, Role, StoredFile
from examportal.renewals import views
from examportal.uploads import MAX_UPLOAD_BYTES
from tests.certtools import certification_world, make_certificate
from tests.factories import EVIDENCE_PDF, client_as, expiring


@pytest.fixture
def world(app, qualification):
    w = certification_world(qualification)
    w["holder"] = w["candidates"][0]
    w["certificate"] = expiring(make_certificate(w["enrolments"][0], w["staff"]),
                                certificate_rules.today() + timedelta(days=150))
    assert Role.CANDIDATE in {r.role for r in w["holder"].roles}
    return w


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int) -> bytes:
    """A small, well-formed PNG file whose header claims ``width`` × ``height`` pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + png_chunk(b"IEND", b""))


def multipart(fields: dict[str, str], files: dict[str, tuple[bytes, str]]) -> tuple[bytes, str]:
    """A multipart body built here: the test client spools a large one to a file it never closes."""
    boundary = "----examportal-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
             for key, value in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{name}"\r\n'
              f"Content-Type: application/pdf\r\n\r\n".encode() + content + b"\r\n"
              for key, (content, name) in files.items()]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(app, world, *files, user="holder", client=None):
    """The application with one period covering the validity and ``files`` as (content, name)."""
    certificate = world["certificate"]
    fields = {"send": "y", "declaration": "y", "periods-0-employer": "Hurtownia Części", "periods-0-role": "konsultantka",
              "periods-0-starts_on": certificate.issued_on.isoformat(),
              "periods-0-ends_on": (certificate_rules.today() - timedelta(days=1)).isoformat()}
    fields.update({f"evidence-{i}-description": f"Dowód {i + 1}" for i in range(len(files))})
    body, content_type = multipart(fields, {f"evidence-{i}-file": file for i, file in enumerate(files)})
    client = client or (client_as(app, world[user]) if user else client_as(app))
    return client.post(f"/renewals/certificates/{certificate.id}/apply", data=body, content_type=content_type)


def nothing_stored() -> bool:
    return (db.session.scalar(select(func.count()).select_from(StoredFile)) == 0
            and db.session.scalar(select(func.count()).select_from(RenewalApplication)) == 0)


@pytest.mark.parametrize("content, name, message", [
    (b"%PDF-1.4\n" + b"0" * MAX_UPLOAD_BYTES, "skan.pdf", "The file is larger than 4 MB"),
    (b"PK\x03\x04\x14\x00\x00\x00" + b"word/document.xml" * 10, "umowa.pdf", "Attach a PDF, JPEG or PNG file"),
    (b"MZ\x90\x00\x03\x00\x00\x00", "zaswiadczenie.pdf", "whatever its name says"),
    (b"", "pusty.pdf", "is empty: choose it again"),
    (png(100_000, 100_000), "skan.png", "too many pixels to open safely"),  # ten gigapixels in a few bytes
    (png(8_000, 8_000), "zdjecie.png", "too many pixels to open safely"),  # 64 megapixels: over our limit
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "uszkodzony.png", "damaged"),
])
def test_a_refused_file_is_named_and_nothing_is_stored(app, world, content, name, message):
    response = post(app, world, (EVIDENCE_PDF, "dobry.pdf"), (content, name))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page.replace("&#39;", "'")
    assert 'id="evidence-1-file-error"' in page  # next to the file it concerns
    assert "choose them again" in page
    assert nothing_stored()


def test_a_name_with_path_parts_keeps_only_its_last_part(app, world):
    response = post(app, world, (EVIDENCE_PDF, "../../etc/zaswiadczenie.pdf"), (EVIDENCE_PDF, "/home/anna/Pulpit/skan.pdf"),
                    (EVIDENCE_PDF, "../../.."), (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "zdjecie.exe"))
    assert response.status_code == 400  # the JPEG above is damaged: nothing at all is stored
    assert "damaged" in response.get_data(as_text=True) and nothing_stored()
    response = post(app, world, (EVIDENCE_PDF, "../../etc/zaswiadczenie.pdf"), (EVIDENCE_PDF, "/home/anna/Pulpit/skan.pdf"),
                    (EVIDENCE_PDF, "../../.."), (EVIDENCE_PDF, "raport.exe"))
    assert response.status_code == 302
    names = list(db.session.scalars(select(StoredFile.filename).order_by(StoredFile.id)))
    assert names == ["zaswiadczenie.pdf", "skan.pdf", "dowod.pdf", "raport.exe.pdf"]


def test_several_large_files_go_in_one_application(app, world):
    """Three files of 3 MB: over the site-wide request limit of one file, within this form's."""
    assert 3 * 3 * 1024 * 1024 > app.config["MAX_CONTENT_LENGTH"]
    big = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)
    response = post(app, world, (big, "a.pdf"), (big, "b.pdf"), (big, "c.pdf"))
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 3


def test_a_request_over_the_forms_limit_is_a_413_not_a_500(app, world, monkeypatch):
    monkeypatch.setattr(views, "UPLOAD_REQUEST_LIMIT", 2 * 1024 * 1024)
    big = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)
    response = post(app, world, (big, "a.pdf"))
    assert response.status_code == 413 and "too large" in response.get_data(as_text=True)
    assert nothing_stored()


def test_the_raised_limit_is_for_signed_in_people_only(app, world):
    """Without a session the site-wide limit stands: the CSRF check reading the body refuses it."""
    app.config["WTF_CSRF_ENABLED"] = True
    big = b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024)
    response = post(app, world, (big, "a.pdf"), user=None)
    assert response.status_code == 413 and nothing_stored()


def test_the_raised_limit_applies_before_the_csrf_check_reads_the_body(app, world):
    """Signed in, a body over the site-wide limit reaches the CSRF check, which refuses the missing
    token (400) — not the size (413): the form's own limit was set before anything read the body."""
    client = client_as(app, world["holder"])  # signed in first: the log-in form has its own token
    app.config["WTF_CSRF_ENABLED"] = True
    big = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)
    response = post(app, world, (big, "a.pdf"), (big, "b.pdf"), client=client)
    assert response.status_code == 400 and nothing_stored()
