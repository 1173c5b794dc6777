"""gunicorn settings of the app container (deploy/entrypoint.sh passes this file).

Sizing comes from the environment, so an operator changes it in .env without a
rebuild: WEB_CONCURRENCY (processes), GUNICORN_THREADS (threads per process),
GUNICORN_TIMEOUT, GUNICORN_GRACEFUL_TIMEOUT, GUNICORN_KEEPALIVE,
FORWARDED_ALLOW_IPS. Every top-level name without a leading underscore is a
gunicorn setting (tests/test_compose.py holds the file to that: gunicorn
silently ignores a misspelt one).
"""

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# deploy/wsgi.py: the portal app behind the reverse proxy (see there).
wsgi_app = "deploy.wsgi:application"
bind = "0.0.0.0:8000"

# Threads, not only processes: an upload of up to 200 MB holds its thread for as
# long as the client takes to send it plus the scan; with threads that is one of
# GUNICORN_THREADS per process, not the whole process. Memory per upload in
# flight is bounded by the S3 part size (8 MB x 3), not by the file size.
worker_class = "gthread"
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 4)

# With gthread the timeout is a liveness check of the process (its main loop
# reports every second while requests run in threads), not a cap on a request,
# so a long upload is not killed by it. graceful_timeout is what an upload in
# flight gets to finish on a restart or `docker compose stop` (stop_grace_period
# in docker-compose.yml is longer).
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 120)
# Longer than the proxy's idle timeout for upstream connections (nginx: 60 s), so
# the proxy closes an idle connection first and never reuses one gunicorn dropped.
keepalive = _int("GUNICORN_KEEPALIVE", 75)

# The heartbeat file is touched every second; on a disk-backed /tmp that can
# block a worker (overlayfs in a container), so keep it in memory.
worker_tmp_dir = "/dev/shm"

# Restart a process now and then, so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200

# The app port is reachable only from the host's loopback (where the reverse
# proxy runs) and from the compose network, so whatever connects is the proxy:
# trust its X-Forwarded-Proto. Set FORWARDED_ALLOW_IPS to the proxy's address
# when the port is reachable from anywhere else.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
# Never let a header set SCRIPT_NAME/PATH_INFO (gunicorn's default list): the
# proxy in front does not send them, so only a client could.
forwarder_headers = ""

# Both logs to stdout/stderr: `docker compose logs app`. %(h)s is the client's
# address after deploy/wsgi.py has applied X-Forwarded-For; %(M)s is milliseconds.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
