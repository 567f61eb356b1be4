# EdgeFlow Studio — the two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://edgeflow:edgeflow@127.0.0.1:5432/edgeflow
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
STACK_ARGS ?= --demo

.PHONY: run test test-stack stack stack-tools lint format venv readers-venv weights int8 services chromium frontend frontend-test migrate demo serve clean-venv bench-env

run: venv weights frontend migrate demo serve ## set up everything and serve the demo on the embedded default

test: venv readers-venv weights services chromium frontend frontend-test ## start what the tests need and run the whole suite
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

test-stack: venv weights frontend stack-tools ## only the fault tests on the multi-process stack (tests/stack; `make test` runs them too)
	$(PY) -m pytest tests/stack $(PYTEST_ARGS)

stack: venv weights frontend stack-tools ## the multi-process stack on 127.0.0.1: own PostgreSQL + Redis, 2 daphnes behind nginx, Celery workers (STACK_ARGS, see python -m deploy.stack --help)
	$(PY) -m deploy.stack $(STACK_ARGS)

stack-tools: ## PostgreSQL, Redis and nginx programs for the stack, installed where missing (nothing started)
	bash deploy/scripts/ensure-stack-tools.sh

lint: venv ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

readers-venv: .venv-readers/.installed ## Datumaro in its own venv: tests/readers read exports back with it

# Datumaro pins OpenCV < 5 and Pillow 12, which would downgrade .venv: the readers get a venv of their own.
.venv-readers/.installed: requirements-readers.txt
	@test -x .venv-readers/bin/python || $(PYTHON) -m venv .venv-readers || python3 -m venv .venv-readers
	.venv-readers/bin/python -m pip install --disable-pip-version-check -q --upgrade pip
	.venv-readers/bin/python -m pip install --disable-pip-version-check -q -r requirements-readers.txt
	touch $@

weights: venv ## fetch and convert the pretrained weights (cached under var/); ready and guard this CPU's bf16 or int8 once
	$(PY) -m ml.weights fetch
	$(PY) -m ml.inference.engines prepare
	$(PY) -m ml.inference.engines prepare --model $${EDGEFLOW_DEFAULT_MODEL:-hrnet18-ocr64-cocolvis} --reduced

int8: weights ## quantise the default model to int8 and run its NoC guard (~15 min); a passed guard makes it the default engine
	$(PY) -m ml.inference.engines prepare --model $${EDGEFLOW_DEFAULT_MODEL:-hrnet18-ocr64-cocolvis} --int8
	$(PY) -m ml.inference.engines guard --model $${EDGEFLOW_DEFAULT_MODEL:-hrnet18-ocr64-cocolvis} --quiet

services: ## PostgreSQL and Redis, started or installed where missing
	bash deploy/scripts/ensure-services.sh

chromium: ## Debian's Chromium for the Playwright tests
	bash deploy/scripts/ensure-chromium.sh

frontend: frontend/dist/.built ## the browser client (npm ci + vite build), rebuilt when its sources change

frontend/dist/.built: $(shell find frontend -path frontend/node_modules -prune -o -path frontend/dist -prune -o -type f -print 2>/dev/null)
	@if [ -f frontend/package.json ]; then cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build; fi
	@mkdir -p frontend/dist && touch $@

frontend-test: frontend ## unit tests of the browser client's pure logic (vitest)
	@if [ -f frontend/package.json ]; then cd frontend && npm test; fi

migrate: venv ## database tables; first makes var/ and, unless SECRET_KEY is set, the development key var/secret_key
	$(PY) manage.py migrate --noinput -v 1
	$(PY) manage.py collectstatic --noinput -v 0

demo: venv
	$(PY) manage.py load_demo

serve: venv
	@echo "EdgeFlow Studio: http://$(HOST):$(PORT)/  (demo logins above; Ctrl+C to stop)"
	@# Asking /readyz warms the model up (it answers 503 "warming up" until it is): the first click is then fast.
	@(for i in $$(seq 120); do curl -fs -o /dev/null http://$(HOST):$(PORT)/readyz && break; sleep 1; done) &
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) backend.config.asgi:application

clean-venv:
	rm -rf $(VENV)

bench-env: .venv-bench/.installed ## optional Paddle Inference (oneDNN) env for bench/forward.py; never a runtime dependency

.venv-bench/.installed: bench/requirements-paddle.txt
	@test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench || python3 -m venv .venv-bench
	.venv-bench/bin/python -m pip install --disable-pip-version-check -q --upgrade pip
	.venv-bench/bin/python -m pip install --disable-pip-version-check -q -r bench/requirements-paddle.txt
	touch $@
