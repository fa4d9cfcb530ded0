"""Open Badges pages: what anyone may fetch to check a credential (the issuer's profile, its keys,
the status lists, the badge image), the verification endpoint, and the holder's downloads."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from ..access import row_or_404
from ..certification import services as certification
from ..certification.batch import pdf_name
from ..extensions import csrf, db, limiter
from ..forms import PortalForm
from ..models import Certificate, CertificateStatus, Institution, Qualification, StatusList
from ..security import public_url
from . import badge, keys, status, svg, verification
from .jsonld import MULTIKEY_V1, OB_V3, VC_V2
from .verification import MAX_BYTES

bp = Blueprint("ob", __name__)

def _json(document: Any, *, cache_seconds: int = 300, download: str | None = None) -> Response:
    """JSON as sent to checkers: public documents may be cached and read from any origin;
    a holder's credential (``cache_seconds=0``) is private."""
    response = current_app.response_class(
        current_app.json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json")
    if cache_seconds:
        response.headers["Cache-Control"] = f"public, max-age={cache_seconds}"
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        response.headers["Cache-Control"] = "private, no-store"
    if download:
        response.headers["Content-Disposition"] = f'attachment; filename="{download}"'
    return response


def _institution(institution_id: int) -> Institution:
    institution = db.session.get(Institution, institution_id)
    if institution is None or not keys.published_keys(institution_id):
        abort(404)  # an institution that never signed anything publishes no issuer profile
    return institution


@bp.route("/issuers/<int:institution_id>")
def issuer(institution_id: int) -> ResponseReturnValue:
    """The issuer's Open Badges ``Profile`` (the controller of its keys)."""
    institution = _institution(institution_id)
    return _json({
        "@context": [VC_V2, OB_V3],
        "id": keys.issuer_url(institution.id),
        "type": ["Profile"],
        "name": institution.name,
        "url": public_url("main.index"),
    })


def _multikey(key: Any) -> dict[str, Any]:
    return {"@context": MULTIKEY_V1, "id": keys.method_url(key), "type": "Multikey",
            "controller": keys.issuer_url(key.institution_id), "publicKeyMultibase": keys.multibase_public_key(key.public_key)}


@bp.route("/issuers/<int:institution_id>/keys")
def key_list(institution_id: int) -> ResponseReturnValue:
    """Every public key of the issuer, signing and retired (a retired key still verifies what it signed)."""
    institution = _institution(institution_id)
    return _json({"issuer": keys.issuer_url(institution.id),
                  "keys": [_multikey(key) | {"signing": key.retired_at is None,
                                             "created": key.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                             "retired": key.retired_at.strftime("%Y-%m-%dT%H:%M:%SZ") if key.retired_at else None}
                           for key in keys.published_keys(institution.id)]})


@bp.route("/issuers/<int:institution_id>/keys/<kid>")
def key(institution_id: int, kid: str) -> ResponseReturnValue:
    """One key as a Multikey document: what a proof's ``verificationMethod`` points at."""
    found = keys.find_key(institution_id, kid) if len(kid) <= 40 else None
    if found is None:
        abort(404)
    return _json(_multikey(found), cache_seconds=3600)


@bp.route("/issuers/<int:institution_id>/jwks.json")
def jwks(institution_id: int) -> ResponseReturnValue:
    """The issuer's public keys as a JSON Web Key Set."""
    institution = _institution(institution_id)
    return _json({"keys": [keys.jwk(key) for key in keys.published_keys(institution.id)]})


@bp.route("/status/<int:list_id>")
def status_list(list_id: int) -> ResponseReturnValue:
    """A signed ``BitstringStatusListCredential`` (revocation or suspension), at its stable URL."""
    found = db.session.get(StatusList, list_id)
    if found is None:
        abort(404)
    return _json(status.published(found), cache_seconds=60)


@bp.route("/badges/<code>.svg")
def badge_image(code: str) -> ResponseReturnValue:
    """The qualification's badge image (the ``Achievement``'s image)."""
    qualification = db.session.query(Qualification).filter_by(code=code).one_or_none() if len(code) <= 20 else None
    if qualification is None:
        abort(404)
    return Response(svg.badge_svg(qualification.code, qualification.name_pl), mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


# --------------------------------------------------------------------------- the holder's downloads


def _holders_credential(certificate_id: int) -> tuple[Certificate, dict[str, Any]]:
    if not current_user.is_authenticated:
        abort(404)
    certificate = row_or_404(Certificate, certificate_id)
    if certificate.holder_id != current_user.id and not certification.can_view(current_user, certificate):
        abort(404)
    existing = badge.credential_for(certificate)
    if existing is None:
        if certificate.state in (CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED):
            abort(404)  # no new credential for a certificate that no longer stands
        existing = badge.ensure(certificate)
    return certificate, existing.document


@bp.route("/credentials/<int:certificate_id>.json")
def credential_json(certificate_id: int) -> ResponseReturnValue:
    """The signed credential, for its holder (and the issuing institution's staff)."""
    certificate, document = _holders_credential(certificate_id)
    return _json(document, cache_seconds=0, download=f"{_file_stem(certificate)}.credential.json")


@bp.route("/credentials/<int:certificate_id>.svg")
def credential_svg(certificate_id: int) -> ResponseReturnValue:
    """The badge image with the signed credential baked in (Open Badges 3.0 SVG baking)."""
    certificate, document = _holders_credential(certificate_id)
    content = certificate.content["qualification"]
    data = svg.badge_svg(content["code"], content["name"]["pl"], credential=document,
                         holder=certificate.holder_name, number=certificate.number)
    return Response(data, mimetype="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="{_file_stem(certificate)}.svg"', "Cache-Control": "private, no-store"})


def _file_stem(certificate: Certificate) -> str:
    return pdf_name(certificate.number, certificate.holder_name).removesuffix(".pdf")


# --------------------------------------------------------------------------- verification


class CredentialForm(PortalForm):
    class Meta:
        csrf = False  # a read-only check that changes nothing; the JSON API shares the route

    credential = TextAreaField(_l("The credential (JSON)"), validators=[Optional(), Length(max=MAX_BYTES)])
    upload = FileField(_l("…or its file (.json)"))


def _verify_limit() -> str:
    return str(current_app.config["CREDENTIAL_VERIFY_RATE_LIMIT"])


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(_verify_limit, exempt_when=lambda: request.method == "GET")
def verify() -> ResponseReturnValue:
    """Check a credential: POST it as JSON (answers JSON) or through the form (answers the page)."""
    if request.method == "GET":
        return render_template("credentials/verify.html", form=CredentialForm(formdata=None), verdict=None)
    if request.is_json or request.mimetype in ("application/ld+json", "application/vc", "application/vc+ld+json"):
        verdict = verification.verify_bytes(request.get_data(cache=False)[: MAX_BYTES + 1])
        return jsonify(verdict.as_json()), 200 if "not_json" not in verdict.problems else 400
    form = CredentialForm()
    data: bytes | str | None = None
    if form.validate():
        upload = form.upload.data
        if upload is not None and getattr(upload, "filename", None):
            data = upload.stream.read(MAX_BYTES + 1)
        elif form.credential.data and form.credential.data.strip():
            data = form.credential.data
    if data is None:
        return render_template("credentials/verify.html", form=form, verdict=None, empty=True), 400
    verdict = verification.verify_bytes(data)
    return render_template("credentials/verify.html", form=form, verdict=verdict, reasons=verification.REASONS)


# Programs POST credentials here without a session or a form token; the check changes nothing.
csrf.exempt(f"{__name__}.verify")
