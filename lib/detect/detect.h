/*
 * detect.h - trail's detection: Sigma rules (and Sigma correlation rules)
 * read from YAML, matched against trail's events, and correlated over
 * windows of event time. Shared by the `trail rules` command, traild and the
 * tests; not part of libtrail's public API (libtrail.so neither exports it
 * nor links libyaml): a static library of its own, trail_detect.
 *
 * The supported subset of Sigma, the field names and the logsource that
 * selects trail's events are in docs/rules.md.
 *
 * Not here: reading rule files from a directory or a store's history (the
 * callers), writing alerts as records (daemon/detect/).
 */
#ifndef TRAIL_DETECT_H
#define TRAIL_DETECT_H

#include "trail.h"

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- diagnostics ---------------------------------------------------------- */

/* One problem found in a rule file: where (1-based line and column; 0 when
   not known) and what. */
struct detect_diag {
    const char *file;
    unsigned line, column;
    int warning; /* 0: an error (the rule is not loaded), 1: a warning */
    const char *msg;
};

/* Called for each problem found; ctx is the caller's. */
typedef void (*detect_diag_fn)(void *ctx, const struct detect_diag *d);

/* ---- the rule model --------------------------------------------------------- */

/* Where a field's value comes from (docs/rules.md, "Fields"). */
enum detect_field_kind {
    DF_ID,        /* the event id */
    DF_SEVERITY,  /* the severity, a number 1..10; names are read as their numbers */
    DF_HOST,      /* the host */
    DF_INPUT,     /* @input: "http", "syslog_tcp", "follow:NAME", "trail", ... */
    DF_PEER,      /* @peer: the sender's address ("192.0.2.7"), no port */
    DF_PRINCIPAL, /* @principal: the token name or certificate subject */
    DF_ORIGIN,    /* @origin: "trail" for trail's own records, else "producer" */
    DF_ATTR       /* an attribute of the event, by key */
};

enum detect_op {
    DOP_MATCH, /* equality with wildcards (* and ?), the default; contains/startswith/endswith */
    DOP_RE,    /* POSIX extended regular expression (regex.h), unanchored */
    DOP_CIDR,  /* an IP address inside a network */
    DOP_GT,
    DOP_GTE,
    DOP_LT,
    DOP_LTE,
    DOP_EXISTS /* the field is present (value true, is_int 1) or absent (false, 0) */
};

/* One value a field is compared with. */
struct detect_value {
    char *text; /* the pattern, wildcards as given (owned) */
    size_t len;
    bool has_wild; /* text holds an unescaped * or ? */
    bool is_null;  /* `null`, `~` or empty: the field is absent or empty */
    bool is_int;   /* text reads as an integer (num holds it) */
    int64_t num;   /* DOP_GT..: the bound (a severity name is its number); is_int */
    bool is_time;  /* DOP_GT..: text is an RFC 3339 time (num holds µs) */
    bool regex_ok;
    regex_t re;     /* DOP_RE */
    uint8_t family; /* DOP_CIDR: 4 or 6; DOP_MATCH without wildcards: 4 or 6 when text is an
                       IP address (net holds it), else 0 */
    uint8_t net[16];
    unsigned prefix;
};

/* One `field|modifiers: values` item of a selection map. */
struct detect_field {
    char *name; /* as written, without the modifiers (owned) */
    enum detect_field_kind kind;
    enum detect_op op;
    bool all;   /* |all: every value must match (default: any) */
    bool cased; /* |cased: case-sensitive (Sigma's default is case-insensitive) */
    struct detect_value *values;
    size_t n_values;
    unsigned line, column;
};

/* A selection: a map (every field holds), a list of maps (any map holds), or
   a list of keywords (any keyword occurs in some value of the event). */
struct detect_map {
    struct detect_field *fields;
    size_t n_fields;
};

struct detect_sel {
    char *name;              /* the search identifier (owned) */
    struct detect_map *maps; /* OR of maps */
    size_t n_maps;
    struct detect_value *keywords; /* OR of keywords; n_keywords 0 for a map selection */
    size_t n_keywords;
};

/* A condition: a tree over selections. */
enum detect_cond_kind { DC_SEL, DC_AND, DC_OR, DC_NOT, DC_ONE_OF, DC_ALL_OF };

struct detect_cond {
    enum detect_cond_kind kind;
    struct detect_cond *a, *b; /* AND, OR; NOT uses a */
    size_t sel;                /* DC_SEL */
    size_t *sels;              /* DC_ONE_OF, DC_ALL_OF: the selections named (owned) */
    size_t n_sels;
};

enum detect_level { DL_NONE, DL_INFORMATIONAL, DL_LOW, DL_MEDIUM, DL_HIGH, DL_CRITICAL };

enum detect_corr_type {
    DCT_NONE,
    DCT_EVENT_COUNT,
    DCT_VALUE_COUNT,
    DCT_TEMPORAL,
    DCT_TEMPORAL_ORDERED
};

/* A correlation's condition: count op bound, each bound optional (a range
   has two). */
struct detect_corr_cond {
    bool has_gt, has_gte, has_lt, has_lte, has_eq;
    int64_t gt, gte, lt, lte, eq;
    char *field; /* value_count: the field whose distinct values are counted (owned) */
    enum detect_field_kind field_kind;
};

struct detect_rule {
    char *file;                                     /* where it was read (owned) */
    unsigned line;                                  /* of its YAML document */
    char *title, *id, *name, *status, *description; /* owned; NULL when absent */
    char **tags;
    size_t n_tags;
    char **falsepositives;
    size_t n_falsepositives;
    enum detect_level level;
    char *product, *category, *service; /* logsource */
    bool applicable;                    /* logsource product is trail's (docs/rules.md) */

    /* a detection rule */
    struct detect_sel *sels;
    size_t n_sels;
    struct detect_cond *cond; /* NULL for a correlation */

    /* a correlation rule */
    enum detect_corr_type corr;
    char **corr_rules; /* names or ids as written (owned) */
    size_t n_corr_rules;
    size_t *corr_refs; /* indexes into the set's rules, resolved by detect_rules_finish */
    char **group_by;
    enum detect_field_kind *group_kinds;
    size_t n_group_by;
    int64_t timespan_us;
    struct detect_corr_cond ccond;
    unsigned corr_line, corr_column; /* of `rules:`, for the errors that finish finds */
    bool generate;                   /* the rules it references alert on their own too */

    bool referenced; /* named by a correlation: alerts only if that one says generate */

    /* trail's key `grace` (0: none): after an alert, the rule's further firings for the
       same group are held back until this much later in event time, then summed up in one
       alert that updates the first (docs/rules.md, "Storms: grace") */
    int64_t grace_us;
};

/* A set of rules, read from one or more files. */
struct detect_rules {
    const struct trail_catalog *cat;
    struct detect_rule **rules;
    size_t n_rules;
    size_t cap_rules;
    size_t n_errors, n_warnings; /* found so far */
};

/* ---- reading rules ------------------------------------------------------------ */

/*
 * detect_rules_new - an empty set; cat (kept, not owned) is the catalog that
 * the warnings on fields and event ids are checked against (NULL: none).
 * Returns 0 or -ENOMEM.
 */
int detect_rules_new(const struct trail_catalog *cat, struct detect_rules **ret_rules);
void detect_rules_free(struct detect_rules *rs);

/*
 * detect_rules_add - read every YAML document of text (the file's contents;
 * file names it in diagnostics) as a Sigma rule. Each problem is passed to
 * diag (may be NULL); a rule with an error is not added, its neighbours are.
 * A rule of another logsource product is added, not applicable. Returns the
 * number of errors found (0: all added), or -ENOMEM.
 */
int detect_rules_add(struct detect_rules *rs, const char *file, const char *text, size_t len,
                     detect_diag_fn diag, void *ctx);

/*
 * detect_rules_add_file - detect_rules_add() on a file's contents. Returns
 * the number of errors, or -errno when the file cannot be read (reported to
 * diag too).
 */
int detect_rules_add_file(struct detect_rules *rs, const char *path, detect_diag_fn diag,
                          void *ctx);

/*
 * detect_rule_files - the rule files of directory dir: its *.yml and *.yaml
 * (not starting with '.'), as "dir/name", in name order. The caller frees
 * each and the array. Returns 0 with *ret_paths and *ret_n, or -errno.
 */
int detect_rule_files(const char *dir, char ***ret_paths, size_t *ret_n);

/*
 * detect_rules_finish - after the last add: resolve the rules that the
 * correlations name (by name or id, across files), refuse cycles, and warn
 * on fields that no event of the catalog carries. A correlation whose rules
 * cannot be resolved is an error and is dropped. Returns the number of
 * errors found here.
 */
int detect_rules_finish(struct detect_rules *rs, detect_diag_fn diag, void *ctx);

/* detect_level_name - "high", ...; detect_level_severity - the trail severity of a level. */
const char *detect_level_name(enum detect_level level);
int detect_level_severity(enum detect_level level);
const char *detect_corr_type_name(enum detect_corr_type t);

/* ---- matching ----------------------------------------------------------------- */

/* detect_match - 1 when the detection rule r selects ev (0 for a correlation or
   a rule that is not applicable). */
int detect_match(const struct detect_rule *r, const struct trail_event *ev);

/*
 * detect_field_text - the text of a field of ev as group-by and value_count
 * read it ("" for an absent field; returns 0 then, else 1). buf of size bytes
 * may be used; *ret_text points into it or into ev.
 */
int detect_field_text(const struct trail_event *ev, enum detect_field_kind kind, const char *name,
                      char *buf, size_t size, const char **ret_text, size_t *ret_len);

/* ---- evaluating: alerts ------------------------------------------------------------ */

#define DETECT_ALERT_SEQS 10 /* an alert cites the first and the last this many seqs */

/* One firing of a rule. Valid only during the callback. */
struct detect_alert {
    const struct detect_rule *rule;
    const struct trail_event *ev; /* the event that made it fire */
    /* correlations: the group's values, one per group_by field ("" when absent) */
    const char *const *group_values;
    size_t n_group;
    int64_t window_start_us, window_end_us; /* times of the first and last event counted */
    uint64_t count;                         /* events counted (value_count: distinct values) */
    uint64_t n_seqs;                        /* events in the window, of which these are cited: */
    const uint64_t *first_seqs, *last_seqs;
    size_t n_first, n_last;
    /* the rule has a grace: a first alert holds back the group's firings until
       grace_until_us (event time). A summary (summary true) is the end of that grace: count
       and the seqs are the firings held back (the events that made each fire), the window
       their times, and updates_seq the seq that fired the alert it updates. */
    int64_t grace_until_us;
    bool summary;
    uint64_t updates_seq;
};

typedef void (*detect_alert_fn)(void *ctx, const struct detect_alert *a);

/* The state of evaluation: a window per correlation and group. */
struct detect_engine;

/* detect_engine_new - state for the set rs (kept, not owned, must outlive it). 0 or -ENOMEM. */
int detect_engine_new(const struct detect_rules *rs, struct detect_engine **ret_engine);
void detect_engine_free(struct detect_engine *e);

/*
 * detect_engine_feed - evaluate ev (in arrival order) against every rule:
 * each detection rule that matches and alerts on its own, and each
 * correlation whose condition a match completes, calls alert. Windows are
 * in event time (docs/rules.md, "Windows"). Returns the number of
 * alerts, or -ENOMEM.
 */
int detect_engine_feed(struct detect_engine *e, const struct trail_event *ev, detect_alert_fn alert,
                       void *ctx);

/*
 * detect_engine_skim - what feeding a record would do, told from its id
 * (id_len bytes), origin (own: trail's own record), severity and time alone,
 * the fields at the head of a stored record, read without decoding it
 * (traild's detection thread). 0: no rule can select it and no grace ends by
 * its time; the engine has taken it as detect_engine_feed() would have (its
 * time moves the engine's clock), and it is not to be fed. 1: it must be
 * fed, and feeding it does everything (skim changed nothing).
 */
int detect_engine_skim(struct detect_engine *e, const char *id, size_t id_len, bool own,
                       int severity, int64_t time_us);

/*
 * detect_engine_feed_stored - evaluate a stored record, the one whose head
 * h trail_store_iter_next_head() has just returned from it: its head shown
 * to detect_engine_skim(), and the record decoded into ev (reused) and fed
 * only when that says it must be. The one way both traild's detection
 * thread and `trail rules test --store` evaluate records, so that the two
 * alert alike. skim false: every record decoded and fed (`trail rules test
 * --no-skim`, which must give the same alerts). Returns 1 when the record
 * was decoded (ev holds it), 0 when its head was enough (ev is not
 * touched), or the error of decoding it (TRAIL_E_CORRUPT, TRAIL_E_VERSION)
 * or of the engine (-ENOMEM).
 */
int detect_engine_feed_stored(struct detect_engine *e, struct trail_store_iter *it,
                              const struct trail_record_head *h, struct trail_event *ev, bool skim,
                              detect_alert_fn alert, void *ctx);

/*
 * detect_engine_finish - at the end of a finite stream (`trail rules test`):
 * the summaries of the graces still open, as if time had passed their end,
 * each with ev (the last event fed) as the event that made it fire. traild
 * never calls it: there a later event closes a grace. Returns the number of
 * alerts.
 */
int detect_engine_finish(struct detect_engine *e, const struct trail_event *ev,
                         detect_alert_fn alert, void *ctx);

/*
 * detect_rules_replay_us - how far before a record the evaluation must start
 * again for the windows and graces to be known at that record: the longest
 * over the rules of their timespan added along a chain of correlations, plus
 * the rule's grace. 0 when no rule has a window or a grace.
 */
int64_t detect_rules_replay_us(const struct detect_rules *rs);

#endif /* TRAIL_DETECT_H */
