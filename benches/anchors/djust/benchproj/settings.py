"""Django settings of the djust (PyPI) anchor for djust-bench (issue 10).

Production-like: DEBUG off, no database use on the hot path (signed-cookie
sessions, in-memory SQLite only so Django's auth middleware can start),
in-memory channel layer, one ASGI worker. The djust per-connection and
per-IP limits are raised because every benchmark client comes from
127.0.0.1 -- the same change the Rust server gets in djust-bench.
"""

SECRET_KEY = "djust-bench-anchor-not-a-secret-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "channels",
    "djust",
    "benchapp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "benchproj.urls"
ASGI_APPLICATION = "benchproj.asgi.application"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {},
    }
]
USE_TZ = True
LIVEVIEW_ALLOWED_MODULES = ["benchapp."]
LIVEVIEW_CONFIG = {
    "rate_limit": {
        "rate": 1000000,
        "burst": 1000000,
        "max_connections_per_ip": 20000,
    },
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
