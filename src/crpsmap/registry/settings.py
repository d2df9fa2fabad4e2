"""Django settings of the registry, read from the environment (see `config.py`)."""

from __future__ import annotations

import os
from pathlib import Path

from crpsmap.registry.config import (
    DATABASE_ENV,
    database_settings,
    idle_limit_seconds,
    normalise_database,
    secret_key,
)

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = secret_key()
DEBUG = os.environ.get("CRPSMAP_DEBUG") == "1"
ALLOWED_HOSTS = [
    h for h in os.environ.get("CRPSMAP_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h
]
HTTPS = os.environ.get("CRPSMAP_HTTPS") == "1"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",  # the optional TOTP second factor (registry/otp.py)
    "ninja",  # the JSON API (registry/api): its Swagger UI files, served by WhiteNoise like ours
    "crpsmap.registry.apps.RegistryConfig",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the session passed the second factor
    "crpsmap.registry.idle.IdleTimeoutMiddleware",  # idle sessions end; signed-in answers are not cached
    "crpsmap.registry.otp.SecondFactorMiddleware",  # no page until the second factor is given when it is due
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "crpsmap.registry.methods.PageMethodsMiddleware",  # pages answer GET, HEAD and POST only (405 otherwise)
]
ROOT_URLCONF = "crpsmap.registry.urls"
WSGI_APPLICATION = "crpsmap.registry.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        # the registry's templates, then crpsmap's shared layout (crpsmap/base.html, in report/templates)
        "DIRS": [BASE_DIR / "templates", BASE_DIR.parent / "report" / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "crpsmap.registry.jinja.environment", "autoescape": True},
    }
]
FORM_RENDERER = "django.forms.renderers.Jinja2"  # widgets from Django's Jinja2 templates (faster)
DATABASES = {"default": database_settings(normalise_database(os.environ.get(DATABASE_ENV)))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
CRPSMAP_IDLE_SECONDS = idle_limit_seconds()  # a session idle this long ends (registry/idle.py)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# over TLS the cookies take the __Host- prefix: a browser then keeps them only if they are Secure, have
# Path=/ and no Domain, so that no other host (a sibling subdomain) can set or shadow them
SESSION_COOKIE_NAME = "__Host-sessionid" if HTTPS else "sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken" if HTTPS else "csrftoken"
# HSTS from the registry itself when it is served over TLS (SecurityMiddleware sends it on HTTPS
# responses only: gunicorn marks a request HTTPS from the proxy's X-Forwarded-Proto)
SECURE_HSTS_SECONDS = 2 * 365 * 24 * 3600 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "SAMEORIGIN"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# login throttling (django-axes): 5 failures per user name and address lock that pair for 15 minutes
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# behind a reverse proxy: the proxies whose X-Forwarded-For is believed (registry/clients.py, one rule for
# the lockout and the audit trail); empty: the header is ignored
CRPSMAP_TRUSTED_PROXIES = tuple(
    a.strip() for a in os.environ.get("CRPSMAP_TRUSTED_PROXIES", "").split(",") if a.strip()
)
AXES_CLIENT_IP_CALLABLE = "crpsmap.registry.clients.client_address"

# Content-Security-Policy (django-csp 4): no inline script or style anywhere in the app
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
}

# the optional TOTP second factor (django-otp): the name authenticator apps show; a wrong code is
# throttled by django-otp (1 s, 2 s, 4 s ... after each failure); a code is accepted once only
OTP_TOTP_ISSUER = "crpsmap registry"
OTP_TOTP_THROTTLE_FACTOR = 1

STATIC_URL = "/static/"
STATIC_ROOT = None  # served from the package by WhiteNoise (finders); nothing to collect
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = False

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# one handler, on the root logger, for every logger of the process; its filter takes patient codes and
# query strings out of logged paths (registry/logs.py). Nothing in the registry logs patient data itself.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "crpsmap.registry.logs.RedactPatientPaths"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"django": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
