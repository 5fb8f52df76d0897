# Two commands on a fresh machine: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell md5sum requirements.txt | cut -c1-8)
PORT ?= 8501

.PHONY: install db run test bench clean-db

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# Creates or migrates the schema; seeds the demo county only into the default SQLite file
# (a production PostgreSQL set through LIUSHOU_DATABASE_URL is never seeded).
db: install
	$(PY) -m liushou_dash init-db
	@if [ -z "$$LIUSHOU_DATABASE_URL" ]; then $(PY) -m liushou_dash seed-demo --months 24 --if-empty; fi

run: db
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) bench/run.py --json

clean-db:
	rm -f data/liushou.db data/liushou.db-wal data/liushou.db-shm
