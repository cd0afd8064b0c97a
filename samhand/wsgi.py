import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samhand.settings")
application = get_wsgi_application()

from samhand.lib.worker import tune_collector  # noqa: E402 - needs the settings above

tune_collector()  # a long-running process (samhand.lib.worker)
