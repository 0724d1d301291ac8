/*
 * bench_json.c - what decoding one event from JSON costs with trail's own
 * decoder (lib/codec/json.c) and with jansson, the JSON library Debian ships.
 *
 * The justification for a hand-written decoder on the HTTP ingest path
 * (target: 300,000 events/s on this 2-core machine). Both sides do the whole
 * job: bytes in, a new struct trail_event with typed, schema-checked
 * attributes out, freed again. jansson's side is json_loadb() followed by the
 * accessors and the event setters; its parse alone is measured too.
 *
 * The events are the workload generator's (lib/sim/loadgen.c, seed 1) in two
 * shapes: what a producer sends to POST /v1/events (id, time, host, attrs)
 * and the canonical form trail exports (every member, a uuid). Before
 * timing, both sides' events are encoded again and compared, so that a fast
 * but wrong decoder shows up.
 *
 *     bench_json [EVENTS] [SECONDS]     (default 20000 distinct events, 2 s per case)
 *
 * Prints events/s and MB/s per case, single thread, per second of the
 * thread's CPU time. Not a test: it asserts nothing about time.
 */
#include "event/event.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The thread's CPU time: on a machine shared with other work, time the
 * thread spends waiting for a core does not count against either decoder.
 */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct corpus {
    char *data;
    size_t *off; /* event i is data[off[i] .. off[i + 1]) */
    size_t n;
};

static void die(const char *what)
{
    fprintf(stderr, "bench_json: %s\n", what);
    exit(1);
}

/*
 * Drop the members trail assigns ("severity", "severity_name") from a
 * canonical object in place: what a producer sends to POST /v1/events.
 */
static size_t producer_form(char *s, size_t len)
{
    static const char *const drop[] = {",\"severity\":", ",\"severity_name\":"};
    for (size_t k = 0; k < 2; k++) {
        char *m = strstr(s, drop[k]);
        if (!m)
            continue;
        char *end = strchr(m + strlen(drop[k]) + 1, k ? '"' : ',');
        end += k ? 1 : 0;
        memmove(m, end, (size_t)(s + len - end) + 1);
        len -= (size_t)(end - m);
    }
    return len;
}

static void make_corpus(const struct trail_catalog *cat, size_t n, int producer, struct corpus *c)
{
    struct trail_loadgen *gen;
    struct trail_event *ev;
    struct trail_buf all = {0};
    struct trail_loadgen_opts opts = {.seed = 1};
    if (trail_loadgen_new(cat, &opts, &gen) != 0 || trail_event_new(cat, "prism_user_locked", &ev))
        die("cannot start the workload generator");
    c->off = malloc((n + 1) * sizeof(*c->off));
    if (!c->off)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        c->off[i] = all.len;
        if (trail_loadgen_next(gen, ev) != 0 || (!producer && trail_event_gen_uuid(ev) != 0) ||
            trail_event_to_json(ev, &all) != 0)
            die("cannot make an event");
        if (producer)
            all.len = c->off[i] + producer_form(all.data + c->off[i], all.len - c->off[i]);
    }
    c->off[n] = all.len;
    c->data = all.data;
    c->n = n;
    trail_event_free(ev);
    trail_loadgen_free(gen);
}

/* jansson's side: parse, then build the event through the public setters. */
static int decode_jansson(const struct trail_catalog *cat, const char *s, size_t len,
                          struct trail_event **ret)
{
    json_error_t jerr;
    json_t *root = json_loadb(s, len, 0, &jerr);
    struct trail_event *ev = NULL;
    int r = TRAIL_E_PARSE;
    if (!root)
        return r;
    const char *id = json_string_value(json_object_get(root, "id"));
    if (!id || trail_event_new(cat, id, &ev) != 0)
        goto fail;
    json_t *v;
    if ((v = json_object_get(root, "time"))) {
        int64_t t;
        if (trail_time_parse(json_string_value(v), json_string_length(v), &t) != 0)
            goto fail;
        trail_event_set_time(ev, t);
    }
    if ((v = json_object_get(root, "host")) &&
        trail_event_set_host(ev, json_string_value(v), json_string_length(v)) != 0)
        goto fail;
    if ((v = json_object_get(root, "uuid"))) {
        uint8_t u[16];
        if (trail_uuid_parse(json_string_value(v), json_string_length(v), u) != 0)
            goto fail;
        trail_event_set_uuid(ev, u);
    }
    if ((v = json_object_get(root, "seq")))
        trail_event_set_seq(ev, (uint64_t)json_integer_value(v));
    const char *key;
    json_t *val;
    json_object_foreach(json_object_get(root, "attrs"), key, val)
    {
        switch (json_typeof(val)) {
        case JSON_STRING:
            r = trail_event_set_text(ev, key, (size_t)-1, json_string_value(val),
                                     json_string_length(val));
            break;
        case JSON_INTEGER:
            r = trail_event_set_int(ev, key, json_integer_value(val));
            break;
        case JSON_TRUE:
        case JSON_FALSE:
            r = trail_event_set_bool(ev, key, json_is_true(val));
            break;
        case JSON_NULL:
            r = 0;
            break;
        default:
            r = TRAIL_E_BAD_TYPE;
        }
        if (r != 0)
            goto fail;
    }
    json_decref(root);
    *ret = ev;
    return 0;
fail:
    json_decref(root);
    trail_event_free(ev);
    return r < 0 ? r : TRAIL_E_PARSE;
}

static int decode_trail(const struct trail_catalog *cat, const char *s, size_t len,
                        struct trail_event **ret)
{
    return trail_event_from_json(cat, s, len, ret, NULL, 0);
}

static int parse_only_jansson(const struct trail_catalog *cat, const char *s, size_t len,
                              struct trail_event **ret)
{
    (void)cat;
    (void)ret;
    json_error_t jerr;
    json_t *root = json_loadb(s, len, 0, &jerr);
    if (!root)
        return TRAIL_E_PARSE;
    json_decref(root);
    return 1; /* no event */
}

typedef int (*decoder)(const struct trail_catalog *, const char *, size_t, struct trail_event **);

/* Events per second of dec over the corpus, for at least seconds. */
static double measure(const struct trail_catalog *cat, const struct corpus *c, decoder dec,
                      double seconds, double *ret_mb_s)
{
    size_t done = 0, bytes = 0;
    double start = now_s(), elapsed;
    do {
        for (size_t i = 0; i < c->n; i++) {
            struct trail_event *ev = NULL;
            size_t len = c->off[i + 1] - c->off[i];
            int r = dec(cat, c->data + c->off[i], len, &ev);
            if (r < 0)
                die("a decoder failed during the run");
            trail_event_free(ev);
            bytes += len;
        }
        done += c->n;
        elapsed = now_s() - start;
    } while (elapsed < seconds);
    *ret_mb_s = (double)bytes / elapsed / 1e6;
    return (double)done / elapsed;
}

/* Check that both decoders agree, then time them over one corpus. */
static void run(const struct trail_catalog *cat, const struct corpus *c, const char *shape,
                double seconds)
{
    struct trail_buf a = {0}, b = {0};
    for (size_t i = 0; i < c->n; i++) {
        struct trail_event *x = NULL, *y = NULL;
        size_t len = c->off[i + 1] - c->off[i];
        if (decode_trail(cat, c->data + c->off[i], len, &x) != 0 ||
            decode_jansson(cat, c->data + c->off[i], len, &y) != 0)
            die("a decoder refused a generated event");
        trail_buf_reset(&a);
        trail_buf_reset(&b);
        if (trail_event_to_json(x, &a) != 0 || trail_event_to_json(y, &b) != 0 ||
            strcmp(a.data, b.data) != 0)
            die("the decoders disagree on a generated event");
        trail_event_free(x);
        trail_event_free(y);
    }
    trail_buf_free(&a);
    trail_buf_free(&b);

    printf("%s: %zu distinct events, mean %.0f bytes\n", shape, c->n,
           (double)c->off[c->n] / (double)c->n);
    double mb_t, mb_j, mb_p;
    double ev_t = measure(cat, c, decode_trail, seconds, &mb_t);
    double ev_j = measure(cat, c, decode_jansson, seconds, &mb_j);
    double ev_p = measure(cat, c, parse_only_jansson, seconds, &mb_p);
    printf("  %-40s %10.0f events/s %8.1f MB/s\n", "trail_event_from_json", ev_t, mb_t);
    printf("  %-40s %10.0f events/s %8.1f MB/s\n", "jansson json_loadb + building the event", ev_j,
           mb_j);
    printf("  %-40s %10.0f events/s %8.1f MB/s\n", "jansson json_loadb alone (no event)", ev_p,
           mb_p);
    printf("  trail's decoder: %.2fx jansson with the event, %.2fx jansson's parse alone\n",
           ev_t / ev_j, ev_t / ev_p);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 2.0;
    struct trail_catalog *cat;
    if (n == 0 || seconds <= 0)
        die("usage: bench_json [EVENTS] [SECONDS]");
    if (trail_catalog_new(&cat) != 0)
        die("cannot load the catalog");
    printf("bench_json: the workload generator's events (seed 1), %.1f CPU s per case, one "
           "thread\n",
           seconds);
    for (int producer = 1; producer >= 0; producer--) {
        struct corpus c;
        make_corpus(cat, n, producer, &c);
        run(cat, &c,
            producer ? "producer form (id, time, host, attrs: what POST /v1/events gets)"
                     : "canonical form (every member, with a uuid: what trail exports)",
            seconds);
        free(c.data);
        free(c.off);
    }
    trail_catalog_free(cat);
    return 0;
}
