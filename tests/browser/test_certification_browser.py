"""Certification in a real browser: staff decide a whole session, the holder downloads the PDF and
the signed Open Badges credential, the link printed under its QR code opens the public verification
page ("valid") and the credential checks as valid; staff revoke the certificate and the same page,
the credential check and the published revocation list then say "revoked"."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from examportal.credentials import status
from examportal.extensions import db
from examportal.models import Certificate
from tests.browser.a11y import Audit
from tests.certtools import certification_world

pytestmark = pytest.mark.browser


@pytest.fixture
def world(app, qualification):
    world = certification_world(qualification)
    for person in ("staff", "child_staff"):
        world[person].locale = "en"
    db.session.commit()
    return world


def test_staff_certify_the_holder_downloads_and_anyone_verifies_until_revoked(app, new_page, world, live_server):
    app.config["PUBLIC_BASE_URL"] = live_server.url  # the link printed in the PDF and its QR code points here
    audit = Audit()  # every page on the way is checked for serious accessibility problems
    # Staff decide certification for the whole session: every candidate waiting comes ticked.
    staff = new_page(world["staff"])
    staff.goto(f"/sessions/{world['session'].id}")
    staff.get_by_role("link", name="Certification of this session").click()
    expect(staff.locator("h1")).to_have_text("Certification of the session")
    audit.check(staff, "certification of a session")
    picks = staff.locator("input.pick")
    expect(picks).to_have_count(3)
    # The trainer's refusal is not on this person: every box is enabled; "select all" clears and ticks them.
    staff.locator("#select-all").uncheck()
    expect(staff.locator("input.pick:checked")).to_have_count(0)
    staff.locator("#select-all").check()
    expect(staff.locator("input.pick:checked")).to_have_count(3)
    staff.get_by_role("button", name="Decide for the selected candidates").click()
    staff.wait_for_url("**/jobs/*")
    expect(staff.locator("#job-status")).to_have_text("finished")
    expect(staff.locator("#job-result")).to_be_visible()

    certificate = db.session.scalar(select(Certificate).where(Certificate.holder_id == world["candidates"][0].id))
    assert certificate is not None and certificate.pdf_sha256

    # The holder downloads the PDF from "My certificates".
    holder = new_page(world["candidates"][0])
    holder.goto("/certification/mine")
    card = holder.locator(f'section[data-number="{certificate.number}"]')
    expect(card).to_be_visible()
    audit.check(holder, "my certificates")
    with holder.expect_download() as download_info:
        card.locator("a.button[download]").click()
    data = Path(download_info.value.path()).read_bytes()
    assert data == certificate.pdf
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
    assert "Łucja Żółkiewska" in text and certificate.number in text
    printed = re.search(r"(http://\S+/verify/)\s*([A-Za-z0-9_-]+)", text)
    url = printed.group(1) + printed.group(2)
    assert url == f"{live_server.url}/verify/{certificate.verification_code}"

    # ...and the signed credential, for a wallet.
    with holder.expect_download() as download_info:
        card.locator("a.credential-json").click()
    credential = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert credential["credentialSubject"]["licenseNumber"] == certificate.number

    # Anyone opens the printed link (without logging in): the certificate is valid.
    public = new_page()
    public.goto(url)
    expect(public.locator("#status")).to_have_text("ważny")
    expect(public.locator("#holder")).to_have_text("Łucja Żółkiewska")
    assert world["candidates"][0].pesel not in public.content()
    audit.check(public, "public verification")
    # Anyone checks the credential: the signature holds and nothing is revoked.
    public.goto("/ob/verify")
    public.fill("#credential", json.dumps(credential))
    public.locator("main button[type=submit]").click()
    expect(public.locator("#verdict h2")).to_have_text("Poświadczenie jest ważne")
    audit.check(public, "credential verification")

    # Staff revoke it, with the reason and the confirmation.
    staff.goto(f"/certification/certificates/{certificate.id}")
    staff.fill("#revoke-reason", "Fałszerstwo dokumentu tożsamości wykryte po wydaniu.")
    staff.check("#revoke-confirm")
    staff.get_by_role("button", name="Revoke the certificate").click()
    expect(staff.locator(".flash").first).to_contain_text("The certificate is revoked")
    expect(staff.locator("#final-note")).to_contain_text("A revocation is final")
    audit.check(staff, "a revoked certificate (staff)")

    public.goto(url)
    expect(public.locator("#status")).to_have_text("unieważniony")
    audit.check(public, "a revoked certificate (public)")
    # The credential is now reported revoked, and the published revocation list has its bit set.
    public.goto("/ob/verify")
    public.fill("#credential", json.dumps(credential))
    public.locator("main button[type=submit]").click()
    expect(public.locator("#verdict h2")).to_have_text("Poświadczenie nie jest ważne")
    expect(public.locator("#check-status")).to_have_text("unieważnione przez wystawcę")
    entry = next(e for e in credential["credentialStatus"] if e["statusPurpose"] == "revocation")
    published = public.request.get(entry["statusListCredential"]).json()
    assert status.bit(status.decode(published["credentialSubject"]["encodedList"]), int(entry["statusListIndex"]))
    # The lookup by number finds it too, and says the same.
    public.goto("/verify")
    public.fill("#q", certificate.number)
    public.locator("main button[type=submit]").click()
    expect(public.locator("#status")).to_have_text("unieważniony")
    public.goto("/verify")
    public.fill("#q", "VCC/13881/2020/999999")
    public.locator("main button[type=submit]").click()
    expect(public.locator("#not-found")).to_be_visible()
    audit.check(public, "verification: not found")
    staff.goto("/certification/register")
    audit.check(staff, "the register")
    staff.goto(f"/sessions/{world['session'].id}")
    staff.fill("#rows-0-amount", "abc")
    staff.get_by_role("button", name="Save the fees").click()
    expect(staff.locator("#rows-0-amount-error")).to_contain_text("Enter the fee in złoty")
    audit.check(staff, "fees with an error")
    audit.assert_clean()
