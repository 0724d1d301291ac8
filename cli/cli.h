/*
 * cli.h - what the trail command's files share.
 *
 * Each command group lives in its own file (cli/events.c, cli/emit.c, ...)
 * and exports one `int cmd_NAME(int argc, char **argv)` listed in the table
 * of cli/main.c. argv[0] is the command's name. A command returns the exit
 * status: 0 success, 1 failure (the operation ran and failed, e.g. verify
 * found damage), 2 bad usage or bad input (the message names the bad part).
 */
#ifndef TRAIL_CLI_H
#define TRAIL_CLI_H

#include "trail.h"

#include <stdio.h>

#define EXIT_USAGE 2

/* cli_error - print "trail CMD: message" to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_fail - print "trail CMD: message" to stderr; returns 1. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * cli_note - print the message and a newline to stderr. Like cli_fail and
 * cli_usage_error, it escapes unsafe characters (trail_text_escape) in each
 * line, since a message may quote an input file or a peer.
 */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * cli_opt_value - argv[*i] as "--name VALUE" or "--name=VALUE": 1 with
 * *ret_value (and *i past VALUE), 0 when argv[*i] is another argument, -1
 * when VALUE is missing.
 */
int cli_opt_value(char **argv, int argc, int *i, const char *name, const char **ret_value);

/*
 * cli_parse_u64 - s as a decimal number of at most max: digits only (no
 * sign, no spaces), no overflow. 0 and *ret, or -1 with *ret untouched.
 */
int cli_parse_u64(const char *s, uint64_t max, uint64_t *ret);

/*
 * cli_is_option - 1 when arg is the option shrt ("-o", or NULL for none),
 * lng ("--out") or "lng=VALUE". cli_option_value - then its value: after
 * "=", or the next argument (*i moves past it); NULL when it is missing.
 * cli_opt_value is the two in one.
 */
int cli_is_option(const char *arg, const char *shrt, const char *lng);
const char *cli_option_value(int argc, char **argv, int *i, const char *arg);

/* cli_wants_help - 1 when argv holds -h or --help; the command then prints its help. */
int cli_wants_help(int argc, char **argv);

/*
 * cli_read_file - append the whole of path ("-": standard input) to out.
 * Returns 0, -errno, TRAIL_E_TOO_LARGE past max bytes, or -ENOMEM.
 */
int cli_read_file(const char *path, size_t max, struct trail_buf *out);

/*
 * cli_catalog - the catalog the commands use: the built-in events. Made on
 * the first call and freed at exit (cli/main.c owns it). Prints the problem
 * and returns NULL on failure.
 */
struct trail_catalog *cli_catalog(void);

int cmd_events(int argc, char **argv);
int cmd_emit(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_proof(int argc, char **argv);
int cmd_loadgen(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_repair(int argc, char **argv); /* cli/store_cmds.c */
int cmd_stats(int argc, char **argv);
int cmd_query(int argc, char **argv); /* cli/query.c */
int cmd_count(int argc, char **argv);
int cmd_tail(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_tiles(int argc, char **argv);
int cmd_token_hash(int argc, char **argv); /* cli/token.c */
int cmd_backup(int argc, char **argv);     /* cli/backup.c */

/* Checkpoints from --checkpoint values, each with where it came from. */
#define CLI_WHERE_LEN 320
struct cli_checkpoints {
    struct trail_checkpoint *cp;
    char (*where)[CLI_WHERE_LEN]; /* "--checkpoint 2" or "FILE line 3", for messages */
    size_t n;
};

/*
 * cli_checkpoints_load - a --checkpoint LINE|FILE value (cli/checkpoints.c):
 * the line itself (its where is label), or every non-empty line of the file
 * ("-": standard input), all of which must be checkpoint lines, appended to
 * cps; with last_only, only the file's last line is kept. Returns the exit
 * status: 0, or 2 with the problem printed (unreadable file, a line that is
 * not a checkpoint line, no line at all). cps is the caller's to free with
 * cli_checkpoints_free().
 */
int cli_checkpoints_load(const char *cmd, const char *arg, const char *label, int last_only,
                         struct cli_checkpoints *cps);
void cli_checkpoints_free(struct cli_checkpoints *cps);

/*
 * The --policy FILE of verify and proof check (cli/policy.c).
 * cli_checkpoint_same: 1 when a and b are the same checkpoint, field by field.
 * cli_policy_load: read and parse it; 0, or 2 with the problem printed.
 * cli_policy_report: print the line "witness policy: ..." about cp (NULL:
 *   none cosigned) and valid cosignatures; returns 0 when the quorum is met,
 *   else 1.
 * cli_policy_store: among the cosigned notes of DIR/sinks/NAME.cosigned that
 *   one of keys signed, the largest checkpoint meeting the policy (else the
 *   one with the most valid cosignatures), the cosignatures of every file
 *   for one checkpoint counted together; 1 with *ret_cp and *ret_valid set,
 *   0 when there is none.
 */
int cli_checkpoint_same(const struct trail_checkpoint *a, const struct trail_checkpoint *b);
int cli_policy_load(const char *cmd, const char *path, struct trail_witness_policy **ret);
int cli_policy_report(const struct trail_witness_policy *p, const struct trail_checkpoint *cp,
                      size_t valid, FILE *out);
int cli_policy_store(const char *dir, const struct trail_witness_policy *p,
                     const struct trail_key *const *keys, size_t n_keys,
                     struct trail_checkpoint *ret_cp, size_t *ret_valid);

int cmd_sinks(int argc, char **argv);
int cmd_rules(int argc, char **argv);  /* cli/rules.c */
int cmd_report(int argc, char **argv); /* cli/report.c */

/*
 * cli_sinks_print - print the sinks of the store in dir (cli/sinks.c): one
 * line each (with a header line when header) or one JSON object each, lag
 * counted against last_seq; a cursor whose store is not store_hex (the
 * store's id, NULL: not checked) is shown with that error. Returns the
 * number of sinks, or -errno.
 */
int cli_sinks_print(const char *dir, const char *store_hex, uint64_t last_seq, int json,
                    int header);

/* cli_store_hex_id - the store's id as 32 hex digits, as sink cursors name it. */
void cli_store_hex_id(const struct trail_store *store, char out[33]);

/*
 * cli_store_emit - the --store part of `trail emit` (cli/store_cmds.c):
 * append ev to the store in dir (made if missing), wait until it is durable,
 * print its seq. Returns the exit status; messages name cmd.
 */
int cli_store_emit(const char *cmd, const char *dir, struct trail_event *ev);

/*
 * cli_client_emit - the --url part of `trail emit` (cli/client.c): send ev
 * to the traild at url, wait until traild says it is durable, print its
 * seq. Returns the exit status; messages name cmd.
 */
int cli_client_emit(const char *cmd, const char *url, const struct trail_client_opts *copts,
                    struct trail_event *ev);

/*
 * How the commands that take --url reach traild (cli/client.c): the token
 * and TLS options, the same for each. CLI_CONN_HELP is their help text.
 */
struct cli_conn {
    const char *token, *token_file, *cacert, *cert, *key;
    char *token_read; /* the token read from token_file (owned) */
};

#define CLI_CONN_HELP                                                                              \
    "    --token TOKEN     traild's bearer token (default: the environment variable\n"             \
    "                      TRAIL_TOKEN); --token-file FILE reads it from FILE\n"                   \
    "    --cacert FILE     with an https:// URL: trust the CA certificates in FILE\n"              \
    "                      (PEM) instead of the system's (/etc/ssl/certs); --ca is\n"              \
    "                      the same\n"                                                             \
    "    --cert FILE, --key FILE\n"                                                                \
    "                      a client certificate (PEM) and its key, for a traild that\n"            \
    "                      asks for one ([tls] http_ca); --key defaults to --cert\n"

/*
 * cli_conn_opt - argv[*i] when it is one of the options of CLI_CONN_HELP:
 * 1 taken (into c; *i past its value), 0 another argument, -1 its value is
 * missing.
 */
int cli_conn_opt(char **argv, int argc, int *i, struct cli_conn *c);

/*
 * cli_conn_opts - c as trail_client_opts (pointing into c): the token from
 * --token, --token-file or TRAIL_TOKEN. Returns 0, or the exit status of a
 * usage error (already printed, naming cmd). Free c with cli_conn_free.
 */
int cli_conn_opts(const char *cmd, struct cli_conn *c, struct trail_client_opts *ret);

/* cli_conn_free - free what cli_conn_opts read. */
void cli_conn_free(struct cli_conn *c);

#endif /* TRAIL_CLI_H */
