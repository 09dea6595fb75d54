# make run    install (first time) and start the dashboard
# make test   install (first time) and run the test suite
# make bench  the text speed benchmark
# make demo   build the quick demo models and database (pipelines.demo)
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
	scripts/with-env $(BIN)/streamlit run app/Home.py

test: $(STAMP)
	scripts/with-env $(BIN)/python -m pytest -q

bench: $(STAMP)
	scripts/with-env $(BIN)/python -m benchmarks.text_speed

demo: $(STAMP)
	scripts/with-env $(BIN)/python -m pipelines.demo
