"""Gunicorn settings for the web processes, every one of them read from the environment.

Started as ``gunicorn -c deploy/gunicorn.conf.py config.wsgi`` by the systemd unit and the compose
file alike. Gunicorn listens on an internal address only; nginx in front of it terminates HTTPS,
serves the static files and sets X-Forwarded-For and X-Forwarded-Proto (docs/DEPLOYMENT.md).
"""

import multiprocessing
import os

# 127.0.0.1:8000 when nginx runs on the same machine; the machine's internal address (e.g.
# 10.1.2.11:8000) when nginx on another machine balances over several web machines.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Synchronous workers: every page is a short database round trip. Two per core plus one is
# gunicorn's own rule of thumb; each one holds at most one database connection.
workers = int(os.environ.get("GUNICORN_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
# Excel exports of a whole round and 20 MB evidence uploads over a slow township line take time.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Recycle a worker now and then, so that a slow leak in a library never grows without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Only nginx talks to gunicorn; these are the addresses whose X-Forwarded-* headers it believes.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Logs go to standard output and error, that is to the journal (systemd) or to `docker compose logs`.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Load the application once in the master and fork: less memory, and a broken deployment fails at
# start instead of in every worker.
preload_app = True
