# Mon espace santé: the commands a developer and the CI use.
#   make run    installs, migrates, loads the demo data and serves http://127.0.0.1:8000
#               (make run PORT=8101 HOST=0.0.0.0 to serve elsewhere)
#   make test   installs and runs the whole suite (lint, import layers, migrations, pytest)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# python3.11 first (the supported version), else python3 if it is 3.11 or newer.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
CHROMIUM := /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# What `make test-s3` runs on the S3 emulator: every test that writes or reads stored files.
S3_TESTS ?= tests/dossier/test_documents.py tests/messagerie/test_attachments.py \
	tests/messagerie/test_storage.py tests/messagerie/test_part.py \
	tests/messagerie/test_retention.py tests/espace_sante/test_journeys.py \
	tests/espace_sante/test_export_worker.py tests/espace_sante/test_integrity.py \
	tests/espace_sante/test_letters.py tests/espace_sante/test_object_storage.py
WORKER_RESTART_DELAY ?= 5
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: help install run migrate test test-s3 lint format bench worker beat chromium fonts clean distclean

help:
	@echo "make run        installe, migre, charge la démo et lance http://$(HOST):$(PORT)"
	@echo "make test       installe et lance toute la suite (ruff, couches, migrations, pytest)"
	@echo "make test-s3    tests des fichiers (documents, messagerie, archives) sur un émulateur S3"
	@echo "make lint       ruff check + ruff format --check + contrats d'import (lint-imports)"
	@echo "make format     reformate le code (ruff format, ruff check --fix)"
	@echo "make worker     worker Celery, relancé s'il s'arrête (REDIS_URL requis)"
	@echo "make beat       Celery beat (REDIS_URL requis)"
	@echo "make bench      lance bench/run.sh s'il existe"
	@echo "make clean      supprime caches et fichiers générés (make distclean : aussi $(VENV))"

# --- Environment ------------------------------------------------------------

install: $(STAMP)

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 introuvable (ni python3.11 ni python3 dans le PATH)." >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "$(PYTHON) est trop ancien : Python 3.11 ou plus récent est requis." >&2; exit 1; }
	@echo "==> Création de l'environnement virtuel $(VENV) avec $(PYTHON)"
	@if ! $(PYTHON) -m venv $(VENV); then \
		rm -rf $(VENV); \
		if [ "$$(dirname "$$(readlink -f "$(PYTHON)")")" = /usr/bin ] && command -v apt-get >/dev/null; then \
			echo "==> Le module venv de Debian manque : installation de python3-venv"; \
			$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv \
				&& $(PYTHON) -m venv $(VENV); \
		else \
			echo "« $(PYTHON) -m venv » a échoué. Sur Debian/Ubuntu : apt-get install python3-venv ;" >&2; \
			echo "ou choisissez un autre interpréteur : make install PYTHON=/chemin/vers/python3.11" >&2; \
			exit 1; \
		fi; \
	fi

# Reinstalls only when pyproject.toml changes; otherwise `make install` is instant.
$(STAMP): pyproject.toml | $(PY)
	@echo "==> Installation des dépendances (pyproject.toml, extra dev)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# Debian's Chromium drives the browser tests (Playwright's own download is not used).
chromium:
	@if [ -x $(CHROMIUM) ]; then \
		:; \
	elif command -v apt-get >/dev/null; then \
		echo "==> Installation de Chromium (Debian) pour les tests navigateur"; \
		$(SUDO) apt-get update -qq; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else \
		echo "Attention : $(CHROMIUM) absent et apt-get indisponible ; les tests navigateur seront ignorés." >&2; \
	fi

# The PDFs draw emoji (an allergy typed « Cacahuète 🥜 ») with Debian's Noto Color Emoji.
fonts:
	@if fc-list 2>/dev/null | grep -q "Noto Color Emoji"; then \
		:; \
	elif command -v apt-get >/dev/null; then \
		echo "==> Installation de la police d'emoji (Debian) pour les PDF"; \
		$(SUDO) apt-get update -qq; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-noto-color-emoji; \
	else \
		echo "Attention : police Noto Color Emoji absente ; les emoji des PDF seront des carrés vides." >&2; \
	fi

# --- Running ----------------------------------------------------------------

migrate: install
	$(PY) manage.py migrate --noinput

# The demo's lines and the emails' links point at the address actually served.
run: export SITE_URL := $(or $(SITE_URL),http://$(HOST):$(PORT))
run: migrate
	$(PY) manage.py demo
	@echo
	@echo "Portail patient : http://$(HOST):$(PORT)/"
	@echo "Portail pro     : http://$(HOST):$(PORT)/pro/"
	@echo "Agents CPAM     : http://$(HOST):$(PORT)/admin/"
	@echo "Les e-mails (dont les codes de connexion des patients) s'affichent ci-dessous."
	@echo
	$(PY) manage.py runserver $(HOST):$(PORT)

worker: install
	@test -n "$${REDIS_URL:-}" || { echo "REDIS_URL n'est pas défini : sans broker, les tâches s'exécutent déjà dans le processus web (mode eager). Exemple : export REDIS_URL=redis://127.0.0.1:6379/0" >&2; exit 1; }
	@echo "==> Worker Celery, relancé s'il s'arrête (Ctrl-C pour l'arrêter ; en production : systemd ou docker-compose, voir docs/OPERATIONS.md)"
	@trap 'exit 0' INT TERM; \
	while :; do \
		$(VENV)/bin/celery -A espace_sante worker --loglevel=INFO && break; \
		echo "Le worker s'est arrêté (code $$?) : relance dans $(WORKER_RESTART_DELAY) s." >&2; \
		sleep $(WORKER_RESTART_DELAY); \
	done

beat: migrate
	@test -n "$${REDIS_URL:-}" || { echo "REDIS_URL n'est pas défini : sans broker, il n'y a rien à planifier (mode eager). Exemple : export REDIS_URL=redis://127.0.0.1:6379/0" >&2; exit 1; }
	$(VENV)/bin/celery -A espace_sante beat --loglevel=INFO

# --- Quality ----------------------------------------------------------------

test: export DJANGO_ENV := test
test: install chromium fonts
	@echo "==> ruff check"
	$(VENV)/bin/ruff check .
	@echo "==> ruff format --check"
	$(VENV)/bin/ruff format --check .
	@echo "==> couches : contrats d'import (docs/ARCHITECTURE.md)"
	$(VENV)/bin/lint-imports
	@echo "==> migrations à jour"
	$(PY) manage.py makemigrations --check --dry-run
	@echo "==> pytest"
	$(VENV)/bin/pytest -p no:cacheprovider --durations=10 $(PYTEST_ARGS)
	@if [ -n "$${DATABASE_URL:-}" ]; then \
		$(MAKE) --no-print-directory test-s3; \
	else \
		echo "==> stockage objet (S3) : passage lancé seulement avec DATABASE_URL (2e passage de la CI)"; \
	fi

# The tests of the stored files (documents, messaging, archives, letters, integrity) once
# more with STORAGES["default"] on a local S3 emulator that the tests start (moto).
test-s3: export DJANGO_ENV := test
test-s3: export TEST_OBJECT_STORAGE := s3
test-s3: install
	@echo "==> pytest, fichiers sur stockage objet (émulateur S3 local, moto)"
	$(VENV)/bin/pytest -p no:cacheprovider --durations=5 $(S3_TESTS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	@if [ -f bench/run.sh ]; then \
		bash bench/run.sh; \
	else \
		echo "Pas encore de benchmark (bench/run.sh absent) : voir docs/BENCHMARKS.md."; \
	fi

# --- Housekeeping -----------------------------------------------------------

# Keeps db.sqlite3 and media/ (the demo data): remove both by hand to start afresh.
clean:
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .import_linter_cache staticfiles test-results build *.egg-info

distclean: clean
	rm -rf $(VENV)
