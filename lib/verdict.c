/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Verdict batcher: see nfqd/verdict.h for the contract.
 *
 * The kernel's VERDICT_BATCH(maxid) dequeues, from the head of the queue list (in id order),
 * every packet whose id is not after maxid, with after(a, b) = (int32_t)(a - b) > 0. A batch
 * message is therefore safe only when every packet still queued below maxid is one we mean to
 * give that verdict: the encodings below make sure that all other packets below maxid were
 * dequeued by earlier messages of the same send, and NFQD_BATCHER_ORDERED promises that no
 * packet we have not seen hides in a gap between ids (except the unreadable ones the sweep is
 * about, handled in batchable()).
 *
 * Everything is allocated in nfqd_batcher_new(); add and build only write into that memory.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "nfqd/verdict.h"

#define BATCHER_CAPACITY_MAX 65536u
#define BATCHER_FLAGS_ALL    NFQD_BATCHER_ORDERED
#define VERDICT_FLAGS_ALL    (NFQD_VERDICT_F_MARK | NFQD_VERDICT_F_CTMARK)

/* "NFQs": nonzero, so that a sweep's ENOENT answer is told apart from the seq 0 of the rest. */
#define SWEEP_SEQ 0x4e465173u

/*
 * Sizes of the messages, worst case. A single verdict carries at most the verdict header, a
 * mark and a conntrack nest with the connmark; a batch at most the header and a mark; a sweep
 * only the header.
 */
#define MSG_HDR_LEN   (MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)))
#define ATTR_U32_LEN  (MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(uint32_t)))
#define ATTR_VHDR_LEN (MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(struct nfqnl_msg_verdict_hdr)))
#define SINGLE_MAX_LEN                                                                             \
	(MSG_HDR_LEN + ATTR_VHDR_LEN + ATTR_U32_LEN + MNL_ATTR_HDRLEN + 2 * ATTR_U32_LEN)
#define BATCH_MAX_LEN	   (MSG_HDR_LEN + ATTR_VHDR_LEN + ATTR_U32_LEN)
#define SWEEP_LEN	   (MSG_HDR_LEN + ATTR_VHDR_LEN)
#define SWEEP_ALL_MESSAGES 3u
/* Besides a sweep of everything: the re-queue, the sweep of a lost send, the sweep of what was
 * read. */
#define SWEEP_OTHER_MESSAGES 3u

/* One (verdict, mark) class seen in a build, in an open-addressing table. */
struct class_slot {
	uint32_t verdict;
	uint32_t mark; /* 0 when the class has no mark */
	uint32_t has_mark;
	uint32_t count; /* 0: slot empty */
	uint32_t last;	/* index of the class's entry with the highest id */
};

/* The packets a previous reader of the queue left without a verdict (nfqd_batcher_orphans()). */
enum orphan_state {
	ORPHANS_NONE,
	ORPHANS_BELOW_FIRST, /* below the first id the next build with entries holds */
	ORPHANS_DUE,	     /* up to orphans_upto, emitted by every build until sent */
	ORPHAN_STATE_MAX,
};

struct nfqd_batcher {
	uint16_t queue;
	unsigned int flags;
	unsigned int capacity;
	unsigned int n; /* entries added since the last build */
	struct nfqd_verdict *ent;
	struct nfqd_verdict *tmp; /* merge sort scratch, same size as ent */
	struct class_slot *cls;
	uint32_t cls_mask;
	uint32_t *cls_used; /* slots filled by the current build, to empty them after */
	char *buf;
	size_t buf_size;

	bool seen;	  /* some id was ever added */
	uint32_t highest; /* highest id ever added (wrap-aware) */

	uint32_t sweep_verdict; /* of the latest request */
	bool sweep_all;
	bool sweep_due;	     /* an all == 0 request is pending */
	bool sweep_from_set; /* false: no id was seen at the first pending request */
	uint32_t sweep_from; /* highest id at the first pending all == 0 request */
	bool sweep_upto_set;
	uint32_t sweep_upto; /* highest id at the latest pending all == 0 request */

	enum orphan_state orphans;
	bool orphans_emitted;	  /* a build emitted the re-queue since it was due */
	uint32_t orphans_upto;	  /* with ORPHANS_DUE: the highest id re-queued */
	uint32_t orphans_verdict; /* NF_REPEAT, as nfqd asks */

	bool seen_due;	       /* a nfqd_batcher_sweep_seen() request is pending */
	uint32_t seen_upto;    /* ... up to this id */
	uint32_t seen_verdict; /* ... with this verdict */

	bool read_due;	       /* a nfqd_batcher_sweep_read() request is pending */
	uint32_t read_upto;    /* ... up to this id */
	uint32_t read_verdict; /* ... with this verdict */

	size_t build_max;	      /* the longest one build's own messages can be */
	size_t last_len;	      /* bytes of the latest build, at the start of buf */
	struct nfqd_batch_stats last; /* its counts */
	size_t unsent_len;	      /* nfqd_batcher_unsent(): the next build starts with these */
	struct nfqd_batch_stats unsent; /* ... and counts them again */
};

static bool id_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static bool verdict_valid(uint32_t verdict)
{
	uint32_t v = verdict & NF_VERDICT_MASK;

	return v <= NF_MAX_VERDICT && v != NF_STOLEN;
}

int nfqd_batcher_new(struct nfqd_batcher **out, uint16_t queue, unsigned int capacity,
		     unsigned int flags)
{
	struct nfqd_batcher *b;
	uint32_t slots = 1;

	if (!out || capacity == 0 || capacity > BATCHER_CAPACITY_MAX ||
	    (flags & ~BATCHER_FLAGS_ALL))
		return -EINVAL;

	/* At most half full, so that probes stay short. */
	while (slots < 2 * capacity)
		slots <<= 1;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->queue = queue;
	b->flags = flags;
	b->capacity = capacity;
	b->cls_mask = slots - 1;
	/*
	 * The chosen encoding never has more messages than entries, and no message is longer than
	 * a single verdict; then come at most six sweeps. One batch more is a margin, should an
	 * encoding ever add a message. Without ORDERED a build may start with a whole failed
	 * build (nfqd_batcher_unsent()): room for two.
	 */
	b->build_max = (size_t)capacity * SINGLE_MAX_LEN + BATCH_MAX_LEN +
		       (SWEEP_ALL_MESSAGES + SWEEP_OTHER_MESSAGES) * SWEEP_LEN;
	b->buf_size = (flags & NFQD_BATCHER_ORDERED) ? b->build_max : 2 * b->build_max;

	b->ent = calloc(capacity, sizeof(*b->ent));
	b->tmp = calloc(capacity, sizeof(*b->tmp));
	b->cls = calloc(slots, sizeof(*b->cls));
	b->cls_used = calloc(capacity, sizeof(*b->cls_used));
	b->buf = calloc(1, b->buf_size);
	if (!b->ent || !b->tmp || !b->cls || !b->cls_used || !b->buf) {
		nfqd_batcher_free(b);
		return -ENOMEM;
	}

	*out = b;
	return 0;
}

void nfqd_batcher_free(struct nfqd_batcher *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b->cls_used);
	free(b->cls);
	free(b->tmp);
	free(b->ent);
	free(b);
}

int nfqd_batcher_add(struct nfqd_batcher *b, const struct nfqd_verdict *v)
{
	if (!b || !v || !verdict_valid(v->verdict) || (v->flags & ~VERDICT_FLAGS_ALL))
		return -EINVAL;
	if (b->n == b->capacity)
		return -ENOSPC;

	b->ent[b->n++] = *v;
	if (!b->seen || id_after(v->id, b->highest)) {
		b->highest = v->id;
		b->seen = true;
	}
	return 0;
}

unsigned int nfqd_batcher_pending(const struct nfqd_batcher *b)
{
	return b ? b->n : 0;
}

/*
 * Whether a sweep with this verdict may be requested (ordered_only: only with
 * NFQD_BATCHER_ORDERED): 0, -EOPNOTSUPP or -EINVAL.
 */
static int sweep_check(const struct nfqd_batcher *b, uint32_t verdict, bool ordered_only)
{
	if (!b)
		return -EINVAL;
	if (ordered_only && !(b->flags & NFQD_BATCHER_ORDERED))
		return -EOPNOTSUPP;
	return verdict_valid(verdict) ? 0 : -EINVAL;
}

int nfqd_batcher_sweep(struct nfqd_batcher *b, uint32_t verdict, int all)
{
	/* Everything still queued, of a frozen and drained queue, is what nobody could read,
	 * whatever order the ids came in; a sweep below the next id needs that order. */
	int r = sweep_check(b, verdict, !all);

	if (r < 0)
		return r;

	b->sweep_verdict = verdict;
	if (all) {
		b->sweep_all = true;
		return 0;
	}
	/*
	 * The first pending request bounds which entries may still go into batch messages (the
	 * lowest unreadable id lies above it); the latest tells when every request is served.
	 */
	if (!b->sweep_due) {
		b->sweep_due = true;
		b->sweep_from_set = b->seen;
		b->sweep_from = b->highest;
	}
	b->sweep_upto_set = b->seen;
	b->sweep_upto = b->highest;
	return 0;
}

int nfqd_batcher_sweep_seen(struct nfqd_batcher *b, uint32_t verdict)
{
	int r = sweep_check(b, verdict, true);

	if (r < 0 || !b->seen)
		return r;
	b->seen_due = true;
	b->seen_upto = b->highest;
	b->seen_verdict = verdict;
	return 0;
}

int nfqd_batcher_sweep_read(struct nfqd_batcher *b, uint32_t verdict)
{
	int r = sweep_check(b, verdict, false);

	if (r < 0 || !b->seen)
		return r;
	b->read_due = true;
	b->read_upto = b->highest;
	b->read_verdict = verdict;
	return 0;
}

int nfqd_batcher_unsent(struct nfqd_batcher *b)
{
	if (!b)
		return -EINVAL;
	/* An ordered batcher's messages cannot go out again later: a batch message of a later
	 * build may have reached their packets first (nfqd_batcher_sweep_seen() instead). */
	if (b->flags & NFQD_BATCHER_ORDERED)
		return -EOPNOTSUPP;
	b->unsent_len = b->last_len;
	b->unsent = b->last;
	return 0;
}

int nfqd_batcher_orphans(struct nfqd_batcher *b, uint32_t verdict)
{
	int r = sweep_check(b, verdict, true);

	if (r < 0)
		return r;
	b->orphans = ORPHANS_BELOW_FIRST;
	b->orphans_emitted = false;
	b->orphans_verdict = verdict;
	return 0;
}

int nfqd_batcher_orphans_upto(struct nfqd_batcher *b, uint32_t verdict, uint32_t upto)
{
	int r = sweep_check(b, verdict, false);

	if (r < 0)
		return r;
	b->orphans = ORPHANS_DUE;
	b->orphans_emitted = false;
	b->orphans_upto = upto;
	b->orphans_verdict = verdict;
	return 0;
}

void nfqd_batcher_orphans_sent(struct nfqd_batcher *b)
{
	if (b && b->orphans == ORPHANS_DUE && b->orphans_emitted)
		b->orphans = ORPHANS_NONE;
}

void nfqd_batcher_orphans_cancel(struct nfqd_batcher *b)
{
	if (b)
		b->orphans = ORPHANS_NONE;
}

bool nfqd_batcher_orphans_pending(const struct nfqd_batcher *b)
{
	return b && b->orphans != ORPHANS_NONE;
}

uint32_t nfqd_batcher_sweep_seq(void)
{
	return SWEEP_SEQ;
}

/* Stable sort of ent[0..n) by id, wrap-aware relative to the first entry added. */
static void sort_entries(struct nfqd_batcher *b)
{
	struct nfqd_verdict *src = b->ent, *dst = b->tmp, *t;
	uint32_t base = b->ent[0].id;
	unsigned int n = b->n, width, lo, mid, hi, i, j, k;
	bool sorted = true;

	/* The kernel hands out ids in ascending order, so this is the usual way out. */
	for (i = 1; i < n; i++) {
		if ((int32_t)(b->ent[i - 1].id - base) > (int32_t)(b->ent[i].id - base)) {
			sorted = false;
			break;
		}
	}
	if (sorted)
		return;

	/* Bottom-up merge sort: no recursion, no allocation, stable (the first duplicate wins). */
	for (width = 1; width < n; width *= 2) {
		for (lo = 0; lo < n; lo += 2 * width) {
			mid = lo + width < n ? lo + width : n;
			hi = lo + 2 * width < n ? lo + 2 * width : n;
			i = lo;
			j = mid;
			k = lo;
			while (i < mid && j < hi) {
				if ((int32_t)(src[j].id - base) < (int32_t)(src[i].id - base))
					dst[k++] = src[j++];
				else
					dst[k++] = src[i++];
			}
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		t = src;
		src = dst;
		dst = t;
	}
	/* Both arrays are ours and of equal size: keep whichever holds the result. */
	b->ent = src;
	b->tmp = dst;
}

/* Drop later copies of an id (entries are sorted and the sort is stable). Returns how many. */
static unsigned int dedup_entries(struct nfqd_batcher *b)
{
	unsigned int i, m = 0;

	for (i = 0; i < b->n; i++) {
		if (m > 0 && b->ent[m - 1].id == b->ent[i].id)
			continue;
		b->ent[m++] = b->ent[i];
	}
	i = b->n - m;
	b->n = m;
	return i;
}

/* May this entry be covered by a VERDICT_BATCH? */
static bool batchable(const struct nfqd_batcher *b, const struct nfqd_verdict *v)
{
	if (!(b->flags & NFQD_BATCHER_ORDERED) || (v->flags & NFQD_VERDICT_F_CTMARK))
		return false;
	/*
	 * A pending sweep stands for an unreadable packet with an id above sweep_from and below
	 * every id added after the request. A batch message reaching past sweep_from would give
	 * it that batch's verdict instead of the sweep's, so such entries go out one by one.
	 */
	if (b->sweep_due && (!b->sweep_from_set || id_after(v->id, b->sweep_from)))
		return false;
	return true;
}

static bool same_class(const struct nfqd_verdict *a, const struct nfqd_verdict *c)
{
	bool am = a->flags & NFQD_VERDICT_F_MARK, cm = c->flags & NFQD_VERDICT_F_MARK;

	return a->verdict == c->verdict && am == cm && (!am || a->mark == c->mark);
}

static uint32_t class_hash(uint32_t verdict, uint32_t has_mark, uint32_t mark)
{
	uint32_t h = verdict * 0x9e3779b1u;

	h ^= (mark + has_mark) * 0x85ebca6bu;
	h ^= h >> 15;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 13);
}

/*
 * Find the most common batchable class: ties go to the class holding the highest id, so that
 * its batch message reaches furthest. Returns its count and sets *last to its highest entry.
 */
static unsigned int best_class(struct nfqd_batcher *b, unsigned int *last)
{
	unsigned int i, used = 0, best = 0;
	struct class_slot *s;

	for (i = 0; i < b->n; i++) {
		const struct nfqd_verdict *v = &b->ent[i];
		uint32_t has_mark = !!(v->flags & NFQD_VERDICT_F_MARK);
		uint32_t mark = has_mark ? v->mark : 0;
		uint32_t h;

		if (!batchable(b, v))
			continue;
		h = class_hash(v->verdict, has_mark, mark) & b->cls_mask;
		for (;;) {
			s = &b->cls[h];
			if (s->count == 0) {
				s->verdict = v->verdict;
				s->has_mark = has_mark;
				s->mark = mark;
				b->cls_used[used++] = h;
				break;
			}
			if (s->verdict == v->verdict && s->has_mark == has_mark && s->mark == mark)
				break;
			h = (h + 1) & b->cls_mask;
		}
		s->count++;
		s->last = i;
		/* Entries come in ascending id order, so a tie reached now has the higher id. */
		if (s->count >= best) {
			best = s->count;
			*last = i;
		}
	}
	for (i = 0; i < used; i++)
		b->cls[b->cls_used[i]].count = 0;
	return best;
}

static unsigned int count_runs(const struct nfqd_batcher *b)
{
	unsigned int i, msgs = 0;
	bool prev = false;

	for (i = 0; i < b->n; i++) {
		bool cur = batchable(b, &b->ent[i]);

		if (!cur || !prev || !same_class(&b->ent[i - 1], &b->ent[i]))
			msgs++;
		prev = cur;
	}
	return msgs;
}

struct emit {
	char *buf;
	size_t len;
	unsigned int messages;
	unsigned int batch_messages;
};

static void put_single(struct nfqd_batcher *b, struct emit *e, const struct nfqd_verdict *v)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(e->buf + e->len, NFQNL_MSG_VERDICT, b->queue);
	struct nlattr *nest;

	nfq_nlmsg_verdict_put(nlh, (int)v->id, (int)v->verdict);
	if (v->flags & NFQD_VERDICT_F_MARK)
		nfq_nlmsg_verdict_put_mark(nlh, v->mark);
	if (v->flags & NFQD_VERDICT_F_CTMARK) {
		/* With the mask the kernel changes only those connmark bits, leaving the rest to
		 * other users of the connmark. */
		nest = mnl_attr_nest_start(nlh, NFQA_CT);
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(v->ctmark));
		mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(v->ctmark_mask));
		mnl_attr_nest_end(nlh, nest);
	}
	e->len += nlh->nlmsg_len;
	e->messages++;
}

/* A VERDICT_BATCH up to maxid, with a mark if mark is not NULL. */
static struct nlmsghdr *put_batch(struct nfqd_batcher *b, struct emit *e, uint32_t maxid,
				  uint32_t verdict, const uint32_t *mark)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(e->buf + e->len, NFQNL_MSG_VERDICT_BATCH, b->queue);

	nfq_nlmsg_verdict_put(nlh, (int)maxid, (int)verdict);
	if (mark)
		nfq_nlmsg_verdict_put_mark(nlh, *mark);
	e->len += nlh->nlmsg_len;
	e->messages++;
	e->batch_messages++;
	return nlh;
}

static void put_class_batch(struct nfqd_batcher *b, struct emit *e, const struct nfqd_verdict *v)
{
	put_batch(b, e, v->id, v->verdict, (v->flags & NFQD_VERDICT_F_MARK) ? &v->mark : NULL);
}

static void put_sweep_verdict(struct nfqd_batcher *b, struct emit *e, uint32_t maxid,
			      uint32_t verdict)
{
	struct nlmsghdr *nlh = put_batch(b, e, maxid, verdict, NULL);

	nlh->nlmsg_seq = SWEEP_SEQ;
}

static void put_sweep(struct nfqd_batcher *b, struct emit *e, uint32_t maxid)
{
	put_sweep_verdict(b, e, maxid, b->sweep_verdict);
}

static void emit_singles(struct nfqd_batcher *b, struct emit *e)
{
	unsigned int i;

	for (i = 0; i < b->n; i++)
		put_single(b, e, &b->ent[i]);
}

/* Ascending id order, so each batch finds every lower packet already gone. */
static void emit_runs(struct nfqd_batcher *b, struct emit *e)
{
	unsigned int i = 0, j;

	while (i < b->n) {
		j = i;
		if (batchable(b, &b->ent[i])) {
			while (j + 1 < b->n && batchable(b, &b->ent[j + 1]) &&
			       same_class(&b->ent[j], &b->ent[j + 1]))
				j++;
		}
		if (j == i)
			put_single(b, e, &b->ent[i]);
		else
			put_class_batch(b, e, &b->ent[j]);
		i = j + 1;
	}
}

/* Everything outside the class first, so that the batch finds only its class below its id. */
static void emit_singles_first(struct nfqd_batcher *b, struct emit *e, unsigned int last)
{
	const struct nfqd_verdict *rep = &b->ent[last];
	unsigned int i;

	for (i = 0; i < b->n; i++) {
		if (!batchable(b, &b->ent[i]) || !same_class(&b->ent[i], rep))
			put_single(b, e, &b->ent[i]);
	}
	put_class_batch(b, e, rep);
}

static void emit_sweep(struct nfqd_batcher *b, struct emit *e)
{
	uint32_t top, first;

	if (b->sweep_all) {
		/*
		 * Three messages dequeue any queue whose ids span less than 2^31 (the kernel hands
		 * ids out one by one and its queue is far shorter), wherever it lies: the first
		 * takes the head of the list if it lies in the half-space ending at `first`, the
		 * second the half-space after it, the third what wrapped past that. The first is
		 * centred on the highest id seen, so it alone takes the usual queue and the other
		 * two answer ENOENT. With no id ever seen (a queue inherited from an earlier
		 * process) nothing is known, and the first covers a new instance's ids from 1.
		 */
		first = b->seen ? b->highest + 0x40000000u : 0x7fffffffu;
		put_sweep(b, e, first);
		put_sweep(b, e, first + 0x80000000u);
		put_sweep(b, e, first);
		b->sweep_all = false;
		b->sweep_due = false;
		return;
	}
	if (!b->sweep_due || b->n == 0)
		return;
	top = b->ent[b->n - 1].id;
	if (b->sweep_from_set && !id_after(top, b->sweep_from))
		return;
	put_sweep(b, e, top);
	if (!b->sweep_upto_set || id_after(top, b->sweep_upto)) {
		b->sweep_due = false;
		return;
	}
	/*
	 * A later request's packet lies above top: it stays pending, and every id of the next
	 * build comes after top, which makes the next build emit it.
	 */
	b->sweep_from = top;
	b->sweep_from_set = true;
}

/* The re-queue of a previous reader's packets, first of all: every later batch message of the
 * send would reach them otherwise. */
static void emit_orphans(struct nfqd_batcher *b, struct emit *e)
{
	if (b->orphans == ORPHANS_BELOW_FIRST && b->n > 0) {
		b->orphans = ORPHANS_DUE;
		b->orphans_upto = b->ent[0].id - 1;
	}
	if (b->orphans != ORPHANS_DUE)
		return;
	put_sweep_verdict(b, e, b->orphans_upto, b->orphans_verdict);
	b->orphans_emitted = true;
}

/* One build's own messages, without ORDERED: all single, then the sweeps. */
static void emit_unordered(struct nfqd_batcher *b, struct emit *e)
{
	emit_singles(b, e);
	/*
	 * After the singles: the caller requested these once caught up past every id they cover,
	 * so every packet up to there that was read has its single verdict above (or in a build
	 * already sent, or re-emitted first); they reach only those nobody could read. A failed
	 * send is re-emitted whole (nfqd_batcher_unsent()), so the re-queue goes out once.
	 */
	if (b->orphans == ORPHANS_DUE && !b->orphans_emitted)
		emit_orphans(b, e);
	if (b->read_due) {
		put_sweep_verdict(b, e, b->read_upto, b->read_verdict);
		b->read_due = false;
	}
	emit_sweep(b, e);
}

/* The worst case of a build's own messages (no encoding has more messages than entries). */
static size_t own_max(const struct nfqd_batcher *b)
{
	return (size_t)b->n * SINGLE_MAX_LEN +
	       (SWEEP_ALL_MESSAGES + SWEEP_OTHER_MESSAGES) * SWEEP_LEN;
}

/* The ordered encodings (see nfqd/verdict.h). */
static void emit_ordered(struct nfqd_batcher *b, struct emit *e)
{
	unsigned int runs, best = 0, last = 0, sf;

	emit_orphans(b, e);
	/* Before the build's own verdicts, whose batch messages would otherwise reach them. */
	if (b->seen_due) {
		put_sweep_verdict(b, e, b->seen_upto, b->seen_verdict);
		b->seen_due = false;
	}
	if (b->n > 0) {
		runs = count_runs(b);
		best = best_class(b, &last);
		/* A batch of one is a single verdict: then there is nothing to gain. */
		sf = best >= 2 ? b->n - best + 1 : b->n;
		if (runs <= sf)
			emit_runs(b, e);
		else
			emit_singles_first(b, e, last);
	}
	/* After every verdict of the build: every packet read up to read_upto has its own. */
	if (b->read_due) {
		put_sweep_verdict(b, e, b->read_upto, b->read_verdict);
		b->read_due = false;
	}
	emit_sweep(b, e);
}

int nfqd_batcher_build(struct nfqd_batcher *b, const void **buf, size_t *len,
		       struct nfqd_batch_stats *st)
{
	struct emit e = { .buf = NULL };
	unsigned int dups = 0, verdicts = 0;

	if (!b || !buf || !len)
		return -EINVAL;
	e.buf = b->buf;
	/* A failed build goes out again first, as it was (nfqd_batcher_unsent()). */
	e.len = b->unsent_len;
	e.messages = b->unsent.messages;
	e.batch_messages = b->unsent.batch_messages;
	verdicts = b->unsent.verdicts;
	b->unsent_len = 0;
	memset(&b->unsent, 0, sizeof(b->unsent));

	/*
	 * Only a caller that added verdicts while a failed build was owed, and failed again, can
	 * leave too little room: its new verdicts and sweeps then wait for the next build.
	 */
	if (e.len + own_max(b) <= b->buf_size) {
		if (b->n > 0) {
			sort_entries(b);
			dups = dedup_entries(b);
		}
		if (b->flags & NFQD_BATCHER_ORDERED)
			emit_ordered(b, &e);
		else
			emit_unordered(b, &e);
		verdicts += b->n;
		b->n = 0;
	}
	b->last_len = e.len;
	b->last.verdicts = verdicts;
	b->last.messages = e.messages;
	b->last.batch_messages = e.batch_messages;
	b->last.duplicates = dups;
	if (st)
		*st = b->last;
	*buf = b->buf;
	*len = e.len;
	return (int)e.messages;
}
