"""Django settings, configured by HELPLINE_* environment variables.

Every setting that an operator may change is read from the environment here, once, at
start-up; docs/configuration.md lists them.  Nothing else in the code reads os.environ.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import dj_database_url


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"HELPLINE_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(f"HELPLINE_{name}")
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(f"HELPLINE_{name}")
    return int(value) if value else default


def _private_dir(path: Path) -> None:
    """Create ``path`` readable by this user only (0700) unless it exists."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists: SQLite then keeps that
    mode and gives its -wal and -shm files the same (an empty file is an empty
    database)."""
    if path.parent.is_dir():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _secret_key(path: Path) -> str:
    """The key in ``path``, created on first use: written to a private (0600) file
    that is linked into place only when complete, so no process ever reads a half
    written or world-readable key, and two processes starting at once agree."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    import secrets
    import tempfile

    _private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key-")  # 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
            fh.flush()
            os.fsync(fh.fileno())
        # Another process may have been first: then its key is the key.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_text().strip()


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(_env("DATA_DIR", "var")).resolve()
_private_dir(DATA_DIR)

DEBUG = _env_bool("DEBUG", False)
# A per-installation key kept in the data directory: stable across restarts, never
# committed, created on first use.
SECRET_KEY = _env("SECRET_KEY") or _secret_key(DATA_DIR / "secret_key")

ALLOWED_HOSTS = [
    h for h in _env("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in _env("CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "helpline",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Compresses what every middleware below has produced (its response hook runs
    # after theirs); the headers they set are kept.  helpline/web/compression.py.
    "helpline.web.compression.TextGZipMiddleware",
    "helpline.web.middleware.NoStoreMiddleware",
    "helpline.web.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Writes the reads the view recorded before the response leaves (docs/data-protection.md).
    "helpline.web.audit.ReadAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "helpline.web.urls"
WSGI_APPLICATION = "helpline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpline.web.context.helpline",
            ],
            "libraries": {
                "jinja": "helpline.web.jinja",
                "local_format": "helpline.web.local_format_tags",
            },
        },
    },
    {
        # The hot fragments (rows of ticket tables, the queue tree): helpline/web/jinja.py.
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "web" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "helpline.web.jinja.environment",
            "autoescape": True,
        },
    },
]

# --- database ---------------------------------------------------------------------------
_default_db = f"sqlite:///{DATA_DIR / 'helpline.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(_env("DATABASE_URL", _default_db))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL, a busy timeout and IMMEDIATE transactions: concurrent writers (the web
        # server, the listener, the worker) wait for each other instead of failing with
        # "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    if DATABASES["default"]["NAME"] not in {"", ":memory:"}:
        _private_file(Path(DATABASES["default"]["NAME"]))
else:
    # Persistent connections: a new PostgreSQL connection costs ~5 ms a request.
    # (dj_database_url.parse always sets CONN_MAX_AGE, to 0 unless told otherwise, so
    # a setdefault here would keep 0.)
    DATABASES["default"]["CONN_MAX_AGE"] = _env_int("DB_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Helpline's queries are many and small; starting parallel workers for one costs
    # more than it saves (measured at a million tickets: a search for a rare name
    # 23 -> 5 ms, a common word 134 -> 71 ms; docs/performance.md).
    # HELPLINE_DB_PARALLEL_WORKERS sets PostgreSQL's max_parallel_workers_per_gather.
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["options"] = (
        f"{_pg_options.get('options', '')} -c max_parallel_workers_per_gather="
        f"{_env_int('DB_PARALLEL_WORKERS', 0)}"
    ).strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id with OWASP's minimum (19 MiB, 2 iterations, 1 lane; ~20 ms of CPU a
# login instead of Django's ~200 ms): helpline/passwords.py.  Hashes made with other
# parameters still verify and are rehashed with these at the next login.
HELPLINE_ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 2)
HELPLINE_ARGON2_MEMORY_KIB = _env_int("ARGON2_MEMORY_KIB", 19 * 1024)
HELPLINE_ARGON2_PARALLELISM = _env_int("ARGON2_PARALLELISM", 1)
PASSWORD_HASHERS = [
    "helpline.passwords.HelplineArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Passwords imported from Znuny/OTRS: verified once, then stored with Argon2
    # (helpline/importers/znuny/hashers.py).
    "helpline.importers.znuny.hashers.ZnunySHA256Hasher",
    "helpline.importers.znuny.hashers.ZnunySHA512Hasher",
    "helpline.importers.znuny.hashers.ZnunySHA1Hasher",
    "helpline.importers.znuny.hashers.ZnunyMD5CryptHasher",
    "helpline.importers.znuny.hashers.ZnunyBcryptHasher",
    "helpline.importers.znuny.hashers.ZnunyCryptHasher",
]
AUTH_PASSWORD_VALIDATORS: list[dict[str, object]] = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
# Each language by its own name: the picker is read by someone looking for theirs
# (docs/web.md, "Languages").  Every language but English has its catalogue under
# locale/ (the directory name is Django's locale name: zh_Hans for zh-hans), which
# tests/web/test_i18n.py checks is complete and compiled.
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("ar", "العربية"),
    ("he", "עברית"),
    ("uk", "Українська"),
    ("ja", "日本語"),
    ("zh-hans", "简体中文"),
    ("ru", "Русский"),
    ("es", "Español"),
    ("fr", "Français"),
    ("pt", "Português"),
    ("it", "Italiano"),
    ("pl", "Polski"),
    ("nl", "Nederlands"),
]
TIME_ZONE = _env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "web" / "static"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"

MEDIA_ROOT = Path(_env("ATTACHMENT_DIR", str(DATA_DIR / "attachments")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic writes a gzip copy of each text file (helpline/web/static_storage.py).
    "staticfiles": {"BACKEND": "helpline.web.static_storage.GzipStaticFilesStorage"},
}

# Files Django's storage writes (Helpline's own blob writes use the same modes).
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = _env_int("SESSION_AGE", 8 * 3600)
# Served through a TLS-terminating proxy that sets X-Forwarded-Proto (and removes any
# the client sent) and appends the client to X-Forwarded-For: docs/configuration.md.
HELPLINE_BEHIND_HTTPS_PROXY = _env_bool("BEHIND_HTTPS_PROXY", False)
if HELPLINE_BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_bool("SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = _env_int("HSTS_SECONDS", 365 * 24 * 3600)
SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", HELPLINE_BEHIND_HTTPS_PROXY)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "helpline.monitoring.console.ConsoleHandler"}},
    "root": {"handlers": ["console"], "level": _env("LOG_LEVEL", "INFO")},
}

# --- Helpline's own settings --------------------------------------------------------------
# Ticket numbers (BEHAVIOUR.md section 1).
HELPLINE_TICKET_NUMBER_GENERATOR = _env("TICKET_NUMBER_GENERATOR", "DateChecksum")
HELPLINE_SYSTEM_ID = _env("SYSTEM_ID", "10")
HELPLINE_TICKET_HOOK = _env("TICKET_HOOK", "Ticket#")
HELPLINE_TICKET_HOOK_POSITION = _env("TICKET_HOOK_POSITION", "left")  # left|right|none
HELPLINE_SUBJECT_MAX_LENGTH = _env_int("SUBJECT_MAX_LENGTH", 100)
# The ticket hooks of the system Helpline replaced (a JSON list of objects with the
# fields of helpline.numbers.LegacyHook): replies to its mail still find their
# tickets.  `helpline import znuny` stores the old system's own (docs/migrating-from-znuny.md).
HELPLINE_LEGACY_TICKET_HOOKS = json.loads(_env("LEGACY_TICKET_HOOKS", "[]"))
# Paths under which the old system's agent links (index.pl?Action=AgentTicketZoom;...)
# are answered with a redirect to the imported ticket ("/" for /index.pl).
HELPLINE_LEGACY_URL_PREFIXES = [
    p.strip()
    for p in _env("LEGACY_URL_PREFIXES", "/otrs/,/znuny/,/").split(",")
    if p.strip()
]

# Mail.
HELPLINE_MAIL_DOMAIN = _env("MAIL_DOMAIN", "helpline.localhost")
HELPLINE_SMTP_URL = _env("SMTP_URL", "smtp://127.0.0.1:25")
HELPLINE_LOOP_LIMIT = _env_int("LOOP_LIMIT", 40)
# Sender of notifications to agents; default helpline@<mail domain>.
HELPLINE_NOTIFY_FROM = _env("NOTIFY_FROM")
# Where agents reach the web interface (links in notifications).
HELPLINE_BASE_URL = _env("BASE_URL", "http://127.0.0.1:8000")
HELPLINE_MAX_MESSAGE_BYTES = _env_int("MAX_MESSAGE_BYTES", 50 * 1024 * 1024)
# Blobs (raw mail, attachments) up to this size are kept in the database row.
HELPLINE_INLINE_BLOB_BYTES = _env_int("INLINE_BLOB_BYTES", 256 * 1024)
HELPLINE_DEFAULT_QUEUE = _env("DEFAULT_QUEUE", "Raw")
# Also look for ticket numbers in the body of mail (off: the subject and headers only).
HELPLINE_FOLLOWUP_IN_BODY = _env_bool("FOLLOWUP_IN_BODY", False)
# Stored messages the worker processes in one transaction (1: one at a time).
HELPLINE_INBOUND_BATCH = _env_int("INBOUND_BATCH", 20)
# Spam (docs/spam.md): SpamAssassin's spamd as host:port (empty: no filter, "Spam"
# only moves the ticket); the transports whose mail the pipeline has spamd check
# (imap, pop3, lmtp, smtp, pipe, or "all"; empty: none, an MTA in front filters);
# how long one call to spamd may take; the hosts whose Received lines vouch for the
# X-Spam-* / X-Rspamd-* headers above them; where "Spam" moves a ticket whose queue
# names no junk queue.
HELPLINE_SPAMD = _env("SPAMD")
HELPLINE_SPAM_CHECK = [
    t.strip().lower() for t in _env("SPAM_CHECK").split(",") if t.strip()
]
HELPLINE_SPAM_TIMEOUT = float(_env("SPAM_TIMEOUT", "10"))
HELPLINE_SPAM_TRUSTED_HOPS = [
    h.strip().lower() for h in _env("SPAM_TRUSTED_HOPS").split(",") if h.strip()
]
HELPLINE_JUNK_QUEUE = _env("JUNK_QUEUE", "Junk")
# Reject mail over SMTP/LMTP to addresses that are not system addresses (550).
HELPLINE_REJECT_UNKNOWN_RECIPIENTS = _env_bool("REJECT_UNKNOWN_RECIPIENTS", False)

# Shared cache (login throttling, API rate limits): Redis when configured, else files.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _env("REDIS_URL"),
        }
        if _env("REDIS_URL")
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    )
}
HELPLINE_API_RATE_LIMIT = _env_int("API_RATE_LIMIT", 600)
# Failed logins (helpline/web/throttle.py): counted per window of this many seconds;
# an attempt over any limit is refused unchecked; 0 switches a limit off.
HELPLINE_LOGIN_WINDOW = _env_int("LOGIN_WINDOW", 15 * 60)
HELPLINE_LOGIN_FAILURES_PER_LOGIN_AND_CLIENT = _env_int(
    "LOGIN_FAILURES_PER_LOGIN_AND_CLIENT", 5
)
HELPLINE_LOGIN_FAILURES_PER_LOGIN = _env_int("LOGIN_FAILURES_PER_LOGIN", 20)
HELPLINE_LOGIN_FAILURES_PER_CLIENT = _env_int("LOGIN_FAILURES_PER_CLIENT", 20)
HELPLINE_LOGIN_FAILURES_TOTAL = _env_int("LOGIN_FAILURES_TOTAL", 300)
# Requests a minute per client address to the public backlog page (docs/reports.md).
HELPLINE_PUBLIC_BACKLOG_PER_MINUTE = _env_int("PUBLIC_BACKLOG_PER_MINUTE", 30)

# Background jobs (Huey): SQLite storage in the data dir, or Redis for several machines.
HELPLINE_REDIS_URL = _env("REDIS_URL")
HUEY = {
    "name": _env("JOBS_NAME", "helpline"),
    "huey_class": "huey.RedisHuey" if HELPLINE_REDIS_URL else "huey.SqliteHuey",
    # Immediate: jobs run at once in the calling process (tests, one-off scripts).
    "immediate": _env_bool("JOBS_IMMEDIATE", False),
    "utc": True,
    "connection": (
        {"url": HELPLINE_REDIS_URL}
        if HELPLINE_REDIS_URL
        else {"filename": str(DATA_DIR / "jobs.sqlite3")}
    ),
    "consumer": {"workers": _env_int("WORKER_THREADS", 2), "worker_type": "thread"},
}
if not HELPLINE_REDIS_URL:
    _private_file(DATA_DIR / "jobs.sqlite3")

# A periodic job's lease (helpline/leases.py): renewed every third of this while the
# job runs; a dead worker's lease expires after it and the next run takes it over.
HELPLINE_JOB_LEASE_SECONDS = _env_int("JOB_LEASE_SECONDS", 60)
# Automation jobs (docs/automation.md): tickets per batch at most, and the time a
# batch's transaction (its row locks) should take; batches shrink to keep to it.
HELPLINE_AUTOMATION_BATCH = _env_int("AUTOMATION_BATCH", 100)
HELPLINE_AUTOMATION_BATCH_SECONDS = float(_env("AUTOMATION_BATCH_SECONDS", "0.3"))
HELPLINE_FETCH_INTERVAL_MINUTES = _env_int("FETCH_INTERVAL_MINUTES", 2)
HELPLINE_ARCHIVE_AFTER_DAYS = _env_int("ARCHIVE_AFTER_DAYS", 365)
# The read audit is kept this many days, then purged by the worker
# (docs/data-protection.md).
HELPLINE_READ_AUDIT_DAYS = _env_int("READ_AUDIT_DAYS", 730)
# A subject-access export waits this many days for its one download, then its file
# is deleted by the worker (docs/data-protection.md).
HELPLINE_SUBJECT_ACCESS_EXPORT_DAYS = _env_int("SUBJECT_ACCESS_EXPORT_DAYS", 7)
# An agent's unsent draft (reply, note, forward) untouched this many days is deleted
# by the worker; a draft may hold at most this many bytes (docs/web.md "Drafts").
HELPLINE_DRAFT_DAYS = _env_int("DRAFT_DAYS", 30)
HELPLINE_DRAFT_MAX_BYTES = _env_int("DRAFT_MAX_BYTES", 1_000_000)

# --- monitoring (docs/monitoring.md) ----------------------------------------------------
# /healthz, /readyz and /metrics are answered by the first middleware, before sessions
# and host checks (helpline/web/monitoring.py).  /metrics answers clients in these
# networks (comma-separated; empty: none) or with "Authorization: Bearer <token>".
HELPLINE_METRICS_ALLOWED_NETWORKS = [
    n.strip()
    for n in _env("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128").split(",")
    if n.strip()
]
HELPLINE_METRICS_TOKEN = _env("METRICS_TOKEN")
# Where `helpline serve`'s worker processes keep their counters (emptied at start);
# empty: a new temporary directory for each run.
HELPLINE_METRICS_DIR = _env("METRICS_DIR")
# Take a request's id from the X-Request-ID header (set it only behind a proxy that
# sets or removes that header); otherwise each request gets a new one.
HELPLINE_TRUST_REQUEST_ID = _env_bool("TRUST_REQUEST_ID", False)
# How often each `helpline worker` writes its heartbeat row.
HELPLINE_WORKER_BEAT_SECONDS = _env_int("WORKER_BEAT_SECONDS", 15)
# text (Django's default lines) or json (one object a line, with the request id).
HELPLINE_LOG_FORMAT = _env("LOG_FORMAT", "text")
MIDDLEWARE.insert(0, "helpline.web.monitoring.MonitoringMiddleware")
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # libpq waits for ever for a host that drops packets: /readyz, a request or a
    # worker would hang instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)
# Jobs carry the id of the request that started them (helpline/monitoring/jobqueue.py).
HUEY["huey_class"] = "helpline.monitoring.jobqueue." + (
    "RedisHuey" if HELPLINE_REDIS_URL else "SqliteHuey"
)
# Added to what is there (other blocks may configure logging too).
LOGGING.setdefault("filters", {})["request_id"] = {  # type: ignore[index]
    "()": "helpline.monitoring.requestid.RequestIdFilter"
}
_console = LOGGING["handlers"]["console"]  # type: ignore[index]
_console.setdefault("filters", []).append("request_id")
if HELPLINE_LOG_FORMAT == "json":
    LOGGING.setdefault("formatters", {})["json"] = {  # type: ignore[index]
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        "rename_fields": {"asctime": "time", "levelname": "level"},
    }
    _console["formatter"] = "json"
    # The worker's own log lines (Huey's) in the same form, not Huey's handler.
    LOGGING.setdefault("loggers", {})["huey"] = {  # type: ignore[index]
        "handlers": ["console"],
        "level": "INFO",
        "propagate": False,
    }
elif HELPLINE_LOG_FORMAT != "text":
    raise ValueError(
        f"HELPLINE_LOG_FORMAT must be text or json, not {HELPLINE_LOG_FORMAT!r}"
    )

# --- object store (docs/object-store.md) ---------------------------------------------
# Blobs larger than HELPLINE_INLINE_BLOB_BYTES: in MEDIA_ROOT (file) or in an
# S3-compatible bucket (s3: SeaweedFS, MinIO, Ceph RGW, AWS) via django-storages.
HELPLINE_BLOB_STORE = _env("BLOB_STORE", "file").strip().lower()
HELPLINE_S3_BUCKET = _env("S3_BUCKET")
HELPLINE_S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL")
HELPLINE_S3_REGION = _env("S3_REGION")
HELPLINE_S3_ACCESS_KEY_ID = _env("S3_ACCESS_KEY_ID")
HELPLINE_S3_SECRET_ACCESS_KEY = _env("S3_SECRET_ACCESS_KEY")
HELPLINE_S3_PREFIX = _env("S3_PREFIX")
HELPLINE_S3_ADDRESSING_STYLE = _env("S3_ADDRESSING_STYLE")  # path|virtual|(auto)
HELPLINE_S3_TIMEOUT = _env_int("S3_TIMEOUT", 5)  # seconds to connect
if HELPLINE_BLOB_STORE not in {"file", "s3"}:
    raise SystemExit(
        f"HELPLINE_BLOB_STORE={HELPLINE_BLOB_STORE!r} is not a blob store: "
        "use 'file' (the default) or 's3' (docs/object-store.md)."
    )
if HELPLINE_BLOB_STORE == "s3" and not HELPLINE_S3_BUCKET:
    raise SystemExit(
        "HELPLINE_BLOB_STORE=s3 needs HELPLINE_S3_BUCKET (docs/object-store.md)."
    )
if HELPLINE_S3_ADDRESSING_STYLE not in {"", "auto", "path", "virtual"}:
    raise SystemExit(
        f"HELPLINE_S3_ADDRESSING_STYLE={HELPLINE_S3_ADDRESSING_STYLE!r}: use 'path', "
        "'virtual' or 'auto' (docs/object-store.md)."
    )

# --- upgrades (docs/upgrading.md) ---
# `helpline migrate` on PostgreSQL: the longest any statement waits for a lock before
# the migration stops with the name of the session holding it (a PostgreSQL
# duration: 1s, 500ms; 0 waits as long as it takes).
HELPLINE_MIGRATE_LOCK_TIMEOUT = _env("MIGRATE_LOCK_TIMEOUT", "1s")

# --- deployment (docs/deployment.md) -------------------------------------------------------
# Behind the HTTPS proxy, Strict-Transport-Security also covers the names below
# Helpline's own (helpline.example.org covers *.helpline.example.org, nothing of
# example.org).  Preloading is for registered domains (example.org), which the header
# of one service below them cannot ask for: it is the domain owner's decision, so
# Django's warning that it is off (security.W021) is silenced unless it is on.
SECURE_HSTS_INCLUDE_SUBDOMAINS = HELPLINE_BEHIND_HTTPS_PROXY and _env_bool(
    "HSTS_INCLUDE_SUBDOMAINS", True
)
SECURE_HSTS_PRELOAD = HELPLINE_BEHIND_HTTPS_PROXY and _env_bool("HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# --- read replica (docs/scaling.md) -------------------------------------------------------
# A PostgreSQL streaming replica for the heavy read-only pages (helpline/replica.py).
HELPLINE_DATABASE_REPLICA_URL = _env("DATABASE_REPLICA_URL")
# After a write, the agent reads from the primary for this long (its own writes).
HELPLINE_REPLICA_PIN_SECONDS = _env_int("REPLICA_PIN_SECONDS", 10)
# A replica further behind than this is bypassed until it catches up.
HELPLINE_REPLICA_MAX_LAG_SECONDS = _env_int("REPLICA_MAX_LAG_SECONDS", 5)
# How often each process checks the replica's lag (it caches the answer between).
HELPLINE_REPLICA_CHECK_SECONDS = _env_int("REPLICA_CHECK_SECONDS", 2)
HELPLINE_REPLICA_CONNECT_TIMEOUT = _env_int("REPLICA_CONNECT_TIMEOUT", 2)
if HELPLINE_DATABASE_REPLICA_URL:
    _replica = dj_database_url.parse(HELPLINE_DATABASE_REPLICA_URL)
    _replica["CONN_MAX_AGE"] = DATABASES["default"].get("CONN_MAX_AGE", 0)
    _replica["CONN_HEALTH_CHECKS"] = True
    _replica["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        **_replica.get("OPTIONS", {}),
        "connect_timeout": HELPLINE_REPLICA_CONNECT_TIMEOUT,
    }
    # Tests: the replica alias is the test database itself (no second test database).
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["helpline.replica.ReplicaRouter"]
    # After AuthenticationMiddleware: it pins the agent who has just written.
    MIDDLEWARE.append("helpline.replica.PinAfterWriteMiddleware")

# --- backup (docs/backup.md) ---
# The directory of pg_dump and pg_restore when they are not on the PATH (or when the
# PATH has older ones than the server), e.g. /usr/lib/postgresql/15/bin.
HELPLINE_PG_BIN = _env("PG_BIN")

# --- sessions, password reset and password rules (docs/authentication.md) ---
# Django's database sessions, read together with each agent's session row
# (helpline/web/sessions.py): ended, idle or too old sessions are refused at once.
SESSION_ENGINE = "helpline.web.sessions"
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "helpline.web.sessions.AgentSessionMiddleware",
)
# The agent's own time zone for the pages (helpline/web/timezones.py).
MIDDLEWARE.insert(
    MIDDLEWARE.index("helpline.web.sessions.AgentSessionMiddleware") + 1,
    "helpline.web.timezones.AgentTimeZoneMiddleware",
)
# A session unused this long ends (0: never); SESSION_COOKIE_AGE (HELPLINE_SESSION_AGE)
# is the absolute limit from login, whatever the use.
HELPLINE_SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 120)
HELPLINE_PASSWORD_MIN_LENGTH = _env_int("PASSWORD_MIN_LENGTH", 12)
# Applied wherever a password is set: reset, the agent's change, the administration
# screens, `helpline agent add` and `helpline changepassword`.  The common-password
# list is the one Django ships (20,000 passwords): no network.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": HELPLINE_PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A reset link works once, for this long.
PASSWORD_RESET_TIMEOUT = _env_int("PASSWORD_RESET_MINUTES", 60) * 60
# An invitation link (docs/administration.md) works once, for this many days.
HELPLINE_INVITATION_DAYS = _env_int("INVITATION_DAYS", 7)
# Deactivate agents without login or activity for this many months, after a warning
# mail and a grace period (docs/administration.md); 0: never (the default).
HELPLINE_DEACTIVATE_INACTIVE_MONTHS = _env_int("DEACTIVATE_INACTIVE_MONTHS", 0)
HELPLINE_INACTIVE_GRACE_DAYS = _env_int("INACTIVE_GRACE_DAYS", 14)
# Reset requests counted per window of this many seconds, per address asked for and
# per client; one over a limit is refused (the same answer for every address).
HELPLINE_PASSWORD_RESET_WINDOW = _env_int("PASSWORD_RESET_WINDOW", 3600)
HELPLINE_PASSWORD_RESETS_PER_ADDRESS = _env_int("PASSWORD_RESETS_PER_ADDRESS", 3)
HELPLINE_PASSWORD_RESETS_PER_CLIENT = _env_int("PASSWORD_RESETS_PER_CLIENT", 10)

# Local passwords, checked under HELPLINE_PASSWORD_LOGIN (on, off, breakglass:
# helpline/sso/backends.py); the LDAP block below adds the directory after them.
AUTHENTICATION_BACKENDS = ["helpline.sso.backends.PasswordBackend"]

# --- LDAP (docs/authentication.md) ---
# Logging in with a directory's password (helpline/ldap_backend.py): on when
# HELPLINE_LDAP_URI is set, after Django's own back-end (local accounts first).
HELPLINE_LDAP_URI = _env("LDAP_URI")
HELPLINE_LDAP_BIND_DN = _env("LDAP_BIND_DN")
HELPLINE_LDAP_BIND_PASSWORD = _env("LDAP_BIND_PASSWORD")
HELPLINE_LDAP_USER_SEARCH_BASE = _env("LDAP_USER_SEARCH_BASE")
HELPLINE_LDAP_USER_FILTER = _env("LDAP_USER_FILTER", "(uid=%(user)s)")
HELPLINE_LDAP_START_TLS = _env_bool("LDAP_START_TLS", False)
# The CA certificates (PEM) that the directory's certificate must chain to, for
# ldaps:// and StartTLS; empty: the system's (/etc/ssl/certs).
HELPLINE_LDAP_CA_FILE = _env("LDAP_CA_FILE")
HELPLINE_LDAP_ATTR_FIRST_NAME = _env("LDAP_ATTR_FIRST_NAME", "givenName")
HELPLINE_LDAP_ATTR_LAST_NAME = _env("LDAP_ATTR_LAST_NAME", "sn")
HELPLINE_LDAP_ATTR_EMAIL = _env("LDAP_ATTR_EMAIL", "mail")
HELPLINE_LDAP_GROUP_SEARCH_BASE = _env("LDAP_GROUP_SEARCH_BASE")
HELPLINE_LDAP_GROUP_TYPE = _env("LDAP_GROUP_TYPE", "groupOfNames")
HELPLINE_LDAP_REQUIRE_GROUP = _env("LDAP_REQUIRE_GROUP")
HELPLINE_LDAP_CREATE_AGENTS = _env_bool("LDAP_CREATE_AGENTS", True)
HELPLINE_LDAP_TIMEOUT = _env_int("LDAP_TIMEOUT", 5)
# "directory group=Helpline role;..." (a group's DN or name; the role after the last =).
HELPLINE_LDAP_ROLE_MAP = _env("LDAP_ROLE_MAP")
if HELPLINE_LDAP_URI:
    AUTHENTICATION_BACKENDS = [
        *globals().get(
            "AUTHENTICATION_BACKENDS", ["django.contrib.auth.backends.ModelBackend"]
        ),
        "helpline.ldap_backend.HelplineLDAPBackend",
    ]

# --- single sign-on, OpenID Connect (docs/authentication.md) ---
# Sign-in at an OpenID Connect provider (authorisation code flow with PKCE); off while
# HELPLINE_OIDC_ISSUER is empty.  helpline/sso/ holds the relying party.
HELPLINE_OIDC_ISSUER = _env("OIDC_ISSUER").rstrip("/")
HELPLINE_OIDC_CLIENT_ID = _env("OIDC_CLIENT_ID")
HELPLINE_OIDC_CLIENT_SECRET = _env("OIDC_CLIENT_SECRET")
# The provider's name on the login page's button ("Sign in with ...").
HELPLINE_OIDC_DISPLAY_NAME = _env("OIDC_DISPLAY_NAME", "single sign-on")
HELPLINE_OIDC_SCOPES = _env("OIDC_SCOPES", "openid email profile")
HELPLINE_OIDC_LOGIN_CLAIM = _env("OIDC_LOGIN_CLAIM", "preferred_username")
HELPLINE_OIDC_EMAIL_CLAIM = _env("OIDC_EMAIL_CLAIM", "email")
HELPLINE_OIDC_NAME_CLAIM = _env("OIDC_NAME_CLAIM", "name")
# The claim listing the agent's groups at the provider; empty: no group synchronisation.
HELPLINE_OIDC_GROUPS_CLAIM = _env("OIDC_GROUPS_CLAIM", "groups")
# Create an agent at its first sign-in (otherwise only existing logins may sign in).
HELPLINE_OIDC_CREATE_AGENTS = _env_bool("OIDC_CREATE_AGENTS", True)
# amr/acr values of the ID token that count as a second factor (comma-separated); a
# sign-in carrying one sets the session flag "helpline_mfa_by_idp".
HELPLINE_OIDC_MFA_VALUES = [
    v.strip() for v in _env("OIDC_MFA_VALUES").split(",") if v.strip()
]
# Seconds allowed between the provider's clock and ours for exp/iat.
HELPLINE_OIDC_LEEWAY = _env_int("OIDC_LEEWAY", 60)
HELPLINE_OIDC_TIMEOUT = _env_int("OIDC_TIMEOUT", 10)
# Local password login: "on", "off", or "breakglass" (only HELPLINE_BREAKGLASS_LOGINS).
HELPLINE_PASSWORD_LOGIN = _env("PASSWORD_LOGIN", "on")
HELPLINE_BREAKGLASS_LOGINS = [
    v.strip() for v in _env("BREAKGLASS_LOGINS").split(",") if v.strip()
]

# --- two-factor authentication (docs/authentication.md) ---
# django-otp's TOTP and static (recovery code) devices; before "helpline" so that
# helpline.admin can take their stock admin screens away (autodiscovery order).
INSTALLED_APPS[INSTALLED_APPS.index("helpline") : INSTALLED_APPS.index("helpline")] = [
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]
# After AuthenticationMiddleware: an agent whom a policy requires to use a second
# factor and who has none is sent to set it up before any other page.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "helpline.web.twofactor.TwoFactorMiddleware",
)
# The name authenticator apps show beside the login.
OTP_TOTP_ISSUER = _env("TWO_FACTOR_ISSUER", "Helpline")
# How long the code may be entered after the right password (seconds).
HELPLINE_TWO_FACTOR_STEP_SECONDS = _env_int("TWO_FACTOR_STEP_SECONDS", 300)
# API tokens of an agent whom a policy requires to have a second factor and who has
# none: "allow" (the token alone decides) or "refuse" (403 two_factor_required until
# the agent sets one up: the rule then reaches every way in).
HELPLINE_TWO_FACTOR_TOKENS = _env("TWO_FACTOR_TOKENS", "allow").strip().lower()
if HELPLINE_TWO_FACTOR_TOKENS not in {"allow", "refuse"}:
    raise SystemExit(
        f"HELPLINE_TWO_FACTOR_TOKENS={HELPLINE_TWO_FACTOR_TOKENS!r}: use 'allow' or "
        "'refuse' (docs/authentication.md)."
    )
