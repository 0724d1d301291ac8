/*
 * detect_int.h - what the files of lib/detect/ share among themselves.
 *
 * Not for the callers of detection: they include detect.h.
 */
#ifndef TRAIL_DETECT_INT_H
#define TRAIL_DETECT_INT_H

#include "detect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* a rule file larger than this is refused: rules are small, a huge file is a mistake */
#define DETECT_MAX_FILE (4u << 20)

/* detect_report - count a problem in rs and pass it to diag (when set). */
void detect_report(struct detect_rules *rs, detect_diag_fn diag, void *ctx, const char *file,
                   unsigned line, unsigned column, int warning, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* detect_field_kind - the kind of field a name names; -1 when it is not a field name. */
int detect_field_kind(const char *name, enum detect_field_kind *ret);

/*
 * detect_cond_parse - read a condition over r's selections (cond.c). line
 * and column are where text starts, for the errors (reported through rs's
 * diag). Returns 0 with *ret, or -1 (reported).
 */
int detect_cond_parse(const struct detect_rule *r, const char *text, const char *file,
                      unsigned line, unsigned column, struct detect_rules *rs, detect_diag_fn diag,
                      void *ctx, struct detect_cond **ret);
void detect_cond_free(struct detect_cond *c);

void detect_value_free(struct detect_value *v);
void detect_sel_free(struct detect_sel *s);
void detect_rule_free(struct detect_rule *r);

/* detect_glob - text (n bytes) matches the Sigma pattern (* ? and \ escapes);
   ASCII case folded unless cased. */
bool detect_glob(const char *pat, size_t plen, const char *text, size_t n, bool cased);

/* detect_text_ip - the IP address that text (len bytes) reads as: true with *family
   4 or 6 and ip, else false. */
bool detect_text_ip(const char *s, size_t len, uint8_t *family, uint8_t ip[16]);

/* What an event's id, origin and severity alone say of a rule's condition (Kleene's
   logic: the other fields are not known). */
#define DETECT_NO    0 /* no event of that id and origin matches */
#define DETECT_MAYBE 1 /* the other fields decide */
#define DETECT_YES   2 /* every event of that id and origin matches */

/* detect_prematch - DETECT_NO, _MAYBE or _YES for events of id (id_len bytes; own:
   trail's own records) and severity under the detection rule r; DETECT_NO for a
   correlation or a rule that is not applicable, as detect_match() says. */
int detect_prematch(const struct detect_rule *r, const char *id, size_t id_len, bool own,
                    int severity);

/* detect_hash - a hash of n bytes for the engine's tables (not stored, not compared
   across runs): eight bytes at a step, never 0 (0 marks a free slot). */
static inline uint64_t detect_hash(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL), w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    return h ? h : 1;
}

/* The index of detection rules by event id, origin and severity (index.c). */
struct detect_index;
int detect_index_new(const struct detect_rules *rs, struct detect_index **ret);
void detect_index_free(struct detect_index *x);

/*
 * detect_index_plan - the detection rules that an event of id (id_len bytes, no NUL),
 * origin own and severity can match, in the set's order: the number, with *ret_plan
 * pointing at them (valid until the next call), each the rule's index shifted left by
 * one, with the low bit set when the rule matches such an event for sure (the others
 * must be matched with detect_match()).
 */
size_t detect_index_plan(struct detect_index *x, const char *id, size_t id_len, bool own,
                         int severity, const uint32_t **ret_plan);

/* detect_index_get - detect_index_plan() for the id, origin and severity of ev. */
size_t detect_index_get(struct detect_index *x, const struct trail_event *ev,
                        const uint32_t **ret_plan);

#endif /* TRAIL_DETECT_INT_H */
