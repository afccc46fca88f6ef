# nnfunc: every target builds the environment it needs from nothing (python3 -m venv).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# the stamp names a checksum of what decides the install: pyproject.toml and this Makefile
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)
DEMO_OUT ?= nnfunc-demo

.PHONY: all demo check typecheck test lint clean

all: check

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,plot]'
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

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .hypothesis build *.egg-info
