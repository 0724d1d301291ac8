/*
 * notify.c - tell systemd what traild is doing (sd_notify(3)): READY=1 once
 * the store is open and every input listens, so that units ordered after
 * traild.service start only when events can be sent; RELOADING=1 and READY=1
 * around a SIGHUP reload; STOPPING=1 when it drains; WATCHDOG=1 from the main
 * loop, so that a main loop that stops turning (no more signals, retention,
 * checkpoints) gets traild restarted (WatchdogSec=, Restart=on-failure).
 *
 * Not here: the unit (debian/traild.service), the lifecycle (main.c), the
 * journal's priorities on log lines (log.c).
 */
#include "core/notify.h"

#include "core/log.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

/* half the watchdog's period, in microseconds of CLOCK_MONOTONIC; 0: no watchdog */
static uint64_t watchdog_every_us;
static uint64_t watchdog_last_us;

static uint64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A status is one line of traild's own text: a newline would end the assignment. */
static void notify(const char *what, const char *status)
{
    char msg[1200];
    if (status) {
        snprintf(msg, sizeof(msg), "%s%sSTATUS=%.1000s", what, *what ? "\n" : "", status);
        for (char *nl = strchr(msg + strlen(what) + 1, '\n'); nl; nl = strchr(nl, '\n'))
            *nl = ' ';
    } else {
        snprintf(msg, sizeof(msg), "%s", what);
    }
    /* once: a socket that went away would otherwise fill the log at the watchdog's pace */
    static int warned;
    int r = sd_notify(0, msg);
    if (r < 0 && !warned) {
        warned = 1;
        log_msg(LOG_WARN, "cannot notify the service manager (%s): %s", what, strerror(-r));
    }
}

struct timespec notify_init(struct timespec max_wait)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog_every_us = usec / 2;
        watchdog_last_us = monotonic_us();
        log_msg(LOG_INFO, "watchdog: every %llu ms",
                (unsigned long long)(watchdog_every_us / 1000));
        /* a signal may wake the loop just after a ping: waits of half the
           interval keep the next ping within 1.5 intervals, 3/4 of the period */
        uint64_t wait_us = watchdog_every_us / 2;
        uint64_t max_us = (uint64_t)max_wait.tv_sec * 1000000 + (uint64_t)max_wait.tv_nsec / 1000;
        if (wait_us < max_us) {
            max_wait.tv_sec = (time_t)(wait_us / 1000000);
            max_wait.tv_nsec = (long)(wait_us % 1000000) * 1000;
        }
    }
    return max_wait;
}

void notify_ready(const char *status)
{
    notify("READY=1", status);
}

void notify_reloading(void)
{
    /* MONOTONIC_USEC: systemd 253's Type=notify-reload matches it with the signal it sent */
    char what[64];
    snprintf(what, sizeof(what), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)monotonic_us());
    notify(what, NULL);
}

void notify_stopping(const char *status)
{
    notify("STOPPING=1", status);
}

void notify_status(const char *status)
{
    notify("", status);
}

void notify_watchdog(void)
{
    if (!watchdog_every_us)
        return;
    uint64_t now = monotonic_us();
    if (now - watchdog_last_us < watchdog_every_us)
        return;
    watchdog_last_us = now;
    notify("WATCHDOG=1", NULL);
}
