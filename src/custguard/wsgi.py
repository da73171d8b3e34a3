"""WSGI entry point, served by granian (`custguard serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "custguard.settings")
application = get_wsgi_application()
