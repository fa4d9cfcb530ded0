#!/usr/bin/env bash
# Until the first production deployment the schema is one migration, regenerated from the
# models. After that, use `flask db migrate -m "..."` for every change instead.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f migrations/versions/*.py
tmp=$(mktemp -d)
DATABASE_URL="sqlite:///$tmp/empty.db" FLASK_APP=examportal .venv/bin/flask db migrate -m "initial schema" >/dev/null 2>&1
rm -rf "$tmp"
ls migrations/versions
