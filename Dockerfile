# Insyn app image: gunicorn serving the portal, run as an unprivileged user.
# Built by docker-compose.yml (service app); deploy/entrypoint.sh migrates the
# database and then starts gunicorn with deploy/gunicorn.conf.py.
#
# The code runs from the source tree in /app, not from site-packages: the app
# finds templates/, migrations/ and translations/ next to its packages
# (portal/__init__.py: ROOT = the folder above portal/), and the wheel that
# `pip install .` builds holds only the .py files (no portal/static, no
# portal/data). The install provides the dependencies and the distribution's
# metadata; PYTHONPATH=/app makes the tree in /app the one that is imported.

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /app

# Dependencies first, read from pyproject.toml alone, so that a code change does
# not reinstall them. flask-limiter[redis] adds the client for PORTAL_RATELIMIT_URL
# (redis://), which pyproject.toml does not list.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt "flask-limiter[redis]"

# .dockerignore lets in only what the app runs (no .env, instance/, tests, .git).
COPY . .
RUN pip install --no-deps . \
    && rm -rf build insyn.egg-info \
    && if [ -d translations ]; then pybabel compile -q -f -d translations; fi \
    && chmod 0755 deploy/entrypoint.sh \
    && python -m compileall -q portal admin storage deploy


FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# A fixed numeric uid, so volume ownership and runAsNonRoot checks are stable.
RUN groupadd --system --gid 10001 insyn \
    && useradd --system --uid 10001 --gid insyn --create-home --home-dir /home/insyn \
       --shell /usr/sbin/nologin insyn

COPY --from=build /opt/venv /opt/venv
# Code owned by root: the app user can read it, not change it.
COPY --from=build /app /app

# The only places the app writes. The upload spool is a named volume in
# docker-compose.yml (PORTAL_UPLOAD_TMP); a new volume takes this directory's
# owner, so the unprivileged user can write to it. instance/ only has to exist
# (create_app makes it); in production nothing is stored there.
RUN install -d -o insyn -g insyn -m 0750 /var/lib/insyn /var/lib/insyn/upload-tmp /app/instance

WORKDIR /app
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["serve"]
