/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Verdict batcher: a pure state machine from (id, verdict, mark) to nfnetlink_queue messages.
 *
 * A worker adds one verdict per packet of a received batch, then builds the messages and sends
 * them with one send(). The batcher never holds a verdict back for a later batch: build() emits
 * everything added since the last build().
 *
 * NFQNL_MSG_VERDICT_BATCH gives one verdict to every queued packet with an id up to the one
 * named; it is therefore only used where every queued packet it covers is one the caller meant
 * (see NFQD_BATCHER_ORDERED). The encoding chosen is the one with fewer messages of:
 *  - runs: each run of consecutive ids with the same verdict and mark, in ascending id order,
 *    as one VERDICT_BATCH (a run of one as a single VERDICT);
 *  - singles first: every packet outside the most common (verdict, mark) class as a single
 *    VERDICT, then one VERDICT_BATCH up to the highest id of that class.
 * Verdicts that carry a connmark (NFQA_CT) are always single: the kernel accepts no NFQA_CT in
 * a batch verdict.
 */
#ifndef NFQD_VERDICT_H
#define NFQD_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* enum nfqd_verdict_flag: what a verdict carries besides the verdict itself */
enum nfqd_verdict_flag {
	NFQD_VERDICT_F_MARK = 1u << 0,	 /* set the packet mark to .mark (NFQA_MARK) */
	NFQD_VERDICT_F_CTMARK = 1u << 1, /* set the connmark bits .ctmark_mask to .ctmark
					    (NFQA_CT{CTA_MARK, CTA_MARK_MASK}) */
};

/* One packet's verdict. verdict is NF_ACCEPT, NF_DROP, NF_REPEAT or NF_QUEUE_NR(n). */
struct nfqd_verdict {
	uint32_t id;
	uint32_t verdict;
	uint32_t flags; /* enum nfqd_verdict_flag */
	uint32_t mark;
	uint32_t ctmark;
	uint32_t ctmark_mask; /* with NFQD_VERDICT_F_CTMARK: the connmark bits to change */
};

/* enum nfqd_batcher_flag: how the batcher may encode (nfqd_batcher_new flags) */
enum nfqd_batcher_flag {
	/*
	 * The transport delivers packets in id order with no packet withheld: every queued packet
	 * with an id lower than one received was received before it (nfnetlink_queue's unicast
	 * gives this; a gap in ids is a packet the kernel never queued). Batch messages are used
	 * only with this flag; without it every verdict is a single message.
	 */
	NFQD_BATCHER_ORDERED = 1u << 0,
};

/* Counts of what one build produced. */
struct nfqd_batch_stats {
	unsigned int verdicts;	     /* packets given a verdict */
	unsigned int messages;	     /* netlink messages in total */
	unsigned int batch_messages; /* of which NFQNL_MSG_VERDICT_BATCH */
	unsigned int duplicates;     /* ids added twice since the last build (second one ignored) */
};

struct nfqd_batcher;

/*
 * Create a batcher for queue `queue` holding up to `capacity` verdicts between builds.
 * Allocates everything it will ever need here. Returns 0 and *out, or -EINVAL (capacity 0 or
 * over 65536, unknown flag) or -ENOMEM.
 */
int nfqd_batcher_new(struct nfqd_batcher **out, uint16_t queue, unsigned int capacity,
		     unsigned int flags);

/* Free a batcher; NULL is accepted. */
void nfqd_batcher_free(struct nfqd_batcher *b);

/*
 * Add one verdict. Returns 0, -ENOSPC when capacity verdicts are pending (build first), or
 * -EINVAL for a verdict the kernel would refuse (NF_STOLEN, a value above NF_MAX_VERDICT in the
 * low byte, unknown flags).
 */
int nfqd_batcher_add(struct nfqd_batcher *b, const struct nfqd_verdict *v);

/* Number of verdicts added since the last build. */
unsigned int nfqd_batcher_pending(const struct nfqd_batcher *b);

/*
 * Request a sweep: VERDICT_BATCH messages with `verdict`, after all other messages of a build,
 * for queued packets whose message could not be read (no id) and so got no verdict of their own.
 * all == 0 only with NFQD_BATCHER_ORDERED (-EOPNOTSUPP otherwise); all != 0 with or without it.
 *
 * With all == 0 the sweep is one message that covers ids up to the highest of the build that
 * emits it, and it is emitted by the first build holding an id above every id added before the
 * request: with ordered delivery the unreadable packet lies below that id, and every other packet
 * up to it has had its own verdict earlier in the same send. Request it when the unreadable
 * message is met, in receive order (after adding the packets received before it). While such a
 * request is pending, entries with an id above the highest added before it are sent as single
 * verdicts, so that no batch message reaches the unreadable packet first.
 *
 * With all != 0 the next build (even an empty one) sweeps every packet still queued: only for a
 * queue that is frozen (max-len 0) and drained. It takes three messages, which together reach
 * every queued id whatever its distance from the ids seen (as long as the queued ids span less
 * than 2^31), so it also works on a queue inherited from an earlier process; usually the first
 * takes everything and the other two answer ENOENT. It serves pending all == 0 requests too.
 *
 * A sweep that finds nothing makes the kernel answer ENOENT; sweep messages carry
 * nfqd_batcher_sweep_seq() as nlmsg_seq so that the caller can tell that answer apart. The
 * verdict of the latest request is used. Returns 0, -EOPNOTSUPP, or -EINVAL for a verdict
 * nfqd_batcher_add() would refuse.
 */
int nfqd_batcher_sweep(struct nfqd_batcher *b, uint32_t verdict, int all);

/*
 * Request a sweep of every queued packet up to the highest id added so far, with `verdict`: for
 * packets whose verdicts were built but never reached the kernel (a failed send). Only with
 * NFQD_BATCHER_ORDERED (-EOPNOTSUPP otherwise): every queued packet up to that id was read and
 * had its verdict in a build already, so the sweep reaches only packets whose verdict messages
 * were lost, or none (ENOENT). Unlike an all == 0 request of nfqd_batcher_sweep(), it waits for
 * no later id: the next build emits it (one message, before everything else of that build, so
 * that no batch message of the build's own verdicts reaches those packets first), even when
 * nothing was added. If the send of that build fails too, request it again. A new request
 * replaces a pending one (its id is the same or higher). With no id ever added there is nothing
 * to sweep and nothing is requested. Returns 0, -EOPNOTSUPP, or -EINVAL for a verdict
 * nfqd_batcher_add() would refuse.
 */
int nfqd_batcher_sweep_seen(struct nfqd_batcher *b, uint32_t verdict);

/*
 * Request a sweep of every queued packet up to the highest id added so far, with `verdict`, for
 * a caller that has read every queued packet up to that id: with NFQD_BATCHER_ORDERED that is
 * always so; without it, call it only after a receive that left the transport caught up
 * (nfqd_transport_caught_up()) and once the packets of that receive are added. The next build
 * (even an empty one) ends with it, one message after all of its own verdicts, so it reaches
 * only packets whose messages could not be read (no id), or none (ENOENT; it carries
 * nfqd_batcher_sweep_seq()). An unreadable packet with an id above every id added is beyond its
 * reach: a request after a later caught-up receive that added a packet reaches it. A new request
 * replaces a pending one (its id is the same or higher). With no id ever added nothing is
 * requested. Returns 0, or -EINVAL for a verdict nfqd_batcher_add() would refuse.
 */
int nfqd_batcher_sweep_read(struct nfqd_batcher *b, uint32_t verdict);

/*
 * The send of the latest build failed and nothing of it reached the kernel: the next build
 * starts with every message of it again, as it was, even when nothing new was added (then it is
 * all that build holds), and its counts include them. Only without NFQD_BATCHER_ORDERED (an
 * ordered batcher uses nfqd_batcher_sweep_seen(); -EOPNOTSUPP): sound there because every
 * verdict is a single one and the sweeps of the failed build cover only ids read before it, which
 * no later verdict can name. The buffer holds two builds: a failed build and a full new one
 * (capacity verdicts, with sweeps). A caller that adds verdicts while a failed build is owed and
 * fails again may leave less room than the next build needs: that build then holds only the
 * failed ones and its new verdicts stay pending (nfqd_batcher_pending()) for the one after.
 * Returns 0, -EOPNOTSUPP, or -EINVAL for NULL.
 */
int nfqd_batcher_unsent(struct nfqd_batcher *b);

/*
 * The packets a previous reader of the queue (a process that died or handed the socket over)
 * read and never answered are still queued, with ids below every id this batcher will see, and
 * no message of theirs will ever come again. Request one VERDICT_BATCH with `verdict` (NF_REPEAT:
 * the kernel runs the hook again and queues them anew, with new ids) up to the lowest id of the
 * next build that holds entries, minus one: that build emits it before every other message, so
 * that no batch message of its own reaches those packets first. Only with NFQD_BATCHER_ORDERED
 * (ids below the first one read are then exactly the packets nobody will read). Returns 0,
 * -EOPNOTSUPP, or -EINVAL for a verdict nfqd_batcher_add() would refuse.
 *
 * The message carries nfqd_batcher_sweep_seq(), so that ENOENT (no orphan) is told apart. It is
 * emitted again by every build until nfqd_batcher_orphans_sent() says a send carried it.
 */
int nfqd_batcher_orphans(struct nfqd_batcher *b, uint32_t verdict);

/*
 * The same with a known bound: every queued id up to upto (for a socket found empty while the
 * kernel listed packets queued, upto being the kernel's last id read before). The next build
 * emits it even with nothing added. Returns as nfqd_batcher_orphans().
 *
 * Also without NFQD_BATCHER_ORDERED: upto is then the kernel's last id once the transport was
 * set up (which left every earlier message unread for good), and the caller requests it only
 * after a receive that left the transport caught up, so that every packet up to upto with a
 * message has been read. The message then goes after the build's own verdicts, is emitted once,
 * and goes out again only with nfqd_batcher_unsent().
 */
int nfqd_batcher_orphans_upto(struct nfqd_batcher *b, uint32_t verdict, uint32_t upto);

/* The send of the latest build went out: a re-queue it carried is done. */
void nfqd_batcher_orphans_sent(struct nfqd_batcher *b);

/* Forget a requested re-queue (nothing was left to re-queue). */
void nfqd_batcher_orphans_cancel(struct nfqd_batcher *b);

/* Whether a re-queue is requested and not yet sent. */
bool nfqd_batcher_orphans_pending(const struct nfqd_batcher *b);

/* The nlmsg_seq carried by sweep messages (and only by them). */
uint32_t nfqd_batcher_sweep_seq(void);

/*
 * Encode every pending verdict (and requested sweeps) into the batcher's buffer, in the order
 * the kernel must process them, and clear the pending set. *buf and *len are set to the encoded
 * messages, owned by the batcher and valid until the next add or build. With nothing to send,
 * *len is 0. st, if not NULL, receives the counts. Returns the number of messages (>= 0).
 *
 * The order: with NFQD_BATCHER_ORDERED the re-queue (orphans), the sweep of a lost send, the
 * build's verdicts, the sweep of what was read, the sweeps of unreadable packets or of everything.
 * Without it: the failed build (nfqd_batcher_unsent()), the build's single verdicts, the re-queue
 * (orphans_upto), the sweep of what was read, the sweep of everything. Without ORDERED the
 * pending set stays when a repeated failed build leaves no room (nfqd_batcher_unsent()).
 */
int nfqd_batcher_build(struct nfqd_batcher *b, const void **buf, size_t *len,
		       struct nfqd_batch_stats *st);

#endif /* NFQD_VERDICT_H */
