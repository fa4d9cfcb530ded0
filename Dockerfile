# The reference image: one image for every process type (web, worker, scheduler; see compose.yaml
# and the README's "Production" section). Build: docker build -t examportal .
#
# Debian 12 (bookworm) under Python 3.11: its postgresql-client is PostgreSQL 15, the server
# compose.yaml runs (pg_dump must be at least the server's major version for `flask backup`).
FROM python:3.11-slim-bookworm

# WeasyPrint's system libraries (Pango, HarfBuzz's subsetter) and the fonts the PDF templates name
# (DejaVu Sans and Sans Mono, with the Polish letters); the PostgreSQL client tools for backups.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core postgresql-client \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=examportal \
    EXAMPORTAL_CONFIG=production

WORKDIR /app
# The project reads templates/, migrations/ and instance/ beside its packages (examportal.ROOT),
# so it runs from this tree: installed in editable mode, with every dependency pyproject.toml
# declares (a plain wheel would leave templates/ and migrations/ behind).
COPY pyproject.toml README.md ./
COPY examportal ./examportal
COPY question_bank ./question_bank
COPY sandbox_crm ./sandbox_crm
RUN pip install -e .
COPY templates ./templates
COPY migrations ./migrations
COPY gunicorn.conf.py ./

# Not root. The instance folder holds the stored files (a volume in compose.yaml); the
# checkpoint folder is where AUDIT_CHECKPOINT_DIR points (another volume).
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin examportal \
 && mkdir -p /app/instance /srv/audit-checkpoints \
 && chown examportal:examportal /app/instance /srv/audit-checkpoints
USER examportal

EXPOSE 8000
# The web process; compose.yaml gives the worker and the scheduler their own commands.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "examportal:create_app()"]
