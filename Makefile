# Two commands for a newcomer: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed

# The embedded warehouse: one DuckDB file (raw + every dbt layer).
export DUCKDB_PATH ?= $(CURDIR)/warehouse.duckdb
export DBT_PROFILES_DIR ?= $(CURDIR)
export DBT_PROJECT_DIR ?= $(CURDIR)

# The default dataset `make run` generates.
USERS ?= 20000
DAYS ?= 120
SEED ?= 42
BAD_RATE ?= 0.01
FRAUD_RATE ?= 0.03

.PHONY: help install emulator run test lint clean orchestrate app docs presentation lineage chromium

help:
	@echo "make run   - set up .venv, generate a source system, dbt build it on DuckDB, build the docs site"
	@echo "make test  - the whole test suite (generator, dbt on DuckDB and on the BigQuery emulator, lint)"
	@echo "make app   - the teams' web app on http://127.0.0.1:\$$PORT (default 8501) over the warehouse make run built"
	@echo "make orchestrate - Dagster UI on 127.0.0.1:\$$PORT (default 3000) over the warehouse make run built"
	@echo "make docs  - build and serve the docs site (data catalog) on http://127.0.0.1:\$$PORT (default 8080)"
	@echo "make presentation - the HTML slide deck target/presentation/index.html from the warehouse make run built"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

# The BigQuery-API emulator (CI's stand-in for BigQuery) in its own venv: it pins its own duckdb
# and sqlglot, which must not clash with the project's. Tests find it at .venv-emulator/bin/crucible.
EMULATOR_VENV := .venv-emulator
EMULATOR_STAMP := $(EMULATOR_VENV)/.installed
CRUCIBLE_VERSION := 0.1.0a2

$(EMULATOR_STAMP):
	@test -x $(EMULATOR_VENV)/bin/python || $(PYTHON) -m venv $(EMULATOR_VENV)
	$(EMULATOR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(EMULATOR_VENV)/bin/python -m pip install --quiet 'crucible-emulator[server]==$(CRUCIBLE_VERSION)'
	@touch $@

emulator: $(EMULATOR_STAMP)

run: install
	rm -f "$(DUCKDB_PATH)" "$(DUCKDB_PATH).wal"
	$(BIN)/offerwall generate --users $(USERS) --days $(DAYS) --seed $(SEED) \
		--bad-rate $(BAD_RATE) --fraud-rate $(FRAUD_RATE) --duckdb "$(DUCKDB_PATH)"
	@# write-audit-publish (docs/guarantees.md): build and test into private schemas, publish the
	@# marts analysts read only when everything passed
	$(BIN)/dbt build --vars '{wap: true}'
	@# the run log ops.build_runs records who ran the published build and the commit
	OFFERWALL_RUN_BY="$${OFFERWALL_RUN_BY:-make run:$$USER}" \
	OFFERWALL_GIT_COMMIT="$${OFFERWALL_GIT_COMMIT:-$$(git rev-parse HEAD 2>/dev/null || echo unknown)}" \
		$(BIN)/dbt run-operation publish_marts --vars '{wap: true}'
	$(BIN)/dbt docs generate --static
	@$(BIN)/offerwall fraud-eval --duckdb "$(DUCKDB_PATH)" || true
	@echo
	@echo "Warehouse (DuckDB): $(DUCKDB_PATH)"
	@echo "  raw tables in schema raw, marts in dev_marts_core, dev_marts_offer_management,"
	@echo "  dev_marts_user_acquisition, dev_marts_anti_fraud. Query it, e.g.:"
	@echo "  $(VENV)/bin/python -c \"import duckdb; print(duckdb.connect('$(DUCKDB_PATH)', read_only=True).sql('from dev_marts_offer_management.fct_offer_daily_performance limit 5'))\""
	@echo "Docs site (data catalog): $(CURDIR)/target/static_index.html"
	@echo "  or serve it: make docs (http://127.0.0.1:8080)"
	@echo "Slide deck: make presentation (target/presentation/index.html); metrics: .venv/bin/mf query --metrics margin_usd --group-by metric_time__month"
	@echo "Next: make app (the teams' web app), make orchestrate, README.md and docs/"

# The daily run on Dagster (docs/orchestration.md): UI + daemon on 127.0.0.1:$(PORT), instance in
# $(DAGSTER_HOME); the first time, one daily run so the UI opens on a completed run.
orchestrate: export PORT ?= 3000
orchestrate: export DAGSTER_HOME ?= $(CURDIR)/.dagster
orchestrate: install
	$(BIN)/python -m offerwall.orchestration.serve

lint: install
	$(BIN)/sqlfluff lint models snapshots analyses macros tests/singular
	$(BIN)/sqlfluff lint models/staging/offerwall_v2 models/marts/offer_experience --config .sqlfluff-v2

# Test files run on TEST_WORKERS processes (pytest-xdist, one file per worker at a time: a file's
# module fixtures build its warehouse once). TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
test: install emulator chromium
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# The web app (docs/app.md). Decisions go to the ops store beside the warehouse, which dbt copies
# into ops.fraud_review_decisions at the start of every build. PORT=9000 to change the port.
APP_PORT = $(if $(filter command line environment%,$(origin PORT)),$(PORT),8501)
OPS_DUCKDB_PATH ?= $(dir $(DUCKDB_PATH))ops.duckdb

app: install
	@test -f "$(DUCKDB_PATH)" || echo "No warehouse at $(DUCKDB_PATH) yet: run 'make run' first (the app says so too)."
	OPS_DUCKDB_PATH="$(OPS_DUCKDB_PATH)" OFFERWALL_APP_USER="$${OFFERWALL_APP_USER:-dev@localhost}" $(BIN)/streamlit run src/offerwall/app/streamlit_app.py --server.address 127.0.0.1 \
		--server.port $(APP_PORT) --server.headless true --browser.gatherUsageStats false

# The docs site (data catalog): the front page is rendered from docs/overview.md.jinja with the
# current vars, then dbt builds the site from the warehouse and serves it. PORT=9000 to change it.
DOCS_PORT = $(if $(filter command line environment%,$(origin PORT)),$(PORT),8080)
docs: install
	$(BIN)/offerwall overview
	$(BIN)/dbt docs generate
	$(BIN)/dbt docs serve --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

# The slide deck (docs/catalog.md): figures and charts queried from the warehouse's marts.
presentation: install
	@test -f "$(DUCKDB_PATH)" || { echo "No warehouse at $(DUCKDB_PATH): run 'make run' first."; exit 1; }
	$(BIN)/dbt parse --quiet
	$(BIN)/offerwall presentation --duckdb "$(DUCKDB_PATH)" --out target/presentation/index.html

# The lineage picture of docs/architecture.md and the docs site, redrawn from the manifest.
lineage: install
	$(BIN)/dbt parse --quiet
	$(BIN)/offerwall lineage

# The browser checks of make test drive Debian's chromium (playwright cannot download its own
# browser here). Installed once, as root, when missing.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x "$(CHROMIUM)" || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

clean:
	rm -rf target logs "$(DUCKDB_PATH)" "$(DUCKDB_PATH).wal" .pytest_cache
