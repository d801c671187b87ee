/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The queue readers a benchmark compares: nfqd (one transport), bench_reader (floor, single)
 * and Suricata in NFQ mode (workers runmode with batchcount 64, or its default autofp). Each is
 * started in the firewall namespace serving queues first..last with every packet given the
 * same verdict, paused and resumed as a whole process, and stopped, so that one scenario loop
 * serves them all.
 */
#ifndef NFQD_BENCH_CONTENDER_H
#define NFQD_BENCH_CONTENDER_H

#include <stdbool.h>
#include <sys/types.h>

#include "bgproc.h"
#include "fakebus.h"
#include "fdstore.h"
#include "netns.h"

enum contender_kind {
	CONTENDER_NFQD,
	CONTENDER_NFQD_HANDOVER, /* nfqd under a service manager with an fd store, restart job */
	CONTENDER_FLOOR,
	CONTENDER_SINGLE,
	CONTENDER_SURICATA_WORKERS,
	CONTENDER_SURICATA_AUTOFP,
	CONTENDER_MAX,
};

struct contender {
	char name[48];
	enum contender_kind kind;
	char transport[16]; /* nfqd: the [queue] transport */
	unsigned int batch; /* nfqd and the floor reader: batch size; 0: their default */
};

struct contender_run {
	const struct contender *c;
	struct nfqd_proc d; /* nfqd */
	struct bgproc b;    /* the others */
	bool is_nfqd;
	struct fdstore store; /* CONTENDER_NFQD_HANDOVER: the service manager's fd store */
	struct fakebus bus;   /* and its D-Bus, which says the unit's job is a restart */
	bool bus_up;
	const char *ns;
	unsigned int first, last;
	const char *verdict;
};

/*
 * Start c in ns serving queues first..last, giving every packet verdict ("accept" or "drop"),
 * and wait until it serves (nfqd: READY=1; bench_reader: "ready"; Suricata: "Engine started"
 * and its queues bound). Returns 0; 1 when the contender refused to start (its reason on
 * stderr: e.g. an nfqd without that transport); -1 on any other failure. Call
 * contender_cleanup() in every case.
 */
int contender_start(struct contender_run *r, const struct contender *c, const char *ns,
		    unsigned int first, unsigned int last, const char *verdict);

/* The contender's process id. */
pid_t contender_pid(const struct contender_run *r);

/* Stop it with SIGTERM and wait for the exit. Returns 0 when it exited 0, -1 otherwise (its
 * output then printed on stderr). */
int contender_stop(struct contender_run *r);

/*
 * Restart it as a service manager does: SIGTERM, wait for the exit, start again (the hand-over
 * kind: the successor adopts the queues the fd store kept bound). Returns as contender_start().
 */
int contender_restart(struct contender_run *r);

/* Kill it if it still runs and remove its files. Safe twice. */
void contender_cleanup(struct contender_run *r);

/* Whether Suricata is installed; when not, *why says so. */
bool suricata_available(const char **why);

#endif /* NFQD_BENCH_CONTENDER_H */
