#!/usr/bin/env bash
# Set up and run the whole test suite. SQLite by default; PostgreSQL with
#   TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test ./scripts/test.sh
# Extra arguments go to pytest (e.g. ./scripts/test.sh -k audit).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh dev
# Browser tests drive Debian's Chromium through Playwright (no browser download works here); the
# certificate tests read rendered PDF pages with poppler's pdftoppm; WeasyPrint 70 subsets fonts
# faster with HarfBuzz's subset library (it falls back without it).
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Install ${missing[*]} first: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! ldconfig -p | grep -q libharfbuzz-subset; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libharfbuzz-subset0 >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libharfbuzz-subset0 >/dev/null; } || true
fi
# Lint: import order and the bug-prone rule sets (configuration in pyproject.toml).
ruff check .
# Types: examportal, question_bank and sandbox_crm (strict for every module not listed as legacy).
mypy
# The item bank must cover every test criterion, with sound keys and no duplicates.
EXAMPORTAL_CONFIG=test flask bank check
# One worker per core (pytest-xdist); each worker has its own database. PYTEST_WORKERS=0 runs in-process.
python -m pytest -n "${PYTEST_WORKERS:-auto}" "$@"
