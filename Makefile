# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
RASA    := $(VENV)/bin/rasa
MODEL   := models/current.tar.gz
TRAINING_DATA := data/nlu data/rules data/stories
# Everything a trained model depends on: a change to any of them retrains.
MODEL_INPUTS := config.yml domain.yml $(shell find data/nlu data/rules data/stories data/procedures data/directory data/localities data/lexicon bot/nlu -type f \( -name '*.yml' -o -name '*.py' \) 2>/dev/null)

export PYENV_VERSION ?= 3.10.13
export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore
export ACTIONS_PORT ?= 5055
export RASA_PORT ?= 5005

.PHONY: help install train run run-prod migrate nginx soak shell test eval validate unit core nlu-check lock clean measure browser bench staff-user converse longtail

help:
	@echo "make run    install, train if needed, start the assistant (Ctrl-C stops it)"
	@echo "make run-prod  the same on PostgreSQL, Redis and RabbitMQ (README, Production)"
	@echo "make test   install, validate data, train if needed, run every test"
	@echo "make lint   import layers, ruff and mypy (part of make test)"
	@echo "make train | eval | converse | longtail | shell | measure | bench | soak | migrate | staff-user NAME=.. ROLE=.. | lock | clean"

$(PY):
	@if ! python3.10 --version >/dev/null 2>&1; then \
	  echo "✗ Python 3.10 is required (Rasa 3.6 does not run on 3.11)."; \
	  echo "  Install it, e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10 python3.10-venv',"; \
	  echo "  then run this command again."; \
	  exit 1; \
	fi
	python3.10 -m venv $(VENV)

$(VENV)/.installed: $(PY) requirements.lock
	$(PY) -m pip install --quiet pip==24.0 setuptools==70.3.0 wheel==0.45.1
	$(PY) -m pip install --progress-bar off -r requirements.lock
	@touch $@

install: $(VENV)/.installed

$(MODEL): $(VENV)/.installed $(MODEL_INPUTS)
	@mkdir -p models
	@echo "… training (data, domain, config or NLU code changed)"
	@start=$$(date +%s); \
	$(RASA) train --data $(TRAINING_DATA) --config config.yml --domain domain.yml \
	  --out models --fixed-model-name current --force && \
	echo "✓ trained in $$(( $$(date +%s) - start )) s: $(MODEL)"

train: $(MODEL)

run: install train nginx
	$(PY) -m bot.run serve --model $(MODEL)

# The production profile on PostgreSQL, Redis and RabbitMQ (README, Production). Defaults: the
# services on this machine's loopback; the two databases are created when missing.
PROD_PG ?= postgresql://postgres@127.0.0.1:5432
run-prod: install train
	@for db in assistant_tracker assistant; do \
	  psql "$(PROD_PG)/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$$db'" | grep -q 1 || \
	  psql "$(PROD_PG)/postgres" -qc "CREATE DATABASE $$db"; \
	done
	ASSISTANT_PROFILE=production \
	TRACKER_DB_URL=$${TRACKER_DB_URL:-$(PROD_PG)/assistant_tracker} \
	APP_DB_URL=$${APP_DB_URL:-$(PROD_PG)/assistant} \
	$(PY) -m bot.run serve --model $(MODEL)

# The assistant's database schema (APP_DB_URL): alembic migrations.
migrate: install
	$(PY) -m bot.migrations migrate

shell: install train
	$(PY) -m bot.run shell --model $(MODEL)

validate: install
	$(RASA) data validate --fail-on-warnings --data $(TRAINING_DATA) --config config.yml --domain domain.yml

unit: install train
	$(PY) -m pytest

core: install train
	$(PY) -m bot.rasa_patches test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out results/core

nlu-check: install train
	$(PY) -m scripts.eval_nlu --model $(MODEL) --enforce
	$(PY) -m scripts.eval_nlu --model $(MODEL) --blind --enforce

# Headless Chromium for the widget's browser tests (Debian's packages; Playwright cannot
# download its own browsers here).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "… installing Debian's chromium for the browser tests"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	fi

# nginx from Debian's packages: the load balancer of the scale-out tests.
nginx:
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then \
	  echo "… installing Debian's nginx for the scale-out tests"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx; \
	fi

# Layers import in one direction, no undefined or unused names, types agree.
lint: install
	$(VENV)/bin/lint-imports --config .importlinter
	$(VENV)/bin/ruff check bot tests scripts
	$(VENV)/bin/mypy bot

test: lint validate train browser nginx unit core nlu-check

# The blind conversation set against a fresh assistant: task success per group, every failure
# shown (results/converse.json). `make test` runs it too (tests/conversations/).
converse: install train
	$(PY) -m tests.conversations.runner --show

# The blind long-tail set (one question about a procedure each) against a fresh assistant: the
# share answered or routed, every failure shown (results/longtail.json). `make test` runs it too.
longtail: install train
	$(PY) -m tests.longtail.runner --show

# The project pipeline against Rasa's stock one, trained on the same data (slow: DIET).
eval: install train
	@mkdir -p models/stock
	@if [ ! -f models/stock/stock.tar.gz ] || [ -n "$$(find $(MODEL_INPUTS) config.stock.yml -newer models/stock/stock.tar.gz | head -1)" ]; then \
	  echo "… training the stock pipeline (DIET, 100 epochs: this takes a while)"; \
	  start=$$(date +%s); \
	  $(RASA) train nlu --nlu data/nlu --config config.stock.yml --out models/stock --fixed-model-name stock && \
	  echo "✓ stock pipeline trained in $$(( $$(date +%s) - start )) s"; \
	fi
	$(PY) -m scripts.eval_nlu --model $(MODEL) --baseline models/stock/stock.tar.gz

lock: $(PY)
	$(PY) -m pip freeze --exclude-editable | grep -v '^\(pip\|setuptools\|wheel\)==' > requirements.lock.new
	@{ echo "# Every package of the virtual environment, pinned: \`make install\` installs exactly these."; \
	   echo "# Regenerate after changing pyproject.toml: make lock"; cat requirements.lock.new; } > requirements.lock
	@rm requirements.lock.new

clean:
	rm -rf models results .rasa

# Start-up time, memory per process and REST latency over 200 sequential messages.
measure: install train
	@mkdir -p results
	$(PY) -m scripts.measure --messages 200

# Soak (not part of `make test`): 200 conversations for 10 minutes through nginx, production
# profile scaled out on this machine's PostgreSQL, Redis and RabbitMQ.
soak: install train nginx
	@mkdir -p results
	$(PY) -m scripts.soak --citizens 200 --seconds 600

# Load benchmark (not part of `make test`): project vs. stock Rasa at 1, 20, 50 citizens.
bench: install train
	@mkdir -p results
	$(PY) -m scripts.bench --levels 1,20,50 --seconds 30

# A staff account for the analytics app: make staff-user NAME=lan ROLE=admin
staff-user: install
	@test -n "$(NAME)" || { echo "usage: make staff-user NAME=<name> ROLE=viewer|admin"; exit 2; }
	$(PY) -m bot.staff users add "$(NAME)" --role "$(or $(ROLE),viewer)"
