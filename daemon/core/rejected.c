/*
 * rejected.c - what a stream input could not store as an event is kept
 * anyway, as trail's own trail_event_rejected record: the input, the peer,
 * the reason and the raw bytes, escaped. An identity server whose events
 * trail refuses (another version's attribute set, an id the policy does not
 * take, a broken frame) loses nothing: the audit event is in the trail,
 * searchable, covered by the tree, and the refusal is visible to whoever
 * watches trail's own records.
 *
 * HTTP answers per item and keeps nothing here: its sender knows.
 * At most [limits] rejected_events_per_minute records per peer and
 * rejected_events_total_per_minute in all (ratelimit.c); what is held back
 * is counted in the next record stored for that peer ("suppressed").
 *
 * The raw bytes, as the record keeps them (docs/traild.md, "Bad input"):
 * printable ASCII as is, backslash as \\, every other byte that is not part
 * of a well-formed UTF-8 character, every control character (C0, DEL, C1)
 * and U+2028/U+2029 as \xNN per byte. So the text is one line of valid
 * UTF-8 that no terminal or log viewer takes as a command, and the bytes
 * can be recovered exactly. Cut at max_value_len at a whole escape.
 */
#include "core/log.h"
#include "core/metrics.h"
#include "core/ratelimit.h"
#include "core/traild.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ratelimit rl = RATELIMIT_INIT;

/* 1 when p[0..len) is one well-formed UTF-8 character (no overlong form, no surrogate). */
static int one_utf8(const unsigned char *p, size_t len)
{
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0)))
        return 0;
    if (len == 4 &&
        ((p[0] == 0xF0 && p[1] < 0x90) || p[0] > 0xF4 || (p[0] == 0xF4 && p[1] >= 0x90)))
        return 0;
    return 1;
}

/* The length of the UTF-8 character at p (n bytes left) that may stay as is, or 0. */
static size_t keepable_utf8(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (!len || len > n || !one_utf8(p, len))
        return 0;
    if (len == 2 && p[0] == 0xC2 && p[1] < 0xA0)
        return 0; /* C1 controls */
    if (len == 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
        return 0; /* line and paragraph separators */
    return len;
}

/* raw escaped into out (at most max bytes, whole escapes only); the length written. */
static size_t escape_raw(const char *raw, size_t raw_len, char *out, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)raw;
    size_t o = 0;
    for (size_t i = 0; i < raw_len;) {
        size_t k;
        if (p[i] >= 0x20 && p[i] < 0x7F && p[i] != '\\') {
            if (o + 1 > max)
                break;
            out[o++] = (char)p[i++];
        } else if (p[i] == '\\') {
            if (o + 2 > max)
                break;
            out[o++] = '\\';
            out[o++] = '\\';
            i++;
        } else if (p[i] >= 0x80 && (k = keepable_utf8(p + i, raw_len - i)) > 0) {
            if (o + k > max)
                break;
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            if (o + 4 > max)
                break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[p[i] >> 4];
            out[o++] = hex[p[i] & 15];
            i++;
        }
    }
    return o;
}

static void set_text(struct trail_event *ev, const char *key, const char *v, size_t n)
{
    if (n)
        trail_event_set_string(ev, key, v, n);
}

void reject_item_keep(const struct config *cfg, int input, int code, const struct provenance *pv,
                      const char *sender, const char *err, const char *raw, size_t raw_len)
{
    reject_item(input, code, sender, err);
    if (input == IN_HTTP || input == IN_INTERNAL)
        return;
    /* the peer's address, else its principal (a Unix socket's uid), else the sender's name */
    char source[64];
    if (!pv || !trail_peer_address(&pv->peer, source))
        snprintf(source, sizeof(source), "%.63s", pv && pv->principal[0] ? pv->principal : sender);
    uint64_t suppressed = 0, lost = 0;
    int first_held;
    if (!ratelimit_admit(&rl, source, trail_now() / 60000000, cfg->rejected_events_per_minute,
                         cfg->rejected_events_total_per_minute, &suppressed, &lost, &first_held)) {
        if (first_held)
            log_msg(LOG_WARN,
                    "%s: more rejected items from %s than [limits] rejected_events_per_minute "
                    "(%u, %u from all peers): counting them, not keeping them, this minute",
                    metrics_input_name(input), source, cfg->rejected_events_per_minute,
                    cfg->rejected_events_total_per_minute);
        return;
    }
    struct trail_event *ev = NULL;
    if (trail_event_new(cfg->cat, "trail_event_rejected", &ev) < 0)
        return;
    trail_event_mark_own(ev);
    if (pv) {
        trail_event_set_peer(ev, &pv->peer);
        if (pv->principal[0])
            trail_event_set_principal(ev, pv->principal, strlen(pv->principal));
    }
    trail_event_set_host(ev, cfg->host, strlen(cfg->host));
    trail_event_set_time(ev, trail_now());
    char in[96];
    int n = snprintf(in, sizeof(in), "%s%s%s",
                     pv ? trail_input_name(pv->input) : metrics_input_name(input),
                     pv && pv->name ? ":" : "", pv && pv->name ? pv->name : "");
    set_text(ev, "input", in, n > 0 ? (size_t)n : 0);
    set_text(ev, "reason", err, strnlen(err, 1000));
    size_t max = cfg->limits.max_value_len ? cfg->limits.max_value_len : 8192;
    char *esc = raw_len ? malloc(max) : NULL;
    if (esc) {
        set_text(ev, "raw", esc, escape_raw(raw, raw_len, esc, max));
        free(esc);
    }
    trail_event_set_int(ev, "raw_bytes", (int64_t)raw_len);
    if (suppressed || lost)
        trail_event_set_int(ev, "suppressed", (int64_t)(suppressed + lost));
    own_record_submit(ev);
}
