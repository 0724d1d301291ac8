# clickhouse_single.bash - one clickhouse-server (Debian's 18.16) for a test,
# sourced after daemon_common.bash: its own config, data directory and free
# ports under $WORK/clickhouse. Sets CH (the directory), CH_HTTP, CH_TCP,
# CHURL (http://127.0.0.1:CH_HTTP/); start_clickhouse starts it (again, on
# the same data) and waits for /ping, CH_PID is its pid; chq SQL runs a query.
# A missing clickhouse-server fails the test (scripts/install-deps.sh test
# installs it).

if ! command -v clickhouse-server >/dev/null; then
    echo "clickhouse-server not installed (scripts/install-deps.sh test)"
    FAILED=1
    finish
fi

# shellcheck source=../../scripts/clickhouse-config.bash
source "$TRAIL_SOURCE_DIR/scripts/clickhouse-config.bash"
CH=$WORK/clickhouse
CH_HTTP=$(free_port)
CH_TCP=$(free_port)
CHURL=http://127.0.0.1:$CH_HTTP/
clickhouse_write_config "$CH" "$CH_HTTP" "$CH_TCP"

CH_PID=""
start_clickhouse() {
    # at a moved clock (tests/at_time.sh) only trail runs on it: ClickHouse
    # keeps the real one, as a server elsewhere would
    env -u LD_PRELOAD -u FAKETIME -u FAKETIME_SHARED -u FAKETIME_DONT_FAKE_MONOTONIC \
        clickhouse-server --config-file="$CH/config.xml" >>"$CH/stdout.log" 2>&1 &
    CH_PID=$!
    EXTRA_PIDS="$EXTRA_PIDS $CH_PID"
    for _ in $(seq 1 600); do
        if [ "$(curl -s "${CHURL}ping")" = "Ok." ]; then
            return 0
        fi
        if ! kill -0 "$CH_PID" 2>/dev/null; then
            echo "clickhouse-server exited:"
            tail -20 "$CH/stdout.log" "$CH/server.err.log" 2>/dev/null
            return 1
        fi
        sleep 0.1
    done
    echo "clickhouse-server did not answer /ping in 60 s"
    return 1
}
chq() { curl -s --data-binary "$1" "$CHURL"; }
