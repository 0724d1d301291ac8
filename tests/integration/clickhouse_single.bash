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

CH=$WORK/clickhouse
mkdir -p "$CH/data" "$CH/tmp" "$CH/user_files" "$CH/format_schemas"
CH_HTTP=$(free_port)
CH_TCP=$(free_port)
CHURL=http://127.0.0.1:$CH_HTTP/

cat >"$CH/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$CH/server.log</log><errorlog>$CH/server.err.log</errorlog>
    <size>10M</size><count>1</count></logger>
  <http_port>$CH_HTTP</http_port>
  <tcp_port>$CH_TCP</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$CH/data/</path>
  <tmp_path>$CH/tmp/</tmp_path>
  <user_files_path>$CH/user_files/</user_files_path>
  <format_schema_path>$CH/format_schemas/</format_schema_path>
  <users_config>$CH/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>20</max_concurrent_queries>
</yandex>
EOF
cat >"$CH/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
EOF

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
