/*
 * notify.h - traild's side of systemd's service protocol (sd_notify): when it
 * is ready, reloading or stopping, what it is doing, and the watchdog's
 * keep-alive. Each call is a no-op when no service manager listens
 * (NOTIFY_SOCKET unset): traild run by hand or by another supervisor.
 *
 * Not here: the unit (debian/traild.service), the lifecycle itself (main.c).
 */
#ifndef TRAILD_NOTIFY_H
#define TRAILD_NOTIFY_H

#include <time.h>

/*
 * notify_init - read the watchdog's period (WatchdogSec=, passed as
 * WATCHDOG_USEC). Returns how long the main loop may wait between two
 * notify_watchdog() calls: at most max_wait, less when the watchdog needs
 * it (notify_watchdog pings every half period, as sd_watchdog_enabled(3)
 * recommends).
 */
struct timespec notify_init(struct timespec max_wait);

/* notify_ready - READY=1, with status as STATUS= (systemctl status shows it). */
void notify_ready(const char *status);

/* notify_reloading - RELOADING=1 (and MONOTONIC_USEC), before a reload. */
void notify_reloading(void);

/* notify_stopping - STOPPING=1: traild drains and stops. */
void notify_stopping(const char *status);

/* notify_status - STATUS= alone (a failed start, a failed reload). */
void notify_status(const char *status);

/* notify_watchdog - WATCHDOG=1, when the watchdog is on and half its period passed. */
void notify_watchdog(void);

#endif /* TRAILD_NOTIFY_H */
