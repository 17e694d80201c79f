# Load Celery with Django so that services.queue finds the configured app when it sends a task.
from .celery import app as celery_app

__all__ = ("celery_app",)
