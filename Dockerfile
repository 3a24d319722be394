# One image for every OpenCall process: `opencall serve` (web), `opencall worker`
# (jobs) and `opencall db upgrade` (migrations). See docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . \
    && useradd --system --create-home --home-dir /home/opencall opencall \
    && mkdir -p /var/lib/opencall \
    && chown opencall /var/lib/opencall

USER opencall
WORKDIR /var/lib/opencall
EXPOSE 8000
CMD ["opencall", "serve", "--host", "0.0.0.0", "--port", "8000"]
