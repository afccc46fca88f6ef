# nnfunc: every target builds the environment it needs from nothing (python3 -m venv).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: all demo check typecheck test lint bench clean

all: check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

## demo: the tutorial's nine steps, end to end
demo: $(STAMP)
	$(BIN)/python -m nnfunc

## check: mypy --strict over the package and the tests, then the tests
check: typecheck test

typecheck: $(STAMP)
	$(BIN)/mypy --strict nnfunc tests

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check nnfunc tests

## bench: nnfunc against a tight NumPy step, scikit-learn, PyTorch and the GEMM floor
BENCH_VENV  ?= .venv-bench
BENCH_ARGS  ?=
BENCH_STAMP := $(BENCH_VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[dev,bench]'
	rm -f $(BENCH_VENV)/.installed-*
	touch $@

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/bench.py --out bench/results.md $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) .mypy_cache .pytest_cache .hypothesis build *.egg-info
