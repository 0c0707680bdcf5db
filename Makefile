# The two entry points a newcomer needs: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo-out

.PHONY: install java demo console test lint bench detection-bench train-scorer clean

# torch (for the watermark logits processors) never comes from the lock, where it would
# resolve to a multi-GB CUDA build: torch==2.13.0 is a CPU build pip takes from local disk.
# `pip install -e .` also compiles src/distillwatch/_native/*.pyx (Cython, setup.py): edit one
# and the next `make` rebuilds it.
$(BIN)/distillwatch: pyproject.toml requirements.lock setup.py $(wildcard src/distillwatch/_native/*.pyx)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

install: java $(BIN)/distillwatch

# `scan --engine spark` (and its parity test) needs a Java runtime, 17 or newer: Debian's
# default-jre-headless, installed only when no `java` is found (as root, or through sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
java:
	@command -v java >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q default-jre-headless </dev/null; }

# A week of simulated traffic with every attack tactic -> scan -> report -> score the scan
# against the simulator's labels (seed 7 was never used to train or tune the detector).
demo: install
	$(BIN)/distillwatch simulate --out $(DEMO)/sim --accounts 2000 --days 7 --seed 7
	$(BIN)/distillwatch scan $(DEMO)/sim --out $(DEMO)/scan
	$(BIN)/distillwatch evaluate --scan $(DEMO)/scan --labels $(DEMO)/sim/labels.jsonl
	@echo "report: $(DEMO)/scan/report.html"

# The analyst console on the demo's scan (after `make demo`) at http://127.0.0.1:8765/: the
# first run imports the scan and makes user `admin` (password from
# $$DISTILLWATCH_CONSOLE_PASSWORD, else asked); blocks go to $(DEMO)/state/overrides.jsonl
console: install
	@test -f $(DEMO)/scan/accounts.jsonl || { echo "no $(DEMO)/scan: run make demo first"; exit 1; }
	@test -f $(DEMO)/console.imported || { $(BIN)/distillwatch console import $(DEMO)/scan \
	  --db $(DEMO)/console.db && touch $(DEMO)/console.imported; }
	@$(BIN)/distillwatch console user list --db $(DEMO)/console.db | grep -q '^admin' || \
	  $(BIN)/distillwatch console user add admin --role admin --db $(DEMO)/console.db
	@test -f $(DEMO)/group.key || $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $(DEMO)/group.key
	$(BIN)/distillwatch console serve --db $(DEMO)/console.db --state $(DEMO)/state/overrides.jsonl \
	  --share-key-file $(DEMO)/group.key

# Detection quality on heldout scenario draws never trained or tuned on, with leave-one-out
# rows (about an hour on 2 cores): writes benchmarks/results/detection.md and reliability.md
detection-bench: install
	$(BIN)/python benchmarks/bench_detection.py --heldout 106-111 --loo --write

# Refit the scan's calibrated scorer on train draws, calibrate it on tune draws (about 20 min)
train-scorer: install
	$(BIN)/python scripts/train_calibrated.py --train 0-9 --tune 0-4

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadgroup

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
