# Production image: slim base, non-root user; the container migrates, then serves.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PRIVACY_ENVIRONMENT=production PRIVACY_DATA_DIR=/var/lib/privacy-api

RUN groupadd --system privacy && useradd --system --gid privacy --home /srv/privacy-api privacy \
    && mkdir -p /var/lib/privacy-api && chown privacy:privacy /var/lib/privacy-api

WORKDIR /srv/privacy-api
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY docs ./docs
RUN pip install --no-cache-dir -e .

USER privacy
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready').status != 200)"
CMD ["privacy-api", "serve", "--host", "0.0.0.0", "--port", "8000"]
