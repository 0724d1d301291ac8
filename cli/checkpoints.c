/*
 * checkpoints.c - reading --checkpoint LINE|FILE values for the commands that
 * check a store or a proof against checkpoints (trail verify, trail proof):
 * a checkpoint line given on the command line, a file of them (a witness's
 * log, the store's DIR/checkpoints), or a file holding one checkpoint as a
 * C2SP signed note (GET /checkpoint), each kept with where it came from for
 * the messages.
 *
 * Not here: the checkpoint line itself (lib/integrity/checkpoint.c), what the
 * commands check with them (cli/verify.c, cli/proof.c).
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_BYTES (16u << 20)

static int add(const char *cmd, struct cli_checkpoints *cps, const char *text, size_t len,
               const char *where, int replace)
{
    struct trail_checkpoint c;
    if (trail_checkpoint_parse(text, len, &c) < 0)
        return cli_usage_error(cmd,
                               "%s is not a checkpoint line (expected 'trail-checkpoint/2 ORIGIN "
                               "SIZE ROOT CHAIN TIME KEY SIGNATURE', one space apart)",
                               where);
    if (!replace || cps->n == 0) {
        struct trail_checkpoint *cp = realloc(cps->cp, (cps->n + 1) * sizeof(*cp));
        if (cp)
            cps->cp = cp;
        char(*w)[CLI_WHERE_LEN] = realloc(cps->where, (cps->n + 1) * sizeof(*w));
        if (w)
            cps->where = w;
        if (!cp || !w)
            return cli_fail(cmd, "%s", strerror(ENOMEM));
        cps->n++;
    }
    cps->cp[cps->n - 1] = c;
    snprintf(cps->where[cps->n - 1], CLI_WHERE_LEN, "%s", where);
    return 0;
}

int cli_checkpoints_load(const char *cmd, const char *arg, const char *label, int last_only,
                         struct cli_checkpoints *cps)
{
    if (strncmp(arg, "trail-checkpoint/", 17) == 0)
        return add(cmd, cps, arg, strlen(arg), label, 0);
    struct trail_buf buf = {0};
    int r = cli_read_file(arg, MAX_FILE_BYTES, &buf), status = 0;
    if (r < 0) {
        trail_buf_free(&buf);
        return cli_usage_error(cmd, "cannot read checkpoint file %s: %s", arg, trail_strerror(r));
    }
    size_t line_no = 0, found = 0;
    struct trail_checkpoint note;
    if (trail_checkpoint_note_parse(buf.data, buf.len, &note) == 0) {
        struct trail_buf line = {0};
        r = trail_checkpoint_format(&note, &line);
        status = r < 0 ? cli_fail(cmd, "%s: %s", arg, trail_strerror(r))
                       : add(cmd, cps, line.data, line.len, arg, 0);
        trail_buf_free(&line);
        trail_buf_free(&buf);
        return status;
    }
    for (size_t pos = 0; pos < buf.len && status == 0;) {
        const char *nl = memchr(buf.data + pos, '\n', buf.len - pos);
        size_t end = nl ? (size_t)(nl - buf.data) : buf.len;
        line_no++;
        if (end > pos) {
            char where[CLI_WHERE_LEN];
            snprintf(where, sizeof(where), "%.256s line %zu", arg, line_no);
            status = add(cmd, cps, buf.data + pos, end - pos, where, last_only && found > 0);
            found++;
        }
        pos = end + 1;
    }
    trail_buf_free(&buf);
    if (status == 0 && found == 0)
        return cli_usage_error(cmd, "%s holds no checkpoint line", arg);
    return status;
}

void cli_checkpoints_free(struct cli_checkpoints *cps)
{
    free(cps->cp);
    free(cps->where);
    *cps = (struct cli_checkpoints){0};
}
