"""Configuration classes, read from the environment with safe defaults for a newcomer."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE / 'examportal.db'}")
    # Heroku-style URLs and the bare driver name both mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _dev_secret() -> str:
    """A secret kept in the instance folder so dev sessions survive a restart."""
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


class Config:
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _database_url()
    # hide_parameters: a statement's values (answers, PESEL numbers, e-mail addresses) never reach
    # the logs, neither through SQL logging nor in the text of a database error.
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {"pool_pre_ping": True, "hide_parameters": True}
    BABEL_DEFAULT_LOCALE = "pl"
    BABEL_DEFAULT_TIMEZONE = "Europe/Warsaw"
    LANGUAGES = ("pl", "en")
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    # Failed log-ins per account (whatever the address), and requests for a reset or a confirmation
    # link per client address.
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    # Failed log-ins per client address: high enough for an exam room whose candidates all log in
    # behind one address (a NAT); the limit per account stops guessing one person's password.
    LOGIN_ADDRESS_RATE_LIMIT = os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "30 per minute;300 per hour")
    # Exam-day check-in opens this long before a session starts (the operator compares identity documents).
    CHECK_IN_OPENS_BEFORE_MINUTES = int(os.environ.get("CHECK_IN_OPENS_BEFORE_MINUTES", "120"))
    # The theory test's page renders its own question and the next one's form; the script fetches
    # the other questions' forms after a random wait of up to this many seconds, so a room that
    # starts together does not ask for them all at once, nor in its first seconds (going to a
    # question not yet on the page fetches them at once).
    THEORY_PREFETCH_SPREAD_SECONDS = float(os.environ.get("THEORY_PREFETCH_SPREAD_SECONDS", "30"))
    # An ordinary autosave is answered in front of Flask in two statements on PostgreSQL, an ordinary
    # heartbeat ahead of the other hooks (theory/express.py).
    THEORY_EXPRESS_AUTOSAVE = os.environ.get("THEORY_EXPRESS_AUTOSAVE", "1") not in ("0", "false", "no")
    MAIL_SERVER = os.environ.get("MAIL_SERVER")  # unset: mail stays in the outbox, readable at /dev/mailbox
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "1") == "1"
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "examportal <no-reply@examportal.local>")
    DEV_MAILBOX = True
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (0: none, trust nothing).
    # Behind a proxy this must be set, or every client shares the proxy's address for rate limits.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    QUALIFICATION_DIR = ROOT / "question_bank" / "qualifications"
    # Logs: "json" (one JSON object per line, for the log collector) or "text" (development's default).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # /metrics answers these addresses/networks (comma-separated) and any client sending
    # "Authorization: Bearer <METRICS_TOKEN>".
    METRICS_ALLOW = os.environ.get("METRICS_ALLOW", "127.0.0.0/8,::1")  # loopback
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN")
    # Background jobs: RQ on this Redis; unset, jobs run in-process (a newcomer's zero set-up).
    REDIS_URL = os.environ.get("REDIS_URL")
    QUEUE_NAME = os.environ.get("QUEUE_NAME", "examportal")
    JOB_RETRY_INTERVALS = (10, 60, 300)  # seconds before the 2nd, 3rd and 4th attempt
    JOB_TIMEOUT_SECONDS = 3600
    JOBS_INLINE = False
    JOBS_INLINE_PAUSE = 0.0  # in-process retries do not wait (scale of JOB_RETRY_INTERVALS)
    JOBS_KEEP_DAYS = 14
    # A worker process stops after the job during which it laid out this many PDF documents
    # (WeasyPrint keeps native memory per document); the process manager starts a new one.
    JOBS_WORKER_MAX_PDF_DOCUMENTS = int(os.environ.get("JOBS_WORKER_MAX_PDF_DOCUMENTS", "1000"))
    # The scheduler's periodic tasks (flask jobs scheduler): {"seconds": n} or {"cron": "m h dom mon dow"} (UTC).
    SCHEDULE: ClassVar[dict[str, dict[str, object]]] = {
        "theory.expire": {"seconds": 30},
        "practical.expire": {"seconds": 60},
        "mail.deliver": {"seconds": 60},
        "audit.checkpoint": {"cron": "5 * * * *"},
        "jobs.cleanup": {"cron": "30 3 * * *"},
        # Once a day, in the morning in Poland (UTC here): a reminder goes out on its calendar day.
        "sessions.remind": {"cron": "0 6 * * *"},
        # Certificates expiring in 6, 3 or 1 month(s): each reminder once (see renewals.services).
        "certificates.remind": {"cron": "10 6 * * *"},
        # People past the retention of their exam records are anonymised (see records.retention).
        "records.purge": {"cron": "40 2 * * *"},
    }
    # The audit chain's MAC key: outside the database, or whoever can write the database can
    # rewrite the chain and recompute its hashes. Unset outside production: a key is generated
    # into AUDIT_KEY_FILE (default instance/audit_key, mode 0600) on first use.
    AUDIT_KEY = os.environ.get("AUDIT_KEY")
    AUDIT_KEY_FILE = os.environ.get("AUDIT_KEY_FILE")
    # Seals the institutions' credential-signing keys (AES-GCM) in the database: kept outside the
    # database and its backups. Unset outside production: generated into CREDENTIAL_KEY_FILE
    # (default instance/credential_key, mode 0600) on first use. To replace it, set the new key
    # and move the old one to CREDENTIAL_KEY_PREVIOUS (several: separated by spaces or commas):
    # what it sealed still opens; `flask credentials seal-secrets` seals it all under the new key,
    # and then the old key can go.
    CREDENTIAL_KEY = os.environ.get("CREDENTIAL_KEY")
    CREDENTIAL_KEY_FILE = os.environ.get("CREDENTIAL_KEY_FILE")
    CREDENTIAL_KEY_PREVIOUS = os.environ.get("CREDENTIAL_KEY_PREVIOUS")
    # Public look-ups: certificate numbers follow a visible pattern, and a posted credential is
    # canonicalised (work), so both are rate-limited per client.
    VERIFY_RATE_LIMIT = os.environ.get("VERIFY_RATE_LIMIT", "20 per minute;200 per hour")
    CREDENTIAL_VERIFY_RATE_LIMIT = os.environ.get("CREDENTIAL_VERIFY_RATE_LIMIT", "30 per minute;300 per hour")
    # Complaints need no account and no captcha: each address may file this many (only complaints
    # actually filed count; a form sent back to correct a field does not).
    COMPLAINT_RATE_LIMIT = os.environ.get("COMPLAINT_RATE_LIMIT", "5 per hour")
    # Signed checkpoints of the chain's head (append-only JSON lines); default the instance folder.
    AUDIT_CHECKPOINT_DIR = os.environ.get("AUDIT_CHECKPOINT_DIR")
    # Exam records are kept this many years (one certification cycle) after the cycle ends: for a
    # holder after their last certificate's validity, otherwise after their last validation
    # session or decision (examportal/records/retention.py); then `flask records purge` anonymises.
    RECORDS_RETENTION_YEARS = int(os.environ.get("RECORDS_RETENTION_YEARS", "5"))


class DevelopmentConfig(Config):
    SECRET_KEY = Config.SECRET_KEY or _dev_secret()
    # Unset: links in mail point at 127.0.0.1 on the port `flask run` serves (PORT in scripts/demo.sh).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")  # readable in the console


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105  (tests only)
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    RATELIMIT_STORAGE_URI = os.environ.get("TEST_RATELIMIT_STORAGE_URI", "memory://")
    MAIL_SERVER = None
    REDIS_URL = os.environ.get("TEST_REDIS_URL")  # unset: jobs run in-process (the worker test sets it)
    LOG_LEVEL = os.environ.get("TEST_LOG_LEVEL", "WARNING")  # a line per request would crowd a failure's output
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105  (a method name: fast in tests; production uses scrypt)
    AUDIT_KEY = "test-audit-key-0123456789abcdefghijklmnopqrstuv"  # tests only
    CREDENTIAL_KEY = "test-credential-key-0123456789abcdefghijklmnop"  # tests only


MIN_SECRET_DISTINCT_CHARS = 12


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    DEV_MAILBOX = False

    @classmethod
    def check(cls) -> None:
        """Refuse to start without a real secret or with the throw-away SQLite default."""
        key = cls.SECRET_KEY or ""
        # Length alone lets "changeme" * 4 through; a random key (secrets.token_hex(32) or
        # token_urlsafe(32)) uses many different characters.
        if len(key) < 32 or len(set(key)) < MIN_SECRET_DISTINCT_CHARS:
            raise RuntimeError("SECRET_KEY must be set to at least 32 random characters in production "
                               "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')")
        # Each worker process has its own memory: with memory:// every gunicorn worker counts login
        # attempts on its own, and N workers let N times the limit through.
        if cls.RATELIMIT_STORAGE_URI.split(":", 1)[0] in ("memory", ""):
            raise RuntimeError("RATELIMIT_STORAGE_URI must name a store shared by all workers in production "
                               "(e.g. redis://127.0.0.1:6379/0); memory:// counts per worker")
        # Anyone who can write the database could otherwise rewrite the audit chain and recompute
        # its hashes; a key in the instance folder would be lost with a container or copied with it.
        audit_key = cls.AUDIT_KEY or ""
        if len(audit_key) < 32 or len(set(audit_key)) < MIN_SECRET_DISTINCT_CHARS or audit_key == key:
            raise RuntimeError("AUDIT_KEY must be set in production to at least 32 random characters, different from "
                               "SECRET_KEY and kept outside the database and its backups (it signs the audit chain; "
                               "e.g. python -c 'import secrets; print(secrets.token_hex(32))')")
        credential_key = cls.CREDENTIAL_KEY or ""
        if len(credential_key) < 32 or len(set(credential_key)) < MIN_SECRET_DISTINCT_CHARS or credential_key in (key, audit_key):
            raise RuntimeError("CREDENTIAL_KEY must be set in production to at least 32 random characters, different from "
                               "SECRET_KEY and AUDIT_KEY and kept outside the database and its backups (it seals the "
                               "credential-signing keys; e.g. python -c 'import secrets; print(secrets.token_hex(32))')")


CONFIGS = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}
