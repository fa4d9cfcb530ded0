# Sourced by the other scripts: create .venv with Python 3.11+ and install the project into it
# (again only when pyproject.toml changed). Usage: source scripts/_venv.sh [dev]
extra="${1:-}"
python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$python_bin" - <<'PY' || { echo "examportal needs Python 3.11 or newer" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
# shellcheck disable=SC1091
source .venv/bin/activate
spec="."; [ -n "$extra" ] && spec=".[$extra]"
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extra:-base}"
if [ ! -f "$stamp" ]; then
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet -e "$spec"
  touch "$stamp"
fi
export FLASK_APP=examportal
