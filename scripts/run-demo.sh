#!/usr/bin/env bash
# run-demo.sh - what `make run` does after building: start traild on the
# embedded store under ./var with the web viewer on 127.0.0.1:8080 and syslog
# on 127.0.0.1:5514, fill it with a short demo workload, and say what to try.
# Where the daemon is not built, it fills a store under ./var/store with the
# library and the CLI instead, and shows what works.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TRAIL_BIN:-build}
VAR=${TRAIL_VAR:-var}
mkdir -p "$VAR"

if [ -x "$BIN/traild" ]; then
    exec scripts/run-daemon.sh
fi

echo "== the catalog: events of severity WARNING or worse (trail events)"
# sed reads it all: with pipefail, head would end the script by SIGPIPE
"$BIN/trail" events --severity '>=WARNING' | sed -n 1,12p
echo "   ... $("$BIN/trail" events --format tsv | wc -l) events in all"
echo
echo "== one event, validated against the catalog and encoded (trail emit)"
"$BIN/trail" emit auth_entrypoints_saml_auth_failed duser=alice src=203.0.113.7 \
    phxTraceId='#YFTp4LhpTqezu06B' phxEntrypointId=saml1 phxEntrypointType=SAML \
    reason='user cancelled' --format cef
"$BIN/trail" emit auth_entrypoints_saml_auth_failed duser=alice src=203.0.113.7 \
    phxTraceId='#YFTp4LhpTqezu06B' phxEntrypointId=saml1 phxEntrypointType=SAML \
    reason='user cancelled' --format json
echo
if "$BIN/trail" 2>&1 | grep -q '^  import'; then
    echo "== a store under $VAR/store, filled from the sample event.log (trail import)"
    rm -rf "$VAR/store"
    "$BIN/trail" import tests/data/pas-event.log --format cef --store "$VAR/store" || true
    "$BIN/trail" stats --store "$VAR/store" || true
fi
echo
echo "Try next:"
echo "  $BIN/trail events --match 'auth_authenticators_*' --format table"
echo "  $BIN/trail emit prism_user_locked duser=bob phxTraceId='#j02rYpa2efav296d' --format syslog"
echo "  $BIN/trail --help"
