# Two stages: the wheel is built in the first; the second installs the locked dependencies (hashes
# checked) and then the wheel alone, with no compiler, no source tree and no build tools.
#
# The base image is pinned by digest (python:3.11.13-slim-bookworm, the multi-platform index), so a
# rebuild gets the same system. Refresh it deliberately, with the Python security releases:
#   docker buildx imagetools inspect python:3.11-slim-bookworm   # the "Digest:" line
# and replace the digest in both FROM lines (tests/test_compose.py holds them equal).

FROM python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1 AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/runtime.txt /tmp/runtime.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r /tmp/runtime.txt && rm /tmp/runtime.txt
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
# Runs as an unprivileged user; it writes nothing but the worker's heartbeat under /tmp. The working
# directory (where an .env file would be read) belongs to root.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent app
WORKDIR /srv
USER 10001:10001
ENV APP_ENVIRONMENT=production
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--no-proxy-headers", "--timeout-graceful-shutdown", "25"]
