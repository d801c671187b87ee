/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stddef.h>

#include "nfqd/stats.h"

static const char *const counter_names[NFQD_CTR_MAX] = {
	[NFQD_CTR_RECEIVED] = "received",
	[NFQD_CTR_ACCEPTED] = "accepted",
	[NFQD_CTR_DROPPED] = "dropped",
	[NFQD_CTR_QUEUED] = "queued",
	[NFQD_CTR_BATCHES] = "batches",
	[NFQD_CTR_VERDICT_MSGS] = "verdict_msgs",
	[NFQD_CTR_BATCH_MSGS] = "batch_msgs",
	[NFQD_CTR_SENDS] = "sends",
	[NFQD_CTR_TRUNCATED] = "truncated",
	[NFQD_CTR_MALFORMED] = "malformed",
	[NFQD_CTR_GSO] = "gso",
	[NFQD_CTR_ERRORS] = "errors",
	[NFQD_CTR_ENOBUFS] = "enobufs",
	[NFQD_CTR_MARKED] = "marked",
	[NFQD_CTR_STAMPED] = "stamped",
	[NFQD_CTR_SET_TESTS] = "set_tests",
	[NFQD_CTR_SET_FAILED] = "set_failed",
	[NFQD_CTR_UNREADABLE] = "unreadable",
	[NFQD_CTR_SET_TIMEOUTS] = "set_timeouts",
	[NFQD_CTR_QUEUE_FULL] = "queue_full",
	[NFQD_CTR_STALE] = "stale",
	[NFQD_CTR_LOGGED] = "logged",
	[NFQD_CTR_LOG_SUPPRESSED] = "log_suppressed",
	[NFQD_CTR_LOG_RING_FULL] = "log_ring_full",
};

const char *nfqd_counter_name(enum nfqd_counter c)
{
	if ((unsigned int)c >= NFQD_CTR_MAX)
		return NULL;
	return counter_names[c];
}

void nfqd_counters_read(struct nfqd_counters *dst, const struct nfqd_counters *src,
			struct nfqd_counters *sum)
{
	uint64_t s1, s2;

	/* a sequence count: retry while a commit is under way or one ended during the copy */
	do {
		s1 = __atomic_load_n(&src->seq, __ATOMIC_ACQUIRE);
		for (int c = 0; c < NFQD_CTR_MAX; c++)
			dst->v[c] = nfqd_counter_get(src, c);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&src->seq, __ATOMIC_RELAXED);
	} while ((s1 & 1) || s1 != s2);
	dst->seq = s1;
	if (sum)
		for (int c = 0; c < NFQD_CTR_MAX; c++)
			sum->v[c] += dst->v[c];
}
