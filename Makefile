# Two entry points: `make serve` and `make test`. Both install what they need.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

.PHONY: serve test lint format proto bootstrap bench

# uv is the only prerequisite; bootstrap it with pip when it is missing.
bootstrap:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

# The gateway environment holds no engine: each engine's environment is built
# (with a progress bar) by the supervisor on first start, then reused.
serve: bootstrap
	$(UV) sync --frozen --extra gateway --no-dev --inexact
	$(UV) run --frozen --no-sync polyvox serve

test: bootstrap
	@sh scripts/ensure_redis.sh
	$(UV) sync --frozen --all-extras
	$(UV) run --frozen --no-sync ruff check .
	$(UV) run --frozen --no-sync ruff format --check .
	$(UV) run --frozen --no-sync mypy
	@bash scripts/ensure_chromium.sh
	$(UV) run --frozen --no-sync pytest

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .

format:
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

# Regenerate src/polyvox/_proto from proto/ (a test fails when it is stale).
proto:
	$(UV) run python scripts/gen_proto.py

# Streaming latency and throughput, served vs. the engine called directly.
bench:
	PYTHONPATH=tests $(UV) run python bench/latency.py
