/*
 * state.c - the figures of a report's sinks = and checkpoints = sections:
 * trail's own state kept beside the records, read from the store's files
 * as `trail sinks` and `trail checkpoint` read them.
 *
 *   sinks        STORE/sinks/NAME.cursor (lib/store/sink_cursor.c) and
 *                NAME.error: per sink its cursor, its lag (the store's last
 *                seq minus the cursor), what it delivered, when its cursor
 *                was written and its last error; the summary is the number
 *                of sinks, the largest lag and the store's last seq.
 *   checkpoints  STORE/checkpoints (lib/store/store_checkpoint.c): the
 *                checkpoints signed in the section's period, newest first
 *                up to limit; the summary is how many, the first and last
 *                tree size, the longest time between two of them, and,
 *                over the whole file, the latest one and the records of the
 *                store it does not cover yet.
 *
 * Not here: writing the figures in a format (render.c), the sinks
 * themselves (traild's daemon/sinks), signing (lib/store/store_checkpoint.c).
 */
#include "report/report.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void report_grid_free(struct report_grid *g)
{
    for (size_t i = 0; i < g->n_rows * g->n_cols; i++)
        free(g->cells[i]);
    free(g->cells);
    for (size_t i = 0; i < g->n_facts; i++)
        free(g->facts[i].value);
    memset(g, 0, sizeof(*g));
}

/* A new row of empty (NULL) cells. 0 or -ENOMEM. */
static int add_row(struct report_grid *g)
{
    char **c = realloc(g->cells, (g->n_rows + 1) * g->n_cols * sizeof(*c));
    if (!c)
        return -ENOMEM;
    g->cells = c;
    memset(&c[g->n_rows * g->n_cols], 0, g->n_cols * sizeof(*c));
    g->n_rows++;
    return 0;
}

/* Cell col of the last row: a copy of text. 0 or -ENOMEM. */
static int set_cell(struct report_grid *g, size_t col, const char *text)
{
    char **at = &g->cells[(g->n_rows - 1) * g->n_cols + col];
    free(*at);
    return (*at = strdup(text)) ? 0 : -ENOMEM;
}

static int set_num(struct report_grid *g, size_t col, uint64_t v)
{
    char t[24];
    snprintf(t, sizeof(t), "%" PRIu64, v);
    return set_cell(g, col, t);
}

static int add_fact(struct report_grid *g, const char *name, const char *value, int numeric)
{
    if (g->n_facts == REPORT_GRID_FACTS)
        return -EOVERFLOW;
    struct report_fact *f = &g->facts[g->n_facts];
    f->name = name;
    f->numeric = numeric;
    if (value && !(f->value = strdup(value)))
        return -ENOMEM;
    g->n_facts++;
    return 0;
}

static int add_fact_num(struct report_grid *g, const char *name, uint64_t v)
{
    char t[24];
    snprintf(t, sizeof(t), "%" PRIu64, v);
    return add_fact(g, name, t, 1);
}

/* ---- sinks ---- */

static const char *const sink_cols[] = {"sink",      "type",    "cursor",     "lag",
                                        "delivered", "updated", "last_error", "last_error_time"};
#define SINK_NUMERIC ((1u << 2) | (1u << 3) | (1u << 4))

/* Sort the rows by their first cell (the sink's name), as `trail sinks` lists them. */
static void sort_rows(struct report_grid *g)
{
    size_t w = g->n_cols;
    for (size_t i = 1; i < g->n_rows; i++)
        for (size_t j = i; j > 0 && strcmp(g->cells[j * w], g->cells[(j - 1) * w]) < 0; j--)
            for (size_t k = 0; k < w; k++) {
                char *t = g->cells[j * w + k];
                g->cells[j * w + k] = g->cells[(j - 1) * w + k];
                g->cells[(j - 1) * w + k] = t;
            }
}

/* The sink's last error from NAME.error ("error TEXT" and "time US" lines), if any. */
static int read_error(struct report_grid *g, int sinks_fd, const char *name)
{
    char file[300], line[700];
    snprintf(file, sizeof(file), "%s.error", name);
    int fd = openat(sinks_fd, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return 0;
    }
    int r = 0;
    while (r == 0 && fgets(line, sizeof(line), f)) {
        int64_t t;
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "error ", 6)) {
            r = set_cell(g, 6, line + 6);
        } else if (sscanf(line, "time %" SCNd64, &t) == 1 && t > 0) {
            char ts[32];
            trail_time_format(t, ts);
            r = set_cell(g, 7, ts);
        }
    }
    fclose(f);
    return r;
}

int report_sinks_grid(struct trail_store *s, uint64_t limit, struct report_grid *g)
{
    memset(g, 0, sizeof(*g));
    g->cols = sink_cols;
    g->n_cols = sizeof(sink_cols) / sizeof(*sink_cols);
    g->numeric = SINK_NUMERIC;
    uint64_t last = trail_store_last_seq(s), max_lag = 0;
    char id[33];
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", s->store_id[i]);
    int r = 0;
    int fd = openat(s->dir_fd, "sinks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (fd >= 0 && !d) {
        r = -errno;
        close(fd);
        return r;
    }
    if (!d && errno != ENOENT)
        return -errno;
    struct dirent *de;
    while (d && r == 0 && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        struct trail_sink_cursor c;
        char path[4400], name[256];
        if (len <= 7 || len - 7 >= sizeof(name) || strcmp(de->d_name + len - 7, ".cursor"))
            continue;
        snprintf(path, sizeof(path), "%s/sinks/%s", s->dir, de->d_name);
        if (trail_sink_cursor_read(path, &c) < 0)
            continue; /* not a cursor, or gone since the listing: `trail sinks` skips it too */
        snprintf(name, sizeof(name), "%.*s", (int)(len - 7), de->d_name);
        if ((r = add_row(g)) < 0 || (r = set_cell(g, 0, name)) < 0 ||
            (r = set_cell(g, 1, c.type)) < 0 || (r = set_num(g, 2, c.seq)) < 0 ||
            (r = set_num(g, 4, c.delivered)) < 0)
            break;
        if (c.time_us) {
            char t[32];
            trail_time_format(c.time_us, t);
            if ((r = set_cell(g, 5, t)) < 0)
                break;
        }
        if ((r = read_error(g, fd, name)) < 0)
            break;
        if (strcmp(c.store, id) != 0) {
            /* a copied or stale cursor (as `trail sinks` says): no lag is known */
            char e[200];
            snprintf(e, sizeof(e),
                     "cursor of another store: it belongs to store %s, not this one (%s); traild "
                     "starts this sink afresh",
                     c.store[0] ? c.store : "(none)", id);
            r = set_cell(g, 6, e);
        } else if (c.seq > last) {
            /* never lag 0: the store lost records the sink delivered */
            r = set_cell(g, 6, "cursor past the end of the store");
        } else {
            r = set_num(g, 3, last - c.seq);
            max_lag = last - c.seq > max_lag ? last - c.seq : max_lag;
        }
    }
    if (d)
        closedir(d);
    if (r == 0) {
        sort_rows(g);
        uint64_t n = g->n_rows;
        if (limit && limit < g->n_rows) {
            for (size_t i = (size_t)limit * g->n_cols; i < g->n_rows * g->n_cols; i++)
                free(g->cells[i]);
            g->n_rows = (size_t)limit;
        }
        if ((r = add_fact_num(g, "sinks", n)) == 0 &&
            (r = add_fact_num(g, "max_lag", max_lag)) == 0)
            r = add_fact_num(g, "last_seq", last);
    }
    if (r < 0)
        report_grid_free(g);
    return r;
}

/* ---- checkpoints ---- */

static const char *const cp_cols[] = {"time", "tree_size", "key_id", "root"};
#define CP_NUMERIC (1u << 1)

/* STORE/checkpoints, whole. 0 (an empty buffer when there is none) or -errno. */
static int read_checkpoints(struct trail_store *s, struct trail_buf *b)
{
    int fd = openat(s->dir_fd, "checkpoints", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    char chunk[65536];
    int r = 0;
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            r = got < 0 ? -errno : 0;
            break;
        }
        if ((r = trail_buf_append(b, chunk, (size_t)got)) < 0)
            break;
    }
    close(fd);
    return r;
}

int report_checkpoints_grid(struct trail_store *s, int64_t since, int64_t until, uint64_t limit,
                            struct report_grid *g)
{
    memset(g, 0, sizeof(*g));
    g->cols = cp_cols;
    g->n_cols = sizeof(cp_cols) / sizeof(*cp_cols);
    g->numeric = CP_NUMERIC;
    struct trail_buf b = {0};
    struct trail_checkpoint *in = NULL; /* those of the period, in file order */
    size_t n_in = 0, cap = 0;
    struct trail_checkpoint latest = {0};
    int have_latest = 0;
    uint64_t unreadable = 0;
    int r = read_checkpoints(s, &b);
    for (size_t at = 0; r == 0 && at < b.len;) {
        const char *nl = memchr(b.data + at, '\n', b.len - at);
        size_t len = (nl ? (size_t)(nl - b.data) : b.len) - at;
        struct trail_checkpoint cp;
        if (!nl) /* a last line without its '\n' is one a crash cut: the next writer cuts it */
            break;
        if (trail_checkpoint_parse(b.data + at, len, &cp) < 0) {
            unreadable++;
        } else {
            if (!have_latest || cp.time_us >= latest.time_us)
                latest = cp, have_latest = 1;
            if (cp.time_us >= since && cp.time_us < until) {
                if (n_in == cap) {
                    cap = cap ? 2 * cap : 64;
                    struct trail_checkpoint *m = realloc(in, cap * sizeof(*m));
                    if (!m) {
                        r = -ENOMEM;
                        break;
                    }
                    in = m;
                }
                in[n_in++] = cp;
            }
        }
        at += len + 1;
    }
    int64_t gap = -1;
    for (size_t i = 1; i < n_in; i++)
        if (in[i].time_us - in[i - 1].time_us > gap)
            gap = in[i].time_us - in[i - 1].time_us;
    size_t rows = limit && limit < n_in ? (size_t)limit : n_in;
    for (size_t i = 0; r == 0 && i < rows; i++) {
        const struct trail_checkpoint *cp = &in[n_in - 1 - i];
        char t[32], root[2 * TRAIL_HASH_LEN + 1];
        trail_time_format(cp->time_us, t);
        trail_hash_to_hex(cp->root, root);
        if ((r = add_row(g)) < 0 || (r = set_cell(g, 0, t)) < 0 ||
            (r = set_num(g, 1, cp->tree_size)) < 0 || (r = set_cell(g, 2, cp->key_id)) < 0)
            break;
        r = set_cell(g, 3, root);
    }
    if (r == 0)
        r = add_fact_num(g, "checkpoints", n_in);
    if (r == 0)
        r = n_in ? add_fact_num(g, "first_size", in[0].tree_size)
                 : add_fact(g, "first_size", NULL, 1);
    if (r == 0)
        r = n_in ? add_fact_num(g, "last_size", in[n_in - 1].tree_size)
                 : add_fact(g, "last_size", NULL, 1);
    if (r == 0)
        r = gap >= 0 ? add_fact_num(g, "longest_gap_s", (uint64_t)(gap / 1000000))
                     : add_fact(g, "longest_gap_s", NULL, 1);
    if (r == 0 && have_latest) {
        char t[32];
        uint64_t last = trail_store_last_seq(s);
        trail_time_format(latest.time_us, t);
        if ((r = add_fact(g, "latest", t, 0)) == 0)
            r = add_fact_num(g, "not_covered",
                             last > latest.tree_size ? last - latest.tree_size : 0);
    } else if (r == 0 && (r = add_fact(g, "latest", NULL, 0)) == 0) {
        r = add_fact(g, "not_covered", NULL, 1);
    }
    if (r == 0)
        r = add_fact_num(g, "unreadable_lines", unreadable);
    free(in);
    trail_buf_free(&b);
    if (r < 0)
        report_grid_free(g);
    return r;
}
