/*
 * log.h - traild's own log: one line per message on stderr, with the time,
 * the level and the context the message names (sender, file, line).
 *
 * Not here: the events traild writes to the store about itself (main.c).
 */
#ifndef TRAILD_LOG_H
#define TRAILD_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* log_set_level - messages above level are not written (default LOG_INFO). */
void log_set_level(int level);

/*
 * log_msg - write one line: "TIME traild[PID]: LEVEL: message", or
 * "<PRIORITY>message" when stderr is systemd's journal. Thread-safe.
 */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * log_rejected - log a rejected input item, at most a few dozen lines a
 * second across all threads; the lines held back are counted and reported
 * in one line once logging resumes. The metrics count every rejection.
 */
void log_rejected(const char *input, const char *sender, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* TRAILD_LOG_H */
