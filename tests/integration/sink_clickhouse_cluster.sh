#!/usr/bin/env bash
# sink_clickhouse_cluster.sh - traild's ClickHouse sink writing through a
# replicated cluster (clickhouse_cluster.bash: one shard of two clickhouse-server
# replicas and a ZooKeeper, started once for every case here). The sink makes
# the tables ON CLUSTER (a Distributed table over a ReplicatedReplacingMergeTree)
# and then:
#   - every event arrives once on both replicas; a table of another engine
#     where the Distributed one should be is refused, not written unreplicated;
#   - replica 2 killed (-9) in the middle of a delivery: the sink goes on through
#     replica 1, and once replica 2 is back both hold every event once;
#   - replica 1, the one the sink talks to, killed (-9) mid-delivery: the sink
#     lags, ingest goes on, and once it is back nothing is lost or doubled;
#   - ZooKeeper stopped for a while: the replicated table is read-only, the sink
#     lags, ingest goes on, and it catches up when ZooKeeper returns;
#   - a retried batch is not doubled: the sink's cursor rewound to 0 sends nothing
#     twice, and an identical block inserted again (ClickHouse's own block
#     deduplication of Replicated tables, through the Distributed table, on
#     either replica) is kept once.
source "$(dirname "$0")/daemon_common.bash"
source "$(dirname "$0")/clickhouse_cluster.bash"

check "the cluster starts (ZooKeeper, two replicas)" cluster_start || finish

HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = interval
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[sink ch]
type = clickhouse
url = $(ch_url 1)
cluster = trail_cluster
database = audit
table = events
batch_events = 200
timeout_ms = 10000
retry_min_ms = 50
retry_max_ms = 500
[sink unreplicated]
type = clickhouse
url = $(ch_url 1)
cluster = trail_cluster
database = audit
table = plain
retry_min_ms = 50
retry_max_ms = 500
EOF
# a one-server table where the sink wants the Distributed one: refused, never written
chq 1 "CREATE DATABASE audit" >/dev/null
chq 1 "CREATE TABLE audit.plain (uuid String, seq UInt64) ENGINE = MergeTree() ORDER BY seq" \
    >/dev/null
start_traild "$CONF" "$WORK/traild.log" || exit 1

store_last() { "$TRAIL_BIN/trail" stats --store "$WORK/store" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/'; }
cursor() { sed -n 's/^seq //p' "$WORK/store/sinks/ch.cursor" 2>/dev/null; }
cursor_is() { [ "$(cursor)" = "$1" ]; }
# the store's rows on replica N: count, distinct uuids, first and last seq, distinct seqs
rows() { chq "$1" "SELECT count(), uniqExact(uuid), min(seq), max(seq), uniqExact(seq)
    FROM audit.events_local WHERE store_id != 'retry-test' FORMAT CSV"; }
# every seq 1..LAST once on replica N
exact() { [ "$(rows "$1")" = "$2,$2,1,$2,$2" ]; }
# the sink has delivered everything the store holds, and both replicas hold it once
delivered() {
    local last
    last=$(store_last)
    [ "$(cursor)" = "$last" ] && exact 1 "$last" && exact 2 "$last"
}
send_paced() { # FILE: 300 events a request, paced so that deliveries go on meanwhile
    split -l 300 "$1" "$1.part."
    for p in "$1".part.*; do
        curl -s -o /dev/null -X POST -H 'Content-Type: application/x-ndjson' \
            --data-binary @"$p" "$URL/v1/events"
        sleep 0.05 # a pace, not a wait: the sends go on while a server is killed
    done
}
rows_above() { # N COUNT: replica N holds more than COUNT of the store's rows
    local n
    n=$(chq "$1" "SELECT count() FROM audit.events_local WHERE store_id != 'retry-test'")
    [ -n "$n" ] && [ "$n" -gt "$2" ] 2>/dev/null
}

# ---- every event once on both replicas, through tables the sink made ON CLUSTER ----
"$TRAIL_BIN/trail" loadgen -n 1500 -s 5 -d 30 >"$WORK/load1.ndjson"
http_post "$URL/v1/events" "$WORK/load1.ndjson" application/x-ndjson >/dev/null
check_eq "1500 events accepted" "$(cat "$WORK/http.code")" 200
check "delivered once to both replicas" wait_for 90 delivered
echo "    replica 1: $(rows 1)   replica 2: $(rows 2)"
for n in 1 2; do
    check_eq "replica $n: the tables the sink made" \
        "$(chq $n "SELECT name, engine FROM system.tables WHERE database = 'audit' AND name != 'plain' ORDER BY name FORMAT CSV" | tr '\n' ' ')" \
        '"events","Distributed" "events_local","ReplicatedReplacingMergeTree" '
done
check_grep "the replicated table's path is per shard" "/clickhouse/tables/01/audit_events" \
    <(chq 2 "SELECT zookeeper_path FROM system.replicas WHERE table = 'events_local'")

check_grep "a sink into a table that is not Distributed says why" \
    'audit.plain is a MergeTree table, not Distributed' "$WORK/traild.log"
check_eq "and writes nothing there" "$(chq 1 "SELECT count() FROM audit.plain")" 0

# ---- replica 2 killed in the middle of a delivery ----
BASE=$(store_last)
"$TRAIL_BIN/trail" loadgen -n 3000 -s 6 -d 10 >"$WORK/load2.ndjson"
send_paced "$WORK/load2.ndjson" &
SENDER=$!
check "deliveries of the second load begin" wait_for 60 rows_above 2 "$((BASE + 200))"
ch_kill 2
echo "    replica 2 killed holding $(chq 1 "SELECT count() FROM audit.events_local") rows of replica 1's"
while kill -0 "$SENDER" 2>/dev/null; do sleep 0.1; done
LAST=$(store_last)
check "the sink goes on through replica 1 while replica 2 is down" \
    wait_for 60 cursor_is "$LAST"
check "replica 1 holds every event once meanwhile" exact 1 "$LAST"
ch_start 2
check "replica 2 starts again on its data" ch_up 2
check "replica 2 catches up: every event once on both" wait_for 90 delivered
echo "    replica 1: $(rows 1)   replica 2: $(rows 2)"

# ---- replica 1, the sink's, killed in the middle of a delivery ----
BASE=$(store_last)
"$TRAIL_BIN/trail" loadgen -n 3000 -s 7 -d 10 >"$WORK/load3.ndjson"
send_paced "$WORK/load3.ndjson" &
SENDER=$!
check "deliveries of the third load begin" wait_for 60 rows_above 1 "$((BASE + 200))"
ch_kill 1
echo "    replica 1 killed holding $(chq 2 "SELECT count() FROM audit.events_local") rows of replica 2's"
check "the sink is down while its replica is" wait_metric "$URL" \
    'trail_sink_up\{sink="ch",type="clickhouse"\} 0' 60
while kill -0 "$SENDER" 2>/dev/null; do sleep 0.1; done
check "ingest went on: the third load is stored" test "$(store_last)" -ge "$((BASE + 3000))"
ch_start 1
check "replica 1 starts again on its data" ch_up 1
check "the sink catches up: nothing lost, nothing doubled, on both" wait_for 90 delivered
echo "    replica 1: $(rows 1)   replica 2: $(rows 2)"

# ---- ZooKeeper stopped for a while ----
BASE=$(store_last)
zk_stop
"$TRAIL_BIN/trail" loadgen -n 1000 -s 8 -d 10 >"$WORK/load4.ndjson"
http_post "$URL/v1/events" "$WORK/load4.ndjson" application/x-ndjson >/dev/null
check_eq "ingest goes on while ZooKeeper is down" "$(cat "$WORK/http.code")" 200
check "the sink fails while ZooKeeper is down" wait_metric "$URL" \
    'trail_sink_up\{sink="ch",type="clickhouse"\} 0' 60
check "the sink lags while ZooKeeper is down" test "$(cursor)" -lt "$(store_last)"
"$TRAIL_BIN/trail" sinks --store "$WORK/store" >"$WORK/sinks.txt"
check_grep "trail sinks shows why: the replicated table is read-only" '^ch .*(readonly|ZooKeeper|Coordination)' \
    "$WORK/sinks.txt"
zk_start
check "ZooKeeper starts again on its data" zk_wait
check "the sink catches up once ZooKeeper is back" wait_for 120 delivered
echo "    replica 1: $(rows 1)   replica 2: $(rows 2)"

# ---- a retried batch is not doubled ----
# the sink's own layer: its cursor rewound to 0 sends nothing twice
stop_traild
sed -i 's/^seq .*/seq 0/' "$WORK/store/sinks/ch.cursor"
start_traild "$CONF" "$WORK/traild2.log" || exit 1
check "the rewound sink catches up" wait_for 90 delivered
check_grep "the sink said it skipped rows already there" 'rows of the batch were already in audit.events' \
    "$WORK/traild2.log"
echo "    replica 1: $(rows 1)   replica 2: $(rows 2)"
# ClickHouse's layer: an identical block inserted again is kept once, on either replica
python3 - >"$WORK/retry.ndjson" <<'PY'
import json
for i in range(1, 51):
    print(json.dumps({"time": 1790000000 + i, "time_us": (1790000000 + i) * 1000000,
                      "event_id": "retry_test", "severity": 3, "uuid": "retry-%04d" % i,
                      "store_id": "retry-test", "seq": i}))
PY
INSERT='INSERT INTO audit.events FORMAT JSONEachRow'
for n in 1 1 2; do
    curl -s -o "$WORK/ins.out" -w '%{http_code}' --data-binary @"$WORK/retry.ndjson" \
        "$(ch_url $n)?insert_distributed_sync=1&query=$(printf %s "$INSERT" | sed 's/ /%20/g')" \
        >"$WORK/ins.code"
    check_eq "the block inserted through replica $n" "$(cat "$WORK/ins.code")" 200
done
retried_once() { # N
    [ "$(chq "$1" "SELECT count(), uniqExact(uuid) FROM audit.events_local WHERE store_id = 'retry-test' FORMAT CSV")" = "50,50" ]
}
check "replica 1 holds the thrice-inserted block once" wait_for 30 retried_once 1
check "replica 2 holds the thrice-inserted block once" wait_for 30 retried_once 2

stop_traild
finish
