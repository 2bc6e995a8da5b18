# Kinto server image.
#
#   docker build -t kinto .
#   docker run -p 8888:8888 kinto
#
# On first start the container writes $KINTO_INI (random secrets, SQLite
# backends in /etc/kinto, listening on 0.0.0.0) unless one is mounted there
# (mount a volume on /etc/kinto to keep the data), creates the
# backends' schemas, then serves on $PORT. Any setting can be overridden with
# KINTO_* environment variables (e.g. KINTO_STORAGE_BACKEND, KINTO_STORAGE_URL).
# Mount your own INI, or set KINTO_USERID_HMAC_SECRET, to keep user ids stable
# when the container is recreated.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KINTO_INI=/etc/kinto/kinto.ini \
    PORT=8888

WORKDIR /app
COPY pyproject.toml setup.cfg README.rst LICENSE ./
COPY kinto ./kinto
RUN pip install ".[postgresql,redis]" \
    && useradd --system --no-create-home --home-dir /app kinto \
    && mkdir -p /etc/kinto \
    && chown kinto /etc/kinto

USER kinto
EXPOSE 8888

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/v1/__heartbeat__' % os.environ['PORT'], timeout=4)"

VOLUME ["/etc/kinto"]

CMD ["sh", "-c", "{ [ -f \"$KINTO_INI\" ] || kinto init --ini \"$KINTO_INI\" --host 0.0.0.0; } && kinto migrate --ini \"$KINTO_INI\" && exec kinto start --ini \"$KINTO_INI\" --port \"$PORT\""]
