"""Django settings for custguard, read from CUSTGUARD_* environment variables
(see docs/configuration.md)."""

from __future__ import annotations

import sys
from pathlib import Path

from custguard.env import (
    ConfigurationError,
    database_from_url,
    env_bool,
    env_currency,
    env_int,
    env_list,
    env_networks,
    env_path,
    env_secret,
    env_str,
    env_time_zone,
)

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = env_path("CUSTGUARD_DATA_DIR", Path.cwd() / "var")

DEBUG = env_bool("CUSTGUARD_DEBUG", False)
# Under pytest the test settings apply even when the variable was not exported.
TESTING = env_bool("CUSTGUARD_TESTING", "pytest" in sys.modules)

_secret = env_str("CUSTGUARD_SECRET_KEY")
if not _secret:
    if not (DEBUG or TESTING):
        raise ConfigurationError(
            "CUSTGUARD_SECRET_KEY is required unless CUSTGUARD_DEBUG=true "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    _secret = "insecure-development-key-only-for-debug-and-tests"  # noqa: S105
SECRET_KEY = _secret

# The key of the audit chain's checkpoints (core/services/audit_checkpoints.py). It must not live
# in the database: whoever can rewrite the database must not be able to forge a checkpoint.
_AUDIT_KEY_HINT = ("generate one with: python -c 'import secrets; "
                   "print(secrets.token_urlsafe(32))'")
CUSTGUARD_AUDIT_KEY = env_secret("CUSTGUARD_AUDIT_KEY", required=not (DEBUG or TESTING),
                                 min_length=32, hint=_AUDIT_KEY_HINT)
if not CUSTGUARD_AUDIT_KEY and TESTING:
    CUSTGUARD_AUDIT_KEY = "insecure-audit-key-only-for-the-tests-0123456789"  # noqa: S105
# Retired keys, so checkpoints made before a rotation still verify (comma-separated).
CUSTGUARD_AUDIT_PREVIOUS_KEYS = env_list("CUSTGUARD_AUDIT_PREVIOUS_KEYS", [])
# In debug without a key, one is generated on first use into this file (the demo).
CUSTGUARD_AUDIT_KEY_FILE = DATA_DIR / "audit.key"
# Where the checkpoint job also appends each checkpoint (append-only storage), if set.
CUSTGUARD_AUDIT_CHECKPOINT_FILE = env_str("CUSTGUARD_AUDIT_CHECKPOINT_FILE", "") or ""

ALLOWED_HOSTS = env_list(
    "CUSTGUARD_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG or TESTING else []
)
CSRF_TRUSTED_ORIGINS = env_list("CUSTGUARD_CSRF_TRUSTED_ORIGINS", [])

DATABASES = {
    "default": database_from_url(
        env_str("CUSTGUARD_DATABASE_URL", "sqlite:///custguard.sqlite3") or "",
        data_dir=DATA_DIR,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(str(DATABASES["default"]["NAME"])).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "custguard.core",
    "custguard.customers",
    "custguard.ledger",
    "custguard.credit",
    "custguard.conduct",
    "custguard.classification",
    "custguard.rewards",
    "custguard.reports",
    "custguard.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "custguard.api.middleware.UnstorableTextMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "custguard.core.middleware.StaticCSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "custguard.urls"
WSGI_APPLICATION = "custguard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "custguard.core.context_processors.navigation",
            ],
        },
    }
]

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; tests create hundreds of users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed-login throttling (django-axes): lock an account from one client (username + the client's
# IP together) after 5 failures for 15 minutes. The client's IP is REMOTE_ADDR, or, when that is
# one of CUSTGUARD_TRUSTED_PROXIES, the right-most untrusted X-Forwarded-For address
# (core/client_ip.py); a client's own X-Forwarded-For is never believed.
AXES_FAILURE_LIMIT = env_int("CUSTGUARD_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
CUSTGUARD_TRUSTED_PROXIES = env_networks("CUSTGUARD_TRUSTED_PROXIES")
AXES_CLIENT_IP_CALLABLE = "custguard.core.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_ENABLED = env_bool("CUSTGUARD_LOGIN_THROTTLING", True)

# API tokens: the longest a token may live, in days; a token made without an expiry gets it
# (core/services/tokens.py).
CUSTGUARD_TOKEN_MAX_DAYS = env_int("CUSTGUARD_TOKEN_MAX_DAYS", 365, minimum=1)
# How long a worker trusts a token it has just checked (with its user and permissions) before
# reading it again; a change made in another worker reaches this one within that time
# (core/services/token_cache.py). 0 reads the token on every request.
CUSTGUARD_AUTH_CACHE_SECONDS = env_int("CUSTGUARD_AUTH_CACHE_SECONDS", 2, minimum=0)

# Sessions and CSRF
HTTPS = env_bool("CUSTGUARD_HTTPS", not (DEBUG or TESTING))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("CUSTGUARD_SESSION_HOURS", 10, minimum=1) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_SSL_REDIRECT = HTTPS and env_bool("CUSTGUARD_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("CUSTGUARD_BEHIND_PROXY", False) else None
)
SECURE_HSTS_SECONDS = env_int("CUSTGUARD_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: no inline or third-party scripts; everything is vendored.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # ECharts and Tabler set element styles at run time.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Internationalisation: Simplified Chinese first, English second.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
FORMAT_MODULE_PATH = ["custguard.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_time_zone("CUSTGUARD_TIME_ZONE", "Asia/Shanghai")
CUSTGUARD_CURRENCY = env_currency("CUSTGUARD_CURRENCY", "CNY")

STATIC_URL = "static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
# Uploaded files (violation evidence, notice PDFs) live under the data dir by default.
MEDIA_ROOT = env_path("CUSTGUARD_MEDIA_DIR", DATA_DIR / "media")
MEDIA_URL = "media/"  # never served directly: files are streamed by views that check access
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# Background work goes through the database queue (`custguard db_worker` runs it); tests run
# tasks at once.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
         if TESTING else {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table table-vcenter card-table table-striped"}

# Violation evidence: the largest file and the kinds of file accepted.
CUSTGUARD_EVIDENCE_MAX_MB = env_int("CUSTGUARD_EVIDENCE_MAX_MB", 20, minimum=1)
CUSTGUARD_EVIDENCE_TYPES = env_list("CUSTGUARD_EVIDENCE_TYPES", [
    "pdf", "jpg", "jpeg", "png", "gif", "webp", "txt", "csv", "doc", "docx", "xls", "xlsx",
    "zip", "mp3", "mp4", "eml"])

# E-mail (notices to customers): SMTP when CUSTGUARD_EMAIL_HOST is set, otherwise every message
# is written as a file under <data dir>/mail for inspection.
EMAIL_HOST = env_str("CUSTGUARD_EMAIL_HOST", "") or ""
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("CUSTGUARD_EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("CUSTGUARD_EMAIL_USER", "") or ""
    EMAIL_HOST_PASSWORD = env_str("CUSTGUARD_EMAIL_PASSWORD", "") or ""
    EMAIL_USE_TLS = env_bool("CUSTGUARD_EMAIL_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = env_str("CUSTGUARD_EMAIL_FROM", "custguard@localhost") or ""
# The company named on notices to customers.
CUSTGUARD_COMPANY_NAME = env_str("CUSTGUARD_COMPANY_NAME", "") or ""
# Shared with partner companies for blacklist exchange files (salted hashes of identifiers).
CUSTGUARD_BLACKLIST_SHARING_KEY = env_str("CUSTGUARD_BLACKLIST_SHARING_KEY", "") or ""

CUSTGUARD_PAGE_SIZE = 25
CUSTGUARD_UPLOAD_MAX_ROWS = env_int("CUSTGUARD_UPLOAD_MAX_ROWS", 20000, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("CUSTGUARD_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
