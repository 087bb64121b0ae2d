# One image for all four laborcoop services. The command picks the service, e.g.
#   docker run IMAGE laborcoop-registry serve --host 0.0.0.0 --port 8080
#   docker run IMAGE laborcoop-registry migrate
# Settings come from LABORCOOP_* environment variables (docs/operations.md).

# ---------------------------------------------------------------- build: the locked environment
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install 'uv>=0.5,<1'

WORKDIR /src
# The whole workspace: uv needs every member's pyproject.toml, and installs the services and
# libraries from their sources. .dockerignore keeps tests, docs and local state out.
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services

# Runtime dependencies only (no dev group, so no laborcoop-testing), exactly as locked; the
# workspace packages are installed as regular wheels so the image does not need /src.
RUN uv sync --frozen --no-dev --no-editable

# ---------------------------------------------------------------- runtime
FROM python:3.11-slim

RUN groupadd --system --gid 10001 laborcoop \
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

# No default service: name one, e.g. `laborcoop-gateway serve --host 0.0.0.0 --port 8080`.
CMD ["laborcoop-gateway", "--help"]
