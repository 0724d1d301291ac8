/*
 * sender.c - a fast load sender for the ingest comparisons: replays a
 * pre-rendered stream of lines over several TCP connections (syslog with
 * octet counting or LF framing), or POSTs it over HTTP/1.1 keep-alive in
 * NDJSON batches, and reports what it sent, how fast, and (HTTP) the
 * acknowledgement latency percentiles. A third mode is a discarding TCP
 * sink, to show the sender's own ceiling.
 *
 *   sender tcp   --connect HOST:PORT --input FILE [--conns N] [--framing octet|lf]
 *                [--loops K] [--watch-file PATH | --watch-metric HOST:PORT NAME]
 *                [--expect N] [--stall-ms MS] [--max-secs S] [--rate R --duration S]
 *   sender http  --connect HOST:PORT --input FILE [--conns N] [--batch B]
 *                [--rate EVENTS_PER_S] [--duration S] [--path /v1/events] [--max-secs S]
 *   sender drain --listen HOST:PORT [--conns N]
 *
 * Every mode ends with one line of key=value pairs on stdout (the scripts in
 * bench/ read it). The input is read into memory and framed before the clock
 * starts, so the sender does nothing per message but write().
 *
 * Not here: starting or configuring the servers (bench/compare_*.sh), and
 * anything but loopback use; not a test, asserts nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: sender tcp   --connect HOST:PORT --input FILE [--conns N] [--framing octet|lf]\n"
    "                    [--loops K] [--watch-file PATH | --watch-metric HOST:PORT NAME]\n"
    "                    [--expect N] [--stall-ms MS] [--max-secs S]\n"
    "                    [--rate MSGS_PER_S --duration S]\n"
    "       sender http  --connect HOST:PORT --input FILE [--conns N] [--batch B]\n"
    "                    [--rate EVENTS_PER_S] [--duration S] [--path /v1/events]\n"
    "                    [--max-secs S]\n"
    "       sender drain --listen HOST:PORT [--conns N]\n"
    "\n"
    "tcp    split the lines of FILE into N contiguous slices, one per connection,\n"
    "       frame them (octet counting: \"LEN MSG\", the default; lf: as they are)\n"
    "       and write each slice K times. --watch-file watches a file's size,\n"
    "       --watch-metric polls a Prometheus /metrics line NAME (label set\n"
    "       included, e.g. 'trail_events_in_total{input=\"syslog_tcp\"}'), until it\n"
    "       has grown by --expect or stops moving for --stall-ms (default 1500); the\n"
    "       time of its last change is the server's finish time. With --rate the\n"
    "       connections pace themselves to that total (messages/s) and go round\n"
    "       their slices until --duration S is over.\n"
    "http   POST the NDJSON lines of FILE in batches of B (default 1000) on N\n"
    "       keep-alive connections, one request in flight on each. With --rate the\n"
    "       connections pace themselves to that total; with --duration they go\n"
    "       round their slices until it is over. Latency is from the request's\n"
    "       first byte to the answer's last, and from its scheduled time.\n"
    "--max-secs stops sending after S seconds (whole messages or requests);\n"
    "what was sent is reported as usual.\n"
    "drain  accept N connections (default 4), read and discard until all closed.\n"
    "\n"
    "Prints one line of key=value pairs: sent, bytes, secs, rate (messages/s of\n"
    "the sender), and served, served_secs, served_rate (tcp with a watch) or\n"
    "accepted, rejected, p50_ms, p90_ms, p99_ms, p999_ms, max_ms (http).\n";

struct slice {
    const char *data;
    const size_t *at; /* n_msgs + 1 offsets of the messages in data */
    uint64_t n_msgs;
    uint64_t sent, bytes; /* messages and bytes written */
};

/* options and shared state */
static const char *opt_connect, *opt_input, *opt_watch_file, *opt_watch_metric, *opt_metric_name;
static const char *opt_path = "/v1/events";
static int opt_conns = 4, opt_loops = 1, opt_octet = 1, opt_stall_ms = 1500;
static size_t opt_batch = 1000;
static double opt_rate, opt_duration, opt_max_secs, t_start;
static uint64_t opt_expect;
static struct sockaddr_in target;
static int failed;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
    struct timespec ts = {.tv_sec = (time_t)t, .tv_nsec = (long)((t - (double)(time_t)t) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static int parse_addr(const char *s, struct sockaddr_in *ret)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host[0] ? host : "127.0.0.1", &a.sin_addr) != 1)
        return -1;
    *ret = a;
    return 0;
}

static int dial(const struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n > (1u << 20) ? (1u << 20) : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read FILE whole; the caller frees. */
static char *slurp(const char *path, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) < 0 || !(buf = malloc((size_t)st.st_size + 1)))
        goto fail;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0)
            goto fail;
        got += (size_t)r;
    }
    buf[got] = '\0';
    close(fd);
    *ret_len = got;
    return buf;
fail:
    free(buf);
    close(fd);
    return NULL;
}

/* Offsets of the line starts of buf (n_lines + 1 entries, the last = len). */
static size_t *line_index(const char *buf, size_t len, size_t *ret_n)
{
    size_t cap = 1 << 16, n = 0;
    size_t *at = malloc(cap * sizeof(*at));
    const char *p = buf, *end = buf + len;
    while (at && p < end) {
        if (n + 2 > cap) {
            size_t *bigger = realloc(at, (cap *= 2) * sizeof(*at));
            if (!bigger) {
                free(at);
                return NULL;
            }
            at = bigger;
        }
        at[n++] = (size_t)(p - buf);
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    if (at)
        at[n] = len;
    *ret_n = n;
    return at;
}

/* ---- tcp ---- */

/* Past --max-secs since the start? */
static int out_of_time(void)
{
    return opt_max_secs > 0 && now_s() - t_start > opt_max_secs;
}

/*
 * --rate: this connection's share of the rate, sent every 5 ms as what is
 * due by then, round and round its slice until --duration (or --max-secs)
 * is over. Returns the messages sent.
 */
static uint64_t paced(int fd, struct slice *s)
{
    double per_s = opt_rate / opt_conns, t0 = now_s();
    uint64_t sent = 0;
    size_t m = 0;
    while (!out_of_time() && (opt_duration <= 0 || now_s() - t0 < opt_duration)) {
        uint64_t due = (uint64_t)((now_s() - t0) * per_s);
        while (sent < due) {
            size_t end = m;
            while (end < s->n_msgs && sent + (end - m) < due && s->at[end] - s->at[m] < (4u << 20))
                end++;
            if (write_all(fd, s->data + s->at[m], s->at[end] - s->at[m]) < 0) {
                __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
                return sent;
            }
            sent += end - m;
            s->bytes += s->at[end] - s->at[m];
            m = end == s->n_msgs ? 0 : end;
        }
        sleep_until(now_s() + 0.005);
    }
    return sent;
}

static void *tcp_sender(void *arg)
{
    struct slice *s = arg;
    int fd = dial(&target);
    if (fd < 0) {
        fprintf(stderr, "sender: connect: %s\n", strerror(-fd));
        __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    /* whole messages in pieces of about 4 MiB, so that --max-secs can stop between them */
    uint64_t sent = 0;
    if (opt_rate > 0) {
        s->sent = paced(fd, s);
        close(fd);
        return NULL;
    }
    for (int k = 0; k < opt_loops && !out_of_time(); k++) {
        for (size_t m = 0; m < s->n_msgs && !out_of_time();) {
            size_t end = m;
            while (end < s->n_msgs && s->at[end] - s->at[m] < (4u << 20))
                end++;
            int r = write_all(fd, s->data + s->at[m], s->at[end] - s->at[m]);
            if (r < 0) {
                fprintf(stderr, "sender: write: %s\n", strerror(-r));
                __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
                k = opt_loops;
                break;
            }
            sent += end - m;
            s->bytes += s->at[end] - s->at[m];
            m = end;
        }
    }
    s->sent = sent;
    close(fd);
    return NULL;
}

/* One GET of /metrics; the value of the line that starts with name, or -1. */
static double metric_value(const struct sockaddr_in *a, const char *name)
{
    static char buf[1 << 20];
    int fd = dial(a);
    if (fd < 0)
        return -1;
    static const char req[] = "GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n";
    double v = -1;
    size_t got = 0;
    if (write_all(fd, req, sizeof(req) - 1) < 0)
        goto done;
    for (;;) {
        ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == sizeof(buf) - 1)
            break;
    }
    buf[got] = '\0';
    size_t nlen = strlen(name);
    for (char *line = buf; line && *line;) {
        if (!strncmp(line, name, nlen) && line[nlen] == ' ') {
            v = strtod(line + nlen + 1, NULL);
            break;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
done:
    close(fd);
    return v;
}

static double watch_value(const struct sockaddr_in *metric_addr)
{
    if (opt_watch_file) {
        struct stat st;
        return stat(opt_watch_file, &st) == 0 ? (double)st.st_size : 0;
    }
    return metric_value(metric_addr, opt_metric_name);
}

static int run_tcp(void)
{
    size_t len, n_lines;
    char *raw = slurp(opt_input, &len);
    if (!raw) {
        fprintf(stderr, "sender: %s: %s\n", opt_input, strerror(errno));
        return 1;
    }
    size_t *at = line_index(raw, len, &n_lines);
    if (!at || !n_lines) {
        fprintf(stderr, "sender: %s: no lines\n", opt_input);
        return 1;
    }
    /* frame every message; remember where each message starts in the framed buffer */
    char *framed = malloc(len + n_lines * 12 + 1);
    size_t *fat = malloc((n_lines + 1) * sizeof(*fat));
    if (!framed || !fat)
        return 1;
    size_t flen = 0;
    for (size_t i = 0; i < n_lines; i++) {
        size_t mlen = at[i + 1] - at[i];
        if (mlen && raw[at[i] + mlen - 1] == '\n')
            mlen--;
        fat[i] = flen;
        if (opt_octet)
            flen += (size_t)sprintf(framed + flen, "%zu ", mlen);
        memcpy(framed + flen, raw + at[i], mlen);
        flen += mlen;
        if (!opt_octet)
            framed[flen++] = '\n';
    }
    fat[n_lines] = flen;
    free(raw);
    free(at);

    struct slice *slices = calloc((size_t)opt_conns, sizeof(*slices));
    pthread_t *th = calloc((size_t)opt_conns, sizeof(*th));
    for (int c = 0; c < opt_conns; c++) {
        size_t from = n_lines * (size_t)c / (size_t)opt_conns;
        size_t to = n_lines * (size_t)(c + 1) / (size_t)opt_conns;
        slices[c] = (struct slice){framed, fat + from, to - from, 0, 0};
    }
    struct sockaddr_in metric_addr = {0};
    if (opt_watch_metric && parse_addr(opt_watch_metric, &metric_addr) < 0) {
        fprintf(stderr, "sender: bad --watch-metric address\n");
        return 2;
    }
    int watching = opt_watch_file || opt_watch_metric;
    double base = watching ? watch_value(&metric_addr) : 0;
    if (base < 0)
        base = 0;

    double t0 = now_s();
    t_start = t0;
    for (int c = 0; c < opt_conns; c++)
        pthread_create(&th[c], NULL, tcp_sender, &slices[c]);
    double t_sent = 0, t_last = t0, last = base;
    int joined = 0;
    char *alive = malloc((size_t)opt_conns);
    memset(alive, 1, (size_t)opt_conns);
    if (watching) {
        /* poll the server's progress; join the senders when they are done */
        for (;;) {
            usleep(opt_watch_file ? 5000 : 20000);
            double v = watch_value(&metric_addr), t = now_s();
            if (v > last) {
                last = v;
                t_last = t;
            }
            if (!joined) {
                int done = 1;
                for (int c = 0; c < opt_conns; c++) {
                    if (alive[c] && pthread_tryjoin_np(th[c], NULL) == 0)
                        alive[c] = 0;
                    done &= !alive[c];
                }
                if (done) {
                    joined = 1;
                    t_sent = now_s();
                }
            }
            if (opt_expect && v - base >= (double)opt_expect)
                break;
            if (joined && (t - t_last) * 1000 > opt_stall_ms)
                break;
        }
    } else {
        for (int c = 0; c < opt_conns; c++)
            pthread_join(th[c], NULL);
        t_sent = now_s();
    }
    uint64_t msgs = 0, bytes = 0;
    for (int c = 0; c < opt_conns; c++) {
        msgs += slices[c].sent;
        bytes += slices[c].bytes;
    }
    double secs = t_sent - t0;
    printf("mode=tcp conns=%d framing=%s sent=%llu bytes=%llu secs=%.3f rate=%.0f", opt_conns,
           opt_octet ? "octet" : "lf", (unsigned long long)msgs, (unsigned long long)bytes, secs,
           (double)msgs / secs);
    if (watching) {
        double served = last - base, ssecs = t_last - t0;
        printf(" served=%.0f served_secs=%.3f served_rate=%.0f", served, ssecs,
               ssecs > 0 ? served / ssecs : 0);
    }
    printf(" failed=%d\n", failed);
    free(alive);
    free(framed);
    free(fat);
    free(slices);
    free(th);
    return failed ? 1 : 0;
}

/* ---- http ---- */

struct http_conn {
    const char *base;         /* the NDJSON buffer */
    const size_t *at;         /* line starts, [from, to] valid */
    size_t from, to;          /* this connection's lines */
    double t0, interval, end; /* pacing: first slot, seconds between requests, stop time */
    double *lat, *lat_sched;  /* per request, milliseconds */
    size_t n_lat, cap_lat;
    uint64_t sent, accepted, rejected, bytes, bad_status;
    double t_last;
};

/* Read one HTTP response on fd into buf; its status and body via out-params. */
static int read_response(int fd, char *buf, size_t cap, int *ret_status, const char **ret_body,
                         size_t *ret_body_len, int *ret_close)
{
    size_t got = 0, head_len = 0, body_len = 0;
    for (;;) {
        if (head_len) {
            if (got >= head_len + body_len)
                break;
        } else {
            buf[got] = '\0';
            char *e = strstr(buf, "\r\n\r\n");
            if (e) {
                head_len = (size_t)(e - buf) + 4;
                char *cl = strcasestr(buf, "\r\ncontent-length:");
                if (!cl || cl > e)
                    return -EPROTO;
                body_len = strtoul(cl + 17, NULL, 10);
                if (head_len + body_len >= cap)
                    return -EMSGSIZE;
                *ret_close = strcasestr(buf, "\r\nconnection: close") &&
                             strcasestr(buf, "\r\nconnection: close") < e;
                continue;
            }
        }
        if (got + 1 >= cap)
            return -EMSGSIZE;
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -ECONNRESET;
        got += (size_t)r;
    }
    buf[head_len + body_len] = '\0';
    *ret_status = atoi(buf + 9);
    *ret_body = buf + head_len;
    *ret_body_len = body_len;
    return 0;
}

static void add_lat(struct http_conn *h, double ms, double sched_ms)
{
    if (h->n_lat == h->cap_lat) {
        h->cap_lat = h->cap_lat ? h->cap_lat * 2 : 4096;
        h->lat = realloc(h->lat, h->cap_lat * sizeof(double));
        h->lat_sched = realloc(h->lat_sched, h->cap_lat * sizeof(double));
        if (!h->lat || !h->lat_sched)
            abort();
    }
    h->lat[h->n_lat] = ms;
    h->lat_sched[h->n_lat++] = sched_ms;
}

static void *http_sender(void *arg)
{
    struct http_conn *h = arg;
    size_t cap = 16u << 20;
    char *resp = malloc(cap);
    int fd = -1;
    size_t i = h->from;
    uint64_t k = 0;
    for (;;) {
        if (i >= h->to) {
            if (opt_duration <= 0)
                break;
            i = h->from;
        }
        double sched = h->t0 + (double)k * h->interval;
        if (opt_rate > 0)
            sleep_until(sched);
        if ((opt_duration > 0 && now_s() >= h->end) || out_of_time())
            break;
        if (fd < 0 && (fd = dial(&target)) < 0) {
            fprintf(stderr, "sender: connect: %s\n", strerror(-fd));
            __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
            break;
        }
        size_t j = i + opt_batch < h->to ? i + opt_batch : h->to;
        const char *body = h->base + h->at[i];
        size_t body_len = h->at[j] - h->at[i];
        char head[256];
        int hl =
            snprintf(head, sizeof(head),
                     "POST %s HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-ndjson\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     opt_path, body_len);
        struct iovec iov[2] = {{head, (size_t)hl}, {(void *)body, body_len}};
        double ts = now_s();
        size_t total = (size_t)hl + body_len, done = 0;
        int werr = 0;
        while (done < total) {
            ssize_t w = writev(fd, iov, 2);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                werr = -errno;
                break;
            }
            done += (size_t)w;
            for (int v = 0; v < 2 && w > 0; v++) {
                size_t take = (size_t)w < iov[v].iov_len ? (size_t)w : iov[v].iov_len;
                iov[v].iov_base = (char *)iov[v].iov_base + take;
                iov[v].iov_len -= take;
                w -= (ssize_t)take;
            }
        }
        int status = 0, close_it = 0;
        const char *rb = NULL;
        size_t rb_len = 0;
        int r = werr ? werr : read_response(fd, resp, cap, &status, &rb, &rb_len, &close_it);
        double te = now_s();
        if (r < 0) {
            fprintf(stderr, "sender: request: %s\n", strerror(-r));
            __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
            break;
        }
        uint64_t n = j - i;
        h->sent += n;
        h->bytes += body_len;
        const char *acc = strstr(rb, "\"accepted\":");
        const char *rej = strstr(rb, "\"rejected\":");
        h->accepted += acc ? strtoull(acc + 11, NULL, 10) : 0;
        h->rejected += rej ? strtoull(rej + 11, NULL, 10) : 0;
        if (status != 200) {
            h->bad_status++;
            if (h->bad_status <= 3)
                fprintf(stderr, "sender: status %d: %.200s\n", status, rb);
        }
        add_lat(h, (te - ts) * 1e3, (te - (opt_rate > 0 ? sched : ts)) * 1e3);
        h->t_last = te;
        if (close_it) {
            close(fd);
            fd = -1;
        }
        i = j;
        k++;
    }
    if (fd >= 0)
        close(fd);
    free(resp);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static int run_http(void)
{
    size_t len, n_lines;
    char *raw = slurp(opt_input, &len);
    if (!raw) {
        fprintf(stderr, "sender: %s: %s\n", opt_input, strerror(errno));
        return 1;
    }
    size_t *at = line_index(raw, len, &n_lines);
    if (!at || (size_t)opt_conns > n_lines) {
        fprintf(stderr, "sender: %s: fewer lines than connections\n", opt_input);
        return 1;
    }
    struct http_conn *hc = calloc((size_t)opt_conns, sizeof(*hc));
    pthread_t *th = calloc((size_t)opt_conns, sizeof(*th));
    /* each connection sends one batch per interval: conns * batch / interval = rate */
    double interval = opt_rate > 0 ? (double)opt_conns * (double)opt_batch / opt_rate : 0;
    double t0 = now_s() + 0.05;
    t_start = t0;
    for (int c = 0; c < opt_conns; c++) {
        hc[c].base = raw;
        hc[c].at = at;
        hc[c].from = n_lines * (size_t)c / (size_t)opt_conns;
        hc[c].to = n_lines * (size_t)(c + 1) / (size_t)opt_conns;
        hc[c].interval = interval;
        hc[c].t0 = t0 + interval * (double)c / (double)opt_conns; /* spread the connections */
        hc[c].end = t0 + opt_duration;
        pthread_create(&th[c], NULL, http_sender, &hc[c]);
    }
    uint64_t sent = 0, accepted = 0, rejected = 0, bytes = 0, bad = 0;
    size_t n_lat = 0;
    double t_end = t0;
    for (int c = 0; c < opt_conns; c++) {
        pthread_join(th[c], NULL);
        sent += hc[c].sent;
        accepted += hc[c].accepted;
        rejected += hc[c].rejected;
        bytes += hc[c].bytes;
        bad += hc[c].bad_status;
        n_lat += hc[c].n_lat;
        if (hc[c].t_last > t_end)
            t_end = hc[c].t_last;
    }
    double *lat = malloc((n_lat + 1) * sizeof(double)),
           *lat_s = malloc((n_lat + 1) * sizeof(double));
    size_t m = 0;
    for (int c = 0; c < opt_conns; c++) {
        memcpy(lat + m, hc[c].lat, hc[c].n_lat * sizeof(double));
        memcpy(lat_s + m, hc[c].lat_sched, hc[c].n_lat * sizeof(double));
        m += hc[c].n_lat;
        free(hc[c].lat);
        free(hc[c].lat_sched);
    }
    qsort(lat, n_lat, sizeof(double), cmp_double);
    qsort(lat_s, n_lat, sizeof(double), cmp_double);
    double secs = t_end - t0;
    printf("mode=http conns=%d batch=%zu target_rate=%.0f sent=%llu bytes=%llu secs=%.3f "
           "rate=%.0f accepted=%llu rejected=%llu accepted_rate=%.0f requests=%zu bad_status=%llu "
           "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f sched_p50_ms=%.3f "
           "sched_p99_ms=%.3f failed=%d\n",
           opt_conns, opt_batch, opt_rate, (unsigned long long)sent, (unsigned long long)bytes,
           secs, (double)sent / secs, (unsigned long long)accepted, (unsigned long long)rejected,
           (double)accepted / secs, n_lat, (unsigned long long)bad, pct(lat, n_lat, 50),
           pct(lat, n_lat, 90), pct(lat, n_lat, 99), pct(lat, n_lat, 99.9),
           n_lat ? lat[n_lat - 1] : 0, pct(lat_s, n_lat, 50), pct(lat_s, n_lat, 99), failed);
    free(lat);
    free(lat_s);
    free(hc);
    free(th);
    free(at);
    free(raw);
    return failed || bad ? 1 : 0;
}

/* ---- drain ---- */

static uint64_t drained;

static void *drain_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static __thread char buf[1 << 20];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        __atomic_add_fetch(&drained, (uint64_t)r, __ATOMIC_RELAXED);
    }
    close(fd);
    return NULL;
}

static int run_drain(const char *listen_at)
{
    struct sockaddr_in a;
    if (parse_addr(listen_at, &a) < 0) {
        fprintf(stderr, "sender: bad --listen address\n");
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 64) < 0) {
        fprintf(stderr, "sender: listen %s: %s\n", listen_at, strerror(errno));
        return 1;
    }
    pthread_t *th = calloc((size_t)opt_conns, sizeof(*th));
    double t0 = 0;
    for (int c = 0; c < opt_conns; c++) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "sender: accept: %s\n", strerror(errno));
            return 1;
        }
        if (!c)
            t0 = now_s();
        pthread_create(&th[c], NULL, drain_conn, (void *)(intptr_t)fd);
    }
    for (int c = 0; c < opt_conns; c++)
        pthread_join(th[c], NULL);
    double secs = now_s() - t0;
    printf("mode=drain conns=%d bytes=%llu secs=%.3f mb_per_s=%.1f\n", opt_conns,
           (unsigned long long)drained, secs, (double)drained / 1e6 / secs);
    close(ls);
    free(th);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *mode = argv[1], *listen_at = NULL;
    signal(SIGPIPE, SIG_IGN);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!v)
            takes = 0;
        else if (!strcmp(a, "--connect"))
            opt_connect = v;
        else if (!strcmp(a, "--listen"))
            listen_at = v;
        else if (!strcmp(a, "--input"))
            opt_input = v;
        else if (!strcmp(a, "--conns"))
            opt_conns = atoi(v);
        else if (!strcmp(a, "--loops"))
            opt_loops = atoi(v);
        else if (!strcmp(a, "--framing"))
            opt_octet = strcmp(v, "lf") != 0;
        else if (!strcmp(a, "--watch-file"))
            opt_watch_file = v;
        else if (!strcmp(a, "--watch-metric") && i + 2 < argc) {
            opt_watch_metric = v;
            opt_metric_name = argv[i + 2];
            i++;
        } else if (!strcmp(a, "--expect"))
            opt_expect = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--stall-ms"))
            opt_stall_ms = atoi(v);
        else if (!strcmp(a, "--batch"))
            opt_batch = (size_t)atol(v);
        else if (!strcmp(a, "--rate"))
            opt_rate = atof(v);
        else if (!strcmp(a, "--duration"))
            opt_duration = atof(v);
        else if (!strcmp(a, "--max-secs"))
            opt_max_secs = atof(v);
        else if (!strcmp(a, "--path"))
            opt_path = v;
        else
            takes = 0;
        if (!takes) {
            fprintf(stderr, "sender: bad argument '%s'\n%s", a, usage_text);
            return 2;
        }
        i++;
    }
    if (opt_conns < 1 || opt_loops < 1 || opt_batch < 1) {
        fprintf(stderr, "sender: --conns, --loops and --batch must be at least 1\n");
        return 2;
    }
    if (!strcmp(mode, "drain"))
        return run_drain(listen_at ? listen_at : "127.0.0.1:0");
    if (!opt_connect || !opt_input || parse_addr(opt_connect, &target) < 0) {
        fprintf(stderr, "sender: needs --connect HOST:PORT and --input FILE\n");
        return 2;
    }
    if (!strcmp(mode, "tcp"))
        return run_tcp();
    if (!strcmp(mode, "http"))
        return run_http();
    fprintf(stderr, "sender: unknown mode '%s'\n%s", mode, usage_text);
    return 2;
}
