/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Workers: one thread per queue, pinned to a CPU, sharing nothing on the hot path but the
 * read-only policy. A worker reads a batch, classifies every packet, and sends all the batch's
 * verdicts in one send before it reads again.
 */
#ifndef NFQD_DAEMON_WORKER_H
#define NFQD_DAEMON_WORKER_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfqd/ipset.h"
#include "nfqd/markplan.h"
#include "nfqd/policy.h"
#include "nfqd/queue.h"
#include "nfqd/stats.h"
#include "capture.h"
#include "droplog.h"
#include "log.h"
#include "ruleset.h"

struct config;
struct nfqd_policy;
struct nfqd_queue;
struct nfqd_transport;
struct nfqd_batcher;
struct nfqd_ct;

/* How workers stop (worker_shared.stop). */
enum worker_stop {
	WORKER_RUN,
	WORKER_STOP_DRAIN,    /* freeze, drain, unbind: a real stop */
	WORKER_STOP_HANDOVER, /* answer what was read, leave the queue bound for a successor */
	WORKER_STOP_MAX,
};

struct handover;

/* What all workers share with the main thread. */
struct worker_shared {
	atomic_int stop;	   /* enum worker_stop, set by the main thread */
	struct handover *handover; /* sockets passed by a predecessor; NULL: none */
	int fatal_fd;		   /* eventfd a worker writes when it cannot go on */
	sem_t started; /* posted by each worker once its queue takes packets (or failed to) */
	struct ruleset_pub rulesets; /* the ruleset generation in force (ruleset.h) */
	atomic_int unmarked_logged;  /* "set-lookup = mark but no marker" said once */
	struct capture_tap capture;  /* `nfqctl capture` (capture.h) */
	struct droplog *droplog;     /* the drop log's rings; NULL: no drop log */
};

/* The last word on a queue, taken by its worker after the drain. */
struct worker_final {
	bool kstats_ok;
	struct nfqd_queue_kstats kstats; /* the kernel's counters before the unbind */
	uint64_t drops;			 /* messages lost to a full socket buffer */
	uint32_t swept;			 /* packets left queued, given the fail-side verdict */
};

/* Counters of one set lookup in one worker (single writer, like nfqd_counters). */
struct lookup_counters {
	uint64_t by_mark; /* answered by the kernel's mark bits */
	uint64_t by_test; /* answered by IPSET_CMD_TEST */
	uint64_t member;  /* answers "member" */
	uint64_t failed;  /* answers that failed (set missing, kernel refusal) */
};

struct worker {
	struct nfqd_counters counters; /* first: on its own cache line */
	struct lookup_counters lookups[NFQD_POLICY_MAX_LOOKUPS];
	/* Bumped every turn of the receive loop (relaxed): the watchdog's sign of progress. */
	atomic_uint_least64_t heartbeat;
	_Atomic uint64_t rs_seen; /* the generation this worker uses (ruleset_announce()) */
	atomic_int stop;	  /* set by the main thread: drain this queue and exit */
	unsigned int index;	  /* the worker's slot: its set lookups in every generation */
	int cpu;		  /* pinned to this CPU, -1 when not pinned */
	pthread_t thread;
	bool running;
	int start_err; /* 0, or -errno when the queue could not be started */
	struct nfqd_queue *queue;
	struct nfqd_transport *transport;
	struct nfqd_batcher *batcher;
	/* the generation in force and what it says, taken as each batch arrives */
	struct ruleset *rs;
	const struct nfqd_policy *policy;
	struct rule_counts *rules; /* rs->rule_counts[index]; NULL: not counted (out of memory) */
	uint32_t fail_verdict;	   /* NF_ACCEPT with fail-open, else NF_DROP */
	struct worker_shared *shared;

	/* classification of a received batch */
	unsigned int cap;		  /* packets per classification round */
	struct nfqd_packet *pkts;	  /* views of the round's packets */
	struct nfqd_set_answers *answers; /* their set answers */
	uint8_t *by_test;		  /* 1: answers come from IPSET_CMD_TEST */
	unsigned int n_pkts;
	struct nfqd_setlookup *setlookup; /* the generation's, of this slot; NULL: none tested */
	unsigned int n_lookups;
	const uint32_t *reach; /* the generation's reach table */
	struct nfqd_markplan plan;
	int set_lookup; /* enum set_lookup */
	bool flow_cache;
	uint32_t ct_mask;   /* bits `ct mark` rules read */
	bool conntrack;	    /* NFQA_CT from the kernel */
	struct nfqd_ct *ct; /* flow cache: creates the entries of dropped flows */
	struct worker_final final;
	bool adopted;	     /* the queue socket came from a previous nfqd */
	bool got_packet;     /* a packet id has been read */
	bool stale_set;	     /* packets up to stale_upto were re-queued by id sequence ... */
	uint32_t stale_upto; /* ... so their late messages get no verdict of their own */
	bool handed_over;    /* stopped for a successor: the queue stays bound */
	int kept_fd;	     /* after a hand-over, the queue socket (worker_destroy), else -1 */
	/*
	 * A send failed and the sweep of its packets (nfqd_batcher_sweep_seen()), or without
	 * ordered ids the failed build itself (nfqd_batcher_unsent()), has not reached the kernel
	 * yet: every turn of the receive loop (at least every RECV_TIMEOUT_MS) tries again, so that
	 * they never wait for traffic. Without ordered ids nothing more is received meanwhile.
	 */
	bool sweep_owed;
	/*
	 * Without NFQD_TRANSPORT_ORDERED (the mmap ring), what waits for a receive that leaves the
	 * transport caught up (docs/DESIGN.md, "Order").
	 */
	bool ordered;		 /* the transport has NFQD_TRANSPORT_ORDERED */
	bool unread_met;	 /* unreadable messages since the last caught-up receive */
	bool unread_wait;	 /* unreadable ones that may lie above every id read then ... */
	bool unread_wait_added;	 /* ... and a later receive has read a packet since */
	bool orphans_owed;	 /* packets queued at the set-up with no message to come ... */
	uint32_t orphans_upto;	 /* ... up to this id (the kernel's last id then) ... */
	uint32_t orphans_queued; /* ... of the kernel's count of queued packets then */
	uint64_t adds;		 /* verdicts the batcher took */
	struct ratelimit rl_kernel, rl_packet, rl_io, rl_unreadable;
	unsigned int set_timeout_ms; /* [policy] set-timeout */
	/* the drop log: this worker's ring (NULL: none), the generation's limit, and the time
	 * of the batch, read at its first logged packet (0: not yet) */
	struct nfqd_spsc *logring;
	struct droplog_limit log_limit;
	uint64_t log_now;
	struct ratelimit rl_set_timeout;
	struct ratelimit rl_reject; /* rejects nothing could answer */
};

/*
 * Bind the queue and open its transport and batcher, in slot index: the worker judges packets
 * with the current generation of shared->rulesets, whose setlookup[index] is its own. The queue
 * settings ([queue] and the conntrack flag) come from c. Returns 0, or -errno with err holding
 * one line that names the queue and what is wrong.
 */
int worker_init(struct worker *w, unsigned int index, uint16_t queue, const struct config *c,
		struct worker_shared *shared, char *err, size_t errlen);

/* Start the worker's thread, pinned to cpu (-1: not pinned). Returns 0 or -errno. */
int worker_start(struct worker *w, int cpu);

/* Move the running worker's thread to cpu alone (main thread only: w->cpu is its record).
 * Returns 0 or -errno. */
int worker_pin(struct worker *w, int cpu);

/* Ask this worker alone to drain its queue and end (worker_wake(), worker_join() follow). */
void worker_stop(struct worker *w);

/* Interrupt a blocking receive so that the worker sees the stop flag now. */
void worker_wake(struct worker *w);

/* Wait for the thread to end. */
void worker_join(struct worker *w);

/*
 * Unbind the queue and free what worker_init() opened; safe on a zeroed or failed worker. After
 * a hand-over the queue stays bound and its socket open, in kept_fd, for the caller.
 */
void worker_destroy(struct worker *w);

/*
 * A snapshot of the worker's counters, with enobufs read from the socket (SO_MEMINFO drops)
 * and queue_full from the kernel's queue counters. Safe from any thread while the worker runs.
 */
void worker_counters(const struct worker *w, struct nfqd_counters *out);

/* The worker's heartbeat (watchdog.h); safe from any thread. */
uint64_t worker_heartbeat(const struct worker *w);

/*
 * The lookup counters in (one per lookup of policy from; NULL: none) moved to where policy to
 * numbers the same lookups (by their text), into out (NFQD_POLICY_MAX_LOOKUPS entries); a
 * lookup new in to starts at 0. Reads in as worker_lookup_counters() does.
 */
void lookup_counters_follow(const struct nfqd_policy *from, const struct nfqd_policy *to,
			    const struct lookup_counters *in, struct lookup_counters *out);

/*
 * The worker's per-rule counters as policy to numbers the rules (rule_counts_map()): out[r] for
 * rule r, out[n] for the default, n the rule count of to; zeros for a rule the worker's
 * generation does not have, and all zeros before the worker took a generation. Reads the
 * generation the worker announced, found in pub: main thread only (it frees generations).
 * Returns 0 or -ENOMEM.
 */
int worker_rule_counts(const struct worker *w, struct ruleset_pub *pub,
		       const struct nfqd_policy *to, struct rule_count *out);

/* A snapshot of lookup i's counters in this worker; safe from any thread. */
void worker_lookup_counters(const struct worker *w, unsigned int i, struct lookup_counters *out);

#endif /* NFQD_DAEMON_WORKER_H */
