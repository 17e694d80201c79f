"""Asks a gunicorn of this installation for /healthz and exits 0 when it answers 200.

For compose's healthcheck and for monitoring agents that run a command rather than fetch a URL:

    python deploy/healthcheck.py [HOST:PORT]     # default: GUNICORN_BIND, or 127.0.0.1:8000

It talks to gunicorn directly, so it sends what nginx would: a Host from DJANGO_ALLOWED_HOSTS and
X-Forwarded-Proto: https (production redirects plain HTTP), plus DJANGO_HEALTH_TOKEN when set.
Prints the JSON answer. Standard library only.
"""

import http.client
import os
import sys


def main(argv):
    address = argv[1] if len(argv) > 1 else os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
    host, _, port = address.rpartition(":")
    if host in ("", "0.0.0.0", "[::]"):
        host = "127.0.0.1"
    allowed = [h.strip().lstrip(".") for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    headers = {"Host": allowed[0] if allowed and allowed[0] != "*" else "localhost", "X-Forwarded-Proto": "https"}
    token = os.environ.get("DJANGO_HEALTH_TOKEN", "")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", "/healthz", headers=headers)
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
    except OSError as error:
        print(f"healthz: no answer from {host}:{port}: {error}", file=sys.stderr)
        return 2
    print(body)
    return 0 if response.status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
