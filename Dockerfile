# syntax=docker/dockerfile:1
# The images of laborcoop's four services, one target each, from one locked environment:
#   docker build --target registry   -t laborcoop/registry   .
#   docker build --target agreements -t laborcoop/agreements .
#   docker build --target placements -t laborcoop/placements .
#   docker build --target gateway    -t laborcoop/gateway    .
# Each image runs `laborcoop-<service> serve --host 0.0.0.0 --port 8080` by default; another
# command replaces it: `docker run laborcoop/registry laborcoop-registry migrate`. Settings come from LABORCOOP_*
# environment variables (docs/operations.md). docker-compose.yml and deploy/k8s use these names;
# tests/deploy checks that they agree. No Docker engine runs in this project's CI: the file is
# checked statically (tests/deploy, Checkov), never built there.

# ---------------------------------------------------------------- build: the locked environment
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install 'uv>=0.5,<1'

WORKDIR /src
# 1. The third-party dependencies, exactly as locked, from the lock file alone: this layer is
#    rebuilt only when uv.lock or pyproject.toml change, not when the code does.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-workspace
# 2. The workspace's libraries and services, installed as regular wheels (no dev group, so no
#    laborcoop-testing or devstack), so the final image needs neither /src nor uv.
#    .dockerignore keeps tests, docs and local state out.
COPY libs ./libs
COPY services ./services
RUN uv sync --frozen --no-dev --no-editable

# ---------------------------------------------------------------- runtime: no build tools
FROM python:3.11-slim-bookworm AS runtime

# pip, setuptools and wheel are the base image's build tools: the services need none of them.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
    && groupadd --system --gid 10001 laborcoop \
    && useradd --system --uid 10001 --gid laborcoop --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin laborcoop \
    && mkdir -p /var/lib/laborcoop/keys \
    && chown -R laborcoop:laborcoop /var/lib/laborcoop

COPY --from=build /app/.venv /app/.venv

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

USER 10001:10001
WORKDIR /app
EXPOSE 8080
# Liveness only (/healthz): readiness (/readyz) is the orchestrator's probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
# SIGTERM: stop accepting, answer the requests in flight, finish the relay's and consumers'
# batch, within LABORCOOP_SHUTDOWN_GRACE_S (docs/operations.md, "Graceful shutdown").
STOPSIGNAL SIGTERM

# ---------------------------------------------------------------- one target per service
FROM runtime AS registry
LABEL org.opencontainers.image.title="laborcoop-registry"
CMD ["laborcoop-registry", "serve", "--host", "0.0.0.0", "--port", "8080"]

FROM runtime AS agreements
LABEL org.opencontainers.image.title="laborcoop-agreements"
CMD ["laborcoop-agreements", "serve", "--host", "0.0.0.0", "--port", "8080"]

FROM runtime AS placements
LABEL org.opencontainers.image.title="laborcoop-placements"
CMD ["laborcoop-placements", "serve", "--host", "0.0.0.0", "--port", "8080"]

FROM runtime AS gateway
LABEL org.opencontainers.image.title="laborcoop-gateway"
CMD ["laborcoop-gateway", "serve", "--host", "0.0.0.0", "--port", "8080"]
