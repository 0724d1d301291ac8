/*
 * cond.c - Sigma conditions: `sel1 and not (sel2 or sel3)`, `1 of sel*`,
 * `all of sel*`, `all of them`, into a tree over the rule's selections.
 * `not` binds tighter than `and`, which binds tighter than `or`. An
 * identifier or pattern that names no selection is an error, with the
 * column where it stands.
 *
 * Not here: evaluating the tree (match.c).
 */
#include "detect_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

struct cparse {
    const struct detect_rule *r;
    const char *text;
    size_t pos;
    /* the current token */
    size_t tok_start, tok_len;
    int failed;
    const char *file;
    unsigned line, column;
    struct detect_rules *rs;
    detect_diag_fn diag;
    void *ctx;
    int depth;
};

__attribute__((format(printf, 3, 4))) static void cerr(struct cparse *c, size_t at, const char *fmt,
                                                       ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->failed++)
        return; /* the first problem says the most */
    detect_report(c->rs, c->diag, c->ctx, c->file, c->line, c->column + (unsigned)at, 0,
                  "condition: %s", msg);
}

static int is_word_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '*' || ch == '-' || ch == '.' ||
           ch == '?' || ch == '@';
}

/* Move to the next token: '(' ')' or a word; tok_len 0 at the end. */
static void next(struct cparse *c)
{
    while (c->text[c->pos] && isspace((unsigned char)c->text[c->pos]))
        c->pos++;
    c->tok_start = c->pos;
    if (!c->text[c->pos]) {
        c->tok_len = 0;
        return;
    }
    if (c->text[c->pos] == '(' || c->text[c->pos] == ')') {
        c->pos++;
        c->tok_len = 1;
        return;
    }
    while (c->text[c->pos] && is_word_char(c->text[c->pos]))
        c->pos++;
    c->tok_len = c->pos - c->tok_start;
    if (c->tok_len == 0) {
        cerr(c, c->pos, "unexpected character '%c'", c->text[c->pos]);
        c->tok_len = 1;
        c->pos++;
    }
}

static int tok_is(const struct cparse *c, const char *w)
{
    return c->tok_len == strlen(w) && strncasecmp(c->text + c->tok_start, w, c->tok_len) == 0;
}

void detect_cond_free(struct detect_cond *c)
{
    if (!c)
        return;
    detect_cond_free(c->a);
    detect_cond_free(c->b);
    free(c->sels);
    free(c);
}

static struct detect_cond *mk(struct cparse *c, enum detect_cond_kind kind)
{
    struct detect_cond *n = calloc(1, sizeof *n);
    if (!n)
        cerr(c, c->tok_start, "out of memory");
    else
        n->kind = kind;
    return n;
}

static struct detect_cond *parse_or(struct cparse *c);

static struct detect_cond *parse_quant(struct cparse *c, enum detect_cond_kind kind)
{
    next(c);
    if (!tok_is(c, "of")) {
        cerr(c, c->tok_start, "expected 'of' after '%s'", kind == DC_ALL_OF ? "all" : "1");
        return NULL;
    }
    next(c);
    if (c->tok_len == 0 || c->text[c->tok_start] == '(' || c->text[c->tok_start] == ')') {
        cerr(c, c->tok_start, "expected a selection pattern or 'them' after 'of'");
        return NULL;
    }
    struct detect_cond *n = mk(c, kind);
    if (!n)
        return NULL;
    if (!(n->sels = calloc(c->r->n_sels, sizeof *n->sels))) {
        cerr(c, c->tok_start, "out of memory");
        free(n);
        return NULL;
    }
    bool them = tok_is(c, "them");
    for (size_t i = 0; i < c->r->n_sels; i++) {
        const char *name = c->r->sels[i].name;
        /* `them` leaves out the identifiers that start with an underscore (Sigma) */
        if (them ? name[0] != '_'
                 : detect_glob(c->text + c->tok_start, c->tok_len, name, strlen(name), true))
            n->sels[n->n_sels++] = i;
    }
    if (n->n_sels == 0) {
        cerr(c, c->tok_start, "'%.*s' names no selection", (int)c->tok_len, c->text + c->tok_start);
        detect_cond_free(n);
        return NULL;
    }
    next(c);
    return n;
}

static struct detect_cond *parse_factor(struct cparse *c)
{
    if (++c->depth > 64) {
        cerr(c, c->tok_start, "nested too deep");
        return NULL;
    }
    struct detect_cond *n = NULL;
    if (c->tok_len == 0) {
        cerr(c, c->tok_start, "expected a selection, 'not', '(' or 'N of' at the end");
    } else if (tok_is(c, "not")) {
        next(c);
        struct detect_cond *a = parse_factor(c);
        if (a && (n = mk(c, DC_NOT)))
            n->a = a;
        else
            detect_cond_free(a);
    } else if (tok_is(c, "(")) {
        size_t open = c->tok_start;
        next(c);
        n = parse_or(c);
        if (n && !tok_is(c, ")")) {
            cerr(c, c->tok_len ? c->tok_start : open, "'(' is not closed");
            detect_cond_free(n);
            n = NULL;
        } else if (n) {
            next(c);
        }
    } else if (tok_is(c, "1") || tok_is(c, "any")) {
        n = parse_quant(c, DC_ONE_OF);
    } else if (tok_is(c, "all")) {
        n = parse_quant(c, DC_ALL_OF);
    } else if (tok_is(c, ")") || tok_is(c, "and") || tok_is(c, "or") || tok_is(c, "of") ||
               tok_is(c, "them")) {
        cerr(c, c->tok_start, "unexpected '%.*s'", (int)c->tok_len, c->text + c->tok_start);
    } else if (isdigit((unsigned char)c->text[c->tok_start]) && c->text[c->pos] &&
               strncmp(c->text + c->pos, " of", 3) == 0) {
        cerr(c, c->tok_start, "'%.*s of' is not supported: use '1 of' or 'all of'", (int)c->tok_len,
             c->text + c->tok_start);
    } else {
        size_t i;
        for (i = 0; i < c->r->n_sels; i++)
            if (strlen(c->r->sels[i].name) == c->tok_len &&
                memcmp(c->r->sels[i].name, c->text + c->tok_start, c->tok_len) == 0)
                break;
        if (i == c->r->n_sels) {
            cerr(c, c->tok_start, "'%.*s' is not a selection of this rule", (int)c->tok_len,
                 c->text + c->tok_start);
        } else if ((n = mk(c, DC_SEL))) {
            n->sel = i;
            next(c);
        }
    }
    c->depth--;
    return n;
}

static struct detect_cond *parse_and(struct cparse *c)
{
    struct detect_cond *left = parse_factor(c);
    while (left && tok_is(c, "and")) {
        next(c);
        struct detect_cond *right = parse_factor(c), *n = right ? mk(c, DC_AND) : NULL;
        if (!n) {
            detect_cond_free(left);
            detect_cond_free(right);
            return NULL;
        }
        n->a = left;
        n->b = right;
        left = n;
    }
    return left;
}

static struct detect_cond *parse_or(struct cparse *c)
{
    struct detect_cond *left = parse_and(c);
    while (left && tok_is(c, "or")) {
        next(c);
        struct detect_cond *right = parse_and(c), *n = right ? mk(c, DC_OR) : NULL;
        if (!n) {
            detect_cond_free(left);
            detect_cond_free(right);
            return NULL;
        }
        n->a = left;
        n->b = right;
        left = n;
    }
    return left;
}

int detect_cond_parse(const struct detect_rule *r, const char *text, const char *file,
                      unsigned line, unsigned column, struct detect_rules *rs, detect_diag_fn diag,
                      void *ctx, struct detect_cond **ret)
{
    struct cparse c = {.r = r,
                       .text = text,
                       .file = file,
                       .line = line,
                       .column = column,
                       .rs = rs,
                       .diag = diag,
                       .ctx = ctx};
    if (strchr(text, '|')) {
        cerr(&c, (size_t)(strchr(text, '|') - text),
             "'|' (Sigma's old aggregation) is not supported; write a correlation rule");
        return -1;
    }
    next(&c);
    struct detect_cond *n = parse_or(&c);
    if (n && c.tok_len) {
        cerr(&c, c.tok_start, "unexpected '%.*s' after a complete condition", (int)c.tok_len,
             text + c.tok_start);
    }
    if (!n || c.failed) {
        detect_cond_free(n);
        if (!c.failed)
            cerr(&c, 0, "cannot be read");
        return -1;
    }
    *ret = n;
    return 0;
}
