/*
 * detect_run.h - traild's detection ([detect] rules = DIR): Sigma rules
 * evaluated over the store's records after they are durable, on a thread of
 * their own from a durable cursor of their own (like a sink), each alert
 * written as trail's own record trail_alert. docs/detection.md.
 *
 * Not here: the rules and their evaluation (lib/detect/).
 */
#ifndef TRAILD_DETECT_RUN_H
#define TRAILD_DETECT_RUN_H

#include "core/config.h"

#include <stddef.h>
#include <stdio.h>

/*
 * detect_start - when cfg has [detect] rules, load them and start the
 * detection thread over store (dir: the store's directory, where
 * detect.cursor lives). Rules with errors are logged and left out. Returns
 * 0 (also without [detect]), or -errno with err when the thread or the
 * rules directory cannot be had.
 */
int detect_start(const struct config *cfg, struct trail_store *store, const char *dir, char *err,
                 size_t errlen);

/*
 * detect_check - traild -t: read cfg's [detect] rules as a start does,
 * printing each problem to print ("traild: detect: FILE:LINE:COLUMN: error:
 * ..."). -EINVAL with err when the directory cannot be read ("[detect]
 * rules DIR: No such file or directory", the reason a start fails with) or
 * a rule has an error (a start logs it and leaves the rule out: -t is
 * stricter, so that a check before a reload catches it). 0 without [detect].
 */
int detect_check(const struct config *cfg, FILE *print, char *err, size_t errlen);

/* detect_metrics - the detector's Prometheus text (metrics_add_source); nothing when off. */
int detect_metrics(struct trail_buf *out);

/* detect_rules_json - GET /v1/rules: the rules in force, their files, problems and alerts. */
int detect_rules_json(struct trail_buf *out);

/* detect_reload - have the thread read the rules again (SIGHUP), from the config in force. */
void detect_reload(void);

/* detect_stop - stop the thread (it saves its cursor first); a no-op when not started. */
void detect_stop(void);

#endif /* TRAILD_DETECT_RUN_H */
