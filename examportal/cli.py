"""``flask`` commands: qualification loading, demo data, audit verification, mail delivery."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from question_bank.definition import DefinitionError, available_definitions

qualification_cli = AppGroup("qualification", help="Load and inspect qualification definitions.")
audit_cli = AppGroup("audit", help="Check, checkpoint and restore the audit trail.")
demo_cli = AppGroup("demo", help="Demo data for trying the portal.")
mail_cli = AppGroup("mail", help="The mail outbox.")
bank_cli = AppGroup("bank", help="The theory-test item bank.")

ITEMS_DIR = Path(__file__).resolve().parent.parent / "question_bank" / "items"


@bank_cli.command("check")
@click.option("--qualification", "code", default="13881", show_default=True, help="Qualification whose criteria the items must cover.")
@click.option("--min-per-criterion", default=20, show_default=True, type=click.IntRange(min=1),
              help="Approved items each test criterion needs (one sitting then shows at most 20 %% of a pool).")
@click.option("--items", "items_dir", default=ITEMS_DIR, type=click.Path(exists=True, path_type=Path), show_default=True)
def bank_check(code, min_per_criterion, items_dir):
    """Coverage per test criterion; duplicates, missing or impossible keys, unknown criteria. Exit 1 on any problem."""
    from question_bank.definition import definition_path, load_definition
    from question_bank.items import BankError, check_bank, load_items

    try:
        definition = load_definition(definition_path(code))
        items = load_items(items_dir, strict=False)
    except (DefinitionError, BankError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    report = check_bank(items, {c.code: c.method for c in definition.criteria()}, min_per_criterion=min_per_criterion)
    click.echo(report.render())
    if not report.ok:
        sys.exit(1)


@bank_cli.command("export-qti")
@click.argument("target", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--items", "items_dir", default=ITEMS_DIR, type=click.Path(exists=True, path_type=Path), show_default=True)
def bank_export_qti(target, items_dir):
    """Write the bank as a QTI 3.0 content package (zip)."""
    from question_bank.items import load_items
    from question_bank.qti import export_package

    items = load_items(items_dir)
    target.write_bytes(export_package(items))
    click.echo(f"exported {len(items)} items to {target}")


@bank_cli.command("import-qti")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
def bank_import_qti(package, target):
    """Read a QTI 3.0 package and write its items as YAML files (one per criterion) into TARGET."""
    import yaml

    from question_bank.items import item_to_dict
    from question_bank.qti import QtiError, import_package

    try:
        items = import_package(package)
    except QtiError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    target.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(item.criteria[0] if item.criteria else "untagged", []).append(item_to_dict(item))
    for name, rows in sorted(groups.items()):
        (target / f"{name}.yaml").write_text(yaml.safe_dump(rows, allow_unicode=True, sort_keys=False), encoding="utf-8")
    click.echo(f"imported {len(items)} items into {target}")
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


def _echo_findings(report) -> None:
    for problem in report.problems:
        click.echo(f"TAMPERED {problem}", err=True)
    for note in report.notes:
        click.echo(f"{'RESTORED' if note.kind == 'restore' else 'NOTE'} {note}")


@audit_cli.command("verify")
@click.option("--no-checkpoint", is_flag=True, help="Do not sign the verified head into the checkpoint file.")
def audit_verify(no_checkpoint):
    """Verify the chain (links, keyed hashes, signed checkpoints); exit 1 listing every broken place.

    An intact chain's head is signed into the checkpoint file, so a later cut is found.
    """
    from .audit.services import verify_log, write_checkpoint

    report = verify_log()
    _echo_findings(report)
    if report.problems:
        sys.exit(1)
    click.echo(f"audit chain intact: {report.entries} entries")
    if not no_checkpoint:
        written = write_checkpoint(report)
        if written:
            click.echo(f"checkpoint {written.n} written: entry {written.seq}")


@audit_cli.command("checkpoint")
@click.option("--adopt-unkeyed", is_flag=True,
              help="Vouch for entries hashed before the chain was keyed (once, after upgrading); "
                   "any other problem still refuses.")
def audit_checkpoint(adopt_unkeyed):
    """Verify the chain and sign its head into the checkpoint file (run it from cron, e.g. hourly)."""
    from .audit.anchor import checkpoint_path
    from .audit.services import checkpoint

    report, written = checkpoint(adopt_unkeyed=adopt_unkeyed)
    _echo_findings(report)
    if report.problems:
        click.echo("error: no checkpoint written: the chain is not intact", err=True)
        sys.exit(1)
    if written:
        click.echo(f"checkpoint {written.n} written to {checkpoint_path()}: entry {written.seq}")
    else:
        click.echo(f"no new checkpoint: entry {report.head_seq} is already the last one" if report.head_seq
                   else "no checkpoint: the audit log is empty")


@audit_cli.command("restored")
@click.option("--reason", required=True,
              help="Why the database was restored (goes into the audit trail: describe the incident, name no one).")
@click.option("--checkpoint-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A kept copy of the checkpoint file, put in place when the configured one was lost too.")
def audit_restored(reason, checkpoint_file):
    """Record that the database was restored from a backup: the chain continues on the restored head
    and verify reports what the restore lost as explained, not as tampering."""
    from .audit.services import AuditRefused, record_restore

    try:
        restored = record_restore(reason, checkpoint_file)
    except AuditRefused as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"recorded {restored.entry.action} as entry {restored.entry.seq}, continuing from entry "
               f"{restored.restored_seq}")
    if restored.lost_to_seq:
        click.echo(f"lost with the restore: entries {restored.restored_seq + 1}–{restored.lost_to_seq} "
                   "(checkpointed before it)")


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


@theory_cli.command("reliability")
@click.option("--qualification", "code", default="13881", show_default=True)
@click.option("--forms", default=100, show_default=True, type=click.IntRange(min=1, max=10000),
              help="Forms drawn by the blueprint.")
@click.option("--trials", default=4000, show_default=True, type=click.IntRange(min=100, max=1000000),
              help="Simulated sittings per ability.")
def theory_reliability(code, forms, trials):
    """The probability of passing the theory part by true ability (simulation, fixed seed)."""
    from sqlalchemy import select

    from .extensions import db
    from .models import Qualification
    from .theory.draw import DrawError
    from .theory.reliability import COMPETENT, COMPETENT_MIN_PASS, WEAK, WEAK_MAX_PASS
    from .theory.services import reliability

    qualification = db.session.scalar(select(Qualification).where(Qualification.code == code))
    if qualification is None:
        click.echo(f"error: qualification {code} is not loaded (flask qualification load)", err=True)
        sys.exit(1)
    try:
        figures = reliability(qualification, forms=forms, trials=trials)
    except DrawError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    theory = qualification.rules.theory
    click.echo(f"{theory.item_count} items, pass mark {theory.pass_mark_percent:g} %, rule {theory.decision_rule}")
    click.echo("true ability  P(pass)")
    for ability, probability in figures.items():
        click.echo(f"{ability:>12.2f}  {probability:7.3f}")
    ok = figures[COMPETENT] >= COMPETENT_MIN_PASS and figures[WEAK] <= WEAK_MAX_PASS
    click.echo(f"goal: P(pass | {COMPETENT}) >= {COMPETENT_MIN_PASS} and P(pass | {WEAK}) <= {WEAK_MAX_PASS}: "
               + ("met" if ok else "NOT met"))
    if not ok:
        sys.exit(1)


practical_cli = AppGroup("practical", help="The practical exam and its scenarios.")


@practical_cli.command("expire")
def practical_expire():
    """End every practical attempt whose time is up and freeze its workspace (run from cron)."""
    from .practical.services import expire_overdue

    expired = expire_overdue()
    click.echo(f"ended {len(expired)} overdue practical attempt(s)")


@practical_cli.command("check")
@click.option("--qualification", "code", default="13881", show_default=True)
def practical_check(code):
    """Check every scenario file against the qualification's criteria and the sandbox's seeders. Exit 1 on a problem."""
    from question_bank.definition import definition_path, load_definition
    from question_bank.scenarios import ScenarioError, load_scenarios
    from sandbox_crm.api import key_target_problems, seed_sections

    try:
        definition = load_definition(definition_path(code))
        scenarios = load_scenarios(qualification=code, criteria_methods={c.code: c.method for c in definition.criteria()},
                                   seed_sections=seed_sections(), key_check=key_target_problems)
    except (DefinitionError, ScenarioError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    for scenario in scenarios.values():
        varies = scenario.variation
        click.echo(f"{scenario.code}: {len(scenario.tasks)} tasks, {len(scenario.criteria)} criteria, "
                   f"{scenario.time_limit_minutes} min, varies {len(varies.names)} names, {len(varies.figures)} figures, "
                   f"{len(varies.dates)} dates")


def init_app(app: Flask) -> None:
    from .backup.cli import backup_cli
    from .certification.cli import certificates_cli
    from .credentials.cli import credentials_cli
    from .records.cli import records_cli
    from .reports.cli import reports_cli

    for group in (qualification_cli, audit_cli, demo_cli, mail_cli, theory_cli, bank_cli, practical_cli, backup_cli,
                  certificates_cli, credentials_cli, reports_cli, records_cli):
        app.cli.add_command(group)
