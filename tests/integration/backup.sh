#!/usr/bin/env bash
# backup.sh - `trail backup` while traild writes (trail loadgen --rate): the
# copy opens and verifies against the signing key and against a checkpoint
# taken before the backup; restored as docs/operations.md says (a plain copy
# put in place), a traild runs on it, it still verifies against that
# checkpoint, and it accepts new events after the copied ones.
source "$(dirname "$0")/daemon_common.bash"

TRAIL=$TRAIL_BIN/trail
# quiet COMMAND...: its output only when it fails
quiet() { "$@" >"$WORK/quiet.out" 2>&1 || { cat "$WORK/quiet.out"; return 1; }; }
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
"$TRAIL" keygen --out "$WORK/key" >/dev/null
conf() { # conf STORE PORT
    cat <<EOC
[store]
path = $1
signing_key = $WORK/key.key
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$2
syslog_udp = off
syslog_tcp = off
EOC
}
conf "$WORK/store" "$HPORT" >"$WORK/a.conf"
start_traild "$WORK/a.conf" "$WORK/a.log" || exit 1

# a checkpoint kept elsewhere before the backup, as a witness would keep it
check "300 events stored" quiet "$TRAIL" loadgen -n 300 --seed 1 --url "$URL"
check "a checkpoint covers them" tick_until_checkpoint "$URL" 300
check "/metrics: the latest checkpoint's size (for alerts)" \
    wait_metric "$URL" '^trail_checkpoint_size ([3-9][0-9]{2}|[0-9]{4,})$'
check "/metrics: the latest checkpoint's time" wait_metric "$URL" '^trail_checkpoint_time_seconds [0-9]{10}\.[0-9]{6}$'
"$TRAIL" checkpoint --store "$WORK/store" >"$WORK/before.cp"
check "the checkpoint before the backup" grep -q '^trail-checkpoint/[0-9]* ' "$WORK/before.cp"

# load while the backup runs: paced, so that the copy races the writes
"$TRAIL" loadgen -n 1000000 --seed 2 --rate 400 --duration 60 --url "$URL" >/dev/null 2>&1 &
LOAD=$!
EXTRA_PIDS="$EXTRA_PIDS $LOAD"
check "the load is being written" wait_metric "$URL" '^trail_events_in_total[^ ]* ([4-9][0-9]{2}|[0-9]{4,})$' 30
"$TRAIL" backup --store "$WORK/store" --to "$WORK/bk" --pubkey "$WORK/key.pub" >"$WORK/bk.out" 2>&1
check_eq "trail backup under load: exit 0" "$?" 0
check_grep "it says what it covered" '^backup .*/bk: records 1\.\.[0-9]+ ' "$WORK/bk.out"
check "the load went on after the backup" wait_metric "$URL" '^trail_events_in_total[^ ]* ([0-9]{4,})$' 30
kill "$LOAD" 2>/dev/null
"$TRAIL" backup --store "$WORK/store" --to "$WORK/bk" >"$WORK/again.out" 2>&1
check_eq "an existing backup directory is refused: exit 1" "$?" 1
last=$(sed -n 's/^backup .*: records 1\.\.\([0-9]*\) .*/\1/p' "$WORK/bk.out")
check "the copy holds more than the 300 before it" test "${last:-0}" -gt 300
check "no query index is copied" test -z "$(ls "$WORK/bk" | grep '\.idx$')"
check "the copy verifies against the checkpoint taken before it" quiet "$TRAIL" verify \
    --store "$WORK/bk" --pubkey "$WORK/key.pub" --checkpoint "$WORK/before.cp" \
    --allow-unsigned-tail 1000000000
stop_traild

# restore: a copy of the backup in place of a store, and traild on it
cp -a "$WORK/bk" "$WORK/restored"
HPORT2=$(free_port)
URL2=http://127.0.0.1:$HPORT2
conf "$WORK/restored" "$HPORT2" >"$WORK/b.conf"
start_traild "$WORK/b.conf" "$WORK/b.log" || exit 1
seq=$("$TRAIL" emit core_server_schedule_done job=after-restore --url "$URL2" 2>"$WORK/emit.err")
# (traild records its own start first: the new event comes after that)
check "the restored store takes new events after the copied ones" test "${seq:-0}" -gt "$last"
check "a checkpoint covers the new event" tick_until_checkpoint "$URL2" "${seq:-1}"
check "the restored store verifies against the checkpoint taken before the backup" quiet \
    "$TRAIL" verify --store "$WORK/restored" --pubkey "$WORK/key.pub" \
    --checkpoint "$WORK/before.cp" --allow-unsigned-tail 1000000000
stop_traild
check "and with every record signed once traild stopped" quiet \
    "$TRAIL" verify --store "$WORK/restored" --pubkey "$WORK/key.pub" --checkpoint "$WORK/before.cp"
finish
