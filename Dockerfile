# Production image, two stages: dependencies from the lock file are built into a virtualenv,
# then copied into a slim runtime with a non-root user. The container serves without migrating:
# run `privacy-api migrate` once (compose.yaml's `migrate` service) before starting replicas.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/privacy-api
WORKDIR /src
COPY requirements.lock ./
RUN /opt/privacy-api/bin/pip install -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/privacy-api/bin/pip install --no-deps .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/privacy-api/bin:$PATH \
    PRIVACY_ENVIRONMENT=production PRIVACY_DATA_DIR=/var/lib/privacy-api PRIVACY_LOG_FORMAT=json

RUN groupadd --system privacy && useradd --system --gid privacy --home /srv/privacy-api privacy \
    && mkdir -p /var/lib/privacy-api && chown privacy:privacy /var/lib/privacy-api

COPY --from=build /opt/privacy-api /opt/privacy-api
# Alembic's configuration and the migrations are read from the working directory.
WORKDIR /srv/privacy-api
COPY alembic.ini ./
COPY migrations ./migrations
COPY docs ./docs

USER privacy
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready').status != 200)"
CMD ["privacy-api", "serve", "--no-migrate", "--host", "0.0.0.0", "--port", "8000"]
