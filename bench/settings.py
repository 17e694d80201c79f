"""The deployment's settings plus one benchmark-only URL (``bench.urls``), for the load test's gunicorn.

Never used in production: the trivial signed-in page exists only while the benchmark runs.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
