# Clearfield: `make demo` builds and shows the reference scenario; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/clearfield demo

# Debian packages the tests use: GDAL's command-line tools (ogrinfo reads our GeoPackage),
# Chromium (the dashboard's browser tests drive it with the pip playwright package), and
# PostgreSQL 15 with PostGIS 3 (tests/pg.py runs a throwaway server; the packages can be
# installed without PostGIS, so its extension file is checked too), a Java runtime
# (pyxform's ODK Validate, the JavaRosa engine ODK Collect runs, checks the field forms),
# and for the reports: Pango and a font (WeasyPrint's PDF) and poppler-utils (pdftoppm
# renders the PDF's pages in the tests).
system-deps:
	@missing=""; \
	command -v ogrinfo >/dev/null 2>&1 || missing="$$missing gdal-bin"; \
	command -v java >/dev/null 2>&1 || missing="$$missing default-jre-headless"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	ls /usr/lib/*/libpangoft2-1.0.so.0 >/dev/null 2>&1 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] && [ -f /usr/share/postgresql/15/extension/postgis.control ] \
	  || missing="$$missing postgresql-15 postgresql-15-postgis-3"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# pytest exits 5 when it collected no tests; that fails here like any other failure.
test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/accounting.py

clean:
	rm -rf $(VENV) clearfield.db clearfield.db-wal clearfield.db-shm .pytest_cache .hypothesis
