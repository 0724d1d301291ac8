# daemon_common.bash - what the traild integration tests (daemon_*.sh) share:
# a work directory, free ports, starting and stopping traild, reading its
# store back, and the pass/fail bookkeeping. Sourced, not run (not a test
# itself: ctest runs *.sh only).
#
#   source "$(dirname "$0")/daemon_common.bash"
#   start_traild "$CONF"          # waits until it serves; killed at exit
#   check "name" test-expression  # counts a pass or a failure
#   finish                        # prints "N passed, N failed", exits
set -u
TRAIL_BIN=${TRAIL_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" && pwd)}
TRAIL_SOURCE_DIR=${TRAIL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TRAILD="$TRAIL_BIN/traild"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trail-daemon-test.XXXXXX")
PASSED=0
FAILED=0
TRAILD_PID=""
EXTRA_PIDS=""

cleanup() {
    if [ -n "$TRAILD_PID" ] && kill -0 "$TRAILD_PID" 2>/dev/null; then
        kill -9 "$TRAILD_PID" 2>/dev/null
    fi
    for p in $EXTRA_PIDS; do
        kill -9 "$p" 2>/dev/null
    done
    wait 2>/dev/null
    if [ "${KEEP_WORK:-0}" = 1 ] || [ "$FAILED" -gt 0 ]; then
        echo "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# python3 resolved once: a version manager's python3 on PATH (pyenv's shim)
# is a shell script that works out the version at every start, 0.5 s of CPU
# and seconds on a busy machine, and a test starts python3 up to hundreds of
# times (oracle.py, free_port, its own helpers). A wrapper first on PATH
# runs the interpreter the shim would have run, for this script and all it
# starts (node's oracle calls too); exec'ing its path keeps a virtualenv's.
if TRAIL_PYTHON3=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) &&
    [ -x "$TRAIL_PYTHON3" ]; then
    mkdir -p "$WORK/bin"
    printf '#!/bin/sh\nexec '\''%s'\'' "$@"\n' "$TRAIL_PYTHON3" >"$WORK/bin/python3"
    chmod +x "$WORK/bin/python3"
    PATH=$WORK/bin:$PATH
fi

# at_offset OFFSET CMD...: CMD with its clock moved (clock_common.bash)
# shellcheck source=clock_common.bash
source "$TRAIL_SOURCE_DIR/tests/integration/clock_common.bash"

check() {
    local name=$1
    shift
    if "$@"; then
        PASSED=$((PASSED + 1))
        echo "ok   $name"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $name"
    fi
}

# check_eq NAME GOT WANT
check_eq() {
    if [ "$2" = "$3" ]; then
        PASSED=$((PASSED + 1))
        echo "ok   $1"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $1: got '$2', want '$3'"
    fi
}

# check_grep NAME PATTERN FILE - the file has a line matching the extended regex
check_grep() {
    if grep -Eq -- "$2" "$3"; then
        PASSED=$((PASSED + 1))
        echo "ok   $1"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $1: no line matching '$2' in $3:"
        tail -5 "$3" | sed 's/^/    /'
    fi
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

# Under tests/at_time.sh the clock is moved: a run that does not see the
# moved time would pass without testing it.
if [ -n "${TRAIL_TEST_AT:-}" ]; then
    check "the clock is moved to $(date -u -d "@$TRAIL_TEST_AT" +%FT%TZ) (date: $(date -u +%FT%TZ))" \
        test "$(($(date -u +%s) - TRAIL_TEST_AT))" -ge 0 -a "$(($(date -u +%s) - TRAIL_TEST_AT))" -lt 600
fi

# free_port: a TCP (and UDP) port nobody listens on now, chosen below the
# kernel's ephemeral range (net.ipv4.ip_local_port_range). A port the kernel
# handed out with bind(0) could be given again to any client's connect()
# (curl, a sender) before traild binds it; ports below the range are never
# handed out that way, so only another test picking the same one at random
# (1 in ~10,000 per pair) can race, and the ports one script takes are
# distinct. Each pick is also checked free for TCP and UDP.
free_port() {
    python3 - "$WORK/.ports" <<'EOF'
import os, random, socket, sys
taken_file = sys.argv[1]
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    lo = 32768
lo = max(lo, 12000)
taken = set(open(taken_file).read().split()) if os.path.exists(taken_file) else set()
rnd = random.SystemRandom()
while True:
    p = rnd.randrange(max(1024, lo - 10000), lo)
    if str(p) in taken:
        continue
    t = socket.socket()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        t.bind(("127.0.0.1", p)); u.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        u.close(); t.close()
    open(taken_file, "a").write("%d\n" % p)
    print(p)
    break
EOF
}

# small_disk SIZE: a tmpfs of SIZE (4m, 32m) at $MNT ($WORK/mnt) for a store to fill;
# unmounted on exit (traild killed first). Skips the case when mounting is not
# permitted (not root), fails it under TRAIL_TEST_NO_SKIP=1.
small_disk() {
    MNT=$WORK/mnt
    mkdir -p "$MNT"
    if ! mount -t tmpfs -o size="$1" tmpfs "$MNT" 2>"$WORK/mount.err"; then
        skip_test "cannot mount a tmpfs here ($(cat "$WORK/mount.err")); run as root"
    fi
    trap '[ -n "$TRAILD_PID" ] && kill -9 "$TRAILD_PID" 2>/dev/null; wait 2>/dev/null; umount "$MNT" 2>/dev/null; cleanup' EXIT
}

# skip_test REASON: the case cannot run here (exit 77, ctest shows it as
# skipped); under TRAIL_TEST_NO_SKIP=1 (make test as root) it fails instead
skip_test() {
    if [ "${TRAIL_TEST_NO_SKIP:-0}" = 1 ]; then
        echo "FAIL this case would be skipped: $1 (TRAIL_TEST_NO_SKIP=1 allows no skips)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    echo "skipped: $1"
    echo "0 passed, 0 failed, 1 skipped"
    exit 77
}

# start_traild CONF [LOG]: start in the background, wait until it has started.
# The deadline is generous (START_DEADLINE_S, 60 s) because a loaded machine
# running sanitizer builds is slow, not broken; if it passes, every thread's
# stack is printed so that a hang can be told from slowness.
start_traild() {
    local conf=$1 log=${2:-$WORK/traild.log}
    local deadline=$((SECONDS + ${START_DEADLINE_S:-60}))
    # a log that a traild before this one wrote to already says "started": wait for one more
    local before
    before=$(grep -c "info: started:" "$log" 2>/dev/null)
    before=${before:-0}
    # TRAILD_ENV: NAME=VALUE words for traild alone (a moved clock's preload),
    # not for the tools this function runs while it waits
    # shellcheck disable=SC2086 # one word each
    env ${TRAILD_ENV:-} "$TRAILD" -c "$conf" >>"$log" 2>&1 &
    TRAILD_PID=$!
    while ((SECONDS < deadline)); do
        local now
        now=$(grep -c "info: started:" "$log" 2>/dev/null)
        if [ "${now:-0}" -gt "$before" ]; then
            return 0
        fi
        if ! kill -0 "$TRAILD_PID" 2>/dev/null; then
            echo "traild exited at start:"
            cat "$log"
            return 1
        fi
        sleep 0.05
    done
    echo "traild did not start in ${START_DEADLINE_S:-60} s:"
    cat "$log"
    if command -v gdb >/dev/null; then
        gdb -batch -p "$TRAILD_PID" -ex "thread apply all bt" 2>&1 | grep -E '^(Thread|#)' | head -120
    fi
    return 1
}

# stop_traild [SIGNAL]: signal traild and wait for it; its status in STOP_STATUS
stop_traild() {
    local sig=${1:-TERM}
    kill -"$sig" "$TRAILD_PID" 2>/dev/null
    wait "$TRAILD_PID" 2>/dev/null
    STOP_STATUS=$?
    TRAILD_PID=""
}

# A small reader of the store, built once from libtrail: one JSON event a line.
dump_tool() {
    local tool=$WORK/store-dump
    if [ ! -x "$tool" ]; then
        cat >"$WORK/store-dump.c" <<'EOF'
/* store-dump: print every record of a store as one JSON line (tests only). */
#include "trail.h"
#include <stdio.h>
int main(int argc, char **argv)
{
    struct trail_catalog *cat;
    struct trail_store *st;
    struct trail_store_iter *it;
    struct trail_event *ev;
    struct trail_store_opts o = {.read_only = 1};
    struct trail_buf out = {0};
    int r;
    if (argc != 2 || trail_catalog_new(&cat) || trail_catalog_set_policy(cat, TRAIL_POLICY_OFF))
        return 2;
    if ((r = trail_store_open(argv[1], cat, &o, &st, NULL)) < 0) {
        fprintf(stderr, "store-dump: %s: %s\n", argv[1], trail_strerror(r));
        return 1;
    }
    trail_store_iter_new(st, TRAIL_ITER_FORWARD, &it);
    trail_event_new(cat, "x", &ev);
    while ((r = trail_store_iter_next(it, ev)) == 1) {
        trail_buf_reset(&out);
        trail_event_to_json(ev, &out);
        puts(out.data);
    }
    trail_store_iter_free(it);
    trail_store_close(st);
    trail_event_free(ev);
    trail_buf_free(&out);
    trail_catalog_free(cat);
    return r < 0 ? 1 : 0;
}
EOF
        # a sanitizer build's library needs the sanitizers' runtime too
        cc -O1 -o "$tool" "$WORK/store-dump.c" -I"$TRAIL_SOURCE_DIR/include" \
            "$TRAIL_BIN/libtrail.a" -lcrypto -lzstd -lpthread 2>/dev/null ||
            cc -O1 -fsanitize=address,undefined -o "$tool" "$WORK/store-dump.c" \
                -I"$TRAIL_SOURCE_DIR/include" "$TRAIL_BIN/libtrail.a" -lcrypto -lzstd -lpthread \
                2>/dev/null ||
            cc -O1 -fsanitize=thread -o "$tool" "$WORK/store-dump.c" \
                -I"$TRAIL_SOURCE_DIR/include" "$TRAIL_BIN/libtrail.a" -lcrypto -lzstd -lpthread ||
            return 1
    fi
    echo "$tool"
}

# store_dump DIR: the store's events as NDJSON on stdout
store_dump() {
    "$(dump_tool)" "$1"
}

# http_post URL FILE [CONTENT-TYPE]: POST a file; the body to stdout, "HTTP CODE" to $WORK/http.code
http_post() {
    curl -s -o - -w '\n%{http_code}' -X POST -H "Content-Type: ${3:-application/json}" \
        --data-binary @"$2" "$1" >"$WORK/http.out"
    tail -n1 "$WORK/http.out" >"$WORK/http.code"
    sed '$d' "$WORK/http.out"
}

# base_conf DIR: the common part of a test config (store under DIR, inputs off)
base_conf() {
    cat <<EOF
[store]
path = $1/store
fsync = always
[listen]
http = off
syslog_udp = off
syslog_tcp = off
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string, src:ip, attempts:int
EOF
}

# wait_for SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds (0) or
# SECONDS pass (1, saying what was awaited). For a condition that a slow machine
# reaches late: the deadline is what a broken run waits, not what a run takes.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    while :; do
        "$@" && return 0
        if ((SECONDS >= deadline)); then
            echo "waited in vain for: $*"
            return 1
        fi
        sleep 0.05
    done
}

# lines_at_least N FILE: FILE has N lines or more (for wait_for)
lines_at_least() {
    [ "$(wc -l <"$2" 2>/dev/null || echo 0)" -ge "$1" ]
}

# tick_until_checkpoint URL SEQ: traild signs a checkpoint after a commit once
# checkpoint_interval_s has passed since its last one; post one small event
# (auth_logout_local, duser "tick") every 0.2 s until GET URL/v1/checkpoint
# covers SEQ (60 s at most). The number of ticks depends on the machine's pace.
tick_until_checkpoint() {
    local deadline=$((SECONDS + 60)) size
    while :; do
        printf '{"id":"auth_logout_local","attrs":{"duser":"tick","phxTraceId":"#tick"}}\n' |
            curl -s -o /dev/null -X POST -H 'Content-Type: application/x-ndjson' --data-binary @- \
                "$1/v1/events"
        size=$(curl -s "$1/v1/checkpoint" | sed -n 's/.*"tree_size":\([0-9]*\).*/\1/p')
        [ "${size:-0}" -ge "$2" ] && return 0
        if ((SECONDS >= deadline)); then
            echo "no checkpoint covers seq $2 (the latest covers ${size:-nothing})"
            return 1
        fi
        sleep 0.2
    done
}

# wait_metric URL REGEX [SECONDS [CURL-OPTION...]]: poll URL/metrics until a
# line matches (15 s by default; the deadline is in seconds, however slow each
# poll is). CURL-OPTIONs, e.g. -H "Authorization: Bearer T" when traild has
# [tokens]: without one /metrics answers 401 and nothing ever matches.
wait_metric() {
    local url=$1 re=$2 deadline=$((SECONDS + ${3:-15}))
    shift $(($# < 3 ? $# : 3))
    while :; do
        if curl -s "$@" "$url/metrics" | grep -Eq -- "$re"; then
            return 0
        fi
        ((SECONDS >= deadline)) && break
        sleep 0.05
    done
    echo "metric '$re' not reached:"
    curl -s -w '    (HTTP %{http_code})\n' "$@" "$url/metrics" |
        grep -E '^trail_(events_in|events_rejected)_total|HTTP' | sed 's/^/    /'
    return 1
}

# wait_cursor NAME SEQ [SECONDS]: poll until sink NAME's cursor file in $WORK/store
# reaches SEQ (20 s by default)
wait_cursor() {
    local deadline=$((SECONDS + ${3:-20})) c
    while :; do
        c=$(sed -n 's/^seq //p' "$WORK/store/sinks/$1.cursor" 2>/dev/null)
        if [ -n "$c" ] && [ "$c" -ge "$2" ]; then
            return 0
        fi
        ((SECONDS >= deadline)) && return 1
        sleep 0.05
    done
}
