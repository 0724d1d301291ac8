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

#endif /* TRAIL_DETECT_INT_H */
