"""``flask credentials``: the institutions' signing keys and the Open Badges credentials."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import Certificate, CertificateStatus, Credential, Institution
from . import badge, keys, verification

credentials_cli = AppGroup("credentials", help="Signing keys and Open Badges 3.0 credentials of certificates.")


def _institution(short_name: str) -> Institution:
    found = db.session.scalar(select(Institution).where(Institution.short_name == short_name))
    if found is None:
        raise click.BadParameter(f"no institution with the short name {short_name!r}", param_hint="INSTITUTION")
    return found


@credentials_cli.command("keys")
@click.argument("institution", required=False)
def list_keys(institution: str | None) -> None:
    """List the signing keys (all institutions, or INSTITUTION's short name): signing or retired."""
    query = select(Institution).order_by(Institution.short_name)
    if institution:
        query = query.where(Institution.id == _institution(institution).id)
    for found in db.session.scalars(query):
        for key in keys.published_keys(found.id):
            state = "signing" if key.retired_at is None else f"retired {key.retired_at:%Y-%m-%d %H:%M} UTC"
            click.echo(f"{found.short_name}\t{key.kid}\t{keys.multibase_public_key(key.public_key)}\t"
                       f"created {key.created_at:%Y-%m-%d %H:%M} UTC\t{state}")


@credentials_cli.command("rotate-key")
@click.argument("institution")
def rotate_key(institution: str) -> None:
    """Retire INSTITUTION's signing key and create the next one. Credentials signed with the old
    key keep verifying: it stays published."""
    found = _institution(institution)
    key = keys.rotate(found)
    click.echo(f"{found.short_name}: new signing key {key.kid} ({keys.multibase_public_key(key.public_key)})")


@credentials_cli.command("issue-missing")
def issue_missing() -> None:
    """Issue the credential of every standing certificate that has none (e.g. issued before
    credentials existed). Idempotent."""
    with_credential = select(Credential.certificate_id)
    missing = db.session.scalars(select(Certificate).where(
        Certificate.id.not_in(with_credential),
        Certificate.state.in_([CertificateStatus.VALID, CertificateStatus.SUSPENDED])).order_by(Certificate.id))
    count = 0
    for certificate in list(missing):
        badge.ensure(certificate)
        count += 1
    click.echo(f"{count} credential(s) issued")


@credentials_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_file(file: Path) -> None:
    """Check a credential FILE as the public endpoint does; exit 1 unless it is verified."""
    verdict = verification.verify_bytes(file.read_bytes()[: verification.MAX_BYTES + 1])
    click.echo("verified" if verdict.verified else "NOT verified")
    for code in verdict.problems:
        click.echo(f"  {code}: {verification.REASONS[code]}")
    if verdict.certificate is not None:
        click.echo(f"  certificate {verdict.certificate.number}")
    if not verdict.verified:
        sys.exit(1)


@credentials_cli.command("seal-secrets")
def seal_secrets() -> None:
    """Seal under CREDENTIAL_KEY the second factors' secrets stored before sealing and everything
    sealed under a key of CREDENTIAL_KEY_PREVIOUS (the signing keys too; after replacing the key,
    before retiring the old one). Exit 1 when a signing key opens under no configured key."""
    from ..auth.two_factor import seal_secrets as seal_second_factors

    count = seal_second_factors()
    resealed, closed = keys.reseal()
    db.session.commit()
    click.echo(f"sealed {count} second-factor secret(s)")
    click.echo(f"sealed {resealed} signing key(s) again under CREDENTIAL_KEY")
    if closed:
        click.echo(f"{len(closed)} signing key(s) open under no configured key: {', '.join(closed)}", err=True)
        sys.exit(1)
