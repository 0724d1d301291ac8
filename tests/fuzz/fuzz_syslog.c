/*
 * fuzz_syslog.c - libFuzzer target for the syslog reader (lib/codec/syslog_parse.c):
 * trail_syslog_parse(), the structured-data cursor, the RFC 6587 framer fed
 * in pieces, and trail_event_from_syslog().
 *
 * Checks, besides "no crash, no sanitizer report": every span the parser
 * returns lies inside the input; the framer returns the same messages
 * whatever the size of the pieces the stream arrives in; a decoded event
 * written back with trail_event_to_syslog() decodes again to the same id
 * and attributes. Anything else aborts.
 *
 * Not here: JSON and CEF themselves (fuzz_json.c, fuzz_cef.c). In ordinary
 * builds tests/fuzz/replay.c runs this over corpus/fuzz_syslog/.
 */
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct trail_catalog *cat;

static void check_span(const uint8_t *data, size_t size, const char *p, size_t n, const char *what)
{
    if (n == 0)
        return;
    if (p < (const char *)data || p + n > (const char *)data + size) {
        fprintf(stderr, "fuzz_syslog: %s outside the input\n", what);
        abort();
    }
}

/* Frame the whole input with pieces of `step` bytes; hash the messages found. */
static uint64_t frame(const uint8_t *data, size_t size, size_t step, int mode, int *ret_n)
{
    struct trail_syslog_framer f;
    trail_syslog_framer_init(&f, mode, 512);
    char *buf = malloc(size + 1);
    size_t have = 0, fed = 0;
    uint64_t h = 1469598103934665603ULL;
    int n = 0;
    if (!buf)
        abort();
    while (fed < size) {
        size_t add = size - fed < step ? size - fed : step;
        memcpy(buf + have, data + fed, add);
        have += add;
        fed += add;
        for (;;) {
            const char *msg;
            size_t len, used;
            int r = trail_syslog_framer_next(&f, buf, have, &msg, &len, &used);
            if (used > have)
                abort();
            if (r == 1) {
                if (msg < buf || msg + len > buf + have || len > 512)
                    abort();
                for (size_t i = 0; i < len; i++)
                    h = (h ^ (uint8_t)msg[i]) * 1099511628211ULL;
                h = (h ^ 0x100) * 1099511628211ULL;
                n++;
            } else if (r < 0) {
                h = (h ^ 0x200) * 1099511628211ULL;
            }
            memmove(buf, buf + used, have - used);
            have -= used;
            if (r == 0 && used == 0)
                break;
        }
    }
    const char *msg;
    size_t len;
    if (trail_syslog_framer_flush(&f, buf, have, &msg, &len) == 1) {
        for (size_t i = 0; i < len; i++)
            h = (h ^ (uint8_t)msg[i]) * 1099511628211ULL;
        h = (h ^ 0x100) * 1099511628211ULL;
        n++;
    }
    free(buf);
    *ret_n = n;
    return h;
}

static void check_round_trip(const struct trail_event *ev)
{
    struct trail_buf out = {0};
    struct trail_event *back = NULL;
    char err[256];
    struct trail_syslog_opts opts = {.octet_count = 0};
    if (trail_event_to_syslog(ev, &opts, &out) != 0)
        abort();
    if (trail_event_from_syslog(cat, out.data, out.len, &back, err, sizeof(err)) != 0) {
        /* a control character in a value is written as #ooo without octet counting, and a
         * value may then exceed a limit; only an id and attributes that survive must match */
        trail_buf_free(&out);
        return;
    }
    if (strcmp(trail_event_id(ev), trail_event_id(back)) != 0 ||
        trail_event_attr_count(ev) != trail_event_attr_count(back)) {
        fprintf(stderr, "fuzz_syslog: round trip changed the event: %s\n", out.data);
        abort();
    }
    trail_event_free(back);
    trail_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cat) {
        if (trail_catalog_new(&cat) != 0 ||
            trail_catalog_add(cat, "fz_typed", "WARNING", "every type",
                              "i:int, b:bool, ip:ip, t:time, e:enum(x|y|z), s:string") != 0 ||
            trail_catalog_set_policy(cat, TRAIL_POLICY_LENIENT) != 0)
            abort();
    }
    const char *text = (const char *)data;
    struct trail_syslog_msg m;
    if (trail_syslog_parse(text, size, &m) == 0) {
        check_span(data, size, m.host, m.host_len, "host");
        check_span(data, size, m.app, m.app_len, "app");
        check_span(data, size, m.procid, m.procid_len, "procid");
        check_span(data, size, m.msgid, m.msgid_len, "msgid");
        check_span(data, size, m.sd, m.sd_len, "sd");
        check_span(data, size, m.msg, m.msg_len, "msg");
        check_span(data, size, m.content, m.content_len, "content");
        struct trail_syslog_sd sd;
        const char *id, *n, *v;
        size_t il, nl, vl;
        trail_syslog_sd_init(&sd, m.sd, m.sd_len);
        while (trail_syslog_sd_next_element(&sd, &id, &il) == 1) {
            check_span(data, size, id, il, "sd-id");
            while (trail_syslog_sd_next_param(&sd, &n, &nl, &v, &vl) == 1) {
                char buf[512];
                check_span(data, size, n, nl, "param name");
                check_span(data, size, v, vl, "param value");
                if (vl <= sizeof(buf) && trail_syslog_sd_unescape(v, vl, buf) > vl)
                    abort();
            }
        }
    }

    int n1, n2, n3;
    uint64_t h1 = frame(data, size, size ? size : 1, TRAIL_FRAME_AUTO, &n1);
    uint64_t h2 = frame(data, size, 1, TRAIL_FRAME_AUTO, &n2);
    uint64_t h3 = frame(data, size, 7, TRAIL_FRAME_AUTO, &n3);
    if (h1 != h2 || h1 != h3 || n1 != n2 || n1 != n3) {
        fprintf(stderr, "fuzz_syslog: framing depends on how the stream is cut\n");
        abort();
    }
    int nl1, nl2;
    if (frame(data, size, size ? size : 1, TRAIL_FRAME_LF, &nl1) !=
            frame(data, size, 3, TRAIL_FRAME_LF, &nl2) ||
        nl1 != nl2)
        abort();

    struct trail_event *ev = NULL;
    char err[256];
    if (trail_event_from_syslog(cat, text, size, &ev, err, sizeof(err)) == 0) {
        check_round_trip(ev);
        trail_event_free(ev);
    } else if (ev != NULL || err[0] == '\0') {
        fprintf(stderr, "fuzz_syslog: a failed decode must say why and leave no event\n");
        abort();
    }
    return 0;
}
