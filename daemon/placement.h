/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where each worker runs: the [queue] cpu-affinity setting applied to the CPUs the process may
 * use. Pure functions of the setting and the allowed set, so that the choice is testable without
 * threads; the caller pins (or not) with what they return.
 */
#ifndef NFQD_DAEMON_PLACEMENT_H
#define NFQD_DAEMON_PLACEMENT_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most CPUs a cpu-affinity list names. */
#define PLACEMENT_LIST_MAX 256

enum cpu_affinity {
	/* As measured (README, "cpu-affinity"): no pinning, the scheduler places each worker
	 * (fanout = cpu pins each on the CPU its queue takes: daemon_worker_cpu()). */
	CPU_AFFINITY_AUTO,
	CPU_AFFINITY_NONE, /* never pinned */
	CPU_AFFINITY_LIST, /* worker i on the list's (i mod n)-th CPU */
	CPU_AFFINITY_MAX
};

struct placement {
	enum cpu_affinity mode;
	uint16_t cpus[PLACEMENT_LIST_MAX]; /* CPU_AFFINITY_LIST: the CPUs, in the order given */
	unsigned int n_cpus;
};

/* "auto", "none" or "list". */
const char *placement_mode_name(enum cpu_affinity mode);

/*
 * Parse a cpu-affinity value: "auto", "none", or a list of CPUs "0,2-3" (worker i on the i-th,
 * round-robin). Fills p->mode, p->cpus and p->n_cpus.
 * Returns 0, or -EINVAL / -ERANGE with *why (a static sentence) saying what is wrong.
 */
int placement_parse(struct placement *p, const char *s, const char **why);

/*
 * The first CPU of p's list that allowed lacks (the process may not run there), or -1 when
 * every CPU listed is allowed (or p names no list).
 */
int placement_check(const struct placement *p, const cpu_set_t *allowed);

/*
 * The CPU to pin the worker of slot `slot` on, given the CPUs the
 * process may use; -1 for no pinning. A listed CPU outside allowed (the set changed since the
 * check) is skipped for the next listed one that is allowed; -1 when none is.
 */
int placement_cpu(const struct placement *p, unsigned int slot, const cpu_set_t *allowed);

/* Write the CPUs of set as a compact list ("0-3,8") into buf (for messages). */
void placement_format_set(const cpu_set_t *set, char *buf, size_t len);

#endif /* NFQD_DAEMON_PLACEMENT_H */
