/*
 * render.c - run a report over an index and write it: a table for a
 * terminal, CSV, JSON or one self-contained, printable HTML page (inline
 * CSS and SVG bar charts, no script, nothing fetched).
 *
 * Every text that came from an event or a definition goes through the one
 * escaper (lib/codec/textesc.c): trail_text_escape for the table,
 * trail_text_csv_cell for CSV, trail_json_string for JSON and
 * codec_html_text for HTML. The forms are described in docs/reports.md.
 *
 * Not here: the definitions and ranges (report.c), searching (lib/query),
 * reading the sinks' and checkpoints' files (state.c).
 */
#include "codec/codec.h"
#include "query/query.h"
#include "report/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHART_ROWS 40 /* bars drawn at most; the table below a chart has every row */

/* The output, with its first error kept: every write after one is skipped. */
struct out {
    struct trail_buf *b;
    int fmt;
    int e;
};

static void raw(struct out *o, const char *s, size_t n)
{
    if (o->e == 0)
        o->e = trail_buf_append(o->b, s, n);
}

static void put(struct out *o, const char *s)
{
    raw(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct out *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    put(o, tmp);
}

/* Text s[0..n) escaped for the output's format (a CSV cell, a JSON string, HTML, a table). */
static void text(struct out *o, const char *s, size_t n)
{
    if (o->e)
        return;
    switch (o->fmt) {
    case TRAIL_REPORT_CSV:
        o->e = trail_text_csv_cell(o->b, s, n);
        break;
    case TRAIL_REPORT_JSON:
        o->e = trail_json_string(o->b, s, n);
        break;
    case TRAIL_REPORT_HTML:
        o->e = codec_html_text(o->b, s, n);
        break;
    default:
        o->e = trail_text_escape(o->b, s, n, NULL, TRAIL_ESC_NL | TRAIL_ESC_TAB);
    }
}

static void str(struct out *o, const char *s)
{
    text(o, s, strlen(s));
}

/* a table cell padded to width columns (bytes: good enough for the ASCII it mostly holds) */
static void cell(struct out *o, const char *s, size_t width)
{
    size_t before = o->b->len;
    str(o, s);
    for (size_t w = o->b->len - before; w < width; w++)
        put(o, " ");
}

static void time_text(int64_t t, const char *open, char buf[32])
{
    if (t == INT64_MIN || t == INT64_MAX)
        snprintf(buf, 32, "%s", open);
    else
        trail_time_format(t, buf);
}

/* ---- the page ---- */

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin:1.6em 0 .2em}"
    ".meta,.range{color:#555}table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}"
    "td.n{text-align:right}th{background:#eee}svg{display:block;margin:.5em 0}"
    "section{page-break-inside:avoid}"
    "@media print{body{margin:0}section{break-inside:avoid}}";

static void begin(struct out *o, const struct trail_report *r, int64_t now)
{
    struct trail_report_info in;
    char t[32];
    trail_report_info(r, &in);
    trail_time_format(now, t);
    switch (o->fmt) {
    case TRAIL_REPORT_JSON:
        put(o, "{\"report\":");
        str(o, in.name);
        put(o, ",\"title\":");
        str(o, in.title);
        put(o, ",\"category\":");
        str(o, in.category);
        put(o, ",\"description\":");
        str(o, in.description);
        putf(o, ",\"now\":\"%s\",\"zone\":\"%s\",\"sections\":[", t, in.zone);
        break;
    case TRAIL_REPORT_CSV:
        put(o, "report,title,category,now\n");
        str(o, in.name);
        put(o, ",");
        str(o, in.title);
        put(o, ",");
        str(o, in.category);
        putf(o, ",%s\n", t);
        break;
    case TRAIL_REPORT_HTML:
        put(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
               "style-src 'unsafe-inline'\"><title>");
        str(o, in.title);
        putf(o, "</title><style>%s</style></head><body>\n<h1>", css);
        str(o, in.title);
        put(o, "</h1>\n<p class=\"meta\">");
        str(o, in.category);
        putf(o, " &middot; report <code>");
        str(o, in.name);
        putf(o, "</code> &middot; run for %s &middot; periods in %s</p>\n", t, in.zone);
        if (*in.description) {
            put(o, "<p>");
            str(o, in.description);
            put(o, "</p>\n");
        }
        break;
    default:
        str(o, in.title);
        put(o, "\n");
        for (size_t i = strlen(in.title); i > 0; i--)
            put(o, "=");
        put(o, "\n");
        if (*in.description) {
            str(o, in.description);
            put(o, "\n");
        }
        put(o, "category: ");
        str(o, in.category);
        putf(o, "; report %s; run for %s\n", in.name, t);
    }
}

static void section_begin(struct out *o, const struct report_section *s, size_t i,
                          const char *range, int64_t since, int64_t until)
{
    char a[32], b[32];
    time_text(since, "", a);
    time_text(until, "", b);
    switch (o->fmt) {
    case TRAIL_REPORT_JSON:
        put(o, i ? ",{\"title\":" : "{\"title\":");
        str(o, s->title);
        putf(o, ",\"kind\":\"%s\"", report_section_kind_name(s->kind));
        put(o, ",\"range\":");
        str(o, range);
        put(o, ",\"since\":");
        if (*a)
            putf(o, "\"%s\"", a);
        else
            put(o, "null");
        put(o, ",\"until\":");
        if (*b)
            putf(o, "\"%s\"", b);
        else
            put(o, "null");
        break;
    case TRAIL_REPORT_CSV:
        put(o, "\n");
        str(o, s->title);
        put(o, ",");
        str(o, range);
        putf(o, ",%s,%s\n", a, b);
        break;
    case TRAIL_REPORT_HTML:
        put(o, "<section>\n<h2>");
        str(o, s->title);
        put(o, "</h2>\n<p class=\"range\">");
        str(o, range);
        if (s->kind == SEC_SINKS)
            putf(o, ": as of %s</p>\n", b);
        else
            putf(o, ": %s &ndash; %s</p>\n", *a ? a : "the first event", *b ? b : "now");
        break;
    default:
        put(o, "\n");
        str(o, s->title);
        put(o, "\n");
        for (size_t k = strlen(s->title); k > 0; k--)
            put(o, "-");
        put(o, "\n");
        str(o, range);
        if (s->kind == SEC_SINKS)
            putf(o, ": as of %s\n", b);
        else
            putf(o, ": %s .. %s\n", *a ? a : "(first event)", *b ? b : "(now)");
    }
}

static void section_end(struct out *o)
{
    if (o->fmt == TRAIL_REPORT_JSON)
        put(o, "}");
    else if (o->fmt == TRAIL_REPORT_HTML)
        put(o, "</section>\n");
}

static void end(struct out *o)
{
    if (o->fmt == TRAIL_REPORT_JSON)
        put(o, "]}\n");
    else if (o->fmt == TRAIL_REPORT_HTML)
        put(o, "</body></html>\n");
}

/* ---- counts ---- */

static const char *key_text(const char *k)
{
    return k ? k : "(none)";
}

/* The label of a row in a chart: its keys joined with " / ". */
static void row_label(const struct trail_count *c, size_t i, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int k = 0; k < c->n_by && n < size; k++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", k ? " / " : "",
                              key_text(c->rows[i].keys[k]));
}

static void chart(struct out *o, const struct trail_count *c, size_t rows)
{
    uint64_t max = 0;
    size_t bars = rows < CHART_ROWS ? rows : CHART_ROWS;
    for (size_t i = 0; i < bars; i++)
        if (c->rows[i].count > max)
            max = c->rows[i].count;
    if (bars == 0 || max == 0)
        return;
    const int label_w = 260, bar_w = 380, h = 18;
    putf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" role=\"img\">",
         label_w + bar_w + 80, bars * h + 4);
    for (size_t i = 0; i < bars; i++) {
        char label[512];
        row_label(c, i, label, sizeof(label));
        long w = (long)((double)c->rows[i].count * bar_w / (double)max);
        if (w < 1)
            w = 1;
        size_t y = i * h + 2;
        putf(o, "<text x=\"%d\" y=\"%zu\" font-size=\"12\" text-anchor=\"end\">", label_w - 6,
             y + 13);
        str(o, label);
        putf(o, "</text><rect x=\"%d\" y=\"%zu\" width=\"%ld\" height=\"%d\" fill=\"#4a6fa5\"/>",
             label_w, y + 2, w, h - 4);
        putf(o, "<text x=\"%ld\" y=\"%zu\" font-size=\"12\">%" PRIu64 "</text>", label_w + w + 4,
             y + 13, c->rows[i].count);
    }
    put(o, "</svg>\n");
}

static void count_body(struct out *o, const struct trail_count *c, uint64_t limit)
{
    size_t rows = limit && limit < c->n_rows ? (size_t)limit : c->n_rows;
    switch (o->fmt) {
    case TRAIL_REPORT_JSON:
        put(o, ",\"by\":[");
        for (int k = 0; k < c->n_by; k++) {
            put(o, k ? "," : "");
            str(o, c->by[k]);
        }
        putf(o, "],\"total\":%" PRIu64 ",\"groups\":%zu,\"rows\":[", c->total, c->n_rows);
        for (size_t i = 0; i < rows; i++) {
            put(o, i ? ",{\"keys\":[" : "{\"keys\":[");
            for (int k = 0; k < c->n_by; k++) {
                put(o, k ? "," : "");
                if (c->rows[i].keys[k])
                    str(o, c->rows[i].keys[k]);
                else
                    put(o, "null");
            }
            putf(o, "],\"count\":%" PRIu64 "}", c->rows[i].count);
        }
        put(o, "]");
        break;
    case TRAIL_REPORT_CSV:
        for (int k = 0; k < c->n_by; k++) {
            str(o, c->by[k]);
            put(o, ",");
        }
        put(o, "count\n");
        for (size_t i = 0; i < rows; i++) {
            for (int k = 0; k < c->n_by; k++) {
                str(o, key_text(c->rows[i].keys[k]));
                put(o, ",");
            }
            putf(o, "%" PRIu64 "\n", c->rows[i].count);
        }
        for (int k = 0; k < c->n_by; k++)
            put(o, k ? "," : "total,");
        putf(o, "%" PRIu64 "\n", c->total);
        break;
    case TRAIL_REPORT_HTML:
        chart(o, c, rows);
        put(o, "<table><tr>");
        for (int k = 0; k < c->n_by; k++) {
            put(o, "<th>");
            str(o, c->by[k]);
            put(o, "</th>");
        }
        put(o, "<th>count</th></tr>\n");
        for (size_t i = 0; i < rows; i++) {
            put(o, "<tr>");
            for (int k = 0; k < c->n_by; k++) {
                put(o, "<td>");
                str(o, key_text(c->rows[i].keys[k]));
                put(o, "</td>");
            }
            putf(o, "<td class=\"n\">%" PRIu64 "</td></tr>\n", c->rows[i].count);
        }
        putf(o, "<tr><th colspan=\"%d\">total</th><th class=\"n\">%" PRIu64 "</th></tr></table>\n",
             c->n_by ? c->n_by : 1, c->total);
        if (rows < c->n_rows)
            putf(o, "<p class=\"range\">the first %zu of %zu groups</p>\n", rows, c->n_rows);
        break;
    default: {
        size_t w[TRAIL_COUNT_MAX_BY] = {0};
        for (int k = 0; k < c->n_by; k++) {
            w[k] = strlen(c->by[k]);
            for (size_t i = 0; i < rows; i++)
                if (strlen(key_text(c->rows[i].keys[k])) > w[k])
                    w[k] = strlen(key_text(c->rows[i].keys[k]));
        }
        for (int k = 0; k < c->n_by; k++) {
            cell(o, c->by[k], w[k]);
            put(o, "  ");
        }
        put(o, c->n_by ? "COUNT\n" : "");
        for (size_t i = 0; i < rows; i++) {
            for (int k = 0; k < c->n_by; k++) {
                cell(o, key_text(c->rows[i].keys[k]), w[k]);
                put(o, "  ");
            }
            putf(o, "%" PRIu64 "\n", c->rows[i].count);
        }
        putf(o, "total %" PRIu64, c->total);
        if (rows < c->n_rows)
            putf(o, " (the first %zu of %zu groups)", rows, c->n_rows);
        put(o, "\n");
    }
    }
}

/* ---- trail's own state: sinks, checkpoints ---- */

/* A fact's value or a cell: a number as it is, text escaped, none as null, "-" or empty. */
static void grid_value(struct out *o, const char *v, int numeric)
{
    if (!v)
        put(o, o->fmt == TRAIL_REPORT_JSON ? "null" : o->fmt == TRAIL_REPORT_CSV ? "" : "-");
    else if (numeric)
        put(o, v);
    else
        str(o, v);
}

static void grid_body(struct out *o, const struct report_grid *g)
{
    switch (o->fmt) {
    case TRAIL_REPORT_JSON:
        put(o, ",\"summary\":{");
        for (size_t i = 0; i < g->n_facts; i++) {
            putf(o, "%s\"%s\":", i ? "," : "", g->facts[i].name);
            grid_value(o, g->facts[i].value, g->facts[i].numeric);
        }
        put(o, "},\"rows\":[");
        for (size_t r = 0; r < g->n_rows; r++) {
            put(o, r ? ",{" : "{");
            for (size_t c = 0; c < g->n_cols; c++) {
                putf(o, "%s\"%s\":", c ? "," : "", g->cols[c]);
                grid_value(o, g->cells[r * g->n_cols + c], g->numeric >> c & 1);
            }
            put(o, "}");
        }
        put(o, "]");
        break;
    case TRAIL_REPORT_CSV:
        for (size_t i = 0; i < g->n_facts; i++) {
            putf(o, "%s,", g->facts[i].name);
            grid_value(o, g->facts[i].value, g->facts[i].numeric);
            put(o, "\n");
        }
        for (size_t c = 0; c < g->n_cols; c++)
            putf(o, "%s%s", c ? "," : "", g->cols[c]);
        put(o, "\n");
        for (size_t r = 0; r < g->n_rows; r++) {
            for (size_t c = 0; c < g->n_cols; c++) {
                put(o, c ? "," : "");
                grid_value(o, g->cells[r * g->n_cols + c], g->numeric >> c & 1);
            }
            put(o, "\n");
        }
        break;
    case TRAIL_REPORT_HTML:
        put(o, "<table>");
        for (size_t i = 0; i < g->n_facts; i++) {
            putf(o, "<tr><th>%s</th><td%s>", g->facts[i].name,
                 g->facts[i].numeric ? " class=\"n\"" : "");
            grid_value(o, g->facts[i].value, g->facts[i].numeric);
            put(o, "</td></tr>");
        }
        put(o, "</table>\n");
        if (g->n_rows == 0)
            break;
        put(o, "<table><tr>");
        for (size_t c = 0; c < g->n_cols; c++)
            putf(o, "<th>%s</th>", g->cols[c]);
        put(o, "</tr>\n");
        for (size_t r = 0; r < g->n_rows; r++) {
            put(o, "<tr>");
            for (size_t c = 0; c < g->n_cols; c++) {
                put(o, g->numeric >> c & 1 ? "<td class=\"n\">" : "<td>");
                grid_value(o, g->cells[r * g->n_cols + c], g->numeric >> c & 1);
                put(o, "</td>");
            }
            put(o, "</tr>\n");
        }
        put(o, "</table>\n");
        break;
    default: {
        for (size_t i = 0; i < g->n_facts; i++) {
            putf(o, "%s: ", g->facts[i].name);
            grid_value(o, g->facts[i].value, g->facts[i].numeric);
            put(o, "\n");
        }
        if (g->n_rows == 0)
            break;
        size_t w[16] = {0};
        for (size_t c = 0; c < g->n_cols && c < 16; c++) {
            w[c] = strlen(g->cols[c]);
            for (size_t r = 0; r < g->n_rows; r++) {
                const char *v = g->cells[r * g->n_cols + c];
                if (strlen(v ? v : "-") > w[c])
                    w[c] = strlen(v ? v : "-");
            }
        }
        for (size_t c = 0; c < g->n_cols && c < 16; c++) {
            cell(o, g->cols[c], c + 1 < g->n_cols ? w[c] : 0);
            put(o, c + 1 < g->n_cols ? "  " : "\n");
        }
        for (size_t r = 0; r < g->n_rows; r++)
            for (size_t c = 0; c < g->n_cols && c < 16; c++) {
                const char *v = g->cells[r * g->n_cols + c];
                cell(o, v ? v : "-", c + 1 < g->n_cols ? w[c] : 0);
                put(o, c + 1 < g->n_cols ? "  " : "\n");
            }
    }
    }
}

static int run_state(struct out *o, const struct report_section *s, struct trail_index *ix,
                     int64_t since, int64_t until, char *err, size_t errlen)
{
    struct report_grid g;
    struct trail_store *st = query_index_store(ix);
    int r = s->kind == SEC_SINKS
                ? report_sinks_grid(st, s->limit, &g)
                : report_checkpoints_grid(st, since, until,
                                          s->has_limit ? s->limit : REPORT_DEFAULT_CHECKPOINTS, &g);
    if (r < 0) {
        snprintf(err, errlen, "cannot read the store's %s: %s", report_section_kind_name(s->kind),
                 trail_strerror(r));
        return r;
    }
    grid_body(o, &g);
    report_grid_free(&g);
    return 0;
}

/* ---- events ---- */

/* The attributes as "key=value key=value", values in their text form. */
static int attrs_text(const struct trail_event *ev, struct trail_buf *b)
{
    int r = 0;
    size_t n = trail_event_attr_count(ev);
    for (size_t i = 0; r == 0 && i < n; i++) {
        const char *k;
        struct trail_value v;
        char small[128];
        if (trail_event_attr_at(ev, i, &k, &v) < 0)
            continue;
        r = trail_buf_append(b, i ? " " : "", i ? 1 : 0);
        if (r == 0)
            r = trail_buf_append(b, k, strlen(k));
        if (r == 0)
            r = trail_buf_append(b, "=", 1);
        if (r == 0 && (v.type == TRAIL_TYPE_STRING || v.type == TRAIL_TYPE_ENUM))
            r = trail_buf_append(b, v.u.str.ptr, v.u.str.len);
        else if (r == 0)
            r = trail_buf_append(b, small, trail_value_format(&v, small, sizeof(small)));
    }
    return r;
}

static void events_head(struct out *o)
{
    if (o->fmt == TRAIL_REPORT_JSON)
        put(o, ",\"events\":[");
    else if (o->fmt == TRAIL_REPORT_CSV)
        put(o, "time,severity,event,host,seq,attributes\n");
    else if (o->fmt == TRAIL_REPORT_HTML)
        put(o, "<table><tr><th>time</th><th>severity</th><th>event</th><th>host</th>"
               "<th>attributes</th></tr>\n");
}

static void event_row(struct out *o, const struct trail_event *ev, size_t i, struct trail_buf *tmp)
{
    char t[32];
    const char *sev = trail_severity_name(trail_event_severity(ev));
    trail_time_format(trail_event_time(ev), t);
    trail_buf_reset(tmp);
    if (o->fmt == TRAIL_REPORT_JSON) {
        put(o, i ? "," : "");
        if (o->e == 0)
            o->e = trail_event_to_json(ev, o->b);
        return;
    }
    if (o->e == 0)
        o->e = attrs_text(ev, tmp);
    if (o->e)
        return;
    switch (o->fmt) {
    case TRAIL_REPORT_CSV:
        putf(o, "%s,%s,", t, sev ? sev : "");
        str(o, trail_event_id(ev));
        put(o, ",");
        str(o, trail_event_host(ev));
        putf(o, ",%" PRIu64 ",", trail_event_seq(ev));
        text(o, tmp->data ? tmp->data : "", tmp->len);
        put(o, "\n");
        break;
    case TRAIL_REPORT_HTML:
        putf(o, "<tr><td>%s</td><td>%s</td><td>", t, sev ? sev : "");
        str(o, trail_event_id(ev));
        put(o, "</td><td>");
        str(o, trail_event_host(ev));
        put(o, "</td><td>");
        text(o, tmp->data ? tmp->data : "", tmp->len);
        put(o, "</td></tr>\n");
        break;
    default:
        putf(o, "%s  %-9s ", t, sev ? sev : "");
        str(o, trail_event_id(ev));
        put(o, "  ");
        text(o, tmp->data ? tmp->data : "", tmp->len);
        put(o, "\n");
    }
}

static void events_tail(struct out *o, size_t n, int more)
{
    switch (o->fmt) {
    case TRAIL_REPORT_JSON:
        putf(o, "],\"more\":%s", more ? "true" : "false");
        break;
    case TRAIL_REPORT_HTML:
        put(o, "</table>\n");
        putf(o, "<p class=\"range\">%zu events%s</p>\n", n,
             more ? ", and more past the limit" : "");
        break;
    case TRAIL_REPORT_CSV:
        break;
    default:
        putf(o, "%zu events%s\n", n, more ? ", and more past the limit" : "");
    }
}

/* Where a report's sections are asked: a store's index, or ClickHouse's copy. */
struct source {
    struct trail_index *ix;
    struct trail_ch *ch;
};

static int run_events(struct out *o, const struct trail_catalog *cat, const struct source *src,
                      const struct trail_query *q, char *err, size_t errlen)
{
    struct trail_results *res = NULL;
    struct trail_ch_results *chres = NULL;
    struct trail_event *ev;
    struct trail_buf tmp = {0};
    int r = src->ch ? trail_ch_results_open(src->ch, q, &chres, err, errlen)
                    : trail_results_open(src->ix, q, &res, err, errlen);
    if (r < 0)
        return r;
    if ((r = trail_event_new(cat, "x", &ev)) < 0) {
        trail_results_free(res);
        trail_ch_results_free(chres);
        return r;
    }
    events_head(o);
    size_t n = 0;
    while (o->e == 0 &&
           (r = chres ? trail_ch_results_next(chres, ev) : trail_results_next(res, ev)) == 1)
        event_row(o, ev, n++, &tmp);
    if (r < 0 && chres)
        snprintf(err, errlen, "ClickHouse: %s", trail_ch_results_error(chres));
    else if (r < 0)
        snprintf(err, errlen, "cannot read the store: %s", trail_strerror(r));
    else
        events_tail(o, n, chres ? trail_ch_results_more(chres) : trail_results_more(res));
    trail_buf_free(&tmp);
    trail_event_free(ev);
    trail_results_free(res);
    trail_ch_results_free(chres);
    return r < 0 ? r : 0;
}

static int64_t wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int run_report(const struct trail_report *r, const struct source *src, int64_t now_us,
                      int format, struct trail_buf *out, char *err, size_t errlen)
{
    struct trail_index *ix = src->ix;
    struct out o = {.b = out, .fmt = format};
    int rc = 0;
    if (now_us == 0)
        now_us = wall_now();
    begin(&o, r, now_us);
    for (size_t i = 0; rc == 0 && o.e == 0 && i < r->n_sec; i++) {
        const struct report_section *s = &r->sec[i];
        const char *range = report_section_range(r, s);
        int64_t since, until;
        struct trail_query *q;
        if ((s->kind == SEC_SINKS || s->kind == SEC_CHECKPOINTS) && !ix) {
            /* they read the store's own files, which ClickHouse does not hold */
            snprintf(err, errlen,
                     "section %zu (%s) reads the store's %s: run this report over "
                     "the store or traild, not ClickHouse",
                     i + 1, s->title ? s->title : "",
                     s->kind == SEC_SINKS ? "sink cursors" : "checkpoints");
            rc = -EINVAL;
            break;
        }
        if (s->kind == SEC_SINKS) {
            /* the sinks as they stand: no period */
            section_begin(&o, s, i, "now", INT64_MIN, now_us);
            rc = run_state(&o, s, ix, now_us, now_us, err, errlen);
            section_end(&o);
            continue;
        }
        if ((rc = report_range_in(range, now_us, r->zone, &since, &until, err, errlen)) < 0)
            break;
        if (s->kind == SEC_CHECKPOINTS) {
            section_begin(&o, s, i, range, since, until);
            rc = run_state(&o, s, ix, since, until, err, errlen);
            section_end(&o);
            continue;
        }
        if ((rc = report_section_query(r->cat, s, since, until, &q, err, errlen)) < 0)
            break;
        section_begin(&o, s, i, range, since, until);
        if (s->kind == SEC_EVENTS) {
            rc = run_events(&o, r->cat, src, q, err, errlen);
        } else {
            struct trail_count *c;
            rc = src->ch ? trail_ch_count_run(src->ch, q, &c, err, errlen)
                         : trail_count_run(ix, q, &c, err, errlen);
            if (rc == 0) {
                count_body(&o, c, s->limit);
                trail_count_free(c);
            }
        }
        trail_query_free(q);
        section_end(&o);
    }
    if (rc == 0)
        end(&o);
    if (rc == 0 && o.e < 0) {
        rc = o.e;
        snprintf(err, errlen, "%s", trail_strerror(rc));
    }
    return rc;
}

int trail_report_run(const struct trail_report *r, struct trail_index *ix, int64_t now_us,
                     int format, struct trail_buf *out, char *err, size_t errlen)
{
    struct source src = {.ix = ix};
    return run_report(r, &src, now_us, format, out, err, errlen);
}

int trail_report_run_ch(const struct trail_report *r, struct trail_ch *ch, int64_t now_us,
                        int format, struct trail_buf *out, char *err, size_t errlen)
{
    struct source src = {.ch = ch};
    return run_report(r, &src, now_us, format, out, err, errlen);
}
