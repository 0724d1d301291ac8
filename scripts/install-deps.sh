#!/bin/sh
# install-deps.sh - install the Debian 12 packages trail needs, if missing.
#
# Usage: scripts/install-deps.sh [build|test|bench]
#   build  compilers and libraries (default)
#   test   build, plus the peers the tests start: rsyslog, clickhouse-server,
#          chromium, util-linux's logger, curl, openssl
#   bench  test, plus syslog-ng, sqlite3, gnuplot, hyperfine
# Runs apt-get update once before installing. Needs root (or sudo) only when
# something is missing.
set -eu
level=${1:-build}

pkgs="build-essential cmake pkg-config clang libclang-rt-14-dev clang-format \
libssl-dev libzstd-dev libmicrohttpd-dev libevent-dev libjansson-dev libinih-dev \
zstd python3 ca-certificates"
case "$level" in
test|bench) pkgs="$pkgs curl openssl bsdutils util-linux procps psmisc rsyslog rsyslog-openssl \
clickhouse-server clickhouse-client" ;;
esac
case "$level" in
bench) pkgs="$pkgs syslog-ng-core sqlite3 libsqlite3-dev gnuplot-nox hyperfine linux-perf" ;;
esac
if [ -n "${TRAIL_EXTRA_PACKAGES:-}" ]; then
    pkgs="$pkgs $TRAIL_EXTRA_PACKAGES"
fi

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
