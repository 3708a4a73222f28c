"""WSGI entry point for gunicorn (``helpline serve``)."""

import os

from django.core.wsgi import get_wsgi_application

os.umask(0o077)  # as helpline.cli: what the web server writes is private
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
application = get_wsgi_application()
