/*
 * cli/notify.c -- sd_notify(3) for `egressfence run' (see notify.h).
 *
 * Invariant: nothing here blocks or fails the daemon; sd_notify's answer
 * is ignored, as a service manager that is not listening is no error.
 */
#include "notify.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

void notify_init(struct notify *n)
{
	uint64_t usec = 0;

	n->watchdog_every_ms = 0;
	n->last_ping_ms = 0;
	/* Half the timeout, as sd_watchdog_enabled(3) advises: one late turn
	 * of the loop must not cost a restart. */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
		n->watchdog_every_ms = usec / 2000;
}

void notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the policy and databases",
		   (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000ull);
}

void notify_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void notify_watchdog(struct notify *n, double now_ms)
{
	if (!n->watchdog_every_ms || now_ms - n->last_ping_ms < (double)n->watchdog_every_ms)
		return;
	n->last_ping_ms = now_ms;
	sd_notify(0, "WATCHDOG=1");
}
