# medalist — every target describes itself: `make help`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_DIR ?= medalist-demo

.DEFAULT_GOAL := help
.PHONY: help install demo test test-heavy test-cluster chaos bench bench-scale bench-burst bench-history bench-elt bench-extract lint format clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -e '.[dev]'
	@# bytecode on both cores (pip compiles on one): this machine sets PYTHONDONTWRITEBYTECODE,
	@# so what is not compiled here is compiled again by every process the tests start
	@$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	@touch $@

install: $(STAMP) ## create .venv and install medalist with its dev tools

demo: $(STAMP) ## run the whole pipeline on bundled demo data and print where to look
	$(BIN)/medalist demo $(DEMO_DIR)
	@echo "(medalist is installed in $(VENV): run 'source $(BIN)/activate' first, or prefix $(BIN)/)"

test: $(STAMP) ## check PostgreSQL and MariaDB are up, chromium, asl-validator and Java 17 installed (fix what we can), then run every test
	@scripts/ensure-postgres
	@scripts/ensure-mariadb
	@scripts/ensure-chromium
	@scripts/ensure-asl-validator
	@scripts/ensure-java
	$(BIN)/pytest -n $(or $(WORKERS),2) --dist loadgroup

test-cluster: $(STAMP) ## the demo on a Spark standalone cluster (a master, two workers on 127.0.0.1) equals the DuckDB run
	@scripts/ensure-java
	$(BIN)/pytest -m cluster tests/test_spark_cluster.py

test-heavy: $(STAMP) ## the slow halves left out of `make test` (marked heavy): e.g. the AWS pipeline story on a bucket per zone
	@scripts/ensure-postgres
	$(BIN)/pytest -m heavy

chaos: $(STAMP) ## kill `medalist run` 50 times at random moments, then prove exactly-once (KILLS=, SEED=, BURST= files landed at once, default 3, COMPACT= compaction.max_files, default 3, ELT=1: gold also inside PostgreSQL, AWS=1: zones in S3, run log in DynamoDB, on moto)
	@scripts/ensure-postgres
	$(BIN)/python -m tests.chaos.chaos --kills $(or $(KILLS),50) --burst $(or $(BURST),3) --compact-after $(or $(COMPACT),3) $(if $(SEED),--seed $(SEED)) $(if $(ELT),--elt) $(if $(AWS),--aws)

BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed-stamp: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet --no-compile -e '.[bench]'
	@$(BENCH_VENV)/bin/python -m compileall -q -j 0 $(BENCH_VENV)/lib > /dev/null || true
	@touch $@

bench: $(BENCH_VENV)/.installed-stamp ## every section of docs/benchmarks.md (> 30 min), or SECTIONS=burst,extract re-measures only those and keeps the rest (ROWS=, ROUNDS=)
	@scripts/ensure-postgres
	$(BENCH_VENV)/bin/python -m benchmarks.run --rows $(or $(ROWS),5000000) --rounds $(or $(ROUNDS),3) $(if $(SECTIONS),--only $(SECTIONS)) --out docs/benchmarks.md

bench-scale: $(STAMP) ## one big file end to end: peak RSS, spill, s per million rows vs 5M (ROWS=100000000, BASE=)
	@scripts/ensure-postgres
	$(BIN)/python -m benchmarks.bigfile --rows $(or $(ROWS),100000000) --base $(or $(BASE),5000000)

bench-burst: $(STAMP) ## FILES files of ROWS rows land at once vs one file of the same rows (FILES=1000, ROWS=1000)
	@scripts/ensure-postgres
	$(BIN)/python -m benchmarks.burst --files $(or $(FILES),1000) --rows $(or $(ROWS),1000)

bench-history: $(STAMP) ## DAYS daily files (batched, compacted), then 1% increments vs a full run (ROWS=5000000, DAYS=365)
	@scripts/ensure-postgres
	$(BIN)/python -m benchmarks.history --rows $(or $(ROWS),5000000) --days $(or $(DAYS),365)

bench-elt: $(BENCH_VENV)/.installed-stamp ## gold model built by the engine vs inside the destination (PostgreSQL, DuckDB file): full run + daily files (ROWS=, DAYS=, ROUNDS=)
	@scripts/ensure-postgres
	$(BENCH_VENV)/bin/python -m benchmarks.elt --rows $(or $(ROWS),5000000) --days $(or $(DAYS),3) --rounds $(or $(ROUNDS),3)

bench-extract: $(STAMP) ## medalist extract of a PostgreSQL table vs psql \copy of it, wall time and peak RSS (ROWS=, ROUNDS=)
	@scripts/ensure-postgres
	$(BIN)/python -m benchmarks.extract --rows $(or $(ROWS),5000000) --rounds $(or $(ROUNDS),3)

lint: $(STAMP) ## ruff lint + format check, mypy on src/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## remove the venv, caches and the demo project
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache $(DEMO_DIR)
