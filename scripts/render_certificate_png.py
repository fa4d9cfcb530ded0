"""Render page 1 of the demo certificate as a PNG for the README (docs/certificate.png).

By default the demo data is loaded into a temporary SQLite database (migrated, then
``flask demo load``'s data); ``--database-url`` takes the demo certificate from an existing database
where the demo has been loaded instead. Needs ``pdftoppm`` (Debian: ``apt-get install poppler-utils``).

Usage: .venv/bin/python scripts/render_certificate_png.py [--output docs/certificate.png] [--resolution 60]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def certificate_pdf(database_url: str | None, tmp: Path, base_url: str) -> bytes:
    """The stored PDF of the demo candidate's certificate."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from examportal import create_app
    from examportal.demo import CERTIFIED, load_demo
    from examportal.extensions import db
    from examportal.models import Certificate, User

    config = {"SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{tmp / 'demo.db'}", "PUBLIC_BASE_URL": base_url}
    if database_url is None:  # a throwaway database: its audit key and checkpoints stay with it
        config |= {"AUDIT_KEY_FILE": str(tmp / "audit_key"), "AUDIT_CHECKPOINT_DIR": str(tmp)}
    app = create_app(config)
    with app.app_context():
        if database_url is None:
            upgrade()
            load_demo()
        certificate = db.session.scalar(select(Certificate).join(User, Certificate.holder_id == User.id)
                                        .where(User.email == CERTIFIED).order_by(Certificate.id.desc()))
        if certificate is None or certificate.pdf is None:
            raise SystemExit("no demo certificate in that database: run `flask demo load` first")
        data = certificate.pdf
        db.engine.dispose()
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "certificate.png")
    parser.add_argument("--resolution", type=int, default=60, help="pixels per inch (60: about 500 × 700 for A4)")
    parser.add_argument("--database-url", help="take the certificate from this database (the demo loaded) instead")
    parser.add_argument("--base-url", default="https://examportal.example.pl",
                        help="PUBLIC_BASE_URL for the temporary database: the address the QR code points to")
    args = parser.parse_args()
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise SystemExit("pdftoppm is missing: apt-get install -y poppler-utils")
    with tempfile.TemporaryDirectory(prefix="examportal-certificate-") as tmp:
        pdf = Path(tmp) / "certificate.pdf"
        pdf.write_bytes(certificate_pdf(args.database_url, Path(tmp), args.base_url))
        stem = Path(tmp) / "page"
        subprocess.run([pdftoppm, "-png", "-r", str(args.resolution), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                       check=True)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stem.with_suffix(".png"), args.output)
    print(f"written {args.output}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
