/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The running daemon as main.c and reload.c share it (main thread only). */
#ifndef NFQD_DAEMON_DAEMON_H
#define NFQD_DAEMON_DAEMON_H

#include <sched.h>
#include <systemd/sd-event.h>

#include "command.h"
#include "config.h"
#include "handover.h"
#include "reload.h"
#include "upgrade.h"
#include "worker.h"

struct nfqd_chaincount;

struct daemon {
	struct config *cfg;	       /* the current generation's */
	struct nfqd_ipset_info *infos; /* the set of each lookup: the current generation's */
	struct ifwatch *ifwatch;
	struct overload *overload; /* the kernel's overload counters, read and logged */
	struct worker *workers;	   /* CONFIG_MAX_QUEUES slots; a free slot has no queue */
	unsigned int n_workers;	   /* slots below this may be in use */
	struct worker_shared shared;
	sd_event *ev;
	struct control *ctl;
	struct capture *capture;   /* `nfqctl capture` (capture.h) */
	struct command_daemon cmd; /* what the control commands see of the daemon */
	struct reload_status reload;
	/* the counters of the queues reloads removed, so that the totals go on */
	uint64_t retired[NFQD_CTR_MAX];
	struct lookup_counters retired_lookups[NFQD_POLICY_MAX_LOOKUPS]; /* as cfg numbers them */
	cpu_set_t allowed;	      /* the CPUs the process may run on, read when workers start */
	struct watchdog *watchdog;    /* NULL without WatchdogSec= */
	struct handover handover;     /* sockets passed by a predecessor, until taken */
	int stop_mode;		      /* enum worker_stop: how the workers end */
	struct upgrade upgrade;	      /* how to re-execute nfqd */
	sd_event_source *upgrade_src; /* a pending upgrade (deferred to the loop's next turn) */
	char qlist[512];	      /* the queues, for messages */

	/* reads the plan tag of the loaded chain NFQD (reload.c); NULL: chain_err says why */
	struct nfqd_chaincount *chain;
	int chain_err;
};

/* Warn about the rules of c that can never match or that an earlier rule shadows. */
void daemon_log_lint(const struct config *c);

/* Read the CPUs the process may run on into d->allowed (none when they cannot be read). */
void daemon_read_allowed_cpus(struct daemon *d);

/*
 * The CPUs a worker may be pinned on under fanout = cpu, ascending, into cpus (CPU_SETSIZE
 * entries): those of the cpu-affinity list (every one under auto) that the process may run on.
 * Returns their number.
 */
int daemon_fanout_cpus(const struct daemon *d, int *cpus);

/*
 * The CPU to pin the worker of slot on, or -1: none under cpu-affinity = none; under fanout =
 * cpu the CPU whose packets its queue takes (fanout_worker_cpu()); else cpu-affinity's choice.
 */
int daemon_worker_cpu(const struct daemon *d, unsigned int slot);

/* Log the last counters of a worker that has drained its queue. */
void daemon_log_final(const struct worker *w);

#endif /* NFQD_DAEMON_DAEMON_H */
