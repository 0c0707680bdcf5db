# The two entry points a newcomer needs: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo-out

.PHONY: install demo test lint bench clean

$(BIN)/distillwatch: pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

install: $(BIN)/distillwatch

demo: install
	$(BIN)/distillwatch simulate --out $(DEMO)/sim --accounts 2000 --days 7 --seed 7
	$(BIN)/distillwatch ingest $(DEMO)/sim --out $(DEMO)/ingested

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -n 2

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
