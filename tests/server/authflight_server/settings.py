"""Settings for the authflight test backend.

A stock Django + DRF + Simple JWT + dj-rest-auth + django-cors-headers setup, configured the way
a user of authflight would (HttpOnly JWT cookies, rotation + blacklist), plus a few hooks that only
tests use. Everything is driven by AUTHFLIGHT_* environment variables (see README.md).
"""

import os
import re
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent  # tests/server


def env_flag(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


PORT = env_int("AUTHFLIGHT_PORT", 8765)
AUTHFLIGHT_TEST_ENDPOINTS = env_flag("AUTHFLIGHT_TEST_ENDPOINTS")
AUTHFLIGHT_CSRF = env_flag("AUTHFLIGHT_CSRF")
# A server variant whose refresh view runs the access-cookie authentication first (views.py).
AUTHFLIGHT_REFRESH_AUTHENTICATES = env_flag("AUTHFLIGHT_REFRESH_AUTHENTICATES")
# The access cookie lives this many seconds longer than its token (views.py); 0 = dj-rest-auth's own.
AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS = env_int("AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS", 0)
if AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS < 0:
    raise ValueError("AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS must be 0 or more")

SECRET_KEY = os.environ.get(
    "AUTHFLIGHT_SECRET_KEY", "authflight-test-server-key-not-secret-0123456789abcdef"
)
DEBUG = env_flag("AUTHFLIGHT_DEBUG")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "dj_rest_auth",
    "authflight_server",
]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

ROOT_URLCONF = "authflight_server.urls"
WSGI_APPLICATION = "authflight_server.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("AUTHFLIGHT_DB") or str(BASE_DIR / "db.sqlite3"),
        "OPTIONS": {
            # Many threads write (blacklist/outstanding tokens) at once: wait for the lock
            # instead of failing, and take the write lock up front in transactions.
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
# PostgreSQL instead (the production stack, scripts/prod-stack.sh): AUTHFLIGHT_PG_HOST is the
# server's Unix socket directory (or a host name), AUTHFLIGHT_PG_PORT its port.
AUTHFLIGHT_PG_HOST = os.environ.get("AUTHFLIGHT_PG_HOST", "").strip()
if AUTHFLIGHT_PG_HOST or os.environ.get("AUTHFLIGHT_PG_PORT", "").strip():
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",  # psycopg 3
        "HOST": AUTHFLIGHT_PG_HOST,
        "PORT": str(env_int("AUTHFLIGHT_PG_PORT", 5432)),
        "NAME": os.environ.get("AUTHFLIGHT_PG_NAME", "authflight"),
        "USER": os.environ.get("AUTHFLIGHT_PG_USER", "app"),
        "PASSWORD": os.environ.get("AUTHFLIGHT_PG_PASSWORD", ""),
        # One connection per gunicorn thread, kept across requests (a new one costs ~5 ms).
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }
AUTHFLIGHT_DB_IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# Where the test state (counters, faults, refresh log, ...) lives: "memory" (one process, the dev
# server) or "db" (shared by every gunicorn worker; PostgreSQL only). Default: "db" on PostgreSQL.
AUTHFLIGHT_STATE = os.environ.get("AUTHFLIGHT_STATE", "").strip() or (
    "db" if AUTHFLIGHT_DB_IS_POSTGRES else "memory"
)
if AUTHFLIGHT_STATE not in ("memory", "db"):
    raise ValueError("AUTHFLIGHT_STATE must be 'memory' or 'db'")
if AUTHFLIGHT_STATE == "db" and not AUTHFLIGHT_DB_IS_POSTGRES:
    raise ValueError("AUTHFLIGHT_STATE=db needs PostgreSQL (AUTHFLIGHT_PG_HOST)")

# Behind a TLS-terminating proxy (nginx in scripts/prod-stack.sh), which sets X-Forwarded-Proto:
# request.is_secure() follows it. Only safe when every request comes through that proxy.
if env_flag("AUTHFLIGHT_BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Secure cookies (JWT, CSRF, session): the browser then sends them over https only.
AUTHFLIGHT_SECURE_COOKIES = env_flag("AUTHFLIGHT_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE = AUTHFLIGHT_SECURE_COOKIES

# Logins should be cheap in tests: a fast hasher first (PBKDF2 kept so other hashes still verify).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# ---------------------------------------------------------------- DRF / Simple JWT / dj-rest-auth
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # dj-rest-auth's JWTCookieAuthentication, subclassed for the expire-access test hook.
        "authflight_server.auth.AuthflightJWTCookieAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("AUTHFLIGHT_ACCESS_SECONDS", 300)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env_int("AUTHFLIGHT_REFRESH_SECONDS", 86400)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}

REST_AUTH = {
    "USE_JWT": True,
    "JWT_AUTH_COOKIE": "access",
    "JWT_AUTH_REFRESH_COOKIE": "refresh",
    "JWT_AUTH_HTTPONLY": True,
    "JWT_AUTH_SAMESITE": "Lax",
    "JWT_AUTH_SECURE": AUTHFLIGHT_SECURE_COOKIES,
    "JWT_AUTH_COOKIE_USE_CSRF": AUTHFLIGHT_CSRF,
    # Pure JWT: no Django session cookie next to the JWT cookies, no auth token model.
    "SESSION_LOGIN": False,
    "TOKEN_MODEL": None,
    # Same as Simple JWT's TokenObtainPairSerializer, but access tokens carry an issue stamp
    # (see tokens.py) so /api/test/expire-access/ can revoke them.
    "JWT_TOKEN_CLAIMS_SERIALIZER": "authflight_server.tokens.StampedTokenObtainPairSerializer",
}

# ---------------------------------------------------------------- CORS
CORS_ALLOWED_ORIGIN_REGEXES = [
    r"^https?://127\.0\.0\.1(:\d+)?$",
    r"^https?://localhost(:\d+)?$",
]
CORS_ALLOW_CREDENTIALS = True  # default allow-headers already include content-type and x-csrftoken

# ---------------------------------------------------------------- CSRF
# AUTHFLIGHT_TRUSTED_ORIGINS: comma-separated origins trusted for CSRF (only matters with
# AUTHFLIGHT_CSRF=1). An entry with port "*" (e.g. http://127.0.0.1:*) accepts any port; Django
# itself has no port wildcard, so those entries are checked by our authentication class.
# Unset: "http(s)://127.0.0.1:*,http(s)://localhost:*". The server's own origin (http and https,
# AUTHFLIGHT_PORT) is always trusted.
CSRF_COOKIE_HTTPONLY = False
CSRF_FAILURE_VIEW = "authflight_server.views.csrf_failure"
CSRF_COOKIE_SAMESITE = "Lax"
_trusted = os.environ.get("AUTHFLIGHT_TRUSTED_ORIGINS")
if _trusted is None:
    _trusted = "http://127.0.0.1:*,http://localhost:*,https://127.0.0.1:*,https://localhost:*"
CSRF_TRUSTED_ORIGINS = [
    f"{scheme}://{host}:{PORT}" for scheme in ("http", "https") for host in ("127.0.0.1", "localhost")
]
AUTHFLIGHT_CSRF_ORIGIN_REGEXES = []
for _origin in (o.strip().rstrip("/") for o in _trusted.split(",")):
    if not _origin:
        continue
    if _origin.endswith(":*"):
        AUTHFLIGHT_CSRF_ORIGIN_REGEXES.append(
            re.compile("^" + re.escape(_origin[:-2]) + r"(:\d+)?$")
        )
    elif _origin not in CSRF_TRUSTED_ORIGINS:
        CSRF_TRUSTED_ORIGINS.append(_origin)

# ---------------------------------------------------------------- static files
# AUTHFLIGHT_STATIC_DIR: served at "/". AUTHFLIGHT_STATIC_MOUNTS: "/pkg/=/abs/dir,/t/=/abs/dir2".
AUTHFLIGHT_STATIC_DIR = os.path.abspath(os.environ["AUTHFLIGHT_STATIC_DIR"]) if os.environ.get(
    "AUTHFLIGHT_STATIC_DIR"
) else None
AUTHFLIGHT_STATIC_MOUNTS = []
for _pair in os.environ.get("AUTHFLIGHT_STATIC_MOUNTS", "").split(","):
    if not _pair.strip():
        continue
    _prefix, _sep, _dir = _pair.partition("=")
    if not _sep or not _dir.strip():
        raise ValueError(f"AUTHFLIGHT_STATIC_MOUNTS entry needs PREFIX=DIR: {_pair!r}")
    _prefix = _prefix.strip().strip("/")
    _prefix = f"/{_prefix}/" if _prefix else "/"
    AUTHFLIGHT_STATIC_MOUNTS.append((_prefix, os.path.abspath(_dir.strip())))
AUTHFLIGHT_STATIC_MOUNTS.sort(key=lambda m: len(m[0]), reverse=True)
