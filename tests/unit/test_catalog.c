/*
 * test_catalog.c - the built-in catalog against its sources and its rules:
 * the seed file (ids, descriptions, severities, byte for byte the shared
 * copy), the sample event.log lines (every key declared, every required
 * attribute present), the attribute schemas' form, custom events, the
 * validation policies, severity filters, docs/severity.md stating what
 * lib/event/severity.c does, and docs/events.md being the generator's current
 * output.
 *
 * Everything goes through the public API (trail.h). Needs TRAIL_SOURCE_DIR
 * and, for the docs check, TRAIL_BUILD_DIR (ctest sets both).
 *
 * Not here: the event model's setters and accessors in depth (test_event.c)
 * and the CEF decoder (it has its own tests); the sample lines are scanned
 * here with a deliberately simple reader of the CEF extension.
 */
#include "harness.h"

#include "trail.h"

#include <ctype.h>
#include <errno.h>

#define SEED_NAME "000_00862af2300d4423.txt"

/* ---- helpers ---- */

/* Read a whole file; NULL (and errno) when it cannot. Caller frees. */
static char *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        cap *= 2;
        char *p = realloc(buf, cap + 1);
        if (!p) {
            free(buf);
            buf = NULL;
        }
        buf = p;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    return buf;
}

/* $TRAIL_SOURCE_DIR/rel, or NULL when the variable is not set. */
static const char *source_path(const char *rel)
{
    static char path[4096];
    const char *dir = getenv("TRAIL_SOURCE_DIR");
    if (!dir || !*dir)
        return NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return path;
}

static struct trail_catalog *new_catalog(void)
{
    struct trail_catalog *c = NULL;
    if (trail_catalog_new(&c) != 0)
        abort();
    return c;
}

/* ---- the seed ---- */

struct seed_row {
    char *id;
    char *description;
    int severity;
    char *severity_name;
};

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        abort();
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/*
 * The seed is a Markdown table, "| id | description | 6 WARNING |", after a
 * few lines of prose and the header row. Returns the number of rows; *bad
 * counts rows that do not have that shape.
 */
static size_t parse_seed(const char *text, struct seed_row **ret_rows, int *bad)
{
    size_t cap = 256, n = 0;
    struct seed_row *rows = calloc(cap, sizeof(*rows));
    *bad = 0;
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *next = end ? end + 1 : line + len;
        if (len && line[len - 1] == '\r')
            len--;
        if (len < 2 || strncmp(line, "| ", 2) != 0 || strncmp(line, "| Log id |", 10) == 0) {
            line = next;
            continue;
        }
        /* "| a | b | c |": the id ends at the first " | ", the severity starts after the last */
        const char *body = line + 2, *stop = line + len;
        if (stop - body >= 2 && strncmp(stop - 2, " |", 2) == 0)
            stop -= 2;
        const char *first = strstr(body, " | ");
        const char *last = NULL;
        for (const char *p = body; p + 3 <= stop; p++)
            if (strncmp(p, " | ", 3) == 0)
                last = p;
        if (!first || first >= stop || last == first) {
            fprintf(stderr, "  seed: cannot read the row '%.*s'\n", (int)len, line);
            ++*bad;
            line = next;
            continue;
        }
        if (n == cap) {
            cap *= 2;
            rows = realloc(rows, cap * sizeof(*rows));
        }
        struct seed_row *r = &rows[n++];
        r->id = dup_range(body, (size_t)(first - body));
        r->description = dup_range(first + 3, (size_t)(last - first - 3));
        const char *sev = last + 3;
        char *after;
        r->severity = (int)strtol(sev, &after, 10);
        while (after < stop && *after == ' ')
            after++;
        r->severity_name = dup_range(after, (size_t)(stop - after));
        line = next;
    }
    *ret_rows = rows;
    return n;
}

static void free_seed(struct seed_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].id);
        free(rows[i].description);
        free(rows[i].severity_name);
    }
    free(rows);
}

TEST(seed_matches_compiled_table)
{
    const char *path = source_path("catalog/seed/" SEED_NAME);
    if (!path)
        FAIL_AT("TRAIL_SOURCE_DIR is not set");
    char *text = read_file(path, NULL);
    if (!text)
        FAIL_AT("cannot read %s: %s", path, strerror(errno));
    struct seed_row *rows;
    int bad;
    size_t n = parse_seed(text, &rows, &bad);
    free(text);

    struct trail_catalog *cat = new_catalog();
    int problems = bad;
    size_t n_own = 0;
    for (size_t i = 0; i < n; i++) {
        const struct seed_row *r = &rows[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(rows[j].id, r->id) == 0) {
                fprintf(stderr, "  seed: id '%s' appears twice\n", r->id);
                problems++;
            }
        const struct trail_event_def *def = trail_catalog_lookup(cat, r->id, (size_t)-1);
        if (!def) {
            fprintf(stderr, "  missing: '%s' is in the seed, not in the catalog\n", r->id);
            problems++;
            continue;
        }
        if (strcmp(def->description, r->description) != 0) {
            fprintf(stderr,
                    "  changed description of '%s':\n    seed:    \"%s\"\n    catalog: \"%s\"\n",
                    r->id, r->description, def->description);
            problems++;
        }
        const char *name = trail_severity_name(def->severity);
        if (def->severity != r->severity || !name || strcmp(name, r->severity_name) != 0) {
            fprintf(stderr, "  changed severity of '%s': seed %d %s, catalog %d %s\n", r->id,
                    r->severity, r->severity_name, def->severity, name ? name : "?");
            problems++;
        }
        if (def->custom) {
            fprintf(stderr, "  '%s' is marked custom\n", r->id);
            problems++;
        }
    }
    for (size_t i = 0; i < trail_catalog_count(cat); i++) {
        const struct trail_event_def *def = trail_catalog_at(cat, i);
        if (def->custom == TRAIL_DEF_OWN) { /* trail's own, not the identity server's */
            n_own++;
            continue;
        }
        size_t j = 0;
        while (j < n && strcmp(rows[j].id, def->id) != 0)
            j++;
        if (j == n) {
            fprintf(stderr, "  extra: '%s' is in the catalog, not in the seed\n", def->id);
            problems++;
        }
    }
    size_t count = trail_catalog_count(cat);
    trail_catalog_free(cat);
    free_seed(rows, n);
    ASSERT_EQ(problems, 0);
    ASSERT_EQ(n, 214);
    ASSERT_EQ(count, 214 + n_own);
    ASSERT(n_own >= 9); /* trail's own: lifecycle, reloads, auth, purge, rejected */
}

TEST(seed_copy_is_the_shared_seed)
{
    const char *ours = source_path("catalog/seed/" SEED_NAME);
    if (!ours)
        FAIL_AT("TRAIL_SOURCE_DIR is not set");
    size_t our_len, their_len;
    char *a = read_file(ours, &our_len);
    if (!a)
        FAIL_AT("cannot read %s: %s", ours, strerror(errno));
    const char *theirs = source_path("../shared/seeds/" SEED_NAME);
    char *b = read_file(theirs, &their_len);
    if (!b) {
        printf("  (no %s beside the source tree: only the repository copy is checked)\n", theirs);
        free(a);
        return;
    }
    int same = our_len == their_len && memcmp(a, b, our_len) == 0;
    free(a);
    free(b);
    if (!same)
        FAIL_AT("catalog/seed/%s differs from %s", SEED_NAME, theirs);
}

/* ---- the schemas ---- */

TEST(schemas_are_well_formed)
{
    struct trail_catalog *cat = new_catalog();
    int problems = 0;
    static const char *const must_index[] = {"duser", "suser", "src", "phxTraceId",
                                             "sourceServiceName"};
    for (size_t i = 0; i < trail_catalog_count(cat); i++) {
        const struct trail_event_def *def = trail_catalog_at(cat, i);
        if (def->custom == TRAIL_DEF_OWN) { /* trail's own ids: trail_*, no trace id */
            if (strncmp(def->id, "trail_", 6) != 0) {
                fprintf(stderr, "  own event '%s' is outside the trail_ namespace\n", def->id);
                problems++;
            }
            continue;
        }
        if (i > 0 && strcmp(trail_catalog_at(cat, i - 1)->id, def->id) >= 0) {
            fprintf(stderr, "  events out of order at '%s'\n", def->id);
            problems++;
        }
        if (!trail_severity_valid(def->severity)) {
            fprintf(stderr, "  '%s': severity %d off the scale\n", def->id, def->severity);
            problems++;
        }
        if (!trail_attr_def_find(def, "phxTraceId", (size_t)-1)) {
            fprintf(stderr, "  '%s' does not declare phxTraceId\n", def->id);
            problems++;
        }
        for (uint16_t j = 0; j < def->n_attrs; j++) {
            const struct trail_attr_def *a = def->attrs[j];
            if (j > 0 && strcmp(def->attrs[j - 1]->key, a->key) >= 0) {
                fprintf(stderr, "  '%s': attributes not sorted and unique at '%s'\n", def->id,
                        a->key);
                problems++;
            }
            if (trail_attr_def_find(def, a->key, (size_t)-1) != a) {
                fprintf(stderr, "  '%s': lookup of '%s' fails\n", def->id, a->key);
                problems++;
            }
            if (!trail_type_name(a->type)) {
                fprintf(stderr, "  '%s'.'%s': type %d unknown\n", def->id, a->key, a->type);
                problems++;
            }
            if ((a->type == TRAIL_TYPE_ENUM) != (a->n_enum > 0 && a->enum_values != NULL)) {
                fprintf(stderr, "  '%s'.'%s': enum values and type disagree\n", def->id, a->key);
                problems++;
            }
            if (!a->doc || !*a->doc) {
                fprintf(stderr, "  '%s'.'%s': no documentation\n", def->id, a->key);
                problems++;
            }
            if (a->flags & ~(TRAIL_ATTR_REQUIRED | TRAIL_ATTR_INDEXED)) {
                fprintf(stderr, "  '%s'.'%s': unknown flags 0x%x\n", def->id, a->key, a->flags);
                problems++;
            }
            for (size_t k = 0; k < sizeof(must_index) / sizeof(must_index[0]); k++)
                if (strcmp(a->key, must_index[k]) == 0 && !(a->flags & TRAIL_ATTR_INDEXED)) {
                    fprintf(stderr, "  '%s'.'%s' is not indexed\n", def->id, a->key);
                    problems++;
                }
            if (strcmp(a->key, "src") == 0 && a->type != TRAIL_TYPE_IP) {
                fprintf(stderr, "  '%s'.src is not of type ip\n", def->id);
                problems++;
            }
        }
    }
    trail_catalog_free(cat);
    ASSERT_EQ(problems, 0);
}

TEST(schemas_of_note)
{
    struct trail_catalog *cat = new_catalog();
    const struct trail_event_def *d =
        trail_catalog_lookup(cat, "auth_entrypoints_relay_incorrectotp", (size_t)-1);
    ASSERT(d != NULL);
    ASSERT_STREQ(d->description, "The relay authentication session has been successfully finished");
    ASSERT(d->note != NULL && strstr(d->note, "wrong") != NULL);

    /* typos are kept */
    d = trail_catalog_lookup(cat, "auth_entrypoints_oidc_token_success", (size_t)-1);
    ASSERT(d && strstr(d->description, "succeded"));
    d = trail_catalog_lookup(cat, "pipes_pipe_success", (size_t)-1);
    ASSERT(d && strstr(d->description, "succesfully"));

    /* the entrypoint type is an enum of the documented values */
    d = trail_catalog_lookup(cat, "auth_entrypoints_saml_auth_started", (size_t)-1);
    const struct trail_attr_def *a = trail_attr_def_find(d, "phxEntrypointType", (size_t)-1);
    ASSERT(a && a->type == TRAIL_TYPE_ENUM);
    ASSERT_EQ(a->n_enum, 5);
    const char *want[] = {"OIDC", "SAML", "Internal", "Relay", "Unknown"};
    for (int i = 0; i < 5; i++)
        ASSERT_STREQ(a->enum_values[i], want[i]);
    a = trail_attr_def_find(d, "phxEntrypointTransactionType", (size_t)-1);
    ASSERT(a && a->type == TRAIL_TYPE_ENUM && a->n_enum >= 1);
    ASSERT_STREQ(a->enum_values[0], "AUTH");

    /* the purge event carries the store's purge record, none of it required */
    d = trail_catalog_lookup(cat, "core_server_events_purged", (size_t)-1);
    ASSERT(d != NULL);
    static const struct {
        const char *key;
        int type;
    } purge[] = {{"purged_from_seq", TRAIL_TYPE_INT}, {"purged_to_seq", TRAIL_TYPE_INT},
                 {"segments", TRAIL_TYPE_INT},        {"bytes", TRAIL_TYPE_INT},
                 {"anchor", TRAIL_TYPE_STRING},       {"msg", TRAIL_TYPE_STRING},
                 {"phxTraceId", TRAIL_TYPE_STRING}};
    for (size_t i = 0; i < sizeof(purge) / sizeof(purge[0]); i++) {
        a = trail_attr_def_find(d, purge[i].key, (size_t)-1);
        if (!a)
            FAIL_AT("core_server_events_purged does not declare %s", purge[i].key);
        ASSERT_EQ(a->type, purge[i].type);
        ASSERT_EQ(a->flags & TRAIL_ATTR_REQUIRED, 0);
    }
    struct trail_event *ev;
    ASSERT_OK(trail_event_new(cat, "core_server_events_purged", &ev));
    ASSERT_OK(trail_event_set_int(ev, "purged_from_seq", 1));
    ASSERT_OK(trail_event_set_int(ev, "purged_to_seq", 183204));
    ASSERT_OK(trail_event_set_int(ev, "segments", 3));
    ASSERT_OK(trail_event_set_int(ev, "bytes", 50331648));
    ASSERT_OK(trail_event_set_string(ev, "anchor", "9f86d081884c7d659a2feaa0c55ad015", (size_t)-1));
    ASSERT_OK(trail_event_set_string(ev, "msg", "Purged 183204 events", (size_t)-1));
    ASSERT_OK(trail_event_validate(ev));
    trail_event_free(ev);
    trail_catalog_free(cat);
}

/* ---- the sample event.log ---- */

/* Unescape a CEF extension value: \\ \= \n \r. */
static char *cef_unescape(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[++i];
            *o++ = c == 'n' ? '\n' : c == 'r' ? '\r' : c;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static int is_key_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

/* Length of the key starting at ext[i] (a run of key characters followed by '='), or 0. */
static size_t key_at(const char *ext, size_t i, size_t len)
{
    if (i > 0 && ext[i - 1] != ' ')
        return 0;
    size_t k = i;
    while (k < len && is_key_char(ext[k]))
        k++;
    return k > i && k < len && ext[k] == '=' ? k - i : 0;
}

struct cef_pair {
    char key[128];
    char *value; /* unescaped; "null" kept as is */
};

/*
 * Split a CEF line into its header fields 1..6 (vendor, product, version,
 * signature id, name, severity; escapes left in) and its extension pairs.
 * Returns the number of pairs, or -1 when the line has no CEF header.
 */
static int cef_scan(const char *line, char hdr[7][512], struct cef_pair *pairs, int max_pairs)
{
    const char *p = strstr(line, "CEF:0|");
    if (!p)
        return -1;
    p += 6;
    for (int f = 1; f <= 6; f++) {
        const char *s = p;
        while (*p && *p != '|')
            p += (*p == '\\' && p[1]) ? 2 : 1;
        if (*p != '|')
            return -1;
        snprintf(hdr[f], 512, "%.*s", (int)(p - s), s);
        p++;
    }
    size_t len = strlen(p);
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    int n = 0;
    size_t i = 0;
    while (i < len) {
        size_t klen = key_at(p, i, len);
        if (!klen) {
            i++;
            continue;
        }
        size_t vs = i + klen + 1, ve = vs;
        while (ve < len && !(p[ve] == ' ' && key_at(p, ve + 1, len)))
            ve++;
        if (n < max_pairs) {
            snprintf(pairs[n].key, sizeof(pairs[n].key), "%.*s", (int)klen, p + i);
            pairs[n].value = cef_unescape(p + vs, ve - vs);
            n++;
        }
        i = ve + 1;
    }
    return n;
}

TEST(sample_lines_fit_their_schemas)
{
    const char *path = source_path("tests/data/pas-event.log");
    if (!path)
        FAIL_AT("TRAIL_SOURCE_DIR is not set");
    char *text = read_file(path, NULL);
    if (!text)
        FAIL_AT("cannot read %s: %s", path, strerror(errno));
    struct trail_catalog *cat = new_catalog();
    ASSERT_EQ(trail_catalog_policy(cat), TRAIL_POLICY_STRICT);
    int problems = 0, n_lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        n_lines++;
        char hdr[7][512];
        struct cef_pair pairs[64];
        int n = cef_scan(line, hdr, pairs, 64);
        if (n < 0) {
            fprintf(stderr, "  line %d: no CEF header\n", n_lines);
            problems++;
            continue;
        }
        const char *id = hdr[4];
        const struct trail_event_def *def = trail_catalog_lookup(cat, id, (size_t)-1);
        if (!def) {
            fprintf(stderr, "  line %d: unknown event '%s'\n", n_lines, id);
            problems++;
        } else {
            if (strcmp(def->description, hdr[5]) != 0) {
                fprintf(stderr, "  line %d: name '%s' is not the description of '%s'\n", n_lines,
                        hdr[5], id);
                problems++;
            }
            if (atoi(hdr[6]) != def->severity) {
                fprintf(stderr, "  line %d: severity %s, catalog %d\n", n_lines, hdr[6],
                        def->severity);
                problems++;
            }
            /* every key declared */
            for (int k = 0; k < n; k++)
                if (!trail_attr_def_find(def, pairs[k].key, (size_t)-1)) {
                    fprintf(stderr, "  line %d: '%s' does not declare '%s'\n", n_lines, id,
                            pairs[k].key);
                    problems++;
                }
            /* every required attribute present and not null */
            for (uint16_t j = 0; j < def->n_attrs; j++) {
                if (!(def->attrs[j]->flags & TRAIL_ATTR_REQUIRED))
                    continue;
                int k = 0;
                while (k < n && strcmp(pairs[k].key, def->attrs[j]->key) != 0)
                    k++;
                if (k == n || strcmp(pairs[k].value, "null") == 0) {
                    fprintf(stderr, "  line %d: '%s' needs '%s', %s\n", n_lines, id,
                            def->attrs[j]->key, k == n ? "absent" : "null");
                    problems++;
                }
            }
            /* and the whole event validates under STRICT, types included */
            struct trail_event *ev;
            if (trail_event_new(cat, id, &ev) != 0)
                abort();
            for (int k = 0; k < n; k++) {
                if (strcmp(pairs[k].value, "null") == 0)
                    continue;
                int r =
                    trail_event_set_text(ev, pairs[k].key, (size_t)-1, pairs[k].value, (size_t)-1);
                if (r < 0) {
                    fprintf(stderr, "  line %d: %s\n", n_lines, trail_event_error(ev));
                    problems++;
                }
            }
            if (trail_event_validate(ev) != 0) {
                fprintf(stderr, "  line %d: %s\n", n_lines, trail_event_error(ev));
                problems++;
            }
            trail_event_free(ev);
        }
        for (int k = 0; k < n; k++)
            free(pairs[k].value);
    }
    trail_catalog_free(cat);
    free(text);
    ASSERT_EQ(problems, 0);
    ASSERT_EQ(n_lines, 60);
}

/* ---- custom events ---- */

TEST(custom_events)
{
    struct trail_catalog *cat = new_catalog();
    size_t before = trail_catalog_count(cat);
    ASSERT_OK(trail_catalog_add(cat, "acme_door_opened", "NOTICE", "A door was opened",
                                "duser:string:required:indexed; door:enum(front|back|side), "
                                "src:ip, at:time, forced:bool, tries:int:optional"));
    ASSERT_EQ(trail_catalog_count(cat), before + 1);
    const struct trail_event_def *d = trail_catalog_lookup(cat, "acme_door_opened", (size_t)-1);
    ASSERT(d != NULL);
    ASSERT_EQ(d->custom, 1);
    ASSERT_EQ(d->severity, TRAIL_SEV_NOTICE);
    ASSERT_STREQ(d->description, "A door was opened");
    ASSERT_EQ(d->n_attrs, 6);
    static const char *const keys[] = {"at", "door", "duser", "forced", "src", "tries"};
    static const int types[] = {TRAIL_TYPE_TIME, TRAIL_TYPE_ENUM, TRAIL_TYPE_STRING,
                                TRAIL_TYPE_BOOL, TRAIL_TYPE_IP,   TRAIL_TYPE_INT};
    for (int i = 0; i < 6; i++) {
        ASSERT_STREQ(d->attrs[i]->key, keys[i]);
        ASSERT_EQ(d->attrs[i]->type, types[i]);
    }
    ASSERT_EQ(d->attrs[2]->flags, TRAIL_ATTR_REQUIRED | TRAIL_ATTR_INDEXED);
    ASSERT_EQ(d->attrs[5]->flags, 0);
    ASSERT_EQ(d->attrs[1]->n_enum, 3);
    ASSERT_STREQ(d->attrs[1]->enum_values[2], "side");

    /* it sorts in among the built-ins */
    size_t at = 0;
    while (at < trail_catalog_count(cat) && trail_catalog_at(cat, at) != d)
        at++;
    ASSERT(at < trail_catalog_count(cat));
    ASSERT(at == 0 || strcmp(trail_catalog_at(cat, at - 1)->id, d->id) < 0);
    ASSERT(strcmp(trail_catalog_at(cat, at + 1)->id, d->id) > 0);

    /* a custom event without attributes, and a number for its severity */
    ASSERT_OK(trail_catalog_add(cat, "acme_ping", "3", "ping", NULL));
    ASSERT_EQ(trail_catalog_lookup(cat, "acme_ping", (size_t)-1)->n_attrs, 0);

    /* bad declarations change nothing */
    size_t n = trail_catalog_count(cat);
    ASSERT_EQ(trail_catalog_add(cat, "acme_door_opened", "INFO", "", NULL), TRAIL_E_DUPLICATE);
    ASSERT_EQ(trail_catalog_add(cat, "auth_logout_local", "INFO", "", NULL), TRAIL_E_DUPLICATE);
    ASSERT_EQ(trail_catalog_add(cat, "Acme_Upper", "INFO", "", NULL), TRAIL_E_BAD_ID);
    ASSERT_EQ(trail_catalog_add(cat, "", "INFO", "", NULL), TRAIL_E_BAD_ID);
    ASSERT_EQ(trail_catalog_add(cat, "acme-dash", "INFO", "", NULL), TRAIL_E_BAD_ID);
    char long_id[200];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    ASSERT_EQ(trail_catalog_add(cat, long_id, "INFO", "", NULL), TRAIL_E_BAD_ID);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "LOUD", "", NULL), TRAIL_E_BAD_SEVERITY);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "5", "", NULL), TRAIL_E_BAD_SEVERITY);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "6 ERROR", "", NULL), TRAIL_E_BAD_SEVERITY);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "INFO", "", "duser"), TRAIL_E_PARSE);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "INFO", "", "duser:text"), TRAIL_E_PARSE);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "INFO", "", "k:enum"), TRAIL_E_PARSE);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "INFO", "", "k:enum()"), TRAIL_E_PARSE);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "INFO", "", "k:enum(a|)"), TRAIL_E_PARSE);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "INFO", "", "k:int(1|2)"), TRAIL_E_PARSE);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "INFO", "", "k:int:sometimes"), TRAIL_E_PARSE);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "INFO", "", "k:int, k:string"), TRAIL_E_DUPLICATE);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "INFO", "", "b@d:int"), TRAIL_E_BAD_KEY);
    ASSERT_EQ(trail_catalog_add(cat, "acme_x", "INFO", "", ":int"), TRAIL_E_BAD_KEY);
    ASSERT_EQ(trail_catalog_count(cat), n);
    ASSERT(trail_catalog_lookup(cat, "acme_x", (size_t)-1) == NULL);

    /* events of the custom id validate against its schema */
    struct trail_event *ev;
    ASSERT_OK(trail_event_new(cat, "acme_door_opened", &ev));
    ASSERT_EQ(trail_event_severity(ev), TRAIL_SEV_NOTICE);
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_MISSING_ATTR);
    ASSERT(strstr(trail_event_error(ev), "duser") != NULL);
    ASSERT_OK(trail_event_set_string(ev, "duser", "anna", (size_t)-1));
    ASSERT_EQ(trail_event_set_text(ev, "door", (size_t)-1, "window", (size_t)-1), TRAIL_E_BAD_ENUM);
    ASSERT_OK(trail_event_set_text(ev, "door", (size_t)-1, "back", (size_t)-1));
    ASSERT_OK(trail_event_set_text(ev, "at", (size_t)-1, "2026-11-24T08:59:58Z", (size_t)-1));
    ASSERT_OK(trail_event_set_text(ev, "forced", (size_t)-1, "true", (size_t)-1));
    ASSERT_OK(trail_event_validate(ev));
    trail_event_free(ev);
    trail_catalog_free(cat);
}

/* ---- validation policies ---- */

static struct trail_event *saml_failed(struct trail_catalog *cat)
{
    struct trail_event *ev;
    if (trail_event_new(cat, "auth_entrypoints_saml_auth_failed", &ev) != 0)
        abort();
    if (trail_event_set_string(ev, "phxTraceId", "#UcjP8ChZLqewHT8n", (size_t)-1) ||
        trail_event_set_string(ev, "phxEntrypointId", "saml1", (size_t)-1) ||
        trail_event_set_text(ev, "phxEntrypointType", (size_t)-1, "SAML", (size_t)-1) ||
        trail_event_set_text(ev, "src", (size_t)-1, "198.51.100.23", (size_t)-1))
        abort();
    return ev;
}

TEST(policy_unknown_id)
{
    struct trail_catalog *cat = new_catalog();
    static const int want[] = {[TRAIL_POLICY_STRICT] = TRAIL_E_UNKNOWN_EVENT,
                               [TRAIL_POLICY_LENIENT] = TRAIL_E_UNKNOWN_EVENT,
                               [TRAIL_POLICY_OFF] = 0};
    for (int p = TRAIL_POLICY_STRICT; p <= TRAIL_POLICY_OFF; p++) {
        ASSERT_OK(trail_catalog_set_policy(cat, p));
        struct trail_event *ev;
        ASSERT_OK(trail_event_new(cat, "acme_no_such_event", &ev));
        ASSERT(trail_event_def(ev) == NULL);
        ASSERT_OK(trail_event_set_string(ev, "duser", "anna", (size_t)-1));
        ASSERT_EQ(trail_event_validate(ev), want[p]);
        if (want[p])
            ASSERT(strstr(trail_event_error(ev), "acme_no_such_event") != NULL);
        trail_event_free(ev);
    }
    ASSERT_EQ(trail_catalog_set_policy(cat, 7), -EINVAL);
    trail_catalog_free(cat);
}

TEST(policy_undeclared_and_missing)
{
    struct trail_catalog *cat = new_catalog();
    for (int p = TRAIL_POLICY_STRICT; p <= TRAIL_POLICY_OFF; p++) {
        ASSERT_OK(trail_catalog_set_policy(cat, p));
        struct trail_event *ev = saml_failed(cat);
        ASSERT_OK(trail_event_validate(ev));

        /* an undeclared key: only STRICT refuses it */
        ASSERT_OK(trail_event_set_string(ev, "favouriteColour", "blue", (size_t)-1));
        int r = trail_event_validate(ev);
        ASSERT_EQ(r, p == TRAIL_POLICY_STRICT ? TRAIL_E_UNDECLARED_ATTR : 0);
        if (r)
            ASSERT(strstr(trail_event_error(ev), "favouriteColour") != NULL);
        /* LENIENT keeps it and lists it among the record's problems */
        ASSERT_STREQ(trail_event_problems(ev),
                     p == TRAIL_POLICY_LENIENT ? "undeclared attribute 'favouriteColour'" : "");
        ASSERT_OK(trail_event_unset(ev, "favouriteColour"));

        /* missing required keys: STRICT refuses, naming every one; LENIENT stores them listed */
        ASSERT_OK(trail_event_unset(ev, "phxEntrypointId"));
        ASSERT_OK(trail_event_unset(ev, "phxTraceId"));
        r = trail_event_validate(ev);
        ASSERT_EQ(r, p == TRAIL_POLICY_STRICT ? TRAIL_E_MISSING_ATTR : 0);
        if (r)
            ASSERT_STREQ(trail_event_error(ev), "event 'auth_entrypoints_saml_auth_failed' needs "
                                                "attributes 'phxEntrypointId', 'phxTraceId'");
        ASSERT_STREQ(trail_event_problems(ev),
                     p == TRAIL_POLICY_LENIENT
                         ? "missing required attributes 'phxEntrypointId', 'phxTraceId'"
                         : "");
        trail_event_free(ev);
    }
    trail_catalog_free(cat);
}

TEST(policy_types_and_enums)
{
    struct trail_catalog *cat = new_catalog();
    for (int p = TRAIL_POLICY_STRICT; p <= TRAIL_POLICY_OFF; p++) {
        ASSERT_OK(trail_catalog_set_policy(cat, p));
        struct trail_event *ev = saml_failed(cat);
        int want_type = p == TRAIL_POLICY_OFF ? 0 : TRAIL_E_BAD_TYPE;
        int want_enum = p == TRAIL_POLICY_OFF ? 0 : TRAIL_E_BAD_ENUM;

        int r = trail_event_set_text(ev, "src", (size_t)-1, "not-an-address", (size_t)-1);
        ASSERT_EQ(r, want_type);
        if (r)
            ASSERT(strstr(trail_event_error(ev), "'src'") != NULL);
        r = trail_event_set_int(ev, "duser", 42);
        ASSERT_EQ(r, want_type);
        if (r)
            ASSERT(strstr(trail_event_error(ev), "'duser'") != NULL);
        r = trail_event_set_text(ev, "phxEntrypointType", (size_t)-1, "saml", (size_t)-1);
        ASSERT_EQ(r, want_enum);
        if (r) {
            ASSERT(strstr(trail_event_error(ev), "'phxEntrypointType'") != NULL);
            /* the earlier value stays */
            struct trail_value v;
            ASSERT_OK(trail_event_attr_get(ev, "phxEntrypointType", &v));
            ASSERT_EQ(v.u.str.len, 4);
            ASSERT_MEMEQ(v.u.str.ptr, "SAML", 4);
        }
        r = trail_event_set_string(ev, "phxEntrypointTransactionType", "PAY", (size_t)-1);
        ASSERT_EQ(r, want_enum);
        ASSERT_OK(trail_event_validate(ev));
        trail_event_free(ev);
    }
    trail_catalog_free(cat);
}

TEST(policy_limits)
{
    struct trail_catalog *cat = new_catalog();
    for (int p = TRAIL_POLICY_STRICT; p <= TRAIL_POLICY_OFF; p++) {
        ASSERT_OK(trail_catalog_set_policy(cat, p));
        struct trail_limits lim = {.max_attrs = 64, .max_key_len = 64, .max_value_len = 8192};
        ASSERT_OK(trail_catalog_set_limits(cat, &lim));
        struct trail_event *ev = saml_failed(cat); /* four attributes */

        /* a key over the limit, named in the error */
        char key[80];
        memset(key, 'k', 65);
        key[65] = '\0';
        ASSERT_EQ(trail_event_set_string(ev, key, "v", (size_t)-1), TRAIL_E_KEY_TOO_LONG);
        ASSERT(strstr(trail_event_error(ev), "kkkkkkkkkk") != NULL);
        key[64] = '\0';
        ASSERT_OK(trail_event_set_string(ev, key, "v", (size_t)-1)); /* 64 is allowed */
        ASSERT_OK(trail_event_unset(ev, key));

        /* a value over the limit, the key named */
        char *big = malloc(8194);
        memset(big, 'x', 8193);
        big[8193] = '\0';
        ASSERT_EQ(trail_event_set_string(ev, "reason", big, (size_t)-1), TRAIL_E_VALUE_TOO_LONG);
        ASSERT(strstr(trail_event_error(ev), "'reason'") != NULL);
        ASSERT_OK(trail_event_set_string(ev, "reason", big, 8192));
        free(big);
        ASSERT_OK(trail_event_validate(ev));

        /* more attributes than the limit: refused when set, and by validation
           when the limit drops under what the event holds */
        lim.max_attrs = 5;
        ASSERT_OK(trail_catalog_set_limits(cat, &lim));
        ASSERT_EQ(trail_event_set_string(ev, "duser", "anna", (size_t)-1), TRAIL_E_TOO_MANY_ATTRS);
        lim.max_attrs = 3;
        ASSERT_OK(trail_catalog_set_limits(cat, &lim));
        ASSERT_EQ(trail_event_validate(ev), TRAIL_E_TOO_MANY_ATTRS);
        trail_event_free(ev);
    }
    trail_catalog_free(cat);
}

TEST(error_codes_are_distinct)
{
    static const int codes[] = {TRAIL_E_UNKNOWN_EVENT, TRAIL_E_UNDECLARED_ATTR,
                                TRAIL_E_MISSING_ATTR,  TRAIL_E_BAD_TYPE,
                                TRAIL_E_BAD_ENUM,      TRAIL_E_TOO_MANY_ATTRS,
                                TRAIL_E_KEY_TOO_LONG,  TRAIL_E_VALUE_TOO_LONG};
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        ASSERT(codes[i] < 0);
        const char *text = trail_strerror(codes[i]);
        ASSERT(text != NULL && *text);
        for (size_t j = i + 1; j < n; j++) {
            ASSERT_NE(codes[i], codes[j]);
            ASSERT(strcmp(text, trail_strerror(codes[j])) != 0);
        }
    }
}

/* ---- severity filters ---- */

TEST(severity_range_parse)
{
    static const struct {
        const char *expr;
        int min, max;
    } good[] = {
        {"WARNING", 6, 6},
        {"warning", 6, 6},
        {"=ERROR", 7, 7},
        {"6", 6, 6},
        {"6 WARNING", 6, 6},
        {">=WARNING", 6, 10},
        {">WARNING", 7, 10},
        {">NOTICE", 6, 10},
        {">= 6", 6, 10},
        {"<=ERROR", 1, 7},
        {"<NOTICE", 1, 3},
        {"<WARNING", 1, 4},
        {"<7", 1, 6},
        {"NOTICE..ERROR", 4, 7},
        {"4..7", 4, 7},
        {"INFO..INFO", 3, 3},
        {" NOTICE .. ERROR ", 4, 7},
        {"WARNING..", 6, 10},
        {"..ERROR", 1, 7},
        {">=TRACE", 1, 10},
        {"<=EMERGENCY", 1, 10},
        {"  >=warning  ", 6, 10},
        {"TRACE..EMERGENCY", 1, 10},
        {"<DEBUG", 1, 1},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int lo = -1, hi = -1;
        int r = trail_severity_range_parse(good[i].expr, &lo, &hi);
        if (r != 0 || lo != good[i].min || hi != good[i].max)
            FAIL_AT("'%s': returned %d, %d..%d, expected %d..%d", good[i].expr, r, lo, hi,
                    good[i].min, good[i].max);
    }
    static const char *const bad[] = {
        "",
        " ",
        "LOUD",
        "5",
        "0",
        "11",
        ">=",
        ">",
        "<",
        "=",
        "..",
        "...",
        ">=LOUD",
        "=>WARNING",
        ">>WARNING",
        ">EMERGENCY",
        "<TRACE",
        "ERROR..NOTICE",
        "4..5",
        "NOTICE...ERROR",
        ">=WARNING..",
        "WARNING ERROR",
        "6 ERROR",
        "-1",
        "WARNING,ERROR",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int lo = -1, hi = -1;
        int r = trail_severity_range_parse(bad[i], &lo, &hi);
        if (r != TRAIL_E_BAD_SEVERITY || lo != -1 || hi != -1)
            FAIL_AT("'%s': returned %d, %d..%d, expected TRAIL_E_BAD_SEVERITY and untouched",
                    bad[i], r, lo, hi);
    }
    int lo = -1, hi = -1;
    ASSERT_EQ(trail_severity_range_parse(NULL, &lo, &hi), TRAIL_E_BAD_SEVERITY);
}

/* ---- docs/severity.md states what lib/event/severity.c does ---- */

/* Split a Markdown table row "| a | b | c |" into trimmed cells; returns their number. */
static int md_cells(char *line, char *cells[], int max)
{
    if (line[0] != '|')
        return 0;
    int n = 0;
    char *p = line + 1;
    while (*p && n < max) {
        char *bar = strchr(p, '|');
        if (!bar)
            break;
        *bar = '\0';
        while (*p == ' ')
            p++;
        char *e = p + strlen(p);
        while (e > p && e[-1] == ' ')
            *--e = '\0';
        cells[n++] = p;
        p = bar + 1;
    }
    return n;
}

TEST(docs_severity_md_matches_the_code)
{
    const char *path = source_path("docs/severity.md");
    if (!path)
        FAIL_AT("TRAIL_SOURCE_DIR is not set");
    char *text = read_file(path, NULL);
    if (!text)
        FAIL_AT("cannot read %s: %s", path, strerror(errno));
    struct trail_catalog *cat = new_catalog();
    int per_level[11] = {0};
    for (size_t i = 0; i < trail_catalog_count(cat); i++)
        if (trail_catalog_at(cat, i)->custom !=
            TRAIL_DEF_OWN) /* severity.md counts the catalog's */
            per_level[trail_catalog_at(cat, i)->severity]++;
    trail_catalog_free(cat);

    int problems = 0, scale_rows = 0, map_rows = 0, unassigned_rows = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c[8];
        int n = md_cells(line, c, 8);
        if (n < 4 || !isdigit((unsigned char)c[0][0]))
            continue;
        int sev = atoi(c[0]);
        if (n == 4 && sev == 5) { /* the scale's unassigned row */
            unassigned_rows++;
            if (trail_severity_valid(5) || !strstr(c[2], "unassigned")) {
                fprintf(stderr, "  severity.md: 5 is not shown unassigned, or the code has it\n");
                problems++;
            }
            continue;
        }
        const char *name = trail_severity_name(sev);
        if (!name || strcmp(name, c[1]) != 0) {
            fprintf(stderr, "  severity.md: %d is '%s', the code says '%s'\n", sev, c[1],
                    name ? name : "(off the scale)");
            problems++;
            continue;
        }
        if (n == 4) { /* the scale: number, name, origin, events in the catalog */
            scale_rows++;
            if (atoi(c[3]) != per_level[sev]) {
                fprintf(stderr, "  severity.md: %s has %s events, the catalog %d\n", name, c[3],
                        per_level[sev]);
                problems++;
            }
        } else if (n == 6) { /* the mappings */
            map_rows++;
            if (atoi(c[2]) != trail_severity_to_syslog(sev) ||
                atoi(c[3]) != trail_severity_to_cef(sev) ||
                atoi(c[4]) != trail_severity_to_ocsf(sev) ||
                strcmp(c[5], trail_severity_to_ecs(sev)) != 0) {
                fprintf(stderr,
                        "  severity.md: %s maps to syslog %s, CEF %s, OCSF %s, ECS %s; the code "
                        "to %d, %d, %d, %s\n",
                        name, c[2], c[3], c[4], c[5], trail_severity_to_syslog(sev),
                        trail_severity_to_cef(sev), trail_severity_to_ocsf(sev),
                        trail_severity_to_ecs(sev));
                problems++;
            }
        }
    }
    free(text);
    ASSERT_EQ(problems, 0);
    ASSERT_EQ(scale_rows, 9);
    ASSERT_EQ(map_rows, 9);
    ASSERT_EQ(unassigned_rows, 1);
}

/* ---- the generated docs ---- */

TEST(docs_events_md_is_current)
{
    const char *build = getenv("TRAIL_BUILD_DIR");
    if (!build || !*build)
        FAIL_AT("TRAIL_BUILD_DIR is not set");
    char gen_path[4096];
    snprintf(gen_path, sizeof(gen_path), "%s/gen/events.md", build);
    const char *doc_path = source_path("docs/events.md");
    if (!doc_path)
        FAIL_AT("TRAIL_SOURCE_DIR is not set");
    size_t gen_len, doc_len;
    char *gen = read_file(gen_path, &gen_len);
    if (!gen)
        FAIL_AT("cannot read %s: %s", gen_path, strerror(errno));
    char *doc = read_file(doc_path, &doc_len);
    if (!doc) {
        free(gen);
        FAIL_AT("cannot read %s: %s", doc_path, strerror(errno));
    }
    if (gen_len != doc_len || memcmp(gen, doc, gen_len) != 0) {
        size_t i = 0, line = 1;
        while (i < gen_len && i < doc_len && gen[i] == doc[i])
            line += gen[i++] == '\n';
        fprintf(stderr,
                "  docs/events.md is not the generator's output (first difference on line %zu);\n"
                "  refresh it with: cmake --build %s --target catalog-docs\n",
                line, build);
        free(gen);
        free(doc);
        FAIL_AT("docs/events.md has drifted from catalog/events.cat");
    }
    free(gen);
    free(doc);
}

TEST_MAIN(seed_matches_compiled_table, seed_copy_is_the_shared_seed, schemas_are_well_formed,
          schemas_of_note, sample_lines_fit_their_schemas, custom_events, policy_unknown_id,
          policy_undeclared_and_missing, policy_types_and_enums, policy_limits,
          error_codes_are_distinct, severity_range_parse, docs_severity_md_matches_the_code,
          docs_events_md_is_current)
