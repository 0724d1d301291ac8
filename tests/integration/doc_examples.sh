#!/usr/bin/env bash
# doc_examples.sh - every shell example that the documentation shows a user
# (README.md, docs/*.md, the man pages in docs/man/, and the "Try next" hints
# that `make run` prints) runs, and does what it says, against a real traild.
#
# doc_examples.py finds the examples (what counts as one, the `# exit N` and
# `# rejected` marks, the short skip list) and writes a script per source;
# this file starts what they talk to and judges each one:
#   * traild, by running scripts/run-daemon.sh (what `make run` runs) on free
#     ports with its demo workload; its hints are then examples too, and
#     scripts/run-demo.sh is run the way it runs without traild;
#   * per source, a fresh copy of a fixture: a working directory that looks
#     like the source tree (build/ is this build) with the files an auditor
#     holds (store.pub, witness.log, seq-12.proof, record-12, 21-37.proof),
#     and the absolute paths of the docs under a root of its own: a store with
#     signed checkpoints at var/lib/trail (also DIR), the sample event.log at
#     var/log/pas/event.log, traild's config at etc/trail/trail.conf, tmp/;
#   * the docs' 127.0.0.1:8080 and port 5514 are this traild's ports.
# An example passes when it exits as its mark says (0 unmarked), traild
# rejected nothing it sent unless marked `# rejected`, and in a console block
# it printed the output shown. A failure names the file and line.
source "$(dirname "$0")/daemon_common.bash"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$TRAIL_SOURCE_DIR
export PATH="$TRAIL_BIN:$PATH"

HTTP_PORT=$(free_port)
SYSLOG_PORT=$(free_port)
while [ "$SYSLOG_PORT" = "$HTTP_PORT" ]; do SYSLOG_PORT=$(free_port); done
URL=http://127.0.0.1:$HTTP_PORT

# ---- make run: scripts/run-daemon.sh, stopped with SIGTERM as Ctrl-C would
RUN_PID=""
DEMO_TRAILD=""
stop_demo() {
    if [ -n "$RUN_PID" ] && kill -0 "$RUN_PID" 2>/dev/null; then
        kill -TERM "$RUN_PID" 2>/dev/null
        wait "$RUN_PID" 2>/dev/null
    fi
    # should the script have died without stopping it
    if [ -n "$DEMO_TRAILD" ] && kill -0 "$DEMO_TRAILD" 2>/dev/null; then
        kill -9 "$DEMO_TRAILD" 2>/dev/null
    fi
    RUN_PID=""
}
trap 'stop_demo; cleanup' EXIT

TRAIL_BIN="$TRAIL_BIN" TRAIL_VAR="$WORK/var" TRAIL_HTTP=127.0.0.1:$HTTP_PORT \
    TRAIL_SYSLOG=127.0.0.1:$SYSLOG_PORT bash "$SRC/scripts/run-daemon.sh" \
    </dev/null >"$WORK/make-run.out" 2>"$WORK/make-run.err" &
RUN_PID=$!
for _ in $(seq 1 1200); do
    grep -q "Ctrl-C stops traild" "$WORK/make-run.out" 2>/dev/null && break
    kill -0 "$RUN_PID" 2>/dev/null || break
    sleep 0.1
done
DEMO_TRAILD=$(sed -n 's/^  kill -HUP \([0-9][0-9]*\).*/\1/p' "$WORK/make-run.out")
if [ -z "$DEMO_TRAILD" ] || ! kill -0 "$DEMO_TRAILD" 2>/dev/null; then
    echo "scripts/run-daemon.sh did not get to its hints:"
    cat "$WORK/make-run.out" "$WORK/make-run.err"
    exit 1
fi
check_grep "make run: the demo workload over HTTP was accepted" '"accepted":5000,"rejected":0' \
    "$WORK/make-run.out"
check_grep "make run: the sample event.log over syslog was taken" \
    'trail_events_in_total\{input="syslog_tcp"\} [1-9]' "$WORK/make-run.out"
for rule in password_guessing password_spraying lockout_storm mfa_push_fatigue \
    signin_after_failures token_new_source; do
    check_grep "make run: the demo's attacks raised a $rule alert" "^$rule +[1-9]" "$WORK/make-run.out"
done

# ---- make run where traild is not built: scripts/run-demo.sh's other branch
mkdir -p "$WORK/bin-without-traild"
ln -s "$TRAIL_BIN/trail" "$WORK/bin-without-traild/trail"
TRAIL_BIN="$WORK/bin-without-traild" TRAIL_VAR="$WORK/var-demo" bash "$SRC/scripts/run-demo.sh" \
    </dev/null >"$WORK/make-run-without-traild.out" 2>&1
check_eq "make run without traild: exit status" "$?" 0

# ---- the fixture each source's examples start from
FIX=$WORK/fixture
mkdir -p "$FIX/root" "$FIX/var/lib" "$FIX/var/log/pas" "$FIX/etc/trail" "$FIX/tmp" \
    "$FIX/somewhere/else" "$FIX/keys"
for f in "$SRC"/* "$SRC"/.[!.]*; do
    case ${f##*/} in build | build-* | var | .git | '.[!.]*') ;; *) ln -s "$f" "$FIX/root/" ;; esac
done
ln -s "$TRAIL_BIN" "$FIX/root/build"
cp "$SRC/tests/data/pas-event.log" "$FIX/var/log/pas/event.log"
cp "$WORK/var/trail.conf" "$FIX/etc/trail/trail.conf"
(
    set -e
    S=$FIX/var/lib/trail
    trail keygen --out "$FIX/keys/store" >/dev/null
    # three signed checkpoints a witness kept: of 21, 37 and 3037 records
    trail loadgen -n 21 --seed 1 --start 2026-11-20T08:00:00Z --store "$S" >/dev/null
    trail checkpoint --store "$S" --sign --key "$FIX/keys/store.key" >/dev/null
    trail loadgen -n 16 --seed 2 --start 2026-11-20T09:00:00Z --store "$S" >/dev/null
    trail checkpoint --store "$S" --sign --key "$FIX/keys/store.key" >/dev/null
    trail loadgen -n 3000 -d 7 --seed 3 --start 2026-11-20T10:00:00Z --store "$S" >/dev/null
    trail checkpoint --store "$S" --sign --key "$FIX/keys/store.key" >/dev/null
    cd "$FIX/root"
    cp "$S/checkpoints" witness.log
    cp "$FIX/keys/store.pub" store.pub
    trail proof inclusion 12 --store "$S" --checkpoint witness.log --out seq-12 >/dev/null
    mv seq-12.record record-12
    trail proof consistency --from "$(sed -n 1p witness.log)" --to "$(sed -n 2p witness.log)" \
        --store "$S" --out 21-37.proof >/dev/null
) >"$WORK/fixture.log" 2>&1
check_eq "fixture: a store with three signed checkpoints, and an auditor's files" "$?" 0

# ---- judging one example
mkdir -p "$WORK/out" "$WORK/run"
RESULTS=$WORK/results
: >"$RESULTS"

# in+rej: events traild took from outside (accepted or rejected); rej: rejected
metrics_now() {
    command curl -s "$URL/metrics" | awk '
        /^trail_events_in_total/ && !/input="trail"/ {i += $2}
        /^trail_events_rejected_total/ {r += $2}
        END {printf "%d %d\n", i + r, r}'
}

# what an example's HTTP status says reaches its exit status, as for a user
# reading the answer: an answer >= 400 makes curl exit 22 (the body still shown)
curl() { command curl --fail-with-body "$@"; }

__want_output() {
    cat >"$WORK/want.out"
    EX_WANT_OUT=1
}

# __ex WHERE STATUS MARKED REFUSED FOLLOW SHOWN: the next example; __done judges it
__ex() {
    EX_WHERE=$1 EX_WANT=$2 EX_MARKED=$3 EX_REFUSED=$4 EX_FOLLOW=$5 EX_SHOWN=$6
    __OUT=$WORK/out/$(tr '/:' '__' <<<"$EX_WHERE").out
    read -r EX_IN0 EX_REJ0 < <(metrics_now)
}

# __done STATUS...: the statuses of the example's last pipeline
__done() {
    local st=${*: -1} why="" in1 rej1 prev s
    # before the last command of a pipeline, only a reader that stopped
    # early may end one (SIGPIPE, or curl's write error)
    for s in "${@:1:$#-1}"; do
        case $s in 0 | 141 | 23) ;; *) why="a command of the pipeline failed with status $s" ;; esac
    done
    if [ "$EX_FOLLOW" = 1 ] && { [ "$st" = 124 ] || [ "$st" = 137 ]; }; then
        st=0 # it followed until timeout(1) stopped it, as Ctrl-C would
    fi
    read -r in1 rej1 < <(metrics_now)
    # what is sent by syslog is taken after the sender is done: wait until
    # traild has counted it and the count stands still
    if [[ $EX_SHOWN =~ (^|[[:space:]])logger[[:space:]]|/dev/tcp/ ]]; then
        prev=-1
        for _ in $(seq 1 100); do
            if [ "$in1" -gt "$EX_IN0" ] && [ "$in1" = "$prev" ]; then break; fi
            prev=$in1
            sleep 0.1
            read -r in1 rej1 < <(metrics_now)
        done
        [ "$in1" -gt "$EX_IN0" ] || why=${why:-"traild never got what it sent"}
    fi
    local rejected=$((rej1 - EX_REJ0))
    if [ -n "$why" ]; then
        :
    elif [ "$EX_REFUSED" = 1 ]; then
        if [ "$EX_MARKED" = 1 ]; then
            [ "$st" = "$EX_WANT" ] || why="exit status $st, the mark says $EX_WANT"
        elif ! { [ "$st" = 22 ] && [[ $EX_SHOWN == *curl\ * ]]; } &&
            ! { [ "$st" = 0 ] && [ "$rejected" -gt 0 ]; }; then
            why="marked as refused, but traild took it (exit status $st, $rejected rejected)"
        fi
    else
        if [ "$st" != "$EX_WANT" ]; then
            why="exit status $st, want $EX_WANT"
            [ "$st" = 22 ] && [[ $EX_SHOWN == *curl\ * ]] && why="$why (an HTTP answer >= 400)"
        elif [ "$rejected" -gt 0 ]; then
            why="traild rejected $rejected event(s) it sent"
        fi
    fi
    if [ -z "$why" ] && [ "${EX_WANT_OUT:-0}" = 1 ] && ! diff -q "$WORK/want.out" "$__OUT" >/dev/null; then
        why="its output is not the one shown: $(diff "$WORK/want.out" "$__OUT" | head -5)"
    fi
    EX_WANT_OUT=0
    if [ -z "$why" ]; then
        echo "ok   $EX_WHERE  ${EX_SHOWN:0:110}"
        echo ok >>"$RESULTS"
    else
        echo "FAIL $EX_WHERE  $EX_SHOWN"
        echo "     $why"
        tail -n 8 "$__OUT" | sed 's/^/     | /'
        echo "FAIL $EX_WHERE" >>"$RESULTS"
    fi
}

__skip() {
    echo "skip $1  ${3:0:80}"
    echo "     ($2)"
    echo "skip $1" >>"$RESULTS"
}

# a C example: a fragment, compiled as the body of main() against this build's
# libtrail; it must build warning-free, exit 0 and say nothing on stderr
__c_example() {
    local where=$1 dir=$WORK/c/$(tr '/:' '__' <<<"$1")
    mkdir -p "$dir"
    cat >"$dir/example.txt"
    {
        echo '#include <stdio.h>'
        grep '^#include' "$dir/example.txt"
        echo 'int main(void)'
        echo '{'
        grep -v '^#include' "$dir/example.txt"
        echo '    return 0;'
        echo '}'
    } >"$dir/example.c"
    local libs=("$TRAIL_BIN/libtrail.a" -lcrypto -lzstd -lpthread) ok=0 st
    for san in "" "-fsanitize=address,undefined" "-fsanitize=thread"; do
        if cc -Wall -Wextra -Werror $san -o "$dir/example" "$dir/example.c" -I"$SRC/include" \
            "${libs[@]}" >"$dir/cc.out" 2>&1; then
            ok=1
            break
        fi
    done
    EX_SHOWN="(the C fragment, as main())" EX_WHERE=$where
    if [ "$ok" = 0 ]; then
        echo "FAIL $where  the C example does not build:"
        sed 's/^/     | /' "$dir/cc.out"
        echo "FAIL $where" >>"$RESULTS"
        return
    fi
    # a fragment frees nothing: leaks are not what it shows
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 "$dir/example" >"$dir/out" 2>"$dir/err"
    st=$?
    if [ "$st" = 0 ] && [ ! -s "$dir/err" ]; then
        echo "ok   $where  (the C example, built and run)"
        echo ok >>"$RESULTS"
    else
        echo "FAIL $where  the C example: exit status $st"
        sed 's/^/     | /' "$dir/err"
        echo "FAIL $where" >>"$RESULTS"
    fi
}

# ---- every source: its examples, in order, in one shell, in a fresh fixture
python3 "$HERE/doc_examples.py" "$WORK/gen" "$WORK/run" "$HTTP_PORT" "$SYSLOG_PORT" \
    "$DEMO_TRAILD" "$SRC/README.md" "$SRC"/docs/*.md "$SRC"/docs/man/*.[1-8] \
    "hints:make run's hints without traild (scripts/run-demo.sh)=$WORK/make-run-without-traild.out" \
    "hints:make run's hints (scripts/run-daemon.sh)=$WORK/make-run.out" >"$WORK/manifest" || exit 1
while IFS=$'\t' read -r script label run _; do
    echo "== $label"
    rm -rf "$run"
    cp -a "$FIX" "$run"
    # a user's shell: no -u, no -e; what one example sets, the next one sees
    (
        set +u
        source "$WORK/gen/$script"
    )
done <"$WORK/manifest"

RAN=$(grep -c '^ok\|^FAIL' "$RESULTS")
SKIPPED=$(grep -c '^skip' "$RESULTS")
echo "== $RAN examples run, $SKIPPED skipped (listed above with the reason)"
PASSED=$((PASSED + $(grep -c '^ok' "$RESULTS")))
FAILED=$((FAILED + $(grep -c '^FAIL' "$RESULTS")))
grep '^FAIL' "$RESULTS" | sed 's/^/failed: /'
check "traild is still running after every example" kill -0 "$DEMO_TRAILD"
finish
