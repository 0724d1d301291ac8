/*
 * bench_decode.c - what turning one wire item into a validated event costs
 * on traild's input thread, for each form an input reads: RFC 5424 syslog
 * with the event in [trail@32473 ...] structured data (TCP and UDP syslog),
 * NDJSON lines (HTTP POST /v1/events) and CEF lines with the event.log
 * prefix (raw TCP, file follow). Each form is decoded two ways: into a new
 * event per item (trail_event_from_*), and into one event reused item after
 * item (trail_event_parse_*), as an input thread does.
 *
 * The items are the workload generator's events (lib/sim/loadgen.c, seed 1)
 * rendered exactly as `trail loadgen --format syslog|ndjson|cef` writes
 * them, held in memory. Each case does the whole job per item: decode, then
 * trail_event_validate(). Before timing, every item is decoded once and
 * checked: it must validate and encode to the same canonical JSON as the
 * event it was made from, so that a fast but wrong decoder shows up.
 *
 *     bench_decode [EVENTS] [SECONDS] [FORM[/WAY] ...]
 *         EVENTS   distinct events per form (default 20000)
 *         SECONDS  CPU seconds per case (default 2); 0 runs exactly one
 *                  pass over the items, for callgrind (see below)
 *         FORM     syslog, ndjson, cef (default all three)
 *         WAY      from or parse (default both)
 *
 * Prints events/s, ns/event and MB/s per case, single thread, per second of
 * the thread's CPU time. Instructions per event, which a shared and noisy
 * machine does not disturb, come from callgrind counting only decode_pass():
 *
 *     valgrind --tool=callgrind --collect-atstart=no --toggle-collect=decode_pass \
 *         build/bench/bench_decode 20000 0 syslog/parse
 *
 * (total Ir divided by EVENTS times the number of cases run). Not a test: it
 * asserts nothing about time.
 */
#include "event/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The thread's CPU time: time spent waiting for a core does not count. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_decode: %s\n", what);
    exit(1);
}

enum form { FORM_SYSLOG, FORM_NDJSON, FORM_CEF, N_FORMS };

static const char *const form_names[N_FORMS] = {"syslog", "ndjson", "cef"};

struct corpus {
    char *data;
    size_t *off; /* item i is data[off[i] .. off[i + 1]), without its line break */
    size_t n;
    char *canon; /* the canonical JSON of the events the items were made from */
    size_t *canon_off;
};

static void make_corpus(const struct trail_catalog *cat, enum form form, size_t n, struct corpus *c)
{
    struct trail_loadgen *gen;
    struct trail_event *ev;
    struct trail_buf all = {0}, canon = {0};
    struct trail_loadgen_opts opts = {.seed = 1};
    struct trail_cef_opts cef = {.log_prefix = 1}; /* as `trail loadgen --format cef` */
    if (trail_loadgen_new(cat, &opts, &gen) != 0 ||
        trail_event_new(cat, "core_server_run_starting", &ev) != 0)
        die("cannot start the workload generator");
    c->off = malloc((n + 1) * sizeof(*c->off));
    c->canon_off = malloc((n + 1) * sizeof(*c->canon_off));
    if (!c->off || !c->canon_off)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        c->off[i] = all.len;
        c->canon_off[i] = canon.len;
        if (trail_loadgen_next(gen, ev) != 0)
            die("cannot make an event");
        int r = form == FORM_SYSLOG   ? trail_event_to_syslog(ev, NULL, &all)
                : form == FORM_NDJSON ? trail_event_to_json(ev, &all)
                                      : trail_event_to_cef(ev, &cef, &all);
        if (r != 0 || trail_event_to_json(ev, &canon) != 0)
            die("cannot encode an event");
    }
    c->off[n] = all.len;
    c->canon_off[n] = canon.len;
    c->data = all.data;
    c->canon = canon.data;
    c->n = n;
    trail_event_free(ev);
    trail_loadgen_free(gen);
}

static void free_corpus(struct corpus *c)
{
    free(c->data);
    free(c->off);
    free(c->canon);
    free(c->canon_off);
}

/* ---- the cases ---- */

typedef int (*from_fn)(const struct trail_catalog *, const char *, size_t, struct trail_event **,
                       char *, size_t);

typedef int (*parse_fn)(struct trail_event *, const char *, size_t, char *, size_t);

static const from_fn from_fns[N_FORMS] = {trail_event_from_syslog, trail_event_from_json,
                                          trail_event_from_cef};
static const parse_fn parse_fns[N_FORMS] = {trail_event_parse_syslog, trail_event_parse_json,
                                            trail_event_parse_cef};

/* A form, decoded into a new event per item (from_*) or into one event reused (parse_*). */
struct bench_case {
    const char *name;
    enum form form;
    int reuse;
};

/*
 * One pass over the items: decode and validate each. The function callgrind
 * counts (--toggle-collect=decode_pass); kept out of line for that.
 */
__attribute__((noinline)) size_t decode_pass(const struct trail_catalog *cat,
                                             const struct corpus *c, const struct bench_case *bc)
{
    size_t bytes = 0;
    char err[256];
    if (bc->reuse) {
        struct trail_event *ev;
        parse_fn parse = parse_fns[bc->form];
        if (trail_event_new(cat, NULL, &ev) != 0)
            die("out of memory");
        for (size_t i = 0; i < c->n; i++) {
            size_t len = c->off[i + 1] - c->off[i];
            if (parse(ev, c->data + c->off[i], len, err, sizeof(err)) != 0 ||
                trail_event_validate(ev) != 0)
                die("an item failed during the run");
            bytes += len;
        }
        trail_event_free(ev);
        return bytes;
    }
    from_fn from = from_fns[bc->form];
    for (size_t i = 0; i < c->n; i++) {
        size_t len = c->off[i + 1] - c->off[i];
        struct trail_event *ev = NULL;
        if (from(cat, c->data + c->off[i], len, &ev, err, sizeof(err)) != 0 ||
            trail_event_validate(ev) != 0)
            die("an item failed during the run");
        trail_event_free(ev);
        bytes += len;
    }
    return bytes;
}

/* Decode every item once: it must validate and give back the event it was made from. */
static void check(const struct trail_catalog *cat, const struct corpus *c,
                  const struct bench_case *bc)
{
    struct trail_buf out = {0};
    char err[256];
    struct trail_event *ev = NULL;
    if (bc->reuse && trail_event_new(cat, NULL, &ev) != 0)
        die("out of memory");
    for (size_t i = 0; i < c->n; i++) {
        const char *item = c->data + c->off[i];
        size_t len = c->off[i + 1] - c->off[i];
        int r = bc->reuse ? parse_fns[bc->form](ev, item, len, err, sizeof(err))
                          : from_fns[bc->form](cat, item, len, &ev, err, sizeof(err));
        if (r != 0) {
            fprintf(stderr, "%s: item %zu: %s\n%.*s\n", bc->name, i, err, (int)len, item);
            die("a generated item does not decode");
        }
        if (trail_event_validate(ev) != 0) {
            fprintf(stderr, "%s: item %zu: %s\n", bc->name, i, trail_event_error(ev));
            die("a decoded item does not validate");
        }
        trail_buf_reset(&out);
        size_t clen = c->canon_off[i + 1] - c->canon_off[i];
        if (trail_event_to_json(ev, &out) != 0 || out.len != clen ||
            memcmp(out.data, c->canon + c->canon_off[i], clen) != 0) {
            fprintf(stderr, "%s: item %zu\n  made:    %.*s\n  decoded: %s\n", bc->name, i,
                    (int)clen, c->canon + c->canon_off[i], out.data ? out.data : "");
            die("a decoded item differs from the event it was made from");
        }
        if (!bc->reuse) {
            trail_event_free(ev);
            ev = NULL;
        }
    }
    trail_event_free(ev);
    trail_buf_free(&out);
}

static void measure(const struct trail_catalog *cat, const struct corpus *c,
                    const struct bench_case *bc, double seconds)
{
    size_t done = 0, bytes = 0;
    double start = now_s(), elapsed;
    do {
        bytes += decode_pass(cat, c, bc);
        done += c->n;
        elapsed = now_s() - start;
    } while (elapsed < seconds);
    printf("  %-34s %10.0f events/s %8.0f ns/event %8.1f MB/s\n", bc->name, (double)done / elapsed,
           elapsed * 1e9 / (double)done, (double)bytes / elapsed / 1e6);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 2.0;
    int want[N_FORMS] = {0}, any = 0; /* want: bit 1 from, bit 2 parse */
    const char *usage =
        "usage: bench_decode [EVENTS] [SECONDS] [syslog|ndjson|cef[/from|/parse] ...]";
    for (int a = 3; a < argc; a++) {
        const char *slash = strchr(argv[a], '/');
        size_t flen = slash ? (size_t)(slash - argv[a]) : strlen(argv[a]);
        int f, way = 3;
        for (f = 0; f < N_FORMS &&
                    !(strlen(form_names[f]) == flen && memcmp(argv[a], form_names[f], flen) == 0);
             f++)
            ;
        if (slash)
            way = !strcmp(slash, "/from") ? 1 : !strcmp(slash, "/parse") ? 2 : 0;
        if (f == N_FORMS || !way)
            die(usage);
        want[f] |= way;
        any = 1;
    }
    if (n == 0 || seconds < 0)
        die(usage);
    static const struct bench_case cases[] = {
        {"trail_event_from_syslog", FORM_SYSLOG, 0},
        {"trail_event_parse_syslog (reused)", FORM_SYSLOG, 1},
        {"trail_event_from_json", FORM_NDJSON, 0},
        {"trail_event_parse_json (reused)", FORM_NDJSON, 1},
        {"trail_event_from_cef", FORM_CEF, 0},
        {"trail_event_parse_cef (reused)", FORM_CEF, 1},
    };
    struct trail_catalog *cat;
    if (trail_catalog_new(&cat) != 0)
        die("cannot load the catalog");
    printf("bench_decode: %zu workload generator events (seed 1) per form, decode + validate, ", n);
    if (seconds > 0)
        printf("%.1f CPU s per case, one thread\n", seconds);
    else
        printf("one pass per case\n");
    for (int f = 0; f < N_FORMS; f++) {
        if (any && !want[f])
            continue;
        int ways = any ? want[f] : 3;
        struct corpus c;
        make_corpus(cat, (enum form)f, n, &c);
        printf("%s: mean %.0f bytes per item\n", form_names[f], (double)c.off[c.n] / (double)c.n);
        for (size_t k = 0; k < TRAIL_ARRAY_SIZE(cases); k++) {
            if (cases[k].form != (enum form)f || !(ways & (cases[k].reuse ? 2 : 1)))
                continue;
            check(cat, &c, &cases[k]);
            if (seconds > 0)
                measure(cat, &c, &cases[k], seconds);
            else
                decode_pass(cat, &c, &cases[k]);
        }
        free_corpus(&c);
    }
    trail_catalog_free(cat);
    return 0;
}
