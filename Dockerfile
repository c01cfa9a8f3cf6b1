# syntax=docker/dockerfile:1
# Build stage: install the project and its dependencies from its own
# metadata into a virtual environment that the runtime stage copies.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/gitops-bot
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN /opt/gitops-bot/bin/pip install .

# Runtime stage: no compilers, no sources, no secrets, no configuration (it
# is mounted at /etc/gitops-bot/bot.yaml, see config/kubernetes); non-root.
FROM python:3.11-slim
# The bot never clones: no git in the image (the offline GitLab, which needs
# it, is a development tool and is not run from the container).
RUN useradd --system --uid 10001 --home-dir /home/gitops-bot --create-home gitops-bot
COPY --from=build /opt/gitops-bot /opt/gitops-bot
ENV PATH=/opt/gitops-bot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GITOPS_BOT_CONFIG=/etc/gitops-bot/bot.yaml
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["gitops-bot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
