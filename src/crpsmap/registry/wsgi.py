"""WSGI entry point for production servers (`crpsmap serve` runs it in gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crpsmap.registry.settings")
application = get_wsgi_application()
