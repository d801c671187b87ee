/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-worker counters. Each set has exactly one writer (its worker thread) and any number of
 * readers (the control socket). Writes are plain relaxed stores of the writer's own value, so
 * the hot path takes no lock and issues no locked instruction. A batch's counts are committed
 * together under a sequence count (nfqd_counters_commit), and nfqd_counters_read retries until
 * it copied them between two commits: a reader never sees a batch's accepted verdicts without
 * its unreadable count, say.
 */
#ifndef NFQD_STATS_H
#define NFQD_STATS_H

#include <stdint.h>

enum nfqd_counter {
	NFQD_CTR_RECEIVED,     /* packet messages read from the queue */
	NFQD_CTR_ACCEPTED,     /* verdicts NF_ACCEPT given */
	NFQD_CTR_DROPPED,      /* verdicts NF_DROP given */
	NFQD_CTR_QUEUED,       /* packets handed to another queue (queue N) */
	NFQD_CTR_BATCHES,      /* receive calls that returned messages */
	NFQD_CTR_VERDICT_MSGS, /* verdict messages sent (single and batch) */
	NFQD_CTR_BATCH_MSGS,   /* of which NFQNL_MSG_VERDICT_BATCH */
	NFQD_CTR_SENDS,	       /* send calls that carried verdicts */
	NFQD_CTR_TRUNCATED,    /* messages cut by the receive buffer (still given a verdict) */
	NFQD_CTR_MALFORMED,    /* packets with malformed headers (classified with what is known) */
	NFQD_CTR_GSO,	       /* GSO packets (up to 64 KiB) */
	NFQD_CTR_ERRORS,       /* errors: failed sends, kernel error answers, unreadable messages */
	NFQD_CTR_ENOBUFS,      /* messages the kernel could not deliver: socket receive buffer full
				  (SO_MEMINFO drops, read from the kernel); with fail-open the
				  kernel let those packets pass, else it dropped them */
	NFQD_CTR_MARKED,       /* packets that came through nfqd's generated rules (marker bit) */
	NFQD_CTR_STAMPED,      /* flow verdicts stamped into the connmark (flow cache) */
	NFQD_CTR_SET_TESTS,    /* IPSET_CMD_TEST requests sent */
	NFQD_CTR_SET_FAILED,   /* decisions that took the on-set-error verdict */
	NFQD_CTR_UNREADABLE,   /* unreadable packets (transport header not readable whole): they
				  get the on-unreadable verdict */
	NFQD_CTR_QUEUE_FULL,   /* packets the kernel dropped because the queue held max-len
				  (fail-open off; its queue_dropped, read from the kernel) */
	NFQD_CTR_SET_TIMEOUTS, /* batches whose set answers did not all come within set-timeout */
	NFQD_CTR_STALE,	       /* messages of packets already re-queued when the queue was
				  adopted (in flight then): no verdict of their own */
	NFQD_CTR_REJECTED,     /* rejects handed back with NF_REPEAT and a reject code for the
				  generated chain's REJECT rules to answer (not in dropped) */
	NFQD_CTR_REJECT_UNMARKED, /* rejects of packets that did not come through the generated
				     chain (no marker): nothing could answer them; dropped */
	NFQD_CTR_REJECT_LOOPS,	  /* packets that came back with a reject code: the chain did not
				     answer them; dropped */
	NFQD_CTR_CAPTURE_DROPPED, /* packets a running capture selected but had no room for in
				     the worker's ring (its client reads too slowly) */
	NFQD_CTR_LOGGED,	  /* packets handed to the drop log (a `log` rule, within its
				     [log] rate and burst) */
	NFQD_CTR_LOG_SUPPRESSED,  /* packets of `log` rules the [log] rate limit kept out of it */
	NFQD_CTR_LOG_RING_FULL,	  /* packets of `log` rules lost because the worker's log ring was
				     full (the logging thread is behind) */
	/* The mmap transport's rings (struct nfqd_transport_stats; 0 on the other transports). */
	NFQD_CTR_RING_FULL,    /* receives that found every RX frame holding a message */
	NFQD_CTR_RING_COPIES,  /* COPY frames: messages too long for a frame, read with recv() */
	NFQD_CTR_RING_EMPTY,   /* zero-length frames (messages the kernel failed to build) */
	NFQD_CTR_RING_TX_FULL, /* verdict sends (or their tails) sent by send() for want of a
				  free TX frame */
	NFQD_CTR_MAX
};

/*
 * The batch-size histogram: receive calls by the number of messages they returned, bucket i
 * counting sizes in (2^(i-1), 2^i] (bucket 0: size 1), the last bucket every size above
 * 2^(NFQD_BATCH_BUCKETS - 2). Not cumulative.
 */
#define NFQD_BATCH_BUCKETS 10

/* The bucket of a receive that returned n messages (n >= 1). */
static inline unsigned int nfqd_batch_bucket(uint64_t n)
{
	unsigned int b = n <= 1 ? 0 : 64 - (unsigned int)__builtin_clzll(n - 1);

	return b < NFQD_BATCH_BUCKETS - 1 ? b : NFQD_BATCH_BUCKETS - 1;
}

/* A worker's counters, on a cache line of their own. seq is odd while a commit is under way. */
struct nfqd_counters {
	uint64_t v[NFQD_CTR_MAX];
	uint64_t batch[NFQD_BATCH_BUCKETS]; /* the histogram, committed with v */
	uint64_t batch_sum;		    /* messages those receive calls returned, in all */
	uint64_t seq;
} __attribute__((aligned(64)));

/* Add n to counter c. Only the owning worker calls this. */
static inline void nfqd_counter_add(struct nfqd_counters *cs, enum nfqd_counter c, uint64_t n)
{
	__atomic_store_n(&cs->v[c], cs->v[c] + n, __ATOMIC_RELAXED);
}

/* Set counter c to n (for counters read from the kernel). Only the owning worker calls this. */
static inline void nfqd_counter_set(struct nfqd_counters *cs, enum nfqd_counter c, uint64_t n)
{
	__atomic_store_n(&cs->v[c], n, __ATOMIC_RELAXED);
}

/*
 * Add every counter of acc to cs as one step for nfqd_counters_read(). Only the owning worker
 * calls this. On x86 the fences compile to nothing: the cost is two stores of seq.
 */
static inline void nfqd_counters_commit(struct nfqd_counters *cs, const struct nfqd_counters *acc)
{
	uint64_t s = cs->seq;

	__atomic_store_n(&cs->seq, s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (int c = 0; c < NFQD_CTR_MAX; c++)
		if (acc->v[c])
			__atomic_store_n(&cs->v[c], cs->v[c] + acc->v[c], __ATOMIC_RELAXED);
	for (int b = 0; b < NFQD_BATCH_BUCKETS; b++)
		if (acc->batch[b])
			__atomic_store_n(&cs->batch[b], cs->batch[b] + acc->batch[b],
					 __ATOMIC_RELAXED);
	if (acc->batch_sum)
		__atomic_store_n(&cs->batch_sum, cs->batch_sum + acc->batch_sum, __ATOMIC_RELAXED);
	__atomic_store_n(&cs->seq, s + 2, __ATOMIC_RELEASE);
}

/* Read counter c alone; safe from any thread. */
static inline uint64_t nfqd_counter_get(const struct nfqd_counters *cs, enum nfqd_counter c)
{
	return __atomic_load_n(&cs->v[c], __ATOMIC_RELAXED);
}

/* The counter's name as it appears in JSON ("received", "verdict_msgs", ...); NULL if c is out
 * of range. */
const char *nfqd_counter_name(enum nfqd_counter c);

/* One line saying what counter c counts, for Prometheus' HELP; NULL if c is out of range. */
const char *nfqd_counter_help(enum nfqd_counter c);

/* The upper bound of histogram bucket b as the JSON key and the Prometheus le label ("1", "2",
 * ... "256", "+Inf"); NULL if b is out of range. */
const char *nfqd_batch_bucket_name(unsigned int b);

/* Copy every counter of src into dst as they stood between two commits, and add dst into sum
 * if not NULL. */
void nfqd_counters_read(struct nfqd_counters *dst, const struct nfqd_counters *src,
			struct nfqd_counters *sum);

#endif /* NFQD_STATS_H */
