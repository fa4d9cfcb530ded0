#!/usr/bin/env bash
# Set everything up and serve the portal with demo data at http://127.0.0.1:5000, or on the
# port in PORT (virtual env, install, migrate the SQLite database, load the qualification and
# demo data). Mail links follow the port unless PUBLIC_BASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
# Mail and links written outside a request (the demo's certificate and its QR code, background
# jobs, commands) have no port to follow: tell them, before the demo data is made.
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:${PORT:-5000}}"
flask db upgrade
flask qualification load
flask demo load
echo
echo "examportal runs at http://127.0.0.1:${PORT:-5000}  (Ctrl+C stops it)"
exec flask run --host 127.0.0.1 --port "${PORT:-5000}"
