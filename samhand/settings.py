"""The only settings file. Everything that differs between machines comes from the
environment through the small typed helpers below; with nothing set, samhand runs
on an embedded SQLite database under ./var/ in development mode.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} must be set")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def database_from_url(url: str) -> dict[str, object]:
    """Parse DATABASE_URL (postgres://user:pass@host:port/name or sqlite:///path)."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql"}:
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": env_int("SAMHAND_CONN_MAX_AGE", 60),
            "OPTIONS": options,
        }
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if path.startswith("//"):
            path = path[1:]
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path or ":memory:"}
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported")


DEBUG = env_bool("SAMHAND_DEBUG", False)
# Production: SAMHAND_PRODUCTION=1 makes every secret mandatory and every cookie secure.
PRODUCTION = env_bool("SAMHAND_PRODUCTION", False)

VAR_DIR = Path(env_str("SAMHAND_VAR_DIR", str(BASE_DIR / "var")))

if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")
else:
    # A development key: only ever used when SAMHAND_PRODUCTION is off.
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-not-secret-" + "x" * 40)
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "samhand.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "samhand.accounts",
    "samhand.orgs",
    "samhand.patients",
    "samhand.access",
    "samhand.audit",
    "samhand.alerts",
    "samhand.pathways",
    "samhand.plans",
    "samhand.observations",
    "samhand.messaging",
    "samhand.fhir",
    "samhand.api",
    "samhand.web",
    "samhand.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "samhand.lib.middleware.CorrelationIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "samhand.accounts.middleware.SessionLifetimeMiddleware",
    "samhand.web.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "samhand.lib.middleware.SecurityHeadersMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "samhand.urls"
WSGI_APPLICATION = "samhand.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:my_patients"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
if env_bool("SAMHAND_FAST_PASSWORD_HASHER", False):
    # Tests only: argon2 on every fixture user costs minutes. A dedicated test checks argon2.
    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 15}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]

# Sessions: 30 min idle (SESSION_COOKIE_AGE, renewed by SessionLifetimeMiddleware), 12 h absolute.
SESSION_COOKIE_AGE = env_int("SAMHAND_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = False  # see samhand.accounts.middleware
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SAMHAND_SESSION_ABSOLUTE_SECONDS = env_int("SAMHAND_SESSION_ABSOLUTE_SECONDS", 12 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "samhand.web.errors.csrf_failure"  # translated, with the correlation id

# Brute force: django-axes, per username and per IP.
AXES_FAILURE_LIMIT = env_int("SAMHAND_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Django's cache, shared by every worker process through the database; no cache server
# needed. (The API's rate budget has its own table: samhand.api.models.RateCount.)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "samhand_cache",
    }
}

LANGUAGE_CODE = "nb"
LANGUAGES = [("nb", "Norsk bokmål"), ("en", "English"), ("da", "Dansk")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Content Security Policy: no inline script, no framing, everything from self.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("SAMHAND_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SAMHAND_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- samhand's own settings -------------------------------------------------
# Accept H-numbers, felles hjelpenummer and synthetic test identities (Tenor, +80 month).
SAMHAND_ALLOW_TEST_IDENTIFIERS = env_bool("SAMHAND_ALLOW_TEST_IDENTIFIERS", not PRODUCTION)
SAMHAND_ALLOW_HELP_NUMBERS = env_bool("SAMHAND_ALLOW_HELP_NUMBERS", not PRODUCTION)
# Emergency access (akuttilgang): how long a grant lasts.
SAMHAND_EMERGENCY_ACCESS_MINUTES = env_int("SAMHAND_EMERGENCY_ACCESS_MINUTES", 240)
# Staff must confirm a TOTP code after the password.
SAMHAND_REQUIRE_OTP = env_bool("SAMHAND_REQUIRE_OTP", True)
# First-time authenticator set-up after the password alone. Off in production, where an
# operator enrols users with `samhand otp-enrol USERNAME`.
SAMHAND_OTP_SELF_ENROLMENT = env_bool("SAMHAND_OTP_SELF_ENROLMENT", not PRODUCTION)
OTP_TOTP_ISSUER = "samhand"
# API budget per user per minute (429 beyond).
SAMHAND_API_RATE_PER_MINUTE = env_int("SAMHAND_API_RATE_PER_MINUTE", 600)

# Messaging (samhand.messaging, MedCom reliable messaging): resend an unacknowledged
# message after 30 minutes, at most twice, then alert; give up after a day.
SAMHAND_MESSAGE_RESEND_SECONDS = env_int("SAMHAND_MESSAGE_RESEND_SECONDS", 30 * 60)
SAMHAND_MESSAGE_MAX_RESENDS = env_int("SAMHAND_MESSAGE_MAX_RESENDS", 2)
SAMHAND_MESSAGE_GIVE_UP_SECONDS = env_int("SAMHAND_MESSAGE_GIVE_UP_SECONDS", 24 * 3600)
SAMHAND_MESSAGE_RETRY_MAX_SECONDS = env_int("SAMHAND_MESSAGE_RETRY_MAX_SECONDS", 60)
SAMHAND_MESSAGE_HTTP_TIMEOUT = env_int("SAMHAND_MESSAGE_HTTP_TIMEOUT", 30)
SAMHAND_MESSAGE_MAX_BYTES = env_int("SAMHAND_MESSAGE_MAX_BYTES", 25 * 1024 * 1024)
SAMHAND_MESSAGE_MAX_ATTACHMENT_BYTES = env_int("SAMHAND_MESSAGE_MAX_ATTACHMENT_BYTES",
                                               10 * 1024 * 1024)
# An admission notice not acknowledged within this time alerts the sending unit.
SAMHAND_MESSAGE_ADMISSION_ACK_ALERT_SECONDS = env_int(
    "SAMHAND_MESSAGE_ADMISSION_ACK_ALERT_SECONDS", 15 * 60)
# Fernet key(s), comma-separated (the first encrypts), for the partner systems' bearer
# tokens stored in the address book (samhand/messaging/fields.py). Production must set
# it; development derives one from SECRET_KEY. Generate one with `uv run python -c
# "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
SAMHAND_MESSAGE_TOKEN_KEY = env_str("SAMHAND_MESSAGE_TOKEN_KEY", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "samhand.lib.middleware.CorrelationIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain",
                    "filters": ["correlation"]}
    },
    "root": {"handlers": ["console"], "level": env_str("SAMHAND_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's request logger would print paths; paths carry only opaque UUIDs.
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
    },
}
