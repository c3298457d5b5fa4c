"""Settings for the items example: a JSON API, so no templates, sessions,
admin or CSRF middleware (the API takes no cookies).

The database is SQLite at $ITEMS_DB (default db.sqlite3 beside manage.py),
or PostgreSQL when $ITEMS_PG_DSN holds a libpq key=value DSN
("host=127.0.0.1 port=5432 dbname=items user=me"). Either way, create the
tables first: python3 manage.py migrate.
"""
import os
import shlex
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "items-example-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]

INSTALLED_APPS = ["items"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "itemsite.urls"
WSGI_APPLICATION = "itemsite.wsgi.application"
APPEND_SLASH = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _pg(dsn):
    """A libpq key=value DSN as Django's DATABASES entry."""
    kv = dict(part.split("=", 1) for part in shlex.split(dsn))
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": kv.pop("dbname", ""),
        "USER": kv.pop("user", ""),
        "PASSWORD": kv.pop("password", ""),
        "HOST": kv.pop("host", ""),
        "PORT": kv.pop("port", ""),
        "OPTIONS": kv,  # anything else (sslmode, ...) goes to libpq as is
        "CONN_MAX_AGE": 60,
    }


if os.environ.get("ITEMS_PG_DSN"):
    DATABASES = {"default": _pg(os.environ["ITEMS_PG_DSN"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("ITEMS_DB") or str(BASE_DIR / "db.sqlite3"),
            # Wait for a writer in another process rather than fail at once.
            "OPTIONS": {"timeout": 30},
        }
    }
