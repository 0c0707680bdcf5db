# The two entry points a newcomer needs: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo-out

.PHONY: install demo test lint bench detection-bench clean

# torch (for the watermark logits processors) never comes from the lock, where it would
# resolve to a multi-GB CUDA build: torch==2.13.0 is a CPU build pip takes from local disk.
$(BIN)/distillwatch: pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

install: $(BIN)/distillwatch

# A week of simulated traffic with every attack tactic -> scan -> report -> score the scan
# against the simulator's labels (seed 7 was never used to train or tune the detector).
demo: install
	$(BIN)/distillwatch simulate --out $(DEMO)/sim --accounts 2000 --days 7 --seed 7
	$(BIN)/distillwatch scan $(DEMO)/sim --out $(DEMO)/scan
	$(BIN)/distillwatch evaluate --scan $(DEMO)/scan --labels $(DEMO)/sim/labels.jsonl
	@echo "report: $(DEMO)/scan/report.html"

# Detection quality on fresh seeds (minutes): writes benchmarks/results/detection.md
detection-bench: install
	$(BIN)/python benchmarks/bench_detection.py --seeds 23 31 --shifted 47 --write

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
