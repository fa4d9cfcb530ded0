"""``flask backup``: make, check and restore encrypted backups (the key comes from BACKUP_KEY)."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup

from .archive import BackupError, BackupKey

backup_cli = AppGroup("backup", help="Encrypted backups of the database and the stored files (key: BACKUP_KEY).")


def _key() -> BackupKey:
    return BackupKey.from_text(os.environ.get("BACKUP_KEY"))


def _fail(error: BackupError) -> NoReturn:
    click.echo(f"error: {error}", err=True)
    sys.exit(1)


@backup_cli.command("create")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the archive (default: examportal-<UTC time>.backup here). Never overwritten.")
def create(output: Path | None) -> None:
    """Write a consistent, encrypted archive of the database and the instance folder's stored files."""
    from .services import create_backup, default_output

    output = output or default_output()
    try:
        manifest = create_backup(output, _key())
    except BackupError as error:
        _fail(error)
    click.echo(f"backup written to {output}: {manifest.dialect} database ({len(manifest.row_counts)} tables, "
               f"{manifest.rows} rows), {len(manifest.files)} stored file(s)"
               f"{', the audit checkpoints' if manifest.checkpoints else ''}")
    click.echo("keep BACKUP_KEY and AUDIT_KEY apart from the archive: without them it cannot be read or its audit trail verified")


@backup_cli.command("inspect")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def inspect_archive(archive: Path) -> None:
    """Decrypt and authenticate an archive without restoring it; show what it holds."""
    from .services import read_backup

    try:
        with tempfile.TemporaryDirectory(prefix="examportal-inspect-") as tmp:
            manifest = read_backup(archive, _key(), Path(tmp))
    except BackupError as error:
        _fail(error)
    click.echo(f"intact backup made {manifest.created_at}: {manifest.dialect} database at revision {manifest.revision}")
    for name, count in manifest.row_counts.items():
        click.echo(f"  {name:<40} {count:>8}")
    for stored in manifest.files:
        click.echo(f"  file {stored.path} ({stored.size} bytes)")
    click.echo(f"  audit checkpoints: {'kept' if manifest.checkpoints else 'none'}")


@backup_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", help="Why (goes into the audit trail; name no one). Default: the backup's date.")
@click.option("--force", is_flag=True,
              help="DANGEROUS: replace a database that holds data, and overwrite stored files that differ. "
                   "Everything in them is lost.")
def restore(archive: Path, reason: str | None, force: bool) -> None:
    """Restore an archive into an empty database (DATABASE_URL) and the instance folder.

    The whole archive is authenticated before anything changes. The restore is recorded in the
    audit trail, and `flask audit verify` then reports it (and any entries it lost) as explained.
    """
    from ..audit.services import verify_log
    from .services import restore_backup

    try:
        result = restore_backup(archive, _key(), reason=reason, force=force)
    except BackupError as error:
        _fail(error)
    manifest = result.manifest
    click.echo(f"restored the backup made {manifest.created_at}: {len(manifest.row_counts)} tables, {manifest.rows} rows; "
               f"stored files: {result.files_written} written, {result.files_unchanged} already in place")
    click.echo(f"recorded {result.record.entry.action} as audit entry {result.record.entry.seq}")
    if result.record.lost_to_seq:
        click.echo(f"lost with the restore: audit entries {result.record.restored_seq + 1}–{result.record.lost_to_seq}")
    if result.head_revision:
        click.echo(f"the backup's schema is at revision {manifest.revision}, the code's migrations end at "
                   f"{result.head_revision}: run `flask db upgrade`")
    report = verify_log()
    if report.problems:
        for problem in report.problems:
            click.echo(f"TAMPERED {problem}", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {report.entries} entries")


@backup_cli.command("new-key")
def new_key() -> None:
    """Print a new random key for BACKUP_KEY (keep it apart from the backups)."""
    click.echo(BackupKey.generate())
