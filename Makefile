# Build, test and demo entry points of the azbackup.dataprotection collection.
# `make help` lists the targets. Everything runs inside the virtualenv $(VENV) that `make venv` creates.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV ?= .venv
export VENV
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.requirements.stamp

COLLECTIONS_ROOT := $(CURDIR)/.tmp/collections
DIST_DIR := $(CURDIR)/.tmp/dist

# make integration TARGET=backup_vault        one integration target (several: TARGET="a b")
# make sanity ARGS="--test pylint"            extra arguments for the underlying tool
TARGET ?=
ARGS ?=

# Steps of `make test`, in order. Each one records its counts under tests/output/results/.
TEST_STEPS := ruff sanity units integration awx lint docs-lint galaxy

.PHONY: help venv system test ruff format sanity units integration awx lint docs-lint galaxy demo drill bench ee build docs \
	docs-site clean distclean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(VENV_STAMP) ## Create/update .venv (system packages, Python 3.11, requirements-dev.txt, Azurite in .tmp/node); quick when unchanged

$(VENV_STAMP): requirements.txt requirements-dev.txt scripts/make-venv.sh scripts/install-node-tools.sh
	scripts/bootstrap-system.sh
	scripts/make-venv.sh
	scripts/install-node-tools.sh
	@touch $@

system: ## Install the missing Debian packages only (python3-venv, git, shellcheck, postgresql, nodejs, npm)
	scripts/bootstrap-system.sh

test: venv ## Run every step (ruff, sanity, units, integration, awx, lint, docs-lint, galaxy), then "test: N passed, N failed"
	@$(PY) scripts/results.py reset
	@rc=0; \
	for step in $(TEST_STEPS); do \
	  echo; echo "===== make $$step ====="; \
	  $(MAKE) $$step || rc=1; \
	done; \
	$(PY) scripts/results.py summary --expect $(TEST_STEPS) || rc=1; \
	exit $$rc

ruff: venv ## Python style and lint checks (ruff check; config in pyproject.toml)
	@rc=0; $(VENV)/bin/ruff check $(ARGS) . || rc=$$?; \
	if [ $$rc -eq 0 ]; then $(PY) scripts/results.py record ruff --passed 1; \
	else $(PY) scripts/results.py record ruff --failed 1; fi; \
	exit $$rc

format: venv ## Reformat Python code and apply ruff's safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

sanity: venv ## ansible-test sanity on a physical copy of the collection
	scripts/run-sanity.sh $(ARGS)

units: venv ## pytest over tests/unit and tests/emulator
	scripts/run-units.sh $(ARGS)

integration: venv ## ansible-test integration against the emulator (TARGET=name for one target)
	scripts/run-integration.sh $(TARGET) $(if $(ARGS),-- $(ARGS))

awx: venv ## The playbooks and the inventory run as AWX runs them (ansible-runner, injected credentials) on the emulator
	scripts/run-awx.sh $(ARGS)

lint: venv ## ansible-lint, production profile
	scripts/run-lint.sh $(ARGS)

docs-lint: venv ## antsibull-docs lint-collection-docs --plugin-docs and antsibull-changelog lint
	scripts/run-docs-lint.sh

galaxy: venv ## Build the tarball, check its file list, run galaxy-importer on it (offline; no error, no warning)
	scripts/run-galaxy.sh

demo: venv ## On the emulator: protect seeded servers, rerun in check mode, back them up now (scripts/demo.sh)
	scripts/demo.sh $(ARGS)

drill: venv ## On the emulator with its data plane: protect and back up two servers, then a restore drill and its report
	scripts/drill.sh $(ARGS)

bench: venv ## Benchmark the pgflex_protection role on the emulator: 1, 10, 50 servers (takes minutes; not in test)
	@scripts/sync-collection.sh
	$(PY) benchmarks/bench.py $(ARGS)

EE_DIR := docs/execution-environment
ee: venv ## Check the execution environment definition with `ansible-builder create` (no image is built)
	@$(VENV)/bin/ansible-builder --version >/dev/null 2>&1 || $(VENV)/bin/python -m pip install --quiet ansible-builder
	@mkdir -p $(DIST_DIR) $(EE_DIR)/collections
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(DIST_DIR) .
	cp $(DIST_DIR)/azbackup-dataprotection-$$(sed -n 's/^version: *//p' galaxy.yml).tar.gz \
	    $(EE_DIR)/collections/azbackup-dataprotection.tar.gz
	$(VENV)/bin/ansible-builder create --file $(EE_DIR)/execution-environment.yml --context .tmp/ee-context
	@echo "ee: build context ready in .tmp/ee-context; build the image with ansible-builder build (see docs/awx.md)"

build: venv ## Build the collection tarball into .tmp/dist
	@mkdir -p $(DIST_DIR)
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(DIST_DIR) .

docs: venv ## Show the documentation of every module and the inventory plugin (checks that it renders)
	@scripts/sync-collection.sh
	@modules=$$(find plugins/modules -name '*.py' ! -name '__init__.py' -printf '%f\n' 2>/dev/null | sed 's/\.py$$//' | sort); \
	if [ -z "$$modules" ]; then echo "no modules yet"; exit 0; fi; \
	for m in $$modules; do \
	  ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_ROOT) $(VENV)/bin/ansible-doc -t module azbackup.dataprotection.$$m; \
	done; \
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_ROOT) $(VENV)/bin/ansible-doc -t inventory azbackup.dataprotection.pgflex_servers

docs-site: venv ## HTML documentation site (modules, inventory plugin, role, guides) with antsibull-docs and Sphinx
	scripts/docs-site.sh

clean: ## Remove .tmp, tests/output and caches (keeps .venv)
	rm -rf .tmp tests/output .pytest_cache .ruff_cache .ansible collections
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## clean, and remove the virtualenv too
	rm -rf $(VENV)
