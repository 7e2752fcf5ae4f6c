#!/usr/bin/env bash
# The system parts the test suite uses for real, from Debian's packages, installed only when missing:
# Chromium + CJK fonts (the dashboard is opened in headless Chromium), PostgreSQL (the PostgreSQL-source
# tests; tests/test_postgres_source.py starts it through .ci/postgres.sh), Java 17 (Spark local mode).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
# (grep -c reads to the end: with pipefail, grep -q would stop early and fail the pipe with SIGPIPE)
[ "$(fc-list 2>/dev/null | grep -ci 'noto sans cjk' || true)" -gt 0 ] || need+=(fonts-noto-cjk)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
if [ ${#need[@]} -gt 0 ]; then
    echo "system.sh: installing ${need[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
