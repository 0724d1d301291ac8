/*
 * test_output_safety.c - a property test of every text encoder: events whose
 * attribute values, host and description hold every class of code point
 * (each byte 0x00..0x1f, DEL, each C1 control, U+2028, U+2029, a sample of
 * the BMP and the astral planes, the formats' own separators, and, where an
 * event can hold it, invalid UTF-8) must come out as one line that holds no
 * raw control character, no C1 control, no U+2028/U+2029 and only valid
 * UTF-8, with every field where it belongs; and where trail has a decoder
 * (JSON, CEF, RFC 5424), decoding gives back the values exactly.
 *
 * The oracle here is the test's own: it scans the bytes itself and counts
 * fields itself; it does not ask lib/codec/textesc.c whether its output is safe.
 *
 * CSV cells (trail_text_csv_cell) are checked here too: one line, one field,
 * no formula. Not here: the CLI's tables and the sinks end to end
 * (tests/integration/output_safety.sh).
 */
#include "harness.h"
#include "codec/codec.h"
#include "trail.h"

#define EV_ID "out_safety_ev"

/* ---- the inputs ---- */

#define MAX_PIECES 1200

struct piece {
    char s[8];
    size_t n;
    int utf8; /* 0: invalid UTF-8, which no event value can hold */
};

static struct piece pieces[MAX_PIECES];
static size_t n_pieces;

static size_t put_cp(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static void add_cp(unsigned cp)
{
    struct piece *p = &pieces[n_pieces++];
    p->n = put_cp(p->s, cp);
    p->utf8 = 1;
}

static void add_bytes(const char *s, size_t n)
{
    struct piece *p = &pieces[n_pieces++];
    memcpy(p->s, s, n);
    p->n = n;
    p->utf8 = 0;
}

static void make_pieces(void)
{
    if (n_pieces)
        return;
    for (unsigned c = 0; c < 0x20; c++)
        add_cp(c);
    add_cp(0x7f);
    for (unsigned c = 0x80; c <= 0x9f; c++)
        add_cp(c);
    add_cp(0x2028);
    add_cp(0x2029);
    /* the formats' own separators and escapes */
    for (const char *s = "\\=|\"][,' @+-#<>`*_"; *s; s++)
        add_cp((unsigned char)*s);
    /* a sample of the BMP (no surrogates) and of the astral planes */
    for (unsigned c = 0xa0; c < 0x10000; c += 211)
        if (c < 0xd800 || c > 0xdfff)
            add_cp(c);
    add_cp(0xfeff);
    add_cp(0xfffd);
    add_cp(0xffff);
    for (unsigned c = 0x10000; c <= 0x10ffff; c += 4099)
        add_cp(c);
    add_cp(0x10ffff);
    /* invalid UTF-8: a lone continuation, bytes never used, overlong forms,
       an encoded surrogate, past U+10FFFF, cut short */
    static const char *const bad[] = {"\x80",         "\xbf",         "\xfe",
                                      "\xff",         "\xc0\x80",     "\xc1\xbf",
                                      "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                      "\xe2\x80",     "\xf0\x9f\x98", "\xc2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        add_bytes(bad[i], strlen(bad[i]));
    if (n_pieces > MAX_PIECES)
        abort();
}

/* ---- the oracle ---- */

/* 1 when s[0..n) is well-formed UTF-8 (RFC 3629: no overlong form, surrogate or cp > U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], cp, len;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07;
        else
            return 0;
        if (i + len > n)
            return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* 1 when s[0..n) is valid UTF-8 with no C0, DEL, C1, U+2028 or U+2029; else 0 and why. */
static int safe_text(const char *str, size_t n, char *why, size_t whylen)
{
    const unsigned char *s = (const unsigned char *)str;
    if (!utf8_ok(s, n)) {
        snprintf(why, whylen, "not valid UTF-8");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            snprintf(why, whylen, "raw 0x%02x at byte %zu", s[i], i);
            return 0;
        }
        if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f) {
            snprintf(why, whylen, "raw C1 U+%04X at byte %zu", s[i + 1], i);
            return 0;
        }
        if (s[i] == 0xe2 && i + 2 < n && s[i + 1] == 0x80 &&
            (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
            snprintf(why, whylen, "raw U+%04X at byte %zu", s[i + 2] == 0xa8 ? 0x2028 : 0x2029, i);
            return 0;
        }
    }
    return 1;
}

#define ASSERT_SAFE(buf, what, i)                                                                  \
    do {                                                                                           \
        char why_[64];                                                                             \
        if (!safe_text((buf).data, (buf).len, why_, sizeof(why_)))                                 \
            FAIL_AT("%s, piece %zu: %s: %s", (what), (size_t)(i), why_, (buf).data);               \
    } while (0)

/* The number of unescaped '|' in a CEF line from "CEF:" to the extension (7 when right). */
static int cef_header_bars(const char *s)
{
    const char *p = strstr(s, "CEF:");
    int bars = 0;
    if (!p)
        return -1;
    for (; *p && bars < 7; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '|')
            bars++;
    }
    return bars;
}

static struct trail_catalog *catalog(void)
{
    static struct trail_catalog *cat;
    if (cat)
        return cat;
    /* a description that holds every piece, invalid UTF-8 included */
    static char desc[16384];
    size_t k = 0;
    make_pieces();
    memcpy(desc, "Desc", 4);
    k = 4;
    for (size_t i = 0; i < n_pieces; i++) {
        if (pieces[i].n == 1 && pieces[i].s[0] == 0)
            continue; /* a C string cannot hold NUL */
        memcpy(desc + k, pieces[i].s, pieces[i].n);
        k += pieces[i].n;
    }
    desc[k] = '\0';
    if (trail_catalog_new(&cat) != 0 ||
        trail_catalog_add(cat, EV_ID, "WARNING", desc, "s:string, t:string") != 0 ||
        trail_catalog_set_policy(cat, TRAIL_POLICY_LENIENT) != 0)
        abort();
    return cat;
}

/* The value a piece is tested in: at the start, in the middle, at the end. */
static size_t value_of(const struct piece *p, int where, char *out)
{
    size_t k = 0;
    if (where > 0)
        out[k++] = 'a';
    memcpy(out + k, p->s, p->n);
    k += p->n;
    if (where < 2)
        out[k++] = 'z';
    return k;
}

static int same_string(const struct trail_event *ev, const char *key, const char *want, size_t len)
{
    struct trail_value v;
    return trail_event_attr_get(ev, key, &v) == 0 && v.type == TRAIL_TYPE_STRING &&
           v.u.str.len == len && memcmp(v.u.str.ptr, want, len) == 0;
}

/* ---- the properties ---- */

TEST(every_encoder_one_line_one_field_round_trip)
{
    struct trail_catalog *cat = catalog();
    struct trail_buf out = {0};
    char err[256], val[32];
    size_t checked = 0;
    for (size_t i = 0; i < n_pieces; i++) {
        if (!pieces[i].utf8)
            continue; /* no event value can hold it: see invalid_utf8_in_the_description */
        for (int where = 0; where < 3; where++) {
            size_t vl = value_of(&pieces[i], where, val);
            struct trail_event *ev, *back;
            ASSERT_OK(trail_event_new(cat, EV_ID, &ev));
            ASSERT_OK(trail_event_set_string(ev, "s", val, vl));
            ASSERT_OK(trail_event_set_string(ev, "u_extra", val, vl));
            trail_event_set_time(ev, 1764000000123456LL);
            if (pieces[i].s[0] != 0) /* a host cannot hold NUL */
                ASSERT_OK(trail_event_set_host(ev, val, vl));

            /* JSON */
            trail_buf_reset(&out);
            ASSERT_OK(trail_event_to_json(ev, &out));
            ASSERT_SAFE(out, "json", i);
            if (trail_event_from_json(cat, out.data, out.len, &back, err, sizeof(err)) != 0)
                FAIL_AT("json, piece %zu: %s: %s", i, err, out.data);
            if (!same_string(back, "s", val, vl) || !same_string(back, "u_extra", val, vl))
                FAIL_AT("json, piece %zu: values differ: %s", i, out.data);
            trail_event_free(back);

            /* CEF and event.log, with and without provenance keys */
            for (int form = 0; form < 4; form++) {
                struct trail_cef_opts co = {.log_prefix = form & 1, .provenance = form >> 1};
                trail_buf_reset(&out);
                ASSERT_OK(trail_event_to_cef(ev, &co, &out));
                ASSERT_SAFE(out, "cef", i);
                if (cef_header_bars(out.data) != 7)
                    FAIL_AT("cef, piece %zu: the header does not have 7 fields: %s", i, out.data);
                if (trail_event_from_cef(cat, out.data, out.len, &back, err, sizeof(err)) != 0)
                    FAIL_AT("cef, piece %zu: %s: %s", i, err, out.data);
                if (trail_event_attr_count(back) != 2 || !same_string(back, "s", val, vl) ||
                    !same_string(back, "u_extra", val, vl))
                    FAIL_AT("cef, piece %zu: values differ: %s", i, out.data);
                trail_event_free(back);
            }

            /* RFC 5424, LF framing and octet counting */
            for (int octets = 0; octets < 2; octets++) {
                struct trail_syslog_opts so = {.octet_count = octets};
                trail_buf_reset(&out);
                ASSERT_OK(trail_event_to_syslog(ev, &so, &out));
                ASSERT_SAFE(out, "syslog", i);
                const char *msg = out.data;
                if (octets)
                    msg = strchr(out.data, ' ') + 1;
                size_t ml = out.len - (size_t)(msg - out.data);
                /* one element, three params: id, s, u_extra */
                struct trail_syslog_msg m;
                ASSERT_OK(trail_syslog_parse_5424(msg, ml, &m));
                struct trail_syslog_sd sd;
                const char *id, *name, *value;
                size_t idl, nl, vlen;
                int elements = 0, params = 0;
                trail_syslog_sd_init(&sd, m.sd, m.sd_len);
                while (trail_syslog_sd_next_element(&sd, &id, &idl) == 1) {
                    elements++;
                    while (trail_syslog_sd_next_param(&sd, &name, &nl, &value, &vlen) == 1)
                        params++;
                }
                if (elements != 1 || params != 3)
                    FAIL_AT("syslog, piece %zu: %d elements, %d params: %s", i, elements, params,
                            out.data);
                if (trail_event_from_syslog(cat, msg, ml, &back, err, sizeof(err)) != 0)
                    FAIL_AT("syslog, piece %zu: %s: %s", i, err, out.data);
                if (trail_event_attr_count(back) != 2 || !same_string(back, "s", val, vl) ||
                    !same_string(back, "u_extra", val, vl))
                    FAIL_AT("syslog, piece %zu: values differ: %s", i, out.data);
                trail_event_free(back);
            }
            trail_event_free(ev);
            checked++;
        }
    }
    trail_buf_free(&out);
    ASSERT(checked > 900);
}

TEST(all_pieces_in_one_value)
{
    struct trail_catalog *cat = catalog();
    static char val[8192];
    size_t vl = 0;
    for (size_t i = 0; i < n_pieces && vl + 8 < sizeof(val); i++)
        if (pieces[i].utf8) {
            memcpy(val + vl, pieces[i].s, pieces[i].n);
            vl += pieces[i].n;
        }
    struct trail_event *ev, *back;
    struct trail_buf out = {0};
    char err[256];
    ASSERT_OK(trail_event_new(cat, EV_ID, &ev));
    ASSERT_OK(trail_event_set_string(ev, "s", val, vl));
    ASSERT_OK(trail_event_to_cef(ev, &(struct trail_cef_opts){.log_prefix = 1}, &out));
    ASSERT_SAFE(out, "cef", 0);
    ASSERT_OK(trail_event_from_cef(cat, out.data, out.len, &back, err, sizeof(err)));
    ASSERT(same_string(back, "s", val, vl));
    trail_event_free(back);
    trail_buf_reset(&out);
    ASSERT_OK(trail_event_to_syslog(ev, &(struct trail_syslog_opts){.octet_count = 1}, &out));
    ASSERT_SAFE(out, "syslog", 0);
    const char *msg = strchr(out.data, ' ') + 1;
    ASSERT_OK(trail_event_from_syslog(cat, msg, out.len - (size_t)(msg - out.data), &back, err,
                                      sizeof(err)));
    ASSERT(same_string(back, "s", val, vl));
    trail_event_free(back);
    trail_buf_reset(&out);
    ASSERT_OK(trail_event_to_json(ev, &out));
    ASSERT_SAFE(out, "json", 0);
    trail_buf_free(&out);
    trail_event_free(ev);
}

/* The description (the MSG of syslog, CEF's Name) may be a deployment's, invalid UTF-8 and all. */
TEST(invalid_utf8_in_the_description)
{
    struct trail_catalog *cat = catalog();
    struct trail_event *ev;
    struct trail_buf out = {0};
    ASSERT_OK(trail_event_new(cat, EV_ID, &ev));
    ASSERT_OK(trail_event_to_cef(ev, &(struct trail_cef_opts){.log_prefix = 1}, &out));
    ASSERT_SAFE(out, "cef description", 0);
    ASSERT_EQ(cef_header_bars(out.data), 7);
    ASSERT(strstr(out.data, "\\xff") != NULL); /* the byte, visible */
    trail_buf_reset(&out);
    ASSERT_OK(trail_event_to_syslog(ev, NULL, &out));
    ASSERT_SAFE(out, "syslog MSG", 0);
    ASSERT(strstr(out.data, "\\u2028") != NULL && strstr(out.data, "\\xed\\xa0\\x80") != NULL);
    trail_buf_reset(&out);
    ASSERT_OK(trail_event_to_json(ev, &out));
    ASSERT_SAFE(out, "json", 0);
    trail_buf_free(&out);
    trail_event_free(ev);
}

/* The escaper itself, byte by byte and piece by piece: what it writes and what undoes it. */
TEST(escape_and_flatten_every_byte)
{
    make_pieces();
    struct trail_buf out = {0};
    for (unsigned b = 0; b < 256; b++) {
        char c = (char)b;
        trail_buf_reset(&out);
        ASSERT_OK(trail_text_escape(&out, &c, 1, "\\", TRAIL_ESC_NL));
        ASSERT_SAFE(out, "escape", b);
        char want[8];
        if (b == '\n' || b == '\r')
            snprintf(want, sizeof(want), "\\%c", b == '\n' ? 'n' : 'r');
        else if (b < 0x20 || b == 0x7f)
            snprintf(want, sizeof(want), "\\u%04x", b);
        else if (b >= 0x80)
            snprintf(want, sizeof(want), "\\x%02x", b);
        else if (b == '\\')
            snprintf(want, sizeof(want), "\\\\");
        else
            snprintf(want, sizeof(want), "%c", b);
        ASSERT_STREQ(out.data, want);
        trail_buf_reset(&out);
        ASSERT_OK(trail_text_flatten(&out, &c, 1, " ", '_'));
        ASSERT_SAFE(out, "flatten", b);
        ASSERT_EQ(out.len, 1);
        ASSERT_EQ(trail_text_is_safe(&c, 1), b >= 0x20 && b < 0x7f);
    }
    for (size_t i = 0; i < n_pieces; i++) {
        trail_buf_reset(&out);
        ASSERT_OK(trail_text_escape(&out, pieces[i].s, pieces[i].n, NULL, 0));
        ASSERT_SAFE(out, "escape", i);
        trail_buf_reset(&out);
        ASSERT_OK(trail_text_flatten(&out, pieces[i].s, pieces[i].n, NULL, '?'));
        ASSERT_SAFE(out, "flatten", i);
        ASSERT(out.len <= pieces[i].n);
    }
    trail_buf_free(&out);
}

/*
 * A CSV cell (what trail query/count --format csv write for event text):
 * one line, no raw control, one field by RFC 4180, and never a cell a
 * spreadsheet takes for a formula. The oracle reads the cell as RFC 4180
 * says and looks at its first character.
 */
TEST(csv_cells_are_one_field_and_no_formula)
{
    make_pieces();
    static const char *const lead[] = {"", "=", "+", "-", "@", "\t", "\r", "'", "\"", ","};
    struct trail_buf out = {0};
    char val[32], text[256];
    size_t checked = 0;
    for (size_t i = 0; i < n_pieces; i++)
        for (size_t l = 0; l < sizeof(lead) / sizeof(lead[0]); l++)
            for (int where = 0; where < 3; where++) {
                size_t ll = strlen(lead[l]);
                memcpy(val, lead[l], ll);
                size_t vl = ll + value_of(&pieces[i], where, val + ll);
                trail_buf_reset(&out);
                ASSERT_OK(trail_buf_append(&out, "1,", 2));
                ASSERT_OK(trail_text_csv_cell(&out, val, vl));
                ASSERT_OK(trail_buf_append(&out, ",2", 2));
                ASSERT_SAFE(out, "csv", i);
                /* RFC 4180: the middle field, quoted or not, ends at the next "," */
                const char *c = out.data + 2, *end = out.data + out.len - 2;
                size_t tn = 0;
                if (*c == '"') {
                    for (c++; c < end; c++) {
                        if (*c == '"') {
                            if (c + 1 < end && c[1] == '"')
                                c++;
                            else
                                break;
                        }
                        text[tn++] = *c;
                    }
                    if (c + 1 != end)
                        FAIL_AT(
                            "csv, piece %zu lead %zu: the quoted cell does not end the field: %s",
                            i, l, out.data);
                } else {
                    for (; c < end; c++) {
                        if (*c == '"' || *c == ',')
                            FAIL_AT("csv, piece %zu lead %zu: '%c' in an unquoted cell: %s", i, l,
                                    *c, out.data);
                        text[tn++] = *c;
                    }
                }
                if (tn && strchr("=+-@\t\r", text[0]))
                    FAIL_AT("csv, piece %zu lead %zu: the cell starts a formula: %s", i, l,
                            out.data);
                if (ll && strchr("=+-@", lead[l][0]) &&
                    (tn < 2 || text[0] != '\'' || text[1] != lead[l][0]))
                    FAIL_AT("csv, piece %zu lead %zu: no \"'\" before the formula: %s", i, l,
                            out.data);
                checked++;
            }
    trail_buf_free(&out);
    ASSERT_EQ(checked, n_pieces * 30);
}

/*
 * The cell writers quote in place (issue 19: an export writes each field
 * straight into its output): trail_text_csv_cell must write what the rule
 * says, done the plain way here: the escaped text, quoted with every '"'
 * doubled when it holds ',' or '"' or starts a formula, "'" before a
 * formula. And the CSV writer's attrs cell, which codec_json_attrs writes
 * as a cell at once, must be the cell trail_text_csv_cell makes of the
 * attrs object's JSON text, whatever bytes the values hold (a record's may
 * be any). Random strings of the characters that matter, short and past
 * the sixteen bytes the plain-text checks take at once.
 */
TEST(csv_cells_in_place_as_the_rule)
{
    static const char *const alphabet[] = {
        "a",    "Z",    " ",    ",",        "\"",           "=",
        "+",    "-",    "@",    "'",        "\t",           "\r",
        "\n",   "\x1b", "\x7f", "\xc3\xa5", "\xe2\x80\xa8", "\xc2\x85",
        "\xff", "\\"};
    struct trail_buf got = {0}, tail = {0}, esc = {0}, want = {0};
    uint64_t rng = 19;
    for (int round = 0; round < 20000; round++) {
        char val[400];
        size_t vl = 0;
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        size_t parts = (size_t)(rng >> 33) % 60;
        for (size_t k = 0; k < parts; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            const char *a = alphabet[(rng >> 33) % (sizeof(alphabet) / sizeof(*alphabet))];
            memcpy(val + vl, a, strlen(a));
            vl += strlen(a);
        }
        trail_buf_reset(&esc);
        trail_buf_reset(&want);
        ASSERT_OK(trail_text_escape(&esc, val, vl, NULL, TRAIL_ESC_NL));
        int formula = esc.len && strchr("=+-@\t\r", esc.data[0]);
        int quote = formula || memchr(esc.data, ',', esc.len) || memchr(esc.data, '"', esc.len);
        ASSERT_OK(trail_buf_append(&want, "x,", 2));
        if (quote)
            ASSERT_OK(trail_buf_append(&want, formula ? "\"'" : "\"", formula ? 2 : 1));
        for (size_t i = 0; i < esc.len; i++) {
            ASSERT_OK(trail_buf_append(&want, esc.data + i, 1));
            if (quote && esc.data[i] == '"')
                ASSERT_OK(trail_buf_append(&want, "\"", 1));
        }
        if (quote)
            ASSERT_OK(trail_buf_append(&want, "\"", 1));
        trail_buf_reset(&got);
        ASSERT_OK(trail_buf_append(&got, "x,", 2));
        ASSERT_OK(trail_text_csv_cell(&got, val, vl));
        ASSERT_EQ(got.len, want.len);
        ASSERT_MEMEQ(got.data, want.data, want.len);
        /*
         * the attrs cell, written as a cell straight away, is the cell of the
         * attrs object's JSON text (a value of any bytes: a record's)
         */
        struct codec_attr a[2] = {{.key = "k", .klen = 1}, {.key = "v.2", .klen = 3}};
        a[0].v.type = TRAIL_TYPE_STRING;
        a[0].v.u.str.ptr = val;
        a[0].v.u.str.len = vl;
        a[1].v.type = TRAIL_TYPE_ENUM;
        a[1].v.u.str.ptr = val + vl / 2;
        a[1].v.u.str.len = vl - vl / 2;
        struct codec_row row = {.attrs = a, .n_attrs = (size_t)(round % 3)};
        trail_buf_reset(&esc);
        ASSERT_OK(codec_json_attrs(&row, 0, &esc));
        trail_buf_reset(&want);
        ASSERT_OK(trail_buf_append(&want, "x,", 2));
        ASSERT_OK(trail_text_csv_cell(&want, esc.data, esc.len));
        trail_buf_reset(&tail);
        ASSERT_OK(trail_buf_append(&tail, "x,", 2));
        ASSERT_OK(codec_json_attrs(&row, 1, &tail));
        ASSERT_EQ(tail.len, want.len);
        ASSERT_MEMEQ(tail.data, want.data, want.len);
        ASSERT_EQ(tail.data[tail.len], '\0');
    }
    trail_buf_free(&got);
    trail_buf_free(&tail);
    trail_buf_free(&esc);
    trail_buf_free(&want);
}

TEST_MAIN(every_encoder_one_line_one_field_round_trip, all_pieces_in_one_value,
          invalid_utf8_in_the_description, escape_and_flatten_every_byte,
          csv_cells_are_one_field_and_no_formula, csv_cells_in_place_as_the_rule)
