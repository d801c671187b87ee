/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The drop log: one line per packet decided by a rule with the `log` action.
 *
 * A worker that decides such a packet first asks the rule's rate limit (droplog_admit(): one
 * load when the packet is to be suppressed, one compare-and-swap when it is let through), then
 * writes the facts of the packet, with the rule's log-prefix copied, as one record into its own
 * single-producer ring (droplog_push()) and goes on: no formatting, no system call, no lock. A
 * full ring loses the record (the worker counts it). One logging thread drains every worker's
 * ring, formats each record (droplog_format()) and writes the line with log_msg(), which under
 * systemd is the journal stream.
 *
 * The rate limit is per rule of a ruleset generation and shared by every worker: a generic cell
 * rate algorithm on one 64-bit "theoretical arrival time" per rule, so that exactly burst lines
 * pass at once and then one per interval, whichever queues the packets come from. A reload
 * starts every rule with a full burst.
 */
#ifndef NFQD_DAEMON_DROPLOG_H
#define NFQD_DAEMON_DROPLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfqd/packet.h"
#include "nfqd/policy.h"
#include "nfqd/spsc.h"

/* Bytes of each worker's ring: about 700 records of the largest size. */
#define DROPLOG_RING_SIZE (64u << 10)
/* The logging thread's sleep when every ring is empty: the most a line waits for it. */
#define DROPLOG_WAKE_MS 50

/* enum droplog_record_flag */
enum droplog_record_flag {
	DROPLOG_F_ADDRS = 1u << 0, /* family, src and dst are known */
	DROPLOG_F_PROTO = 1u << 1, /* proto is known */
	DROPLOG_F_PORTS = 1u << 2, /* sport and dport are known */
};

/* The facts of one logged packet: a ring record, followed by prefix_len bytes of prefix. */
struct droplog_record {
	uint64_t time_ns; /* CLOCK_MONOTONIC of its batch */
	uint64_t gen;	  /* the ruleset generation that decided it */
	union nfqd_addr src, dst;
	uint32_t rule;	   /* 0-based index of the rule in that generation */
	uint32_t verdict;  /* the rule's verdict: NF_ACCEPT, NF_DROP, NF_QUEUE_NR(n) */
	uint32_t iif, oif; /* interface indexes, 0 when none */
	uint32_t len;	   /* the packet's full length */
	uint16_t queue;
	uint16_t sport, dport;
	uint8_t family; /* 4 or 6 with DROPLOG_F_ADDRS */
	uint8_t proto;
	uint8_t flags;	    /* enum droplog_record_flag */
	uint8_t prefix_len; /* bytes of prefix, no NUL */
	char prefix[];
};

/* A rule's rate limit, from [log] rate and burst. */
struct droplog_limit {
	uint64_t interval_ns;  /* one line per interval on average */
	uint64_t tolerance_ns; /* (burst - 1) intervals: how far ahead of time a rule may be */
};

/* The limit of rate lines per period_s seconds with a burst (all >= 1). */
void droplog_limit_set(struct droplog_limit *lim, unsigned int rate, unsigned int period_s,
		       unsigned int burst);

/*
 * Whether one more line of the rule whose arrival time is *tat may be logged at now_ns, and if
 * so take its place. *tat starts at 0; any number of threads may share it. Wait-free when the
 * answer is no (a load); lock-free when yes.
 */
bool droplog_admit(uint64_t *tat, const struct droplog_limit *lim, uint64_t now_ns);

/*
 * Producer side: write the record of pkt, decided by d (a rule's decision) in generation gen,
 * with prefix (NULL: none), into ring. Returns 0, or -ENOBUFS when the ring is full.
 */
int droplog_push(struct nfqd_spsc *ring, const struct nfqd_packet *pkt,
		 const struct nfqd_decision *d, const char *prefix, uint64_t gen, uint64_t now_ns);

/*
 * The line of record r (its prefix after it), without a line end:
 * "nfqd-drop: [BL] rule 3 drop queue 0 tcp 192.0.2.1:1234 -> 198.51.100.7:443 iif eth0 len 60".
 * iif and oif are the names of r->iif and r->oif (NULL: the index is written). Returns the
 * length (cut to size - 1 when it does not fit, as snprintf).
 */
size_t droplog_format(const struct droplog_record *r, const char *iif, const char *oif, char *buf,
		      size_t size);

struct droplog;

/*
 * A drop log, its thread not started yet (a privilege drop wants one thread). Returns 0 and
 * *out, or -errno. Workers' rings are added with droplog_ring().
 */
int droplog_new(struct droplog **out);

/*
 * Start the logging thread when policy has a `log` rule and it is not running yet: nfqd
 * without log rules has no such thread. Main thread only, after the privilege drop (which
 * wants one thread) and before workers judge packets with policy. Returns 0 or -errno.
 */
int droplog_start(struct droplog *dl, const struct nfqd_policy *policy);

/*
 * The ring of worker slot (< CONFIG_MAX_QUEUES), created the first time and kept until
 * droplog_free(): a worker that takes over a slot later produces into the same ring (one
 * producer at a time). NULL when it cannot be allocated. Main thread only.
 */
struct nfqd_spsc *droplog_ring(struct droplog *dl, unsigned int slot);

/*
 * Lines written, since the start. Safe from any thread.
 */
uint64_t droplog_lines(const struct droplog *dl);

/*
 * Stop the logging thread once it has logged every record committed before the call (call it
 * after the workers stopped), and free everything. NULL is accepted.
 */
void droplog_free(struct droplog *dl);

#endif /* NFQD_DAEMON_DROPLOG_H */
