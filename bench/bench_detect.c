/*
 * bench_detect.c - detection's throughput: events per second through a set
 * of Sigma rules (lib/detect/), on one core, evaluation alone (no store, no
 * I/O): the generator's events (trail_loadgen, made beforehand and fed in
 * their order, seq and time set as traild's records would have them) through
 * the rule pack (rules/) plus N generated rules, a quarter of them
 * correlations.
 *
 *   bench_detect [--events N] [--rules N] [--pack DIR] [--digest 1] [--skim 1]
 *
 * Prints the rules loaded, the events, the alerts and events/s, by the wall
 * clock and by the CPU time of the feeding thread (events/cpu-s: on a machine
 * shared with other work, what one core of its own would do). --digest 1
 * also prints a hash over every alert (its rule, event, group, window, count
 * and seqs, in order), so that two builds of the engine can be shown to alert
 * alike on the same stream; its time is then the hash's too. --skim 1 asks
 * detect_engine_skim() first, as traild does with a record's head, and feeds
 * only what it says must be fed: the alerts (and the digest) must not
 * change, and it prints how many events were fed. Not a test:
 * docs/BENCHMARKS.md has the numbers and the command.
 */
#include "detect/detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DISTINCT 65536 /* events made beforehand, fed again with later seqs and times */

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct tally {
    unsigned long long alerts;
    bool digest;
    uint64_t h;
};

static void mix(struct tally *t, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        t->h ^= s[i];
        t->h *= 0x100000001b3ULL;
    }
}

static void mix_u64(struct tally *t, uint64_t v)
{
    mix(t, &v, sizeof v);
}

static void on_alert(void *ctx, const struct detect_alert *a)
{
    struct tally *t = ctx;
    t->alerts++;
    if (!t->digest)
        return;
    mix(t, a->rule->title, strlen(a->rule->title) + 1);
    mix_u64(t, trail_event_seq(a->ev));
    for (size_t i = 0; i < a->n_group; i++)
        mix(t, a->group_values[i], strlen(a->group_values[i]) + 1);
    mix_u64(t, (uint64_t)a->window_start_us);
    mix_u64(t, (uint64_t)a->window_end_us);
    mix_u64(t, a->count);
    mix_u64(t, a->n_seqs);
    for (size_t i = 0; i < a->n_first; i++)
        mix_u64(t, a->first_seqs[i]);
    for (size_t i = 0; i < a->n_last; i++)
        mix_u64(t, a->last_seqs[i]);
    mix_u64(t, (uint64_t)a->grace_until_us);
    mix_u64(t, a->summary);
    mix_u64(t, a->updates_seq);
}

/* N rules over the catalog's events, as a team might write them: an id (or a glob), a
   user prefix, an address range; every fourth a correlation over the one before it */
static int add_generated(struct detect_rules *rs, int n)
{
    static const char *const ids[] = {"auth_entrypoints_*_auth_failed",
                                      "prism_user_locked",
                                      "auth_entrypoints_oidc_auth_success",
                                      "core_server_*",
                                      "messagingapns_*",
                                      "prism_user_*"};
    static const char *const groups[] = {"duser", "src", "host"};
    char text[1024];
    for (int i = 0; i < n; i++) {
        if (i % 4 == 3)
            snprintf(text, sizeof text,
                     "title: gen %d\nname: gen%d\nlevel: medium\ncorrelation:\n"
                     "  type: %s\n  rules: gen%d\n  group-by: [%s]\n  timespan: %dm\n"
                     "  condition: {gte: %d%s}\n",
                     i, i, i % 8 == 3 ? "event_count" : "value_count", i - 1, groups[i % 3],
                     1 + i % 10, 5 + i % 20, i % 8 == 3 ? "" : ", field: duser");
        else
            snprintf(text, sizeof text,
                     "title: gen %d\nname: gen%d\nlevel: low\nlogsource: {product: trail}\n"
                     "detection:\n  s:\n    id: '%s'\n  u:\n    duser|startswith: 'user%d'\n"
                     "  n:\n    src|cidr: 10.%d.0.0/16\n  condition: s and (u or not n)\n",
                     i, i, ids[i % 6], i % 50, i % 200);
        if (detect_rules_add(rs, "generated.yml", text, strlen(text), NULL, NULL) != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long events = 2000000;
    struct tally tally = {.h = 0xcbf29ce484222325ULL};
    int n_rules = 100;
    const char *pack = "rules";
    bool skim = false;
    unsigned long long fed = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--events") == 0)
            events = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rules") == 0)
            n_rules = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--pack") == 0)
            pack = argv[i + 1];
        else if (strcmp(argv[i], "--digest") == 0)
            tally.digest = atoi(argv[i + 1]) != 0;
        else if (strcmp(argv[i], "--skim") == 0)
            skim = atoi(argv[i + 1]) != 0;
    }
    struct trail_catalog *cat;
    struct detect_rules *rs;
    if (trail_catalog_new(&cat) < 0 || detect_rules_new(cat, &rs) < 0)
        return 1;
    char **files;
    size_t n_files;
    if (detect_rule_files(pack, &files, &n_files) < 0) {
        fprintf(stderr, "bench_detect: cannot read the pack %s\n", pack);
        return 2;
    }
    for (size_t i = 0; i < n_files; i++) {
        if (detect_rules_add_file(rs, files[i], NULL, NULL) != 0)
            return 1;
        free(files[i]);
    }
    free(files);
    if (add_generated(rs, n_rules) < 0 || detect_rules_finish(rs, NULL, NULL) != 0) {
        fprintf(stderr, "bench_detect: a rule did not load\n");
        return 1;
    }
    struct trail_loadgen_opts o = {.seed = 7, .events = DISTINCT, .users = 5000};
    struct trail_loadgen *gen;
    struct trail_event **evs = calloc(DISTINCT, sizeof *evs);
    if (!evs || trail_loadgen_new(cat, &o, &gen) < 0)
        return 1;
    for (size_t i = 0; i < DISTINCT; i++)
        if (trail_event_new(cat, "x", &evs[i]) < 0 || trail_loadgen_next(gen, evs[i]) < 0)
            return 1;
    int64_t span = trail_event_time(evs[DISTINCT - 1]) - trail_event_time(evs[0]) + 1000000;
    struct detect_engine *e;
    if (detect_engine_new(rs, &e) < 0)
        return 1;
    double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    for (unsigned long long k = 0; k < events; k++) {
        struct trail_event *ev = evs[k % DISTINCT];
        if (k >= DISTINCT && k % DISTINCT == 0) /* the next lap, later in time */
            for (size_t i = 0; i < DISTINCT; i++)
                trail_event_set_time(evs[i], trail_event_time(evs[i]) + span);
        trail_event_set_seq(ev, k + 1);
        if (skim) {
            const char *id = trail_event_id(ev);
            if (!detect_engine_skim(e, id, strlen(id), trail_event_is_own(ev) != 0,
                                    trail_event_severity(ev), trail_event_time(ev)))
                continue;
        }
        fed++;
        if (detect_engine_feed(e, ev, on_alert, &tally) < 0)
            return 1;
    }
    double dt = now_s(CLOCK_MONOTONIC) - t0, dc = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    printf("rules: %zu (pack %s and %d generated)\nevents: %llu\nalerts: %llu\n"
           "seconds: %.3f\nevents/s: %.0f\ncpu seconds: %.3f\nevents/cpu-s: %.0f\n",
           rs->n_rules, pack, n_rules, events, tally.alerts, dt, (double)events / dt, dc,
           (double)events / dc);
    if (skim)
        printf("fed: %llu\n", fed);
    if (tally.digest)
        printf("digest: %016llx\n", (unsigned long long)tally.h);
    detect_engine_free(e);
    for (size_t i = 0; i < DISTINCT; i++)
        trail_event_free(evs[i]);
    free(evs);
    trail_loadgen_free(gen);
    detect_rules_free(rs);
    trail_catalog_free(cat);
    return 0;
}
