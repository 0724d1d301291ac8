#!/usr/bin/env bash
# package.sh - the Debian packages as an operator meets them: build them with
# dpkg-buildpackage (scripts/build-deb.sh, from a copy of this tree), install
# them with dpkg -i, start traild exactly as traild.service's ExecStart would
# (as the unit's User, with its umask, no new privileges, NOTIFY_SOCKET and
# JOURNAL_STREAM as systemd passes them, the installed configuration), send
# events with logger and curl, read them back with the installed trail,
# take the live backup docs/operations.md shows and verify it, verify the
# store against the key the package made, then remove and purge and check
# what is left (docs/operations.md, "Install").
#
# What needs a running systemd is checked another way: the unit with
# systemd-analyze verify and security --offline; its seccomp filter, address
# families and MemoryDenyWriteExecute against what traild did under strace
# (unit_sandbox_check.py); the mount namespaces (ProtectSystem=strict and
# the rest) and the watchdog's restart not at all.
#
# Runs as root only (dpkg -i); the machine must not have trail installed nor
# /etc/trail or /var/lib/trail: the test installs and purges the packages
# and would destroy them. lintian is run by make deb, not here (a minute).
source "$(dirname "$0")/daemon_common.bash"

if [ "$(id -u)" != 0 ]; then
    skip_test "installing packages needs root"
fi
refuse() {
    echo "FAIL $1"
    echo "$PASSED passed, $((FAILED + 1)) failed"
    exit 1
}
# one package test at a time on this machine (the packages are the machine's)
exec 9>/var/lock/trail-package-test.lock
flock -w 1200 9 || refuse "another package test holds /var/lock/trail-package-test.lock"
for p in trail libtrail0 libtrail-dev; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed"; then
        refuse "package $p is installed on this machine; this test would purge it"
    fi
done
for d in /etc/trail /var/lib/trail; do
    [ -e "$d" ] && refuse "$d exists on this machine; this test would remove it on purge"
done

# quiet CMD...: run CMD, show its output only when it fails (for check)
quiet() {
    "$@" >"$WORK/quiet.log" 2>&1 || { sed 's/^/    /' "$WORK/quiet.log"; return 1; }
}

INSTALLED=0
package_cleanup() {
    if [ -n "$TRAILD_PID" ] && kill -0 "$TRAILD_PID" 2>/dev/null; then
        kill -9 "$TRAILD_PID" 2>/dev/null
    fi
    if [ "$INSTALLED" = 1 ]; then
        dpkg --purge trail libtrail-dev libtrail0 >"$WORK/purge-at-exit.log" 2>&1 ||
            { echo "dpkg --purge at exit failed:"; cat "$WORK/purge-at-exit.log"; }
    fi
    cleanup
}
trap package_cleanup EXIT

# ---- build ----
start=$SECONDS
if ! DEB_BUILD_OPTIONS="noautodbgsym nocheck" LINTIAN=0 nice \
    "$TRAIL_SOURCE_DIR/scripts/build-deb.sh" "$WORK/deb" >"$WORK/build-deb.out" 2>&1; then
    cat "$WORK/build-deb.out"
    refuse "scripts/build-deb.sh failed"
fi
echo "built in $((SECONDS - start)) s"
rm -rf "$WORK/deb/src"
debs=("$WORK"/deb/trail_*.deb "$WORK"/deb/libtrail0_*.deb "$WORK"/deb/libtrail-dev_*.deb)
check_eq "three packages built" "$(ls "${debs[@]}" 2>/dev/null | wc -l)" 3

# ---- install ----
INSTALLED=1
check "dpkg -i" quiet dpkg -i "${debs[@]}"
check "the trail user: a system user without a login" \
    test "$(getent passwd trail | cut -d: -f3)" -lt 1000 -a "$(getent passwd trail | cut -d: -f7)" = /usr/sbin/nologin
check_eq "/var/lib/trail: the trail user's, 0750" "$(stat -c '%U:%G %a' /var/lib/trail)" "trail:trail 750"
check_grep "/etc/trail/trail.conf is a conffile" '/etc/trail/trail.conf [0-9a-f]{32}' \
    <(dpkg-query -W -f='${Conffiles}\n' trail)
check_eq "the signing key: root:trail 0640" "$(stat -c '%U:%G %a' /etc/trail/trail.key)" "root:trail 640"
check "the public key" test -s /etc/trail/trail.pub
unit=/lib/systemd/system/traild.service
check "the unit is installed" test -f "$unit"
check "systemd-analyze verify traild.service" quiet systemd-analyze verify "$unit"
systemd-analyze security --offline=yes "$unit" >"$WORK/security.txt" 2>&1
tail -1 "$WORK/security.txt"
check "systemd-analyze security: exposure 2.0 or less (docs/operations.md)" \
    quiet systemd-analyze security --offline=yes --threshold=20 "$unit"
check "the installed configuration is good for the trail user (traild -t)" \
    quiet runuser -u trail -- /usr/sbin/traild -c /etc/trail/trail.conf -t
check_grep "every listener of the default configuration is on loopback" \
    '^http = 127\.0\.0\.1:8080$' /etc/trail/trail.conf
check_eq "no listener elsewhere" \
    "$(grep -E '^(http|syslog_udp|syslog_tcp|syslog_tls|cef_tcp) = ' /etc/trail/trail.conf |
        grep -vcE '= (127\.0\.0\.1:[0-9]+|off)$')" 0

# libtrail-dev: a program built with pkg-config runs on libtrail.so.0
cat >"$WORK/app.c" <<'EOF2'
#include <stdio.h>
#include <trail.h>
int main(void)
{
    struct trail_catalog *cat;
    struct trail_event *ev;
    if (trail_catalog_new(&cat) < 0 || trail_event_new(cat, "auth_logout_local", &ev) < 0)
        return 1;
    puts(trail_event_id(ev));
    trail_event_free(ev);
    trail_catalog_free(cat);
    return 0;
}
EOF2
# shellcheck disable=SC2046
check "libtrail-dev: cc app.c \$(pkg-config --cflags --libs trail)" \
    quiet cc -o "$WORK/app" "$WORK/app.c" $(pkg-config --cflags --libs trail)
check_eq "libtrail0: the program runs" "$("$WORK/app")" auth_logout_local
check_grep "libtrail0: it uses libtrail.so.0" "libtrail\.so\.0 => /(usr/)?lib/.*/libtrail\.so\.0 " <(ldd "$WORK/app")

# ---- start as the unit does ----
# the operator moves the listeners to ports of this test's own (the tests run
# side by side; 8080 and 5514 are doc_examples'), has checkpoints signed
# every second rather than every minute (for the backup below) and turns the
# package's rule pack on (its thread runs under the sandbox check too)
hp=$(free_port)
sp=$(free_port)
sed -i -e "s/^http = 127.0.0.1:8080$/http = 127.0.0.1:$hp/" \
    -e "s/^syslog_udp = 127.0.0.1:5514$/syslog_udp = 127.0.0.1:$sp/" \
    -e "s/^syslog_tcp = 127.0.0.1:5514$/syslog_tcp = 127.0.0.1:$sp/" \
    -e "s/^checkpoint_interval_s = 60$/checkpoint_interval_s = 1/" \
    -e 's/^#\[detect\]$/[detect]/' -e 's|^#rules = /usr/share/trail/rules$|rules = /usr/share/trail/rules|' \
    /etc/trail/trail.conf
check_eq "the listeners and the checkpoint interval changed, the rule pack on" \
    "$(grep -cE "^((http|syslog_udp|syslog_tcp) = 127.0.0.1:($hp|$sp)|checkpoint_interval_s = 1|\[detect\]|rules = /usr/share/trail/rules)$" \
        /etc/trail/trail.conf)" 6

unit_key() { sed -n "s/^$1=//p" "$unit"; }
exec_start=$(unit_key ExecStart)
user=$(unit_key User)
group=$(unit_key Group)
umask_=$(unit_key UMask)
watchdog_s=$(unit_key WatchdogSec | sed 's/s$//')
check_eq "the unit's ExecStart" "$exec_start" "/usr/sbin/traild -c /etc/trail/trail.conf"
check_eq "the unit's User" "$user" trail
# the stand-in notification socket must be reachable by the trail user
chmod 0711 "$WORK"
mkdir -m 0755 "$WORK/run"
python3 "$(dirname "$0")/notify_listener.py" "$WORK/run/notify.sock" "$WORK/notify.log" 9>&- &
EXTRA_PIDS="$EXTRA_PIDS $!"
wait_for 30 test -S "$WORK/run/notify.sock"
log=$WORK/journal.log
: >"$log"
# under strace, to hold what traild does against the unit's sandbox afterwards
# (unit_sandbox_check.py): strace, then setpriv, then exec of ExecStart
# shellcheck disable=SC2086
(cd / && umask "$umask_" && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    NOTIFY_SOCKET="$WORK/run/notify.sock" WATCHDOG_USEC=$((watchdog_s * 1000000)) \
    JOURNAL_STREAM="$(stat -c '%d:%i' "$log")" \
    strace -f -qq -o "$WORK/strace.log" \
    setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs \
    --bounding-set=-all,+net_bind_service $exec_start) 2>>"$log" 9>&- &
strace_pid=$!
EXTRA_PIDS="$EXTRA_PIDS $strace_pid"
traild_pid() { TRAILD_PID=$(pgrep -P "$strace_pid" -x traild); [ -n "$TRAILD_PID" ]; }
wait_for 60 traild_pid
check "READY=1" wait_for 60 grep -q '^READY=1' "$WORK/notify.log" || cat "$log"
check_eq "traild runs as trail" "$(ps -o user= -p "$TRAILD_PID")" trail
check_grep "its log lines carry journal priorities" '^<6>started: traild' "$log"
check "the package's rule pack loads" wait_for 30 \
    grep -qE '^<6>detect: [1-9][0-9]* rules from /usr/share/trail/rules' "$log"

# ---- events in: syslog over TCP and UDP (logger), HTTP (curl) ----
sd() {
    logger --rfc5424 "$1" -n 127.0.0.1 -P "$sp" --sd-id trail@32473 --sd-param "duser=\"$2\"" \
        --sd-param 'phxEntrypointId="oidc1"' --sd-param 'phxEntrypointType="OIDC"' \
        --sd-param 'phxTraceId="#YFTp4LhpTqezu06B"' --msgid auth_entrypoints_oidc_logout logout
}
check "logger --tcp" sd --tcp alice
check "logger --udp" sd --udp bob
check_eq "curl POST /v1/events" "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    "http://127.0.0.1:$hp/v1/events" \
    -d '{"id":"prism_user_locked","attrs":{"duser":"carol","phxTraceId":"#j02rYpa2efav296d"}}')" 200

# ---- read back with the installed trail ----
sent=$(printf '%s\n' "auth_entrypoints_oidc_logout alice syslog_tcp" \
    "auth_entrypoints_oidc_logout bob syslog_udp" "prism_user_locked carol http" | sort)
# producer_events --url URL | --store DIR: "id duser input" of each event from outside, sorted
producer_events() {
    trail query "$@" --origin producer --limit 0 --format ndjson |
        jq -r '"\(.id) \(.attrs.duser) \(.input)"' | sort
}
got() {
    producer_events --url "http://127.0.0.1:$hp" >"$WORK/got.txt"
    [ "$(cat "$WORK/got.txt")" = "$sent" ]
}
check "trail query: the three events, from their inputs" wait_for 30 got || cat "$WORK/got.txt"

# ---- the live backup of docs/operations.md, as written there, while traild runs ----
# (a store with no signed checkpoint yet has nothing to verify a copy against)
signed() { [ "$(curl -s "http://127.0.0.1:$hp/v1/checkpoint" | jq -r '.tree_size // 0')" -ge 1 ]; }
check "a signed checkpoint" wait_for 30 signed
block=$(awk '/package.sh runs the next block/ {f = 1; next}
    f && /^```text$/ {on = 1; next} on && /^```$/ {exit} on' "$TRAIL_SOURCE_DIR/docs/operations.md")
check "docs/operations.md has the live backup block" test -n "$block"
mkdir "$WORK/backups"
check "the live backup (docs/operations.md, Backups) copies and verifies" \
    quiet bash -euc "${block//\/var\/backups\//$WORK/backups/}"
backup=$(ls -d "$WORK"/backups/trail-* 2>/dev/null | head -1)
check_eq "the backup holds the three events" "$(producer_events --store "${backup:-/nonexistent}")" "$sent"

# ---- reload (ExecReload: kill -HUP $MAINPID) and stop (SIGTERM) ----
check_eq "the unit's ExecReload" "$(unit_key ExecReload)" '/bin/kill -HUP $MAINPID'
kill -HUP "$TRAILD_PID"
check "reload: READY=1 | STATUS=configuration reloaded" wait_for 30 \
    grep -q '^READY=1 | STATUS=configuration reloaded' "$WORK/notify.log"
kill -TERM "$TRAILD_PID"
wait "$strace_pid" # strace exits with traild's status
check_eq "SIGTERM: exit 0" "$?" 0
TRAILD_PID=""
# the checker itself: a run that mounts, opens a netlink socket and maps W+X memory fails
printf '%s\n' '7 execve("/usr/sbin/traild", ["traild"], 0x0 /* 0 vars */) = 0' \
    '7 mount("none", "/mnt", "tmpfs", 0, NULL) = 0' '8 socket(AF_NETLINK, SOCK_RAW, 0) = 3' \
    '8 mmap(NULL, 4096, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0' \
    >"$WORK/strace-bad.log"
python3 "$(dirname "$0")/unit_sandbox_check.py" "$unit" "$WORK/strace-bad.log" /usr/sbin/traild \
    >"$WORK/sandbox-bad.txt"
check_eq "the sandbox check finds a mount, a netlink socket and W+X memory" \
    "$?:$(grep -cE '^(SystemCallFilter: mount |RestrictAddressFamilies: .*AF_NETLINK|MemoryDenyWriteExecute: .*mmap)' \
        "$WORK/sandbox-bad.txt")" "1:3"
check "what traild did stays inside the unit's SystemCallFilter, RestrictAddressFamilies, MemoryDenyWriteExecute" \
    python3 "$(dirname "$0")/unit_sandbox_check.py" "$unit" "$WORK/strace.log" /usr/sbin/traild
check_grep "SIGTERM: STOPPING=1" '^STOPPING=1' "$WORK/notify.log"
check_eq "the store's files are the trail user's, not world-readable (UMask)" \
    "$(find /var/lib/trail -type f \( ! -user trail -o -perm /o+r \) | wc -l)" 0
check "trail verify against the package's public key" \
    quiet runuser -u trail -- trail verify --store /var/lib/trail/store --pubkey /etc/trail/trail.pub

# ---- the same packages again, as an upgrade runs the maintainer scripts ----
key_sum=$(sha256sum </etc/trail/trail.key)
records=$(find /var/lib/trail/store -name 'seg-*' | sort | xargs cat | sha256sum)
check "dpkg -i again (postinst configure with the old version)" quiet dpkg -i "${debs[0]}"
check_eq "again: the signing key is kept" "$(sha256sum </etc/trail/trail.key)" "$key_sum"
check_grep "again: the edited configuration is kept" "^http = 127.0.0.1:$hp$" /etc/trail/trail.conf
check_eq "again: the store is untouched" "$(find /var/lib/trail/store -name 'seg-*' | sort | xargs cat | sha256sum)" \
    "$records"

# ---- remove keeps configuration and store; purge removes them ----
check "dpkg --remove" quiet dpkg --remove trail
check "remove: traild is gone" test ! -e /usr/sbin/traild
check "remove: the configuration, the key and the store stay" \
    test -f /etc/trail/trail.conf -a -f /etc/trail/trail.key -a -d /var/lib/trail/store
check "dpkg --purge" quiet dpkg --purge trail libtrail-dev libtrail0
INSTALLED=0
for gone in /etc/trail /var/lib/trail "$unit" /etc/systemd/system/multi-user.target.wants/traild.service \
    /usr/bin/trail /usr/include/trail.h; do
    check "purge: $gone is gone" test ! -e "$gone"
done
check_eq "purge: no package left" "$(dpkg-query -W -f='${db:Status-Abbrev}\n' trail libtrail0 libtrail-dev 2>/dev/null | grep -c '^.i')" 0
check "purge: the trail user stays (docs/operations.md)" quiet getent passwd trail
finish
