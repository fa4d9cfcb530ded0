"""``flask records``: what is past retention, and its purge."""
from __future__ import annotations

import click
from flask.cli import AppGroup

records_cli = AppGroup("records", help="Retention of exam records and the purge of what is past it.")


@records_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="List who is past retention and what would go; change nothing.")
def purge(dry_run: bool) -> None:
    """Anonymise everyone past the retention of their exam records (as a background job).

    With --dry-run: each person due (id, the last day their records were kept, what would be
    removed, by kind) and nothing changes. Without: a job is started and its id printed; it
    anonymises each person in a transaction of their own (see examportal/records/retention.py).
    """
    if dry_run:
        from .purge import due

        people = due()
        for person in people:
            removed = ", ".join(f"{kind}={count}" for kind, count in sorted(person.would_remove.items())) or "-"
            click.echo(f"user #{person.user_id}\tkept until {person.kept_until.isoformat()}\twould remove: {removed}")
        click.echo(f"{len(people)} people past retention (dry run: nothing changed)")
        return
    from ..jobs.core import start

    job = start("records_purge")
    click.echo(f"job {job.id}: {job.status.value}")
