/*
 * cli/notify.h -- telling systemd how `egressfence run' is (Type=notify):
 * READY=1 once the table is loaded, RELOADING=1 and READY=1 around a
 * SIGHUP reload, STATUS= lines, STOPPING=1, and WATCHDOG=1 when the unit
 * sets WatchdogSec.  Without $NOTIFY_SOCKET every call does nothing.
 *
 * The watchdog is pinged from the packet loop's timers, never from a
 * thread of its own, so that a wedged loop stops the pings and systemd
 * restarts the service.
 */
#ifndef EF_CLI_NOTIFY_H
#define EF_CLI_NOTIFY_H

#include <stdint.h>

struct notify {
	uint64_t watchdog_every_ms; /* 0: no watchdog */
	double last_ping_ms;
};

/* Reads $WATCHDOG_USEC (and $WATCHDOG_PID, which must be this process). */
void notify_init(struct notify *n);
void notify_ready(const char *status);
/* MONOTONIC_USEC goes with RELOADING=1 for systemd 253 and later
 * (Type=notify-reload); 252, Debian 12's, reads RELOADING=1 and ignores it. */
void notify_reloading(void);
void notify_status(const char *status);
void notify_stopping(void);
/* From the loop's timers: a ping when half the watchdog time has passed. */
void notify_watchdog(struct notify *n, double now_ms);

#endif
