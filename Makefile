# nnfunc: every target builds the environment it needs from nothing (python3 -m venv).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# the stamp names a checksum of what decides the install: pyproject.toml and this Makefile
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)
DEMO_OUT ?= nnfunc-demo

.PHONY: all demo check typecheck test lint bench bench-quality clean

all: check

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,plot,progress]'
	rm -f $(VENV)/.installed-*
	touch $@

## demo: the tutorial's nine steps, end to end; then saves the model and draws two pictures
## into $(DEMO_OUT)/ (the install above includes the `plot` extra, matplotlib)
demo: $(STAMP)
	$(BIN)/python -m nnfunc --out $(DEMO_OUT)

## check: mypy --strict over the package and the tests, then the tests
check: typecheck test

typecheck: $(STAMP)
	$(BIN)/mypy --strict nnfunc tests

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check nnfunc tests

## bench-quality: does train() with its defaults solve the tutorial's task? (five seeds,
## 2-4-4-3 and 2-16-16-3, next to scikit-learn's MLPRegressor with its defaults)
QVENV  ?= .venv-quality
QSTAMP := $(QVENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

$(QSTAMP): pyproject.toml
	$(PYTHON) -m venv $(QVENV)
	$(QVENV)/bin/python -m pip install --quiet --upgrade pip
	$(QVENV)/bin/python -m pip install --quiet -e . 'scikit-learn>=1.4'
	rm -f $(QVENV)/.installed-*
	touch $@

bench-quality: $(QSTAMP)
	$(QVENV)/bin/python bench/quality.py


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
	rm -rf $(VENV) $(QVENV) $(BENCH_VENV) .mypy_cache .pytest_cache .hypothesis build *.egg-info
