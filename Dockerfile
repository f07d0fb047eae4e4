# pixvault in a container: slim, non-root, dependencies installed frozen from uv.lock (hashes).
#   docker build -t pixvault .
#   docker run -p 8000:8000 -v pixvault-data:/data pixvault          # SQLite + /data/blobs
#   docker run --rm -v pixvault-data:/data pixvault gc                # any pixvault command
# compose.yaml runs it with PostgreSQL and MinIO. tests/unit/test_deploy_files.py checks that
# every file, command, setting and URL named here exists (no Docker engine in CI).

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/pixvault
WORKDIR /src
# uv itself, pinned by hash, then what `pixvault serve` needs (no test extra).
COPY requirements/bootstrap.txt requirements/bootstrap.txt
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements/bootstrap.txt
COPY pyproject.toml uv.lock README.md ./
# Dependencies in a layer of their own, so a code change does not reinstall them.
RUN uv sync --frozen --no-install-project
COPY src src
RUN uv sync --frozen --no-editable

FROM python:3.11-slim
# libvips comes inside the pyvips-binary wheel: nothing to apt-get.
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin \
        pixvault \
    && mkdir /data && chown pixvault:pixvault /data
COPY --from=build /opt/pixvault /opt/pixvault
ENV PATH=/opt/pixvault/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PIXVAULT_DATA_DIR=/data \
    PIXVAULT_HOST=0.0.0.0 \
    PIXVAULT_PORT=8000 \
    PIXVAULT_LOG_FORMAT=json
USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 8000
# Ready = the database answers and the blob store can be written and read (no curl in slim).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PIXVAULT_PORT', '8000') + '/ready', timeout=4)"]
ENTRYPOINT ["pixvault"]
CMD ["serve"]
