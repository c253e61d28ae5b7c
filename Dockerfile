# syntax=docker/dockerfile:1
# The one image recipe of every Bridge service; the service is a build argument:
#   docker build --build-arg SERVICE=matching --build-arg ENV_PREFIX=BRIDGE_MATCHING_ \
#                --build-arg HTTP_PORT=8001 -t bridge-matching .
# (docker-compose.yml passes these for each service.) Build context is the repository root (the uv
# workspace). Only shared/core and the one service are installed: no dev group, no devstack, no other
# service.

ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=<matching|sessions|notifications|reporting>" >&2; exit 1)
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install uv==0.13.9
WORKDIR /src

# Workspace manifests and the lock first, so the dependency layer is reused until they change.
# Every member's pyproject.toml is copied so uv sees the same workspace the lock was made from.
COPY pyproject.toml uv.lock ./
COPY shared/core/pyproject.toml shared/core/
COPY shared/devstack/pyproject.toml shared/devstack/
COPY services/matching/pyproject.toml services/matching/
COPY services/sessions/pyproject.toml services/sessions/
COPY services/notifications/pyproject.toml services/notifications/
COPY services/reporting/pyproject.toml services/reporting/
COPY web/pyproject.toml web/
RUN uv sync --frozen --no-dev --no-install-workspace --package bridge-${SERVICE}

# Then the code: the shared package and this one service, installed non-editable into the venv.
COPY shared/core/ shared/core/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN uv sync --frozen --no-dev --no-editable --package bridge-${SERVICE}


FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ARG ENV_PREFIX
ARG HTTP_PORT
RUN groupadd --system --gid 10001 bridge \
    && useradd --system --uid 10001 --gid bridge --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin bridge
# Same path and same base image as the build stage, so the venv's interpreter links stay valid.
COPY --from=build /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    APP_MODULE=bridge_${SERVICE} \
    APP_PORT_VAR=${ENV_PREFIX}HTTP_PORT \
    ${ENV_PREFIX}HTTP_HOST=0.0.0.0 \
    ${ENV_PREFIX}HTTP_PORT=${HTTP_PORT}
WORKDIR /app
USER 10001:10001
EXPOSE ${HTTP_PORT}
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ[os.environ['APP_PORT_VAR']] + '/healthz', timeout=4)"]
# exec: the service is PID 1 and gets SIGTERM itself.
CMD ["sh", "-c", "exec python -m \"${APP_MODULE}\""]
