#!/bin/sh
# install-deps.sh - install the Debian 12 packages trail needs, if missing.
#
# Usage: scripts/install-deps.sh [build|deb|test|bench]
#   build  compilers and libraries (default)
#   deb    build, plus Debian's packaging tools for make deb: debhelper,
#          dpkg-dev, fakeroot, lintian, adduser (the package's maintainer
#          scripts) and systemd (systemd-analyze checks the unit; no
#          running systemd is needed)
#   test   deb, plus the peers the tests start: rsyslog, clickhouse-server,
#          zookeeper (its jars and a Java runtime: the ClickHouse cluster
#          test runs ZooKeeper itself from them, on loopback; zookeeperd,
#          which would add a system service on port 2181, is not needed),
#          chromium, nodejs and npm (the web viewer's browser tests),
#          util-linux's logger, curl, openssl, jq (trail(1)'s examples use
#          it), faketime (libfaketime: the clock-dependent tests run
#          again with the clock moved, tests/at_time.sh), strace (the
#          package test holds what traild does against the unit's sandbox),
#          and golang-go with golang-golang-x-mod-dev (tests/c2sp: an
#          independent verifier of trail's checkpoints and tiles, built
#          offline from /usr/share/gocode)
#   bench  test, plus sqlite3, gnuplot, hyperfine, perf, and syslog-ng: its
#          package conflicts with rsyslog's (both are the system's log
#          daemon), so syslog-ng-core is fetched with apt-get download and
#          unpacked under /opt/trail-bench/syslog-ng (its libraries are
#          installed as packages); bench/compare_ingest.sh runs it from there
# Runs apt-get update once before installing. Needs root (or sudo) only when
# something is missing.
set -eu
level=${1:-build}

pkgs="build-essential cmake pkg-config clang libclang-rt-14-dev clang-format \
libssl-dev libgnutls28-dev libzstd-dev libmicrohttpd-dev libevent-dev libjansson-dev libinih-dev libyaml-dev libsystemd-dev \
zstd python3 ca-certificates"
case "$level" in
deb|test|bench) pkgs="$pkgs debhelper dpkg-dev fakeroot lintian adduser systemd" ;;
esac
case "$level" in
test|bench) pkgs="$pkgs curl openssl jq bsdutils util-linux procps psmisc strace rsyslog rsyslog-openssl \
clickhouse-server clickhouse-client zookeeper chromium nodejs faketime golang-go golang-golang-x-mod-dev"
    # the web viewer's browser tests: npm installs playwright-core (never a browser);
    # a Node.js from elsewhere brings its own npm, Debian's comes as a package
    command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm" ;;
esac
case "$level" in
bench) pkgs="$pkgs sqlite3 libsqlite3-dev gnuplot-nox hyperfine linux-perf \
libivykis0 libnet1 libjson-c5 libwrap0 libglib2.0-0 libpcre3 libcap2 libsystemd0" ;;
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
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
if [ -n "$missing" ]; then
    echo "installing:$missing"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# syslog-ng beside rsyslog: unpack its package rather than install it.
if [ "$level" = bench ] && ! command -v syslog-ng >/dev/null 2>&1 &&
    [ ! -x /opt/trail-bench/syslog-ng/usr/sbin/syslog-ng ]; then
    echo "unpacking syslog-ng-core under /opt/trail-bench/syslog-ng"
    tmp=$(mktemp -d)
    (cd "$tmp" && chmod 0755 . && { $SUDO apt-get download -qq syslog-ng-core ||
        { $SUDO apt-get update -qq && $SUDO apt-get download -qq syslog-ng-core; }; })
    $SUDO mkdir -p /opt/trail-bench/syslog-ng
    $SUDO dpkg-deb -x "$tmp"/syslog-ng-core_*.deb /opt/trail-bench/syslog-ng
    rm -rf "$tmp"
fi
