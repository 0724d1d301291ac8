# clickhouse-config.bash - the configuration of a private clickhouse-server
# (Debian's 18.16) for trail's tests and benchmarks, written once here and
# sourced by tests/integration/clickhouse_single.bash, clickhouse_cluster.bash
# and bench/lib.sh. The server listens on 127.0.0.1 only and keeps its data,
# logs and temporary files under its own directory.
#
#   clickhouse_write_config DIR HTTP_PORT TCP_PORT [SERVER_XML [PROFILE_XML]]
#
# writes DIR/config.xml and DIR/users.xml and makes DIR's data directories.
# SERVER_XML is added inside <yandex> of config.xml (a cluster's
# remote_servers, macros, zookeeper and interserver port), PROFILE_XML
# inside the default profile of users.xml. CH_CACHE_BYTES (mark and
# uncompressed caches, default 64 MiB) and CH_MEMORY_BYTES (a query's
# memory limit, default 2 GB) size it.

clickhouse_write_config() {
    local d=$1 http=$2 tcp=$3 server=${4:-} profile=${5:-}
    local cache=${CH_CACHE_BYTES:-67108864} memory=${CH_MEMORY_BYTES:-2000000000}
    mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas"
    cat >"$d/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$d/server.log</log><errorlog>$d/server.err.log</errorlog>
    <size>10M</size><count>1</count></logger>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$d/data/</path>
  <tmp_path>$d/tmp/</tmp_path>
  <user_files_path>$d/user_files/</user_files_path>
  <format_schema_path>$d/format_schemas/</format_schema_path>
  <users_config>$d/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>$cache</mark_cache_size>
  <uncompressed_cache_size>$cache</uncompressed_cache_size>
  <max_concurrent_queries>20</max_concurrent_queries>
$server
</yandex>
XML
    cat >"$d/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>$memory</max_memory_usage>$profile</default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
XML
}
