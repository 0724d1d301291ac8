/*
 * own_events.c - the events trail itself writes: its lifecycle, reloads,
 * purges, refused requests and the events it could not store as sent. Every
 * catalog has them (trail_catalog_new), under ids of their own in the
 * reserved trail_ namespace, so that nobody can mistake trail speaking for
 * the identity server speaking: the server's core_server_run_* and
 * core_server_events_purged stay the server's.
 *
 * A record of one of these ids is trail's only when it also carries the mark
 * of trail's own records (trail_event_mark_own(), flag 0x02 in the record),
 * which no input can give; validation refuses these ids without it
 * (TRAIL_E_RESERVED). docs/events.md ("trail's own events") lists them.
 *
 * Not for: when traild writes them (daemon/), the purge itself
 * (store_purge.c).
 */
#include "event/event.h"

const struct own_event own_events[] = {
    {"trail_run_starting", "NOTICE",
     "trail's daemon is starting: the store is open, the inputs do not listen yet.",
     "msg:string, version:string, config:string"},
    {"trail_run_started", "NOTICE", "trail's daemon has started: every input listens.",
     "msg:string, version:string"},
    {"trail_run_startfailed", "EMERGENCY",
     "trail's daemon failed to start (an input could not listen, the store could not be "
     "opened, ...).",
     "msg:string, reason:string, version:string"},
    {"trail_run_stopped", "NOTICE",
     "trail's daemon has stopped: its inputs are stopped and drained, the store is about to "
     "close.",
     "msg:string, reason:string"},
    {"trail_config_reloaded", "NOTICE", "trail's daemon has reloaded its configuration.",
     "msg:string"},
    {"trail_config_reloadfailed", "ALERT",
     "trail's daemon failed to reload its configuration; the configuration in force stays.",
     "msg:string, reason:string"},
    {"trail_auth_failed", "WARNING",
     "A request to traild's HTTP API was refused: it carried no credentials, a token or "
     "client certificate traild does not know, or a role that does not allow the route.",
     "src:ip:indexed, suser:string:indexed, request:string, requestMethod:string, "
     "reason:string, outcome:enum(no_credentials|bad_token|bad_certificate|forbidden), "
     "status:int, suppressed:int, msg:string"},
    {"trail_events_purged", "NOTICE",
     "trail purged events from its store (retention); the anchor lets what remains still "
     "verify.",
     "purged_from_seq:int, purged_to_seq:int, segments:int, bytes:int, anchor:string, "
     "count:int, older_than:time, msg:string"},
    {"trail_event_rejected", "WARNING",
     "An input received something trail could not store as an event (unknown id under the "
     "policy, malformed frame, oversize, ...); the raw bytes are kept here.",
     "input:string:indexed, reason:string, raw:string, raw_bytes:int, suppressed:int, "
     "msg:string"},
    {"trail_store_tampered", "EMERGENCY",
     "A file of trail's store that traild held open (the segment being written, tree.roots, "
     "checkpoints, or the store directory) was removed or replaced: traild stopped "
     "acknowledging events. Written to a fresh file STORE/EMERGENCY-<time>.ndjson, since the "
     "store can no longer be trusted to keep it.",
     "msg:string, reason:string, durable_seq:int, store:string, file:string"},
    {"trail_store_truncation_accepted", "ALERT",
     "traild opened a store holding fewer records than its checkpoints, its tree.roots or a "
     "sink's cursor claimed, because the operator accepted that loss ([store] "
     "accept_truncation names the store's last seq).",
     "msg:string, last_seq:int, claimed_seq:int, missing:int, accepted_by:string, "
     "sinks_reset:string"},
    {"trail_store_damaged", "ALERT",
     "trail found damage in its store: a sealed segment, or a block of one, fails its check. "
     "Its records cannot be read: searches go past them and say so, sinks stop there until an "
     "operator skips them; `trail repair` quarantines the file.",
     "file:string, from_seq:int, to_seq:int, reason:string, quarantined:int, msg:string"},
    {"trail_alert", "WARNING",
     "A detection rule fired (traild's [detect] rules, Sigma): the rule, its level and the "
     "trail severity it maps to, which is the record's own (WARNING for a rule of level "
     "medium or none; docs/rules.md, \"Levels\"), for a correlation its group, window and count, "
     "and the seqs "
     "of the events it cites; with a grace, until when it holds the group's firings back, and "
     "the summary that updates it once the grace is over (docs/rules.md).",
     "rule_id:string:indexed, rule:string:indexed, title:string, "
     "level:enum(informational|low|medium|high|critical), level_severity:int, type:string, "
     "group:string, count:int, window_start:time, window_end:time, events:int, "
     "first_seqs:string, last_seqs:string, fired_seq:int, grace_until:time, updates:string, "
     "msg:string"},
    {"trail_report_changed", "NOTICE",
     "A report was created, changed or deleted through traild's API (POST, PUT, DELETE "
     "/v1/reports): by whom, which report, what, and the new definition with its SHA-256 "
     "(docs/reports.md).",
     "report:string:indexed, action:enum(created|changed|deleted), suser:string:indexed, "
     "definition:string, definition_sha256:string, msg:string"},
    {"trail_report_run", "INFO",
     "traild ran a scheduled report: the report, the instant it ran for and the period it "
     "covered, the SHA-256 of every file it rendered, the tree size of the store it read, "
     "where the files went; `trail report check` holds a filed report to it "
     "(docs/reports.md).",
     "report:string:indexed, report_now:time, since:time, until:time, range:string, "
     "zone:string, files:string, tree_size:int, deliver:string, made_up:bool, "
     "status:enum(delivered|rendered|failed), reason:string, msg:string"},
    {"trail_witness_refused", "ALERT",
     "traild, as a witness of another trail log ([witness]), refused a checkpoint that log "
     "signed: smaller than one it cosigned (rollback), or not an extension of it (fork, the "
     "consistency proof fails). The checkpoint is kept here as evidence.",
     "origin:string:indexed, reason:enum(rollback|fork), size:int, old_size:int, known_size:int, "
     "src:ip, checkpoint:string, msg:string"},
    {"trail_sink_skipped", "WARNING",
     "An operator told a sink to go on past records it could not read (`trail sinks skip`): "
     "they were not delivered.",
     "sink:string, from_seq:int, to_seq:int, reason:string, msg:string"},
};

const size_t n_own_events = TRAIL_ARRAY_SIZE(own_events);

int id_reserved(const char *id, size_t len)
{
    return len >= 6 && memcmp(id, "trail_", 6) == 0;
}
