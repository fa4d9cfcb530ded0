"""``flask reports``: the reports the ZSK act asks for, from the command line."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from ..extensions import db
from ..models import Institution, InstitutionKind
from . import zrk

reports_cli = AppGroup("reports", help="The quarterly ZRK report and the internal evaluation.")


@reports_cli.command("zrk")
@click.option("--quarter", "quarter_text", required=True, metavar="YYYYQn", help="The quarter, e.g. 2026Q4.")
@click.option("--institution", "short_name", metavar="SHORT",
              help="The certifying institution's short name (needed when there are several).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write the report as CSV to this file.")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write the report as PDF to this file.")
@click.option("--lang", type=click.Choice(["pl", "en"]), default="pl", show_default=True,
              help="The language of the table, the notes and the files.")
def zrk_command(quarter_text: str, short_name: str | None, csv_path: Path | None, pdf_path: Path | None,
                lang: str) -> None:
    """The quarterly report to the ZRK (art. 65 of the ZSK act): prints the table and its notes."""
    with force_locale(lang):
        try:
            quarter = zrk.parse_reportable(quarter_text)
        except zrk.QuarterError as error:
            raise click.ClickException(str(error)) from None
        report = zrk.zrk_report(_certifying(short_name), quarter)
        written = []
        if csv_path is not None:
            written.append(_write(csv_path, zrk.to_csv(report).encode("utf-8")))
        if pdf_path is not None:
            written.append(_write(pdf_path, zrk.render_zrk_pdf(report)))
        click.echo(zrk.to_text(report))
        for path in written:
            click.echo(f"written: {path}")


def _certifying(short_name: str | None) -> Institution:
    """The certifying institution with this short name; without one, the only certifying institution."""
    institutions = list(db.session.scalars(select(Institution).where(Institution.kind == InstitutionKind.CERTIFYING)
                                           .order_by(Institution.short_name)))
    known = ", ".join(i.short_name for i in institutions) or "none"
    if short_name is not None:
        institutions = [i for i in institutions if i.short_name == short_name]
        if not institutions:
            raise click.ClickException(f"no certifying institution with the short name {short_name!r}; known: {known}")
    if not institutions:
        raise click.ClickException("there is no certifying institution yet")
    if len(institutions) > 1:
        names = ", ".join(i.name for i in institutions)
        raise click.ClickException(f"choose the institution with --institution SHORT: {names if short_name else known}")
    return institutions[0]


def _write(path: Path, data: bytes) -> Path:
    try:
        path.write_bytes(data)
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror or error}") from None
    return path
