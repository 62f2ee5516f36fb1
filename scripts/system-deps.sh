#!/usr/bin/env bash
# The system packages the tests need: PostgreSQL 15 with PostGIS (the test database), poppler-utils
# (pdftotext reads the PDFs) and chromium (tests/e2e/test_browser.py drives it headless as the web client;
# the largest: about 115 MB to download, 350 MB installed, under a minute to install on Debian 12). As root,
# missing ones are installed with apt-get; otherwise this stops with the one command to run.
# SENTRIX_SKIP_SYSTEM_DEPS=1 skips the check (another distribution, packages installed another way).
set -euo pipefail

[[ "${SENTRIX_SKIP_SYSTEM_DEPS:-}" == "1" ]] && exit 0

PG_VERSION=15
missing=()
pg_bin="/usr/lib/postgresql/$PG_VERSION/bin"
if [[ ! -x "$pg_bin/postgres" ]]; then
    missing+=("postgresql-$PG_VERSION")
fi
postgis_control="/usr/share/postgresql/$PG_VERSION/extension/postgis.control"
if [[ -x "$pg_bin/pg_config" ]]; then
    postgis_control="$("$pg_bin/pg_config" --sharedir)/extension/postgis.control"
fi
if [[ ! -f "$postgis_control" ]]; then
    missing+=("postgresql-$PG_VERSION-postgis-3")
fi
if ! command -v pdftotext >/dev/null 2>&1; then
    missing+=("poppler-utils")
fi
if ! command -v chromium >/dev/null 2>&1; then
    missing+=("chromium")
fi

[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing the system packages the tests need: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
    exit 0
fi

echo "The tests need system packages that are missing: ${missing[*]}" >&2
echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
exit 1
