/*
 * log.c - traild's log lines on stderr, each one line with unsafe characters
 * escaped (trail_text_escape), and the rate limit on the lines about
 * rejected input (a flood of bad messages must not become a flood of log
 * lines; the metrics still count each one).
 *
 * Under systemd, when stderr is the journal's stream (JOURNAL_STREAM names
 * its device and inode, systemd.exec(5)), a line is "<N>message": N the
 * syslog priority (3 error, 4 warning, 6 info, 7 debug), which journald
 * keeps as the entry's PRIORITY (journalctl -p warning), and no time or pid,
 * which the journal records itself.
 *
 * Not here: the daemon's lifecycle events in the store (main.c).
 */
#include "core/log.h"

#include "trail.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REJECT_LINES_PER_SECOND 20

static int max_level = LOG_INFO;
static const char *const level_names[] = {"error", "warning", "info", "debug"};
static const int syslog_priorities[] = {3, 4, 6, 7};
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
static int journal;
static pthread_mutex_t reject_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t reject_window;
static unsigned reject_lines;
static unsigned long reject_held;

void log_set_level(int level)
{
    max_level = level;
}

/* stderr is the journal's stream, not merely inherited from a unit by a child */
static void find_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
              (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void vlog(int level, const char *fmt, va_list ap)
{
    char line[2048], ts[32];
    int n;
    pthread_once(&journal_once, find_journal);
    if (journal) {
        n = snprintf(line, sizeof(line), "<%d>", syslog_priorities[level]);
    } else {
        trail_time_format(trail_now(), ts);
        n = snprintf(line, sizeof(line), "%.23sZ traild[%d]: %s: ", ts, (int)getpid(),
                     level_names[level]);
    }
    if (n < 0)
        return;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    /* a message may quote what a peer sent: escaped as every output (lib/codec/textesc.c), so
       that a log line is one line and drives no terminal that shows it */
    struct trail_buf esc = {0};
    if (!trail_text_is_safe(line + n, len - (size_t)n)) {
        if (trail_buf_append(&esc, line, (size_t)n) == 0 &&
            trail_text_escape(&esc, line + n, len - (size_t)n, NULL, TRAIL_ESC_NL) == 0 &&
            trail_buf_append(&esc, "\n", 1) == 0) {
            ssize_t w = write(STDERR_FILENO, esc.data, esc.len);
            (void)w;
        }
        trail_buf_free(&esc);
        return;
    }
    line[len++] = '\n';
    /* one write per line, so that lines of different threads do not mix */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level > max_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void log_rejected(const char *input, const char *sender, const char *fmt, ...)
{
    int64_t second = trail_now() / 1000000;
    unsigned long held = 0;
    pthread_mutex_lock(&reject_lock);
    if (second != reject_window) {
        held = reject_held;
        reject_held = 0;
        reject_lines = 0;
        reject_window = second;
    }
    int ok = reject_lines < REJECT_LINES_PER_SECOND;
    if (ok)
        reject_lines++;
    else
        reject_held++;
    pthread_mutex_unlock(&reject_lock);
    if (held)
        log_msg(LOG_WARN, "%lu more rejected items were not logged (see /metrics)", held);
    if (!ok || LOG_WARN > max_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_msg(LOG_WARN, "%s: rejected from %s: %s", input, sender, msg);
}
