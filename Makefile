# nnfunc: every target builds the environment it needs from nothing (python3 -m venv).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: all demo check typecheck test lint clean

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

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .hypothesis build *.egg-info
