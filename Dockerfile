# syntax=docker/dockerfile:1
# The aduan image (docs/install.md, "Container"): `docker build -t aduan .`
# Two stages: the first installs aduan and its dependencies into a virtual
# environment; the final one copies only that environment onto a fresh slim
# Python, so no compiler, pip cache or source tree is shipped.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/aduan
WORKDIR /src
# Every runtime dependency has wheels for this base image; a package without
# one would need `apt-get install build-essential` here, never in the final stage.
# The exact versions and file hashes come from the lock (README "Dependencies");
# aduan itself is installed on top without resolving anything again.
COPY requirements.lock ./
RUN /opt/aduan/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY storage ./storage
COPY channels ./channels
COPY handlers ./handlers
COPY gateway ./gateway
# The translation catalogues are compiled here (.po -> .mo, package data); the
# import below (-I: not from the source tree here) fails when the installed
# package lacks them.
RUN /opt/aduan/bin/pybabel compile -d handlers/locale -D aduan \
    && /opt/aduan/bin/pip install --no-cache-dir --no-deps . \
    && /opt/aduan/bin/pip check \
    && /opt/aduan/bin/python -I -c "import handlers.i18n" \
    && /opt/aduan/bin/python -m compileall -q /opt/aduan/lib

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="aduan" \
      org.opencontainers.image.description="Omnichannel complaint intake and message gateway" \
      org.opencontainers.image.licenses="GPL-3.0-or-later"
# DejaVu Sans sets the printable PDF forms (gateway/reports/pdf.py).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
# A fixed, unprivileged account: files on the data volume keep one owner
# across image upgrades.
RUN groupadd --system --gid 10001 aduan \
    && useradd --system --uid 10001 --gid aduan --home-dir /var/lib/aduan \
       --shell /usr/sbin/nologin aduan \
    && mkdir -p /var/lib/aduan \
    && chown aduan:aduan /var/lib/aduan
COPY --from=build /opt/aduan /opt/aduan
ENV PATH=/opt/aduan/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ADUAN_DATA_DIR=/var/lib/aduan \
    ADUAN_HTTP_HOST=0.0.0.0 \
    ADUAN_HTTP_PORT=8080
WORKDIR /var/lib/aduan
# The embedded SQLite database and the generated form secret live here
# (docs/backup.md); with PostgreSQL it holds only the form secret.
VOLUME ["/var/lib/aduan"]
USER 10001:10001
EXPOSE 8080
# Liveness of `aduan serve` (GET /healthz); slim has no curl, Python has urllib.
# A worker or one-shot container turns it off (deploy/compose.yaml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ADUAN_HTTP_PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["aduan"]
CMD ["serve"]
