# syntax=docker/dockerfile:1
# greenhack: the leaderboard (greenhack serve) and the evaluation worker (greenhack worker) in one image.
#   docker build -t greenhack .
# Stage 1 builds the wheel and a virtualenv; stage 2 carries only that virtualenv and runs as a non-root user.
ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/greenhack
# the wheel needs the package, the board's templates (leaderboard/) and what the sdist ships
COPY pyproject.toml README.md ./
COPY src ./src
COPY leaderboard ./leaderboard
COPY ci-templates ./ci-templates
COPY examples ./examples
RUN /opt/greenhack/bin/pip install --upgrade pip \
    && /opt/greenhack/bin/pip install . \
    && /opt/greenhack/bin/greenhack --version

FROM python:${PYTHON_VERSION}-slim AS runtime
LABEL org.opencontainers.image.title="greenhack" \
      org.opencontainers.image.description="Green AI hackathon leaderboard and evaluation worker" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 greenhack \
    && useradd --system --uid 10001 --gid greenhack --home-dir /var/lib/greenhack --create-home \
       --shell /usr/sbin/nologin greenhack
COPY --from=build /opt/greenhack /opt/greenhack
ENV PATH=/opt/greenhack/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GREENHACK_DATA_DIR=/var/lib/greenhack
WORKDIR /var/lib/greenhack
USER 10001:10001
EXPOSE 8000
# the worker overrides this in docker-compose.yml (python -m greenhack.deploy.healthcheck worker)
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "greenhack.deploy.healthcheck", "web", "http://127.0.0.1:8000/healthz"]
# the event folder (event.yaml + the truth file it names) is mounted at /etc/greenhack
ENTRYPOINT ["greenhack"]
CMD ["serve", "--config", "/etc/greenhack/event.yaml", "--host", "0.0.0.0", "--port", "8000"]
