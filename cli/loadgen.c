/*
 * loadgen.c - trail loadgen: the workload generator on the command line.
 *
 * Prints the simulated identity server's events as NDJSON, event.log (CEF)
 * lines or RFC 5424 syslog. Not here: the simulation itself (lib/sim/loadgen.c).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: trail loadgen [OPTIONS]\n"
    "\n"
    "Simulate an identity server and print its audit events, in time order.\n"
    "The same options always give the same events (the run is seeded).\n"
    "\n"
    "Users sign in through SAML, OIDC, internal, relay and RADIUS entry points\n"
    "with BankID, Freja, FIDO, SITHS, OneTouch, passwords and OTP by SMS; some\n"
    "fail, three failures in a row lock an account for 15 minutes, people who\n"
    "forgot their password reset it, enrol (each token a serial of its own)\n"
    "and revoke tokens, give consent and log out; administrators' tools read\n"
    "the configuration; scheduled jobs run; the push certificate warns in the\n"
    "month before its yearly expiry. Activity follows office hours and is\n"
    "lower at weekends. Every event is valid against the catalog under the\n"
    "strict policy.\n"
    "\n"
    "The traffic is a real identity server's: the population follows the\n"
    "volume (people sign in a few times a day: about 25 events a user a day),\n"
    "and activity is spread over users as Zipf's law spreads it, its head\n"
    "flattened (the busiest user about 10 to 20 times the mean). Normal\n"
    "traffic holds no attack, no change to the configuration and no\n"
    "certificate about to expire within eleven months: trail's rule pack\n"
    "(rules/) raises no alert on it. --attack adds attacks.\n"
    "\n"
    "Options:\n"
    "  -n, --count N        events to produce (default 1000)\n"
    "  -s, --seed N         seed of the simulation (default 1)\n"
    "  -u, --users N        simulated users (default: one per 25 events a day,\n"
    "                       --count / --days / 25, at least 1000)\n"
    "  -c, --clients N      service providers and OIDC clients (default 20)\n"
    "  -d, --days N         days the events are spread over (default 1)\n"
    "      --start TIME     start of the span, RFC 3339 (default 2026-11-01T00:00:00Z)\n"
    "      --host NAME      host name the events carry (default idp-node1)\n"
    "      --attack LIST    add attacks to the traffic, each once, at known times:\n"
    "                       a comma-separated list of guess, spray, lockout,\n"
    "                       fatigue, breakin, token, or all (see below)\n"
    "  -f, --format FMT     ndjson (default), cef (the identity server's event.log\n"
    "                       lines) or syslog (RFC 5424)\n"
    "      --store DIR      append the events to the store in DIR (made when missing)\n"
    "                       instead of printing them; waits until they are durable\n"
    "                       and prints how many and how fast\n"
    "      --url URL        send the events to a running traild (http://HOST:PORT) in\n"
    "                       NDJSON batches and wait for each acknowledgement; the\n"
    "                       events are stamped by traild on arrival unless --start\n"
    "                       is given; prints what was accepted and the latency\n"
    "      --rate N         with --url: at most N events/s (default: as fast as\n"
    "                       acknowledgements come back)\n"
    "      --duration SECS  with --url: stop after SECS seconds, or after --count\n"
    "                       events when that is given and comes first\n"
    "      --batch N        with --url: events per request (default 100)\n"
    "  with --url, to reach traild (an https:// URL speaks TLS):\n" CLI_CONN_HELP
    "  -h, --help           this text\n"
    "\n"
    "Attacks (--attack), each from an address of its own, 2001:db8:ffff::N:\n"
    "  guess    12 failed OIDC sign-ins of one account, 15 s apart (N=1)\n"
    "  spray    15 accounts, one failed SAML sign-in each, 20 s apart (N=2)\n"
    "  lockout  24 accounts locked within 8 minutes, 3 failures each (N=3)\n"
    "  fatigue  4 OneTouch pushes to one user rejected, then one approved (N=4)\n"
    "  breakin  6 failed OIDC sign-ins of one account, then a success (N=5)\n"
    "  token    a token enrolled and used from the user's address, then used\n"
    "           from the attacker's ten minutes later (N=6)\n"
    "Of k attacks, the i-th of this list begins at the time of event number\n"
    "i * N / (k + 1) (from 0; N is --count); the normal traffic around them is the\n"
    "same as without --attack. Each fires a rule of trail's pack (rules/;\n"
    "docs/rules.md).\n"
    "\n"
    "Examples:\n"
    "  trail loadgen -n 100000 -d 7 > week.ndjson\n"
    "  trail loadgen -n 50 --format cef > event.log\n"
    "  trail loadgen -n 5000 --attack guess,fatigue > attacked.ndjson\n"
    "  trail loadgen -n 1000000 -d 30 --store ./var/store\n"
    "  trail loadgen --url http://127.0.0.1:8080 --rate 500 --duration 60\n"
    "\n"
    "Exit status: 0 on success, 2 for bad usage.\n";

struct send_opts {
    const char *url;
    struct cli_conn conn;
    struct trail_client_opts copts;
    uint64_t rate;       /* events/s, 0 = unpaced */
    uint64_t duration_s; /* 0 = until count */
    size_t batch;
    int stamp_now; /* leave the time unset so that traild stamps it */
};

/* Read --attack's list into TRAIL_ATTACK_* bits; -1 on a name that is not an attack. */
static int parse_attacks(const char *list, uint32_t *ret_bits, char *bad, size_t badlen)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } kinds[] = {{"guess", TRAIL_ATTACK_GUESS},     {"spray", TRAIL_ATTACK_SPRAY},
                 {"lockout", TRAIL_ATTACK_LOCKOUT}, {"fatigue", TRAIL_ATTACK_FATIGUE},
                 {"breakin", TRAIL_ATTACK_BREAKIN}, {"token", TRAIL_ATTACK_TOKEN},
                 {"all", TRAIL_ATTACK_ALL}};
    uint32_t bits = 0;
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        size_t i = 0;
        while (i < (sizeof kinds / sizeof kinds[0]) &&
               (strlen(kinds[i].name) != len || strncmp(kinds[i].name, p, len) != 0))
            i++;
        if (i == (sizeof kinds / sizeof kinds[0])) {
            snprintf(bad, badlen, "%.*s", (int)len, p);
            return -1;
        }
        bits |= kinds[i].bit;
        if (!p[len])
            break;
        p += len + 1;
    }
    *ret_bits = bits;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Send count events to traild in batches, paced to opts->rate, retrying a
 * batch traild cannot take yet (503), and report what was acknowledged.
 */
static int to_url(const char *cmd, struct trail_catalog *cat, struct trail_loadgen *gen,
                  uint64_t count, const struct send_opts *o)
{
    struct trail_event **batch = calloc(o->batch, sizeof(*batch));
    struct trail_client_result *res = calloc(o->batch, sizeof(*res));
    size_t n_lat = 0, cap_lat = 1024;
    int64_t *lat = malloc(cap_lat * sizeof(*lat));
    uint64_t sent = 0, accepted = 0, rejected = 0, busy = 0;
    int r, status = 0;
    char err[512];
    if (!batch || !res || !lat) {
        status = cli_fail(cmd, "%s", trail_strerror(-ENOMEM));
        goto done;
    }
    for (size_t i = 0; i < o->batch; i++) {
        if ((r = trail_event_new(cat, "core_server_run_starting", &batch[i])) < 0) {
            status = cli_fail(cmd, "%s", trail_strerror(r));
            goto done;
        }
    }
    int64_t t0 = trail_now();
    int64_t stop = o->duration_s ? t0 + (int64_t)o->duration_s * 1000000 : INT64_MAX;
    while (sent < count && trail_now() < stop) {
        size_t n = count - sent < o->batch ? (size_t)(count - sent) : o->batch;
        for (size_t i = 0; i < n; i++) {
            if ((r = trail_loadgen_next(gen, batch[i])) < 0) {
                status = cli_fail(cmd, "%s: %s", trail_strerror(r), trail_event_error(batch[i]));
                goto done;
            }
            if (o->stamp_now)
                trail_event_set_time(batch[i], 0);
        }
        if (o->rate) {
            /* pace: the batch may leave when the rate allows it */
            int64_t due = t0 + (int64_t)((double)sent * 1e6 / (double)o->rate);
            int64_t wait = due - trail_now();
            if (wait > 0) {
                struct timespec ts = {wait / 1000000, (wait % 1000000) * 1000};
                nanosleep(&ts, NULL);
            }
        }
        for (;;) {
            int64_t ts = trail_now();
            r = trail_client_send(o->url, &o->copts, batch, n, res, err, sizeof(err));
            if (r == -EAGAIN) {
                busy++;
                struct timespec pause = {0, 50 * 1000000};
                nanosleep(&pause, NULL);
                continue;
            }
            if (r < 0) {
                status = cli_fail(cmd, "%s: %s", o->url, err[0] ? err : trail_strerror(r));
                goto done;
            }
            if (n_lat == cap_lat) {
                int64_t *p = realloc(lat, 2 * cap_lat * sizeof(*lat));
                if (!p) {
                    status = cli_fail(cmd, "%s", trail_strerror(-ENOMEM));
                    goto done;
                }
                lat = p;
                cap_lat *= 2;
            }
            lat[n_lat++] = trail_now() - ts;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (res[i].accepted) {
                accepted++;
            } else {
                if (rejected++ < 10)
                    fprintf(stderr, "trail %s: rejected %s: %s\n", cmd, trail_event_id(batch[i]),
                            res[i].error);
            }
        }
        sent += n;
    }
    double secs = (double)(trail_now() - t0) / 1e6;
    qsort(lat, n_lat, sizeof(*lat), cmp_i64);
    printf("sent %llu events to %s in %.2f s (%.0f events/s): %llu accepted and durable, %llu "
           "rejected, %llu retries after 503\n",
           (unsigned long long)sent, o->url, secs, secs > 0 ? (double)sent / secs : 0.0,
           (unsigned long long)accepted, (unsigned long long)rejected, (unsigned long long)busy);
    if (n_lat)
        printf("acknowledgement latency per batch of %zu: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
               o->batch, (double)lat[n_lat / 2] / 1000.0, (double)lat[n_lat * 99 / 100] / 1000.0,
               (double)lat[n_lat - 1] / 1000.0);
    if (rejected)
        status = 1;
done:
    for (size_t i = 0; batch && i < o->batch; i++)
        trail_event_free(batch[i]);
    free(batch);
    free(res);
    free(lat);
    return status;
}

/* Append count events to the store in dir, in batches, and wait until durable. */
static int to_store(const char *cmd, struct trail_catalog *cat, struct trail_loadgen *gen,
                    uint64_t count, const char *dir)
{
    enum { BATCH = 1024 };
    struct trail_store_opts sopts = {.create = 1};
    struct trail_store_report report;
    struct trail_store *store = NULL;
    struct trail_event *batch[BATCH] = {0};
    uint64_t last = 0, done = 0;
    int r, status = 0;
    if ((r = trail_store_open(dir, cat, &sopts, &store, &report)) < 0) {
        status = cli_fail(cmd, "%s: %s%s%s", dir, trail_strerror(r), report.message[0] ? "\n" : "",
                          report.message);
        goto done;
    }
    for (int i = 0; i < BATCH; i++) {
        if ((r = trail_event_new(cat, "core_server_run_starting", &batch[i])) < 0) {
            status = cli_fail(cmd, "%s", trail_strerror(r));
            goto done;
        }
    }
    int64_t t0 = trail_now();
    while (done < count) {
        size_t n = count - done < BATCH ? (size_t)(count - done) : BATCH;
        for (size_t i = 0; i < n; i++) {
            if ((r = trail_loadgen_next(gen, batch[i])) < 0) {
                status = cli_fail(cmd, "event %llu: %s: %s", (unsigned long long)(done + i + 1),
                                  trail_strerror(r), trail_event_error(batch[i]));
                goto done;
            }
        }
        if ((r = trail_store_append(store, batch, n, &last)) < 0) {
            status = cli_fail(cmd, "%s: append: %s", dir, trail_strerror(r));
            goto done;
        }
        done += n;
    }
    if (last && (r = trail_store_wait(store, last)) < 0) {
        status = cli_fail(cmd, "%s: %s", dir, trail_strerror(r));
        goto done;
    }
    double secs = (double)(trail_now() - t0) / 1e6;
    printf("%llu events stored in %s (seq %llu..%llu), durable, in %.2f s: %.0f events/s\n",
           (unsigned long long)done, dir, (unsigned long long)(last - done + 1),
           (unsigned long long)last, secs, secs > 0 ? (double)done / secs : 0.0);
done:
    for (int i = 0; i < BATCH; i++)
        trail_event_free(batch[i]);
    if (store && (r = trail_store_close(store)) < 0 && status == 0)
        status = cli_fail(cmd, "%s: closing: %s", dir, trail_strerror(r));
    return status;
}

int cmd_loadgen(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"count", required_argument, NULL, 'n'},    {"seed", required_argument, NULL, 's'},
        {"users", required_argument, NULL, 'u'},    {"clients", required_argument, NULL, 'c'},
        {"days", required_argument, NULL, 'd'},     {"start", required_argument, NULL, 'S'},
        {"host", required_argument, NULL, 'H'},     {"attack", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, 'f'},   {"store", required_argument, NULL, 'D'},
        {"url", required_argument, NULL, 'U'},      {"rate", required_argument, NULL, 'R'},
        {"duration", required_argument, NULL, 'T'}, {"batch", required_argument, NULL, 'B'},
        {"token", required_argument, NULL, 'K'},    {"token-file", required_argument, NULL, 'k'},
        {"cacert", required_argument, NULL, 'A'},   {"ca", required_argument, NULL, 'A'},
        {"cert", required_argument, NULL, 'C'},     {"key", required_argument, NULL, 'Y'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    struct trail_loadgen_opts opts = {0};
    uint64_t count = 1000, v;
    int count_given = 0;
    const char *format = "ndjson";
    const char *store_dir = NULL;
    struct send_opts send = {.batch = 100};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:s:u:c:d:f:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_u64(optarg, UINT64_MAX / 2, &count) < 0)
                return cli_usage_error(cmd, "--count: '%s' is not a whole number", optarg);
            count_given = 1;
            break;
        case 's':
            if (cli_parse_u64(optarg, UINT64_MAX, &opts.seed) < 0)
                return cli_usage_error(cmd, "--seed: '%s' is not a whole number", optarg);
            break;
        case 'u':
            if (cli_parse_u64(optarg, 100000000, &v) < 0 || v == 0)
                return cli_usage_error(cmd, "--users: '%s' is not a number from 1 to 100000000",
                                       optarg);
            opts.users = (uint32_t)v;
            break;
        case 'c':
            if (cli_parse_u64(optarg, 1000000, &v) < 0 || v == 0)
                return cli_usage_error(cmd, "--clients: '%s' is not a number from 1 to 1000000",
                                       optarg);
            opts.clients = (uint32_t)v;
            break;
        case 'd':
            if (cli_parse_u64(optarg, 36500, &v) < 0 || v == 0)
                return cli_usage_error(cmd, "--days: '%s' is not a number from 1 to 36500", optarg);
            opts.days = (uint32_t)v;
            break;
        case 'S':
            if (trail_time_parse(optarg, strlen(optarg), &opts.start_us) < 0)
                return cli_usage_error(cmd, "--start: '%s' is not an RFC 3339 time", optarg);
            break;
        case 'H':
            opts.host = optarg;
            break;
        case 'a': {
            char bad[64];
            if (parse_attacks(optarg, &opts.attacks, bad, sizeof bad) < 0)
                return cli_usage_error(cmd,
                                       "--attack: '%s' is not an attack (guess, spray, lockout, "
                                       "fatigue, breakin, token, all)",
                                       bad);
            break;
        }
        case 'f':
            format = optarg;
            break;
        case 'D':
            store_dir = optarg;
            break;
        case 'U':
            send.url = optarg;
            break;
        case 'R':
            if (cli_parse_u64(optarg, 100000000, &send.rate) < 0 || send.rate == 0)
                return cli_usage_error(cmd, "--rate: '%s' is not a number from 1 to 100000000",
                                       optarg);
            break;
        case 'T':
            if (cli_parse_u64(optarg, 86400 * 365, &send.duration_s) < 0 || send.duration_s == 0)
                return cli_usage_error(cmd, "--duration: '%s' is not a number of seconds", optarg);
            break;
        case 'B':
            if (cli_parse_u64(optarg, 10000, &v) < 0 || v == 0)
                return cli_usage_error(cmd, "--batch: '%s' is not a number from 1 to 10000",
                                       optarg);
            send.batch = (size_t)v;
            break;
        case 'K':
            send.conn.token = optarg;
            break;
        case 'k':
            send.conn.token_file = optarg;
            break;
        case 'A':
            send.conn.cacert = optarg;
            break;
        case 'C':
            send.conn.cert = optarg;
            break;
        case 'Y':
            send.conn.key = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            return 0;
        case ':':
            return cli_usage_error(cmd, "option %s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error(cmd, "unknown option '%s' (see trail loadgen --help)",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    int fmt = !strcmp(format, "ndjson")   ? 0
              : !strcmp(format, "cef")    ? 1
              : !strcmp(format, "syslog") ? 2
                                          : -1;
    if (fmt < 0)
        return cli_usage_error(cmd, "--format: '%s' is not ndjson, cef or syslog", format);
    opts.events = count ? count : 1;

    struct trail_catalog *cat = cli_catalog();
    struct trail_loadgen *gen = NULL;
    struct trail_event *ev = NULL;
    struct trail_buf out = {0};
    struct trail_cef_opts cef = {.log_prefix = 1};
    int r, status = 0;
    if (!cat)
        return 1;
    if (store_dir && send.url)
        return cli_usage_error(cmd, "--store and --url exclude each other");
    if ((send.rate || send.duration_s) && !send.url)
        return cli_usage_error(cmd, "--rate and --duration go with --url");
    send.stamp_now = opts.start_us == 0;
    if (send.url) {
        if (send.duration_s && !count_given)
            count = UINT64_MAX / 2; /* the duration ends the run */
        if ((status = cli_conn_opts(cmd, &send.conn, &send.copts)) != 0)
            return status;
        if ((r = trail_loadgen_new(cat, &opts, &gen)) < 0)
            status = cli_fail(cmd, "%s", trail_strerror(r));
        else
            status = to_url(cmd, cat, gen, count, &send);
        trail_loadgen_free(gen);
        cli_conn_free(&send.conn);
        return status;
    }
    if (store_dir) {
        if ((r = trail_loadgen_new(cat, &opts, &gen)) < 0)
            status = cli_fail(cmd, "%s", trail_strerror(r));
        else
            status = to_store(cmd, cat, gen, count, store_dir);
        trail_loadgen_free(gen);
        return status;
    }
    if ((r = trail_loadgen_new(cat, &opts, &gen)) < 0 ||
        (r = trail_event_new(cat, "core_server_run_starting", &ev)) < 0) {
        status = cli_fail(cmd, "%s", trail_strerror(r));
        goto done;
    }
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    for (uint64_t i = 0; i < count; i++) {
        if ((r = trail_loadgen_next(gen, ev)) < 0) {
            status = cli_fail(cmd, "event %llu: %s: %s", (unsigned long long)i + 1,
                              trail_strerror(r), trail_event_error(ev));
            goto done;
        }
        trail_buf_reset(&out);
        r = fmt == 0   ? trail_event_to_json(ev, &out)
            : fmt == 1 ? trail_event_to_cef(ev, &cef, &out)
                       : trail_event_to_syslog(ev, NULL, &out);
        if (r < 0) {
            status = cli_fail(cmd, "encoding: %s", trail_strerror(r));
            goto done;
        }
        trail_buf_append(&out, "\n", 1);
        if (fwrite(out.data, 1, out.len, stdout) != out.len) {
            status = cli_fail(cmd, "writing: %m");
            goto done;
        }
    }
    if (fflush(stdout) != 0)
        status = cli_fail(cmd, "writing: %m");
done:
    trail_buf_free(&out);
    trail_event_free(ev);
    trail_loadgen_free(gen);
    return status;
}
