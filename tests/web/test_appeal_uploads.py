"""Files attached to appeals: PDF, JPEG or PNG by their content, size-limited, image bombs refused,
names reduced to their last part; all or none — any refused file refuses the appeal (nothing stored,
the grounds typed kept) with a clear message; downloads only for the appellant and the panel."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from examportal.appeals import services
from examportal.extensions import db
from examportal.models import Appeal, StoredFile
from examportal.uploads import MAX_UPLOAD_BYTES
from tests.appealtools import (
    PDF,
    appeal_world,
    body,
    counts,
    file_appeal,
    pdf_upload,
    png,
    png_declaring,
    post_files,
    ready_for_review,
    seat,
)
from tests.factories import client_as

GROUNDS = "Podczas egzaminu zawiesił się komputer; załączam zrzuty ekranu."


@pytest.fixture
def world(app, qualification):
    return appeal_world(qualification)


def post_appeal(app, world, files, grounds: str = GROUNDS):
    return post_files(client_as(app, world["candidate"]), f"/appeals/new/validation/{world['decision'].id}", files,
                      grounds=grounds)


@pytest.mark.parametrize("name, content, message", [
    ("duzy.pdf", b"%PDF-1.4\n" + b"0" * MAX_UPLOAD_BYTES, "The file is larger than 4 MB"),
    ("wniosek.pdf", b"MZ\x90\x00\x03\x00\x00\x00 this is a program, not a PDF", "Attach a PDF, JPEG or PNG file"),
    ("skrypt.pdf", b"<html><script>alert(1)</script></html>", "Attach a PDF, JPEG or PNG file"),
    ("pusty.pdf", b"", "The file pusty.pdf is empty"),
    ("bomba.png", png_declaring(20000, 20000), "The image has too many pixels to open safely"),
    ("uszkodzony.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "The image cannot be read: it is damaged"),
])
def test_a_refused_file_refuses_the_appeal_with_a_clear_message_and_nothing_is_stored(app, world, name, content, message):
    response = post_appeal(app, world, [(name, content)])
    assert response.status_code == 400
    page = body(response)
    assert message in page and 'id="files-error"' in page
    assert GROUNDS in page  # the grounds typed are kept
    assert counts() == (0, 0, 0)


def test_one_bad_file_among_good_ones_stores_none_of_them(app, world):
    response = post_appeal(app, world, [("skan.pdf", PDF), ("zdjecie.png", png()), ("bomba.png", png_declaring(20000, 20000))])
    assert response.status_code == 400 and "bomba.png: The image has too many pixels" in body(response)
    assert counts() == (0, 0, 0)


def test_at_most_five_files(app, world):
    response = post_appeal(app, world, [(f"skan{n}.pdf", PDF) for n in range(6)])
    assert response.status_code == 400 and "Attach at most 5 files" in body(response)
    assert counts() == (0, 0, 0)


def test_good_files_are_stored_by_their_sniffed_type_with_the_base_name_only(app, world):
    jpeg = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (3, 3), "red").save(jpeg, "JPEG")
    files = [("/home/anna/Dokumenty/skan.pdf", PDF), ("../../etc/zrzut.png", png()), ("zdjecie", jpeg.getvalue())]
    response = post_appeal(app, world, files)
    assert response.status_code == 302
    [appeal] = db.session.scalars(select(Appeal)).all()
    stored = [(f.file.filename, f.file.mimetype, f.file.owner_id) for f in appeal.files]
    assert stored == [("skan.pdf", "application/pdf", world["candidate"].id), ("zrzut.png", "image/png", world["candidate"].id),
                      ("zdjecie.jpg", "image/jpeg", world["candidate"].id)]
    assert counts() == (1, 3, 3)


def test_a_windows_path_is_reduced_to_its_last_part():
    # Some browsers send the whole path; on the wire a backslash is an escape, so this is checked
    # on the file as the form hands it over.
    [upload] = services.read_files([FileStorage(io.BytesIO(PDF), filename="C:\\Users\\anna\\Dokumenty\\skan.pdf")])
    assert upload.name == "skan.pdf" and upload.mimetype == "application/pdf"


def test_no_file_chosen_is_no_file(app, world):
    response = post_appeal(app, world, [("", b"")])
    assert response.status_code == 302 and counts() == (1, 0, 0)


def test_files_added_later_follow_the_same_rules(app, world):
    appeal = file_appeal(world, uploads=[pdf_upload(f"skan{n}.pdf") for n in range(3)])
    client = client_as(app, world["candidate"])
    url = f"/appeals/{appeal.id}/files"

    def attach(*files):
        return post_files(client, url, files)

    for files, message in (([("pusty.pdf", b"")], "is empty"), ([("x.pdf", b"GIF89a")], "Attach a PDF, JPEG or PNG file"),
                           ([("bomba.png", png_declaring(30000, 30000))], "too many pixels"), ([], "Choose a file to attach"),
                           ([("a.pdf", PDF), ("b.pdf", PDF), ("c.pdf", PDF)], "at most 5 files; 3 are attached already")):
        response = attach(*files)
        assert response.status_code == 400 and message in body(response), message
        assert counts() == (1, 3, 3)
    assert attach(("d.pdf", PDF), ("e.png", png())).status_code == 302
    assert counts() == (1, 5, 5)
    # Someone else cannot add to it; a closed appeal takes nothing more.
    assert post_files(client_as(app, world["other"]), url, [("f.pdf", PDF)]).status_code == 404


def test_a_closed_appeal_takes_no_more_files(app, world):
    appeal = file_appeal(world)
    services.withdraw(world["candidate"], appeal)
    response = post_files(client_as(app, world["candidate"]), f"/appeals/{appeal.id}/files", [("f.pdf", PDF)])
    assert response.status_code == 400 and "This appeal is closed" in body(response)
    assert counts() == (1, 0, 0)


# --------------------------------------------------------------------------- who may download


def test_only_the_appellant_and_the_declared_panel_download_the_files(app, world):
    appeal = ready_for_review(world, file_appeal(world, uploads=[pdf_upload("dowod.pdf")]), declare=False)
    url = f"/appeals/{appeal.id}/files/{appeal.files[0].id}"
    response = client_as(app, world["candidate"]).get(url)
    assert response.status_code == 200 and response.data == PDF
    assert "attachment" in response.headers["Content-Disposition"] and "dowod.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff" and "no-store" in response.headers["Cache-Control"]
    for who in ("other", "staff", "child_staff", "panel3", "chair", "panel1"):  # panel1 has not declared yet
        assert client_as(app, world[who]).get(url).status_code == 404, who
    services.declare(seat(appeal, world["panel1"]), "Oświadczam.")
    assert client_as(app, world["panel1"]).get(url).status_code == 200
    assert client_as(app, world["candidate"]).get(f"/appeals/{appeal.id}/files/{appeal.files[0].id + 1000}").status_code == 404


def test_a_file_is_served_only_under_its_own_appeal(app, world, qualification):
    first = file_appeal(world, uploads=[pdf_upload("pierwszy.pdf")])
    second_world = appeal_world(qualification, letter="S")
    second = file_appeal(second_world, uploads=[pdf_upload("drugi.pdf")])
    client = client_as(app, world["candidate"])
    assert client.get(f"/appeals/{first.id}/files/{second.files[0].id}").status_code == 404
    assert client.get(f"/appeals/{second.id}/files/{second.files[0].id}").status_code == 404
    assert db.session.scalar(select(StoredFile.filename).where(StoredFile.id == second.files[0].file_id)) == "drugi.pdf"
