/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The systemd watchdog (WatchdogSec= in the unit): nfqd pings only while every worker makes
 * progress. Each worker bumps a heartbeat every turn of its receive loop, and a turn ends at
 * least every RECV_TIMEOUT_MS even without traffic; a worker whose heartbeat stands still for
 * a whole ping interval is stuck, and nfqd stops pinging so that systemd kills it (SIGABRT)
 * and restarts it with its queues from the fd store.
 */
#ifndef NFQD_DAEMON_WATCHDOG_H
#define NFQD_DAEMON_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* What the core remembers of one worker. */
struct watchdog_entry {
	unsigned int queue; /* the queue it serves: identifies it across calls */
	uint64_t seen;	    /* its heartbeat at the last check */
	uint64_t moved;	    /* when the heartbeat was last seen to move (usec) */
	bool reported;	    /* its stall has been logged */
};

/*
 * The decision, without clocks or sockets: given every worker's heartbeat and the time, ping or
 * not. A worker is stalled when its heartbeat has not moved for limit_usec or more.
 */
struct watchdog_core {
	uint64_t limit_usec;
	unsigned int n, cap;
	struct watchdog_entry *e;
};

/* An empty core; the first check takes every worker as having just moved. */
void watchdog_core_init(struct watchdog_core *c, uint64_t limit_usec);

/* Free what the core holds; safe on an initialised core, twice. */
void watchdog_core_done(struct watchdog_core *c);

/*
 * Record the heartbeats of n workers (queues[i] served by the worker with heartbeat beats[i])
 * at time now (usec, monotonic). A queue not in the last check (a new worker, or the set of
 * queues changed) starts as having just moved. Returns the number of stalled workers, 0 when
 * the ping is due, or -ENOMEM.
 */
int watchdog_core_check(struct watchdog_core *c, const unsigned int *queues, const uint64_t *beats,
			unsigned int n, uint64_t now);

/* Whether entry i (as of the last check at now) is stalled, and for how long in *for_usec. */
bool watchdog_core_stalled(const struct watchdog_core *c, unsigned int i, uint64_t now,
			   uint64_t *for_usec);

/*
 * Where the daemon's workers are read: fill queues[] and beats[] for every worker that serves,
 * at most max of them, and return how many. Called from the event loop's thread; the beats
 * are written by the workers and read with relaxed atomics.
 */
struct watchdog_source {
	unsigned int (*read)(void *user, unsigned int *queues, uint64_t *beats, unsigned int max);
	void *user;
	unsigned int max; /* the most workers read can report */
};

struct watchdog;

/*
 * Arm the watchdog on ev when systemd asked for one (WATCHDOG_USEC, and WATCHDOG_PID naming
 * this process): a timer at half the interval checks the workers through src and sends
 * WATCHDOG=1 when none is stalled. Logs a stalled worker once at error priority, with its
 * queue and for how long, and the recovery at notice. *out is NULL when no watchdog was asked
 * for. Returns 0, or -errno.
 */
int watchdog_open(struct watchdog **out, sd_event *ev, const struct watchdog_source *src);

/* The interval systemd asked for (usec), 0 when disarmed; wd may be NULL. */
uint64_t watchdog_usec(const struct watchdog *wd);

/* Disarm and free; NULL is fine. */
void watchdog_close(struct watchdog *wd);

#endif /* NFQD_DAEMON_WATCHDOG_H */
