"""``flask`` commands: qualification loading, demo data, audit verification, mail delivery."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from question_bank.definition import DefinitionError, available_definitions

qualification_cli = AppGroup("qualification", help="Load and inspect qualification definitions.")
audit_cli = AppGroup("audit", help="Check the audit trail.")
demo_cli = AppGroup("demo", help="Demo data for trying the portal.")
mail_cli = AppGroup("mail", help="The mail outbox.")
theory_cli = AppGroup("theory", help="The theory test.")


@qualification_cli.command("load")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def qualification_load(paths):
    """Validate and load definition files (all in question_bank/qualifications by default)."""
    from .qualifications.services import load_file

    for path in paths or available_definitions():
        try:
            qualification, changed = load_file(path)
        except DefinitionError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)
        click.echo(f"{qualification.code}: {'loaded' if changed else 'unchanged'} ({path.name})")


@audit_cli.command("verify")
def audit_verify():
    """Verify the hash chain; exit 1 and list every broken place if it was tampered with."""
    from .audit.services import verify_chain
    from .extensions import db
    from .models import AuditEntry

    problems = verify_chain()
    if problems:
        for problem in problems:
            click.echo(f"TAMPERED {problem}", err=True)
        sys.exit(1)
    count = db.session.query(AuditEntry).count()
    click.echo(f"audit chain intact: {count} entries")


@demo_cli.command("load")
def demo_load():
    """Create the demo institutions and one account for every role (idempotent)."""
    from .demo import load_demo

    for line in load_demo():
        click.echo(line)


@mail_cli.command("deliver")
def mail_deliver():
    """Send queued mail over SMTP (needs MAIL_SERVER)."""
    from .mail.services import deliver_queued

    sent, failed = deliver_queued()
    click.echo(f"sent {sent}, failed {failed}")
    if failed:
        sys.exit(1)


@theory_cli.command("expire")
def theory_expire():
    """Submit every theory attempt whose time is up (run it every minute from cron or a timer)."""
    from .theory.services import expire_overdue

    expired = expire_overdue()
    click.echo(f"submitted {len(expired)} overdue attempt(s)")


def init_app(app: Flask) -> None:
    for group in (qualification_cli, audit_cli, demo_cli, mail_cli, theory_cli):
        app.cli.add_command(group)
