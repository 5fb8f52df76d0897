# Two commands on a fresh machine: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell md5sum requirements.txt | cut -c1-8)
PORT ?= 8501
# Served on this machine only unless told: make run ADDRESS=0.0.0.0 opens it to the intranet.
ADDRESS ?= 127.0.0.1

.PHONY: install system-font system-browser db run test bench clean-db

# What a fresh Debian/Ubuntu lacks, brought by Debian's own packages (as root, or through sudo):
# a CJK font for the bulletin's charts (make run and make test) and Chromium for the browser
# tests (make test). Nothing is installed when it is already there.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get
define need_package
	@if ! $(1); then \
	  echo "正在安装 $(2)（Debian 软件包）…"; \
	  $(APT_INSTALL) update -q >/dev/null && $(APT_INSTALL) install -y -q --no-install-recommends $(2) >/dev/null \
	  || { echo "无法安装 $(2)：请用 root 运行 apt-get install $(2) 后重试" >&2; exit 1; }; \
	fi
endef

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

system-font:
	$(call need_package,fc-list 2>/dev/null | grep -qi "noto sans cjk",fonts-noto-cjk fontconfig)

system-browser:
	$(call need_package,test -x /usr/bin/chromium,chromium)

# Creates or migrates the schema; seeds the demo county only into the default SQLite file
# (a production PostgreSQL set through LIUSHOU_DATABASE_URL is never seeded).
db: install system-font
	$(PY) -m liushou_dash init-db
	@if [ -z "$$LIUSHOU_DATABASE_URL" ]; then $(PY) -m liushou_dash seed-demo --months 24 --if-empty; fi

run: db
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS)

test: install system-font system-browser
	$(PY) -m pytest -q

bench: install
	$(PY) bench/run.py --json

clean-db:
	rm -f data/liushou.db data/liushou.db-wal data/liushou.db-shm
