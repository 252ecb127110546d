"""The project's Celery application.

Configuration lives in Django settings under the ``CELERY_`` namespace (see
``config/settings/base.py``); tasks are discovered in each app's ``tasks.py``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("microcourses")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
