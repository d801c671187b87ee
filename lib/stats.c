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
	[NFQD_CTR_REJECTED] = "rejected",
	[NFQD_CTR_REJECT_UNMARKED] = "reject_unmarked",
	[NFQD_CTR_REJECT_LOOPS] = "reject_loops",
	[NFQD_CTR_CAPTURE_DROPPED] = "capture_dropped",
	[NFQD_CTR_LOGGED] = "logged",
	[NFQD_CTR_LOG_SUPPRESSED] = "log_suppressed",
	[NFQD_CTR_LOG_RING_FULL] = "log_ring_full",
	[NFQD_CTR_RING_FULL] = "ring_full",
	[NFQD_CTR_RING_COPIES] = "ring_copies",
	[NFQD_CTR_RING_EMPTY] = "ring_empty",
	[NFQD_CTR_RING_TX_FULL] = "ring_tx_full",
};

static const char *const counter_help[NFQD_CTR_MAX] = {
	[NFQD_CTR_RECEIVED] = "Packet messages read from the queue.",
	[NFQD_CTR_ACCEPTED] = "Verdicts NF_ACCEPT given.",
	[NFQD_CTR_DROPPED] = "Verdicts NF_DROP given.",
	[NFQD_CTR_QUEUED] = "Packets handed to another queue.",
	[NFQD_CTR_BATCHES] = "Receive calls that returned messages.",
	[NFQD_CTR_VERDICT_MSGS] = "Verdict messages sent, single and batch.",
	[NFQD_CTR_BATCH_MSGS] = "Verdict messages sent as NFQNL_MSG_VERDICT_BATCH.",
	[NFQD_CTR_SENDS] = "Send calls that carried verdicts.",
	[NFQD_CTR_TRUNCATED] = "Messages cut by the receive buffer (still given a verdict).",
	[NFQD_CTR_MALFORMED] = "Packets with malformed headers, classified with what is known.",
	[NFQD_CTR_GSO] = "GSO packets (up to 64 KiB).",
	[NFQD_CTR_ERRORS] = "Failed sends, kernel error answers and unreadable messages.",
	[NFQD_CTR_ENOBUFS] = "Messages the kernel could not deliver: socket receive buffer full.",
	[NFQD_CTR_MARKED] = "Packets that came through nfqd's generated rules (marker bit).",
	[NFQD_CTR_STAMPED] = "Flow verdicts stamped into the connmark (flow cache).",
	[NFQD_CTR_SET_TESTS] = "IPSET_CMD_TEST requests sent.",
	[NFQD_CTR_SET_FAILED] = "Decisions that took the on-set-error verdict.",
	[NFQD_CTR_UNREADABLE] = "Unreadable packets, given the on-unreadable verdict.",
	[NFQD_CTR_QUEUE_FULL] = "Packets the kernel dropped because the queue held max-len.",
	[NFQD_CTR_SET_TIMEOUTS] = "Batches whose set answers did not all come within set-timeout.",
	[NFQD_CTR_STALE] = "Late messages of packets re-queued when the queue was adopted.",
	[NFQD_CTR_RING_FULL] = "Receives that found every mmap RX frame holding a message.",
	[NFQD_CTR_RING_COPIES] = "mmap COPY frames: messages too long for a frame, read by recv().",
	[NFQD_CTR_RING_EMPTY] = "mmap frames of zero length: messages the kernel failed to build.",
	[NFQD_CTR_RING_TX_FULL] = "Verdict sends that went by send() for want of a free TX frame.",
};

const char *nfqd_counter_help(enum nfqd_counter c)
{
	if ((unsigned int)c >= NFQD_CTR_MAX)
		return NULL;
	/* a counter added without its line still gets one */
	return counter_help[c] ? counter_help[c] : "An nfqd counter (README.md, Counters).";
}

static const char *const bucket_names[NFQD_BATCH_BUCKETS] = {
	"1", "2", "4", "8", "16", "32", "64", "128", "256", "+Inf",
};

const char *nfqd_batch_bucket_name(unsigned int b)
{
	if (b >= NFQD_BATCH_BUCKETS)
		return NULL;
	return bucket_names[b];
}

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
		for (int b = 0; b < NFQD_BATCH_BUCKETS; b++)
			dst->batch[b] = __atomic_load_n(&src->batch[b], __ATOMIC_RELAXED);
		dst->batch_sum = __atomic_load_n(&src->batch_sum, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&src->seq, __ATOMIC_RELAXED);
	} while ((s1 & 1) || s1 != s2);
	dst->seq = s1;
	if (!sum)
		return;
	for (int c = 0; c < NFQD_CTR_MAX; c++)
		sum->v[c] += dst->v[c];
	for (int b = 0; b < NFQD_BATCH_BUCKETS; b++)
		sum->batch[b] += dst->batch[b];
	sum->batch_sum += dst->batch_sum;
}
