# Load Celery with Django so that ``delay_on_commit`` in services finds the configured app.
from .celery import app as celery_app

__all__ = ("celery_app",)
