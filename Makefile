# make run    install (first time) and start the dashboard
# make test   install (first time) and run the test suite
# make bench  the text speed benchmark (lens bench text)
# make demo   build the quick demo models and database (lens demo)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench demo install

install: $(STAMP)

$(STAMP): requirements.txt constraints.txt requirements-nodeps.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	scripts/with-env $(BIN)/lens app

test: $(STAMP)
	scripts/with-env $(BIN)/python -m pytest -q

bench: $(STAMP)
	scripts/with-env $(BIN)/lens bench text

demo: $(STAMP)
	scripts/with-env $(BIN)/lens demo
