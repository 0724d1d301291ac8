#!/usr/bin/env bash
# cli_events.sh - `trail events` end to end: its output against the seed file
# (counts and content, computed here with awk), --match, --severity, the four
# formats, --help, and bad input answered with exit status 2 and a message
# naming the bad part.
#
# Not here: the catalog's schemas and the severity grammar in depth
# (tests/unit/test_catalog.c).
set -u

trail="${TRAIL_BIN:?TRAIL_BIN is not set}/trail"
src="${TRAIL_SOURCE_DIR:?TRAIL_SOURCE_DIR is not set}"
seed="$src/catalog/seed/000_00862af2300d4423.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "     $l"; done; }

# expect_eq NAME GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}

# The seed as "id<TAB>number<TAB>name<TAB>description", in C (strcmp) order.
seed_tsv() {
    awk -F' [|] ' '/^\| / && !/^\| Log id/ {
        id = substr($1, 3); desc = $2; sev = $3; sub(/ \|[ \r]*$/, "", sev)
        split(sev, s, " "); printf "%s\t%s\t%s\t%s\n", id, s[1], s[2], desc
    }' "$seed" | LC_ALL=C sort
}
seed_tsv >"$tmp/seed.tsv"
seed_rows=$(wc -l <"$tmp/seed.tsv")
expect_eq "the seed has 214 rows" "$seed_rows" 214

# seed_count AWK-CONDITION-ON-$2: rows of the seed whose severity number passes it
seed_count() { awk -F'\t' "$1" "$tmp/seed.tsv" | wc -l; }

# ---- everything, as TSV, is the seed ----
"$trail" events --format tsv >"$tmp/all.tsv"
expect_eq "tsv: exit status 0" "$?" 0
if cmp -s "$tmp/all.tsv" "$tmp/seed.tsv"; then
    ok "tsv: id, number, name, description of every event equal the seed's"
else
    not_ok "tsv: id, number, name, description of every event equal the seed's" \
        "$(diff "$tmp/seed.tsv" "$tmp/all.tsv" | head -5)"
fi

# ---- severity filters, counted against the seed ----
got=$("$trail" events --severity '>=WARNING' --format tsv | wc -l)
expect_eq "--severity '>=WARNING': as many lines as seed rows with severity >= 6" \
    "$got" "$(seed_count '$2 >= 6')"
[ "$got" -gt 0 ] && [ "$got" -lt "$seed_rows" ] && ok ">=WARNING is a proper subset" ||
    not_ok ">=WARNING is a proper subset" "$got lines"
got=$("$trail" events --severity '>=WARNING' --format tsv | awk -F'\t' '$2 < 6' | wc -l)
expect_eq "--severity '>=WARNING': no line below 6" "$got" 0
expect_eq "--severity '>=6' is '>=WARNING'" \
    "$("$trail" events -s '>=6' -f tsv | md5sum)" \
    "$("$trail" events --severity '>=WARNING' --format tsv | md5sum)"
expect_eq "--severity '>WARNING'" "$("$trail" events --severity '>WARNING' --format tsv | wc -l)" \
    "$(seed_count '$2 > 6')"
expect_eq "--severity '<NOTICE'" "$("$trail" events --severity '<NOTICE' --format tsv | wc -l)" \
    "$(seed_count '$2 < 4')"
expect_eq "--severity '<=ERROR'" "$("$trail" events --severity '<=ERROR' --format tsv | wc -l)" \
    "$(seed_count '$2 <= 7')"
expect_eq "--severity NOTICE..ERROR" \
    "$("$trail" events --severity NOTICE..ERROR --format tsv | wc -l)" \
    "$(seed_count '$2 >= 4 && $2 <= 7')"
expect_eq "--severity 8..10" "$("$trail" events --severity 8..10 --format tsv | wc -l)" \
    "$(seed_count '$2 >= 8')"
expect_eq "--severity WARNING is exactly 6" \
    "$("$trail" events --severity WARning --format tsv | cut -f2 | sort -u)" 6
expect_eq "--severity=EMERGENCY lists the two EMERGENCY events" \
    "$("$trail" events --severity=EMERGENCY --format tsv | cut -f1 | tr '\n' ' ')" \
    "core_server_license_expired core_server_run_startfailed "

# ---- --match ----
expect_eq "--match 'auth_entrypoints_saml_*' lists the seed's SAML entrypoint events" \
    "$("$trail" events --match 'auth_entrypoints_saml_*' --format tsv | cut -f1)" \
    "$(grep '^auth_entrypoints_saml_' "$tmp/seed.tsv" | cut -f1)"
expect_eq "--match twice lists events matching either" \
    "$("$trail" events -m '*bankid*' --match '*freja*' -f tsv | wc -l)" \
    "$(cut -f1 "$tmp/seed.tsv" | grep -c -e bankid -e freja)"
expect_eq "--match with ? and a class" \
    "$("$trail" events --match 'core_[bf]*_fail?d' --format tsv | cut -f1 | tr '\n' ' ')" \
    "core_bankid_failed core_freja_failed "
expect_eq "--match an exact id" \
    "$("$trail" events --match core_server_events_purged --format tsv)" \
    "$(grep '^core_server_events_purged	' "$tmp/seed.tsv")"
expect_eq "--match and --severity together" \
    "$("$trail" events --match 'pipes_*' --severity '>=WARNING' -f tsv | wc -l)" \
    "$(awk -F'\t' '$1 ~ /^pipes_/ && $2 >= 6' "$tmp/seed.tsv" | wc -l)"
out=$("$trail" events --match 'nothing_like_this*' 2>&1)
expect_eq "no match: exit status 1" "$?" 1
expect_eq "no match: no output" "$out" ""
expect_eq "no match, json: []" "$("$trail" events --match 'nothing*' --format json)" "[]"

# ---- table ----
"$trail" events >"$tmp/table.txt"
expect_eq "table: a header and one line per event" "$(wc -l <"$tmp/table.txt")" $((seed_rows + 1))
bad=$(awk 'NR == 1 { p = index($0, "SEVERITY"); d = index($0, "DESCRIPTION"); next }
    substr($0, p - 2, 3) !~ /^  [0-9]$/ || substr($0, d - 2, 2) != "  " ||
    substr($0, d, 1) == " " { print NR": "$0 }' "$tmp/table.txt" | head -3)
expect_eq "table: columns aligned" "$bad" ""
expect_eq "table: header" "$(head -1 "$tmp/table.txt" | tr -s ' ')" "ID SEVERITY DESCRIPTION"
grep -q '^auth_entrypoints_oidc_token_success  *3 INFO  *An OIDC / OAuth token endpoint fetch has succeded$' \
    "$tmp/table.txt" && ok "table: a row verbatim" || not_ok "table: a row verbatim"

# ---- markdown ----
"$trail" events --format markdown >"$tmp/events.md"
expect_eq "markdown: header, rule and one row per event" "$(wc -l <"$tmp/events.md")" $((seed_rows + 2))
expect_eq "markdown: header" "$(head -2 "$tmp/events.md" | tr '\n' ' ')" \
    "| Event id | Severity | Description | |---|---|---| "
grep -qF '| `store_server_config_reloadfailed` | 9 ALERT | An event that signals the server configuration has failed to reload. |' \
    "$tmp/events.md" && ok "markdown: a row" || not_ok "markdown: a row"

# ---- json ----
"$trail" events --format json >"$tmp/events.json"
expect_eq "json: exit status 0" "$?" 0
if command -v python3 >/dev/null; then
    py_out=$(python3 - "$tmp/events.json" "$tmp/seed.tsv" <<'EOF'
import json, sys
events = json.load(open(sys.argv[1]))
seed = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
problems = []
if [e["id"] for e in events] != [s[0] for s in seed]:
    problems.append("ids differ from the seed")
for e, s in zip(events, seed):
    if (str(e["severity"]), e["severity_name"], e["description"]) != (s[1], s[2], s[3]):
        problems.append("%s: severity or description differs" % e["id"])
    if e["custom"] is not False:
        problems.append("%s: custom is not false" % e["id"])
    keys = [a["key"] for a in e["attrs"]]
    if keys != sorted(keys) or len(set(keys)) != len(keys):
        problems.append("%s: attrs not sorted and unique" % e["id"])
    for a in e["attrs"]:
        if set(a) - {"key", "type", "required", "indexed", "enum", "doc"} or \
           not {"key", "type", "required", "indexed"} <= set(a):
            problems.append("%s.%s: unexpected fields %s" % (e["id"], a["key"], sorted(a)))
        if (a["type"] == "enum") != ("enum" in a):
            problems.append("%s.%s: enum values and type disagree" % (e["id"], a["key"]))
by_id = {e["id"]: e for e in events}
t = {a["key"]: a for a in by_id["auth_entrypoints_saml_auth_started"]["attrs"]}
if t["phxEntrypointType"]["enum"] != ["OIDC", "SAML", "Internal", "Relay", "Unknown"]:
    problems.append("phxEntrypointType enum values")
if t["src"]["type"] != "ip" or not t["src"]["indexed"] or t["src"]["required"]:
    problems.append("src of saml_auth_started")
if not t["phxTraceId"]["required"]:
    problems.append("phxTraceId of saml_auth_started is not required")
if "wrong" not in by_id["auth_entrypoints_relay_incorrectotp"].get("note", ""):
    problems.append("relay_incorrectotp has no note")
p = {a["key"]: a["type"] for a in by_id["core_server_events_purged"]["attrs"]}
for k, ty in [("purged_from_seq", "int"), ("purged_to_seq", "int"), ("segments", "int"),
              ("bytes", "int"), ("anchor", "string"), ("msg", "string")]:
    if p.get(k) != ty:
        problems.append("core_server_events_purged.%s is not %s" % (k, ty))
print("\n".join(problems[:10]))
EOF
)
    expect_eq "json: the seed's events with their schemas" "$py_out" ""
else
    grep -q '"severity_name": "ALERT"' "$tmp/events.json" && ok "json: has severity names" ||
        not_ok "json: has severity names"
fi

# ---- help ----
"$trail" events --help >"$tmp/help.txt"
expect_eq "--help: exit status 0" "$?" 0
for word in SYNOPSIS --match --severity --format '>=LEVEL' 'EXIT STATUS' EXAMPLES; do
    grep -qF -- "$word" "$tmp/help.txt" && ok "--help mentions $word" || not_ok "--help mentions $word"
done

# ---- bad input: exit 2, a message naming the bad part ----
# expect_usage NAME NEEDLE ARGS...: exit 2, nothing on stdout, NEEDLE on stderr
expect_usage() {
    local name=$1 needle=$2
    shift 2
    "$trail" events "$@" >"$tmp/out" 2>"$tmp/err"
    local st=$?
    if [ "$st" = 2 ] && [ ! -s "$tmp/out" ] && grep -qF -- "$needle" "$tmp/err"; then
        ok "$name"
    else
        not_ok "$name" "status $st, stdout $(head -c 80 "$tmp/out"), stderr: $(cat "$tmp/err")"
    fi
}
expect_usage "bad severity name" "'>=LOUD'" --severity '>=LOUD'
expect_usage "unassigned severity 5" "'5'" --severity 5
expect_usage "empty severity range" "'ERROR..NOTICE'" --severity ERROR..NOTICE
expect_usage "severity above the top" "'>EMERGENCY'" --severity '>EMERGENCY'
expect_usage "bad format" "'xml'" --format xml
expect_usage "unclosed [ in glob" "'auth_[a-z'" --match 'auth_[a-z'
expect_usage "trailing backslash in glob" "'auth_\\'" --match 'auth_\'
expect_usage "empty glob" "--match" --match ''
expect_usage "unknown option" "'--frobnicate'" --frobnicate
expect_usage "missing value" "--severity" --severity
expect_usage "positional argument" "'saml'" saml

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
