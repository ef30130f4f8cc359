# `make run` and `make test` install whatever is missing, so they work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# pyenv keeps every interpreter under ~/.pyenv/versions; fall back to whatever is on PATH.
PYTHON_APP ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.11*/bin/python3.11) $(shell command -v python3.11 2>/dev/null))
PYTHON_RASA ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3.10) $(shell command -v python3.10 2>/dev/null))

APP_VENV := .venv
RASA_VENV := .venv-rasa
APP := $(APP_VENV)/bin/python
MODEL := models/grm.tar.gz
RASA_SOURCES := config.yml domain.yml bot/components.py bot/language.py $(wildcard bot/words/*.txt) $(shell find data/nlu data/rules data/stories -name '*.yml' 2>/dev/null)
CHROMIUM := /usr/bin/chromium
PDFTOPPM := /usr/bin/pdftoppm
# nginx in front of two of each server: the deployment test runs deploy/nginx/grm.conf.
NGINX := /usr/sbin/nginx
# axe-core, from npm at its locked version: the browser tests check the webchat's accessibility with it.
AXE := tests/a11y/node_modules/axe-core/axe.min.js
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
CODE := ticketing launcher actions admin_app bot tests bench

.PHONY: help install run test test-fast bench

help:
	@echo "make run    install what is missing, set up the demo and start the GRM"
	@echo "make test   install what is missing and run the whole test suite"
	@echo "make test-fast   the quick loop: unit and store tests on SQLite, no servers or browser"
	@echo "make bench  run the benchmarks and rewrite their sections of docs/benchmarks.md"

$(APP_VENV)/.installed: requirements/app.txt
	@test -n "$(PYTHON_APP)" || { echo "Python 3.11 is required (e.g. pyenv install 3.11)"; exit 1; }
	test -x $(APP) || $(PYTHON_APP) -m venv $(APP_VENV)
	# The pinned pip first: the one the interpreter bundles has known advisories (docs/security.md).
	$(APP) -m pip install --quiet --disable-pip-version-check "$$(grep '^pip==' requirements/app.txt)"
	# torch alone first: this pin takes the CPU wheel kept on disk; asked for among the
	# others, a dependency could pull a CUDA build of several GB.
	$(APP) -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(APP) -m pip install --quiet --disable-pip-version-check -r requirements/app.txt
	touch $@

# Rasa 3.6 needs Python 3.10 and an older dependency set, hence its own environment.
$(RASA_VENV)/.installed: requirements/rasa.txt
	@test -n "$(PYTHON_RASA)" || { echo "Python 3.10 is required (e.g. pyenv install 3.10)"; exit 1; }
	test -x $(RASA_VENV)/bin/python || $(PYTHON_RASA) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "$$(grep '^pip==' requirements/rasa.txt)"
	$(RASA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/rasa.txt
	touch $@

install: $(APP_VENV)/.installed $(RASA_VENV)/.installed

# Trained again only when the training data, the domain or the pipeline changed.
$(MODEL): $(RASA_VENV)/.installed $(RASA_SOURCES)
	RASA_TELEMETRY_ENABLED=false $(RASA_VENV)/bin/rasa train --domain domain.yml --config config.yml \
		--data data/nlu data/rules data/stories --out models --fixed-model-name grm
	touch $@

# The browser tests drive Debian's Chromium (Playwright's own download is never used).
$(CHROMIUM):
	$(SUDO) apt-get install -y chromium chromium-driver || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium chromium-driver; }

# The poster tests render PDFs to images with poppler, as a print shop would.
$(PDFTOPPM):
	$(SUDO) apt-get install -y poppler-utils || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y poppler-utils; }

# Debian's package; its own service is not needed (the test starts nginx on its own configuration).
$(NGINX):
	$(SUDO) apt-get install -y nginx || { $(SUDO) apt-get update && $(SUDO) apt-get install -y nginx; }

$(AXE): tests/a11y/package.json tests/a11y/package-lock.json
	command -v npm >/dev/null || $(SUDO) apt-get install -y npm || { $(SUDO) apt-get update && $(SUDO) apt-get install -y npm; }
	cd tests/a11y && npm ci --no-audit --no-fund
	touch $@

run: install $(MODEL)
	$(APP) -m launcher run

test: install $(MODEL) $(CHROMIUM) $(PDFTOPPM) $(AXE) $(NGINX)
	$(APP_VENV)/bin/ruff check $(CODE)
	$(APP_VENV)/bin/mypy $(CODE)
	$(APP_VENV)/bin/lint-imports
	$(APP) -m pytest

# No Rasa, no processes, no browser, no PostgreSQL, on two cores: the loop to run while editing (under two
# minutes here); `make test` runs everything before a change lands.
test-fast: $(APP_VENV)/.installed
	env -u TEST_DATABASE_URL $(APP) -m pytest -q -n 2 -m "unit or store" -k "not postgresql"

bench: install $(MODEL)
	$(APP) bench/store.py
	$(APP) bench/conversations.py --warmup 60
	$(APP) bench/triage.py
	$(APP) bench/escalation.py
	$(APP) bench/backoffice.py
