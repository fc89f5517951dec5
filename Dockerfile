# syntax=docker/dockerfile:1
# Polyvox for CPUs: the gateway and every built-in engine's environment, built at image
# build time (at the lock's exact versions), so no container builds anything at start.
# One image for every role (docs/deploy.md):
#   docker build -t polyvox:0.1.0 .
#   docker run -p 8000:8000 polyvox:0.1.0                        # polyvox serve
#   docker run polyvox:0.1.0 polyvox gateway --registry redis://...
#   docker run -e POLYVOX_WORKER_ENGINE=piper ... polyvox:0.1.0 polyvox worker
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
# The base image's Python for every environment (uv downloads none), compiled bytecode,
# and files copied (not hard-linked) out of uv's cache, which this stage leaves behind.
ENV UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    POLYVOX_HOME=/opt/polyvox
WORKDIR /app
# Dependencies first: this layer is reused while only Polyvox's source changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra gateway --no-install-project
COPY src ./src
RUN uv sync --frozen --no-dev --extra gateway
# Each engine's environment under POLYVOX_HOME: workers find them and run in them.
ARG ENGINES="piper kokoro espeak whisper"
# hadolint ignore=SC2086
RUN /app/.venv/bin/polyvox environments ${ENGINES}

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 polyvox \
    && useradd --system --uid 10001 --gid polyvox --create-home --home-dir /home/polyvox polyvox
# The same paths as in the build stage: environments point at their interpreters there.
COPY --from=build --chown=polyvox:polyvox /app /app
COPY --from=build --chown=polyvox:polyvox /opt/polyvox /opt/polyvox
ENV PATH=/app/.venv/bin:$PATH \
    POLYVOX_HOME=/opt/polyvox \
    POLYVOX_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
# Numeric, so Kubernetes can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
WORKDIR /home/polyvox
EXPOSE 8000 50051
# The gateway's /healthz, or a worker's grpc.health.v1 (when POLYVOX_WORKER_LISTEN is set).
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 CMD ["polyvox", "probe"]
CMD ["polyvox", "serve"]
