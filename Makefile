# distrosync: `make demo` and `make test` set everything up on a fresh machine (Python 3.11+, Node 20).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
ENV ?= dev

export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test lint format synth generate bench serve clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "distrosync needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	-$(BIN)/python -m infra.wheelhouse
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: setup
	$(BIN)/distrosync demo

serve: setup
	$(BIN)/distrosync serve

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerate the committed event schemas and OpenAPI document (tests fail when they drift).
generate: setup
	$(BIN)/python -m cli.generate

# Real synth with Lambda bundling (no Docker): `make synth ENV=prod`.
synth: setup
	$(BIN)/python -m infra.wheelhouse
	cdk synth -c env=$(ENV) --no-notices --quiet

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf cdk.out .distrosync .pytest_cache
