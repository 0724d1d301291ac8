# clickhouse_cluster.bash - a replicated ClickHouse cluster on loopback for the
# cluster tests: one shard of two replicas (two clickhouse-server 18.16, each
# with its own config, data directory and ports) and one ZooKeeper (Debian's
# zookeeper jars run directly with java and a zoo.cfg of the test's own, not
# the system service). Sourced after daemon_common.bash, not run (ctest runs
# *.sh only); everything lives under $WORK and is killed at exit with the rest
# of EXTRA_PIDS.
#
#   source "$(dirname "$0")/clickhouse_cluster.bash"
#   cluster_start             # ZooKeeper and both replicas, in parallel; 0 when all answer
#   chq N SQL                 # a query on replica N (1 or 2), the answer on stdout
#   ch_kill N / ch_start N    # kill -9 a replica / start it again on the same data
#   zk_stop / zk_start        # ZooKeeper down (SIGKILL) and back on the same data
#
# The configuration is the one docs/clickhouse.md ("A cluster") shows: the
# cluster trail_cluster in remote_servers (internal_replication: the
# Replicated table copies, not the Distributed one), the macros {shard} and
# {replica}, the zookeeper section, and an interserver HTTP port per replica
# through which a replica fetches the parts the other wrote.

# shellcheck source=../../scripts/clickhouse-config.bash
source "$TRAIL_SOURCE_DIR/scripts/clickhouse-config.bash"
CLUSTER=$WORK/cluster
ZK_PORT=$(free_port)
CH_HTTP_1=$(free_port)
CH_TCP_1=$(free_port)
CH_IS_1=$(free_port)
CH_HTTP_2=$(free_port)
CH_TCP_2=$(free_port)
CH_IS_2=$(free_port)
ZK_PID=""
CH_PID_1=""
CH_PID_2=""

cluster_write_configs() {
    mkdir -p "$CLUSTER/zk/data"
    # a short tick: sessions of a killed client expire in seconds, not half a minute
    cat >"$CLUSTER/zk/zoo.cfg" <<EOF
tickTime=500
minSessionTimeout=2000
maxSessionTimeout=10000
dataDir=$CLUSTER/zk/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr
EOF
    local n
    for n in 1 2; do
        local d=$CLUSTER/ch$n http tcp is
        http=CH_HTTP_$n tcp=CH_TCP_$n is=CH_IS_$n
        # insert_distributed_sync: an INSERT into the Distributed table answers once the
        # shard has the rows (docs/clickhouse.md); in_order: both the sink's INSERTs and
        # its "which rows are there" question go to the first replica that is up
        clickhouse_write_config "$d" "${!http}" "${!tcp}" "\
  <interserver_http_port>${!is}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <remote_servers>
    <trail_cluster>
      <shard>
        <internal_replication>true</internal_replication>
        <replica><host>127.0.0.1</host><port>$CH_TCP_1</port></replica>
        <replica><host>127.0.0.1</host><port>$CH_TCP_2</port></replica>
      </shard>
    </trail_cluster>
  </remote_servers>
  <macros><shard>01</shard><replica>r$n</replica></macros>
  <zookeeper>
    <node><host>127.0.0.1</host><port>$ZK_PORT</port></node>
    <session_timeout_ms>6000</session_timeout_ms>
  </zookeeper>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>" \
            "<insert_distributed_sync>1</insert_distributed_sync><load_balancing>in_order</load_balancing>"
    done
}

# zk_ruok: ZooKeeper serves sessions. "ruok" answers imok as soon as the
# process listens, before it takes sessions; "srvr" names its mode only once
# it serves ("not currently serving requests" before).
zk_ruok() {
    local r
    exec 3<>"/dev/tcp/127.0.0.1/$ZK_PORT" || return 1
    printf srvr >&3
    r=$(timeout 5 cat <&3)
    exec 3<&-
    [[ "$r" == *"Mode: standalone"* ]]
}

# zk_start: ZooKeeper in the foreground of its own java, a small heap, the quick JIT
zk_start() {
    # servers keep the real clock at a moved one (tests/at_time.sh): only trail moves
    env -u LD_PRELOAD -u FAKETIME -u FAKETIME_SHARED -u FAKETIME_DONT_FAKE_MONOTONIC \
        java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dzookeeper.jmx.log4j.disable=true \
        -cp /usr/share/java/zookeeper.jar org.apache.zookeeper.server.ZooKeeperServerMain \
        "$CLUSTER/zk/zoo.cfg" >>"$CLUSTER/zk/out.log" 2>&1 &
    ZK_PID=$!
    EXTRA_PIDS="$EXTRA_PIDS $ZK_PID"
}

zk_wait() {
    local deadline=$((SECONDS + ${1:-120}))
    until zk_ruok 2>/dev/null; do
        if ! kill -0 "$ZK_PID" 2>/dev/null; then
            echo "ZooKeeper exited:"
            tail -20 "$CLUSTER/zk/out.log"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "ZooKeeper did not answer ruok in time"
            return 1
        fi
        sleep 0.1
    done
}

zk_stop() {
    kill -9 "$ZK_PID" 2>/dev/null
    wait "$ZK_PID" 2>/dev/null # this one child only, and quiet about its kill
}

ch_start() { # N
    local pid
    env -u LD_PRELOAD -u FAKETIME -u FAKETIME_SHARED -u FAKETIME_DONT_FAKE_MONOTONIC \
        clickhouse-server --config-file="$CLUSTER/ch$1/config.xml" >>"$CLUSTER/ch$1/stdout.log" 2>&1 &
    pid=$!
    EXTRA_PIDS="$EXTRA_PIDS $pid"
    eval "CH_PID_$1=$pid"
}

ch_url() { # N
    local v=CH_HTTP_$1
    echo "http://127.0.0.1:${!v}/"
}

ch_wait() { # N [SECONDS]
    local deadline=$((SECONDS + ${2:-120})) v=CH_PID_$1
    until [ "$(curl -s "$(ch_url "$1")ping")" = "Ok." ]; do
        if ! kill -0 "${!v}" 2>/dev/null; then
            echo "clickhouse-server $1 exited:"
            tail -20 "$CLUSTER/ch$1/stdout.log" "$CLUSTER/ch$1/server.err.log" 2>/dev/null
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "clickhouse-server $1 did not answer /ping in time"
            return 1
        fi
        sleep 0.1
    done
}

ch_kill() { # N
    local v=CH_PID_$1
    kill -9 "${!v}" 2>/dev/null
    wait "${!v}" 2>/dev/null # this one child only, and quiet about its kill
}

chq() { # N SQL
    curl -s --data-binary "$2" "$(ch_url "$1")"
}

# cluster_start: ZooKeeper first (clickhouse-server 18.16's DDL worker dies of a NULL
# session when its first connection to ZooKeeper fails), then both replicas at once;
# fails when clickhouse-server, java or the zookeeper jars are missing
cluster_start() {
    if ! command -v clickhouse-server >/dev/null || ! command -v java >/dev/null ||
        [ ! -r /usr/share/java/zookeeper.jar ]; then
        echo "clickhouse-server, java or zookeeper missing (scripts/install-deps.sh test)"
        return 1
    fi
    cluster_write_configs
    zk_start
    zk_wait || return 1
    ch_start 1
    ch_start 2
    ch_up 1 && ch_up 2
}

# ch_zk N: replica N has a ZooKeeper session (it reads system.zookeeper), or
# it died trying (the crash comes after /ping answers)
ch_zk() { # N
    local deadline=$((SECONDS + 60)) v=CH_PID_$1
    until [[ "$(chq "$1" "SELECT count() > 0 FROM system.zookeeper WHERE path = '/'")" == 1* ]]; do
        kill -0 "${!v}" 2>/dev/null || return 1
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# ch_up N: wait for replica N; if it died at start (18.16's DDL worker crashes
# when its first ZooKeeper session fails, as it can on a loaded machine even
# after ZooKeeper answered), start it again on its data, twice at most
ch_up() { # N
    local v=CH_PID_$1 try
    for try in 1 2 3; do
        ch_wait "$1" && ch_zk "$1" && return 0
        kill -0 "${!v}" 2>/dev/null && return 1 # alive but silent: no retry helps
        echo "clickhouse-server $1 died at start (try $try); starting it again"
        ch_start "$1"
    done
    return 1
}
