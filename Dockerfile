# The assistant's image: every process of `python -m bot.run` (Rasa server with the project's
# components, action server, notifier, widget page, staff app, analytics consumer) with a model
# trained at build time. docker-compose.yml runs it in the production profile.
FROM python:3.10.13-slim-bookworm

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore \
    PYTHONPATH=/app VAR_DIR=/app/var BIND_HOST=0.0.0.0
WORKDIR /app

RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ libpq-dev \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock .
RUN pip install --no-cache-dir pip==24.0 setuptools==70.3.0 wheel==0.45.1 \
    && pip install --no-cache-dir -r requirements.lock

COPY . .
RUN rasa train --data data/nlu data/rules data/stories --config config.yml --domain domain.yml \
      --out models --fixed-model-name current \
    && useradd --create-home --uid 1000 assistant && mkdir -p var && chown -R assistant var models
USER assistant

EXPOSE 5005 5056 8080 8090
CMD ["python", "-m", "bot.run", "serve"]
