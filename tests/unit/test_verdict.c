/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the verdict batcher.
 *
 * The batcher's output is decoded with libmnl and applied to a simulated kernel queue that
 * follows net/netfilter/nfnetlink_queue.c: a single VERDICT dequeues the entry with its id
 * (ENOENT if absent); a VERDICT_BATCH walks the queue list from its head in id order and
 * dequeues every entry whose id is not after the given id, stopping at the first one after it
 * (ENOENT if it dequeued nothing); a verdict whose low byte is NF_STOLEN or above NF_MAX_VERDICT
 * is refused. Every test then checks what each queued packet received.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <errno.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "nfqd/verdict.h"

#define QUEUE	7
#define SIM_MAX 4096
#define F_MARK	NFQD_VERDICT_F_MARK
#define F_CT	NFQD_VERDICT_F_CTMARK

/* ---- the simulated kernel queue ---- */

struct sim_pkt {
	uint32_t id;
	bool queued;
	unsigned int verdicts; /* how many verdicts reached it */
	uint32_t verdict;
	bool has_mark;
	uint32_t mark;
	bool has_ctmark;
	uint32_t ctmark;
	uint32_t ctmark_mask;
	bool by_sweep;
	bool unread; /* a model ring holds its message and the reader has not taken it */
};

struct sim {
	unsigned int n;
	unsigned int head; /* no queued packet below this index */
	struct sim_pkt pkt[SIM_MAX];

	/* what the last sim_apply() saw */
	unsigned int messages;
	unsigned int batch_messages;
	unsigned int sweeps;
	unsigned int leading_sweeps; /* of which before every other message (lost sends) */
	unsigned int enoent;	     /* ENOENT answers to messages other than sweeps */
	unsigned int sweep_enoent;   /* ENOENT answers to sweeps */
	unsigned int einval;	     /* verdicts the kernel refuses */
	unsigned int errors;	     /* malformed messages, or a rule of the batcher broken */
	bool unordered;		     /* singles may follow sweeps (a failed build sent again) */
	char error[200];
	uint32_t single_ids[SIM_MAX]; /* ids of single verdicts, in message order */
	unsigned int nsingles;
	bool last_is_batch;
	uint32_t last_batch_verdict;
	uint32_t last_batch_id;
};

static struct sim sim;

static bool after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static void sim_reset(struct sim *s)
{
	s->n = 0;
	s->head = 0;
	s->unordered = false;
}

/* Queue a packet: ids must be given in the order the kernel would have queued them. */
static void sim_queue(struct sim *s, uint32_t id)
{
	struct sim_pkt *p;

	assert_true(s->n < SIM_MAX);
	if (s->n > 0)
		assert_true(after(id, s->pkt[s->n - 1].id));
	p = &s->pkt[s->n++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->queued = true;
}

static struct sim_pkt *sim_find(struct sim *s, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < s->n; i++) {
		if (s->pkt[i].id == id)
			return &s->pkt[i];
	}
	return NULL;
}

static void sim_error(struct sim *s, const char *what)
{
	if (s->errors++ == 0)
		snprintf(s->error, sizeof(s->error), "%s", what);
}

static void sim_deliver(struct sim_pkt *p, uint32_t verdict, const struct nlattr *mark,
			uint32_t *ctmark, bool sweep)
{
	if (p->unread)
		sim_error(&sim, "a verdict reached a packet whose message was not read yet");
	p->queued = false;
	p->verdicts++;
	p->verdict = verdict;
	if (mark) {
		p->has_mark = true;
		p->mark = ntohl(mnl_attr_get_u32(mark));
	}
	if (ctmark) {
		p->has_ctmark = true;
		p->ctmark = ctmark[0];
		p->ctmark_mask = ctmark[1];
	}
	p->by_sweep = sweep;
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	switch (type) {
	case NFQA_VERDICT_HDR:
		if (mnl_attr_validate2(attr, MNL_TYPE_UNSPEC,
				       sizeof(struct nfqnl_msg_verdict_hdr)) < 0)
			return MNL_CB_ERROR;
		break;
	case NFQA_MARK:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		break;
	case NFQA_CT:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		break;
	default:
		/* The batcher has no business sending anything else. */
		return MNL_CB_ERROR;
	}
	if (tb[type])
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

/* The conntrack nest of a verdict: CTA_MARK and CTA_MARK_MASK, nothing else, each once. */
static int ct_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if ((type != CTA_MARK && type != CTA_MARK_MASK) ||
	    mnl_attr_validate(attr, MNL_TYPE_U32) < 0 || tb[type])
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static void sim_msg(struct sim *s, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[NFQA_MAX + 1] = { NULL };
	const struct nlattr *ctm[CTA_MAX + 1] = { NULL };
	const struct nfqnl_msg_verdict_hdr *vh;
	const struct nfgenmsg *nfg;
	uint32_t verdict, id, ctmark[2] = { 0, 0 }, low;
	bool sweep, found = false;
	unsigned int i;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_QUEUE ||
	    !(nlh->nlmsg_flags & NLM_F_REQUEST) ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg))) {
		sim_error(s, "not an nfqueue request");
		return;
	}
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->version != NFNETLINK_V0 || ntohs(nfg->res_id) != QUEUE) {
		sim_error(s, "wrong queue or version");
		return;
	}
	sweep = nlh->nlmsg_seq == nfqd_batcher_sweep_seq();
	if (!sweep && nlh->nlmsg_seq != 0) {
		sim_error(s, "unexpected seq");
		return;
	}
	/* a sweep of a lost send leads; those of unreadable packets come after all the rest */
	if (sweep && s->messages == s->leading_sweeps)
		s->leading_sweeps++;
	if (!sweep && s->sweeps > s->leading_sweeps && !s->unordered) {
		sim_error(s, "a message after a sweep");
		return;
	}
	if (mnl_attr_parse(nlh, sizeof(*nfg), attr_cb, tb) < 0) {
		sim_error(s, "malformed attributes");
		return;
	}
	if (!tb[NFQA_VERDICT_HDR]) {
		sim_error(s, "no verdict header");
		return;
	}
	if (tb[NFQA_CT]) {
		/* both: without the mask the kernel would overwrite the whole connmark */
		if (mnl_attr_parse_nested(tb[NFQA_CT], ct_cb, ctm) < 0 || !ctm[CTA_MARK] ||
		    !ctm[CTA_MARK_MASK]) {
			sim_error(s, "malformed NFQA_CT");
			return;
		}
		ctmark[0] = ntohl(mnl_attr_get_u32(ctm[CTA_MARK]));
		ctmark[1] = ntohl(mnl_attr_get_u32(ctm[CTA_MARK_MASK]));
	}
	vh = mnl_attr_get_payload(tb[NFQA_VERDICT_HDR]);
	verdict = ntohl(vh->verdict);
	id = ntohl(vh->id);
	s->messages++;

	low = verdict & NF_VERDICT_MASK;
	if (low > NF_MAX_VERDICT || low == NF_STOLEN) {
		s->einval++;
		return;
	}

	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFQNL_MSG_VERDICT:
		if (sweep) {
			sim_error(s, "sweep seq on a single verdict");
			return;
		}
		s->last_is_batch = false;
		s->single_ids[s->nsingles++] = id;
		for (i = s->head; i < s->n; i++) {
			if (s->pkt[i].queued && s->pkt[i].id == id) {
				sim_deliver(&s->pkt[i], verdict, tb[NFQA_MARK],
					    tb[NFQA_CT] ? ctmark : NULL, false);
				found = true;
				break;
			}
		}
		break;
	case NFQNL_MSG_VERDICT_BATCH:
		/* The kernel ignores NFQA_CT here: the connmark would be silently lost. */
		if (tb[NFQA_CT]) {
			sim_error(s, "NFQA_CT in a batch verdict");
			return;
		}
		if (sweep && tb[NFQA_MARK]) {
			sim_error(s, "mark on a sweep");
			return;
		}
		s->batch_messages++;
		s->sweeps += sweep;
		s->last_is_batch = !sweep;
		s->last_batch_verdict = verdict;
		s->last_batch_id = id;
		for (i = s->head; i < s->n; i++) {
			if (!s->pkt[i].queued)
				continue;
			if (after(s->pkt[i].id, id))
				break;
			sim_deliver(&s->pkt[i], verdict, tb[NFQA_MARK], NULL, sweep);
			found = true;
		}
		break;
	default:
		sim_error(s, "unknown message type");
		return;
	}
	while (s->head < s->n && !s->pkt[s->head].queued)
		s->head++;
	if (!found) {
		if (sweep)
			s->sweep_enoent++;
		else
			s->enoent++;
	}
}

/* Process what one send() of buf would make the kernel do. */
static void sim_apply(struct sim *s, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	s->messages = 0;
	s->batch_messages = 0;
	s->sweeps = 0;
	s->leading_sweeps = 0;
	s->enoent = 0;
	s->sweep_enoent = 0;
	s->einval = 0;
	s->errors = 0;
	s->nsingles = 0;
	s->last_is_batch = false;
	while (mnl_nlmsg_ok(nlh, rem)) {
		sim_msg(s, nlh);
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	if (rem != 0)
		sim_error(s, "trailing bytes");
}

/* ---- helpers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	/* xorshift64*: a fixed seed, so every run tests the same cases */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static struct nfqd_batcher *batcher(unsigned int capacity, unsigned int flags)
{
	struct nfqd_batcher *b = NULL;

	assert_int_equal(nfqd_batcher_new(&b, QUEUE, capacity, flags), 0);
	assert_non_null(b);
	return b;
}

static struct nfqd_verdict mk(uint32_t id, uint32_t verdict, uint32_t flags, uint32_t mark,
			      uint32_t ctmark)
{
	struct nfqd_verdict v = {
		.id = id, .verdict = verdict, .flags = flags, .mark = mark, .ctmark = ctmark
	};

	return v;
}

/* Build, apply to the simulated queue, and check the stats against what the kernel saw. */
static int build_apply(struct nfqd_batcher *b, struct nfqd_batch_stats *st)
{
	struct nfqd_batch_stats local;
	const void *buf = NULL;
	size_t len = 12345;
	int ret;

	if (!st)
		st = &local;
	ret = nfqd_batcher_build(b, &buf, &len, st);
	assert_true(ret >= 0);
	assert_non_null(buf);
	assert_int_equal(nfqd_batcher_pending(b), 0);
	sim_apply(&sim, buf, len);
	if (sim.errors)
		fail_msg("kernel simulation: %s", sim.error);
	assert_int_equal(sim.einval, 0);
	assert_int_equal(ret, st->messages);
	assert_int_equal(sim.messages, st->messages);
	assert_int_equal(sim.batch_messages, st->batch_messages);
	return ret;
}

static void add_ok(struct nfqd_batcher *b, const struct nfqd_verdict *v)
{
	assert_int_equal(nfqd_batcher_add(b, v), 0);
}

/* Why a packet's fate differs from the verdict v meant for it, or NULL. */
static const char *fate_error(const struct sim_pkt *p, const struct nfqd_verdict *v)
{
	if (!p)
		return "packet not in the queue";
	if (p->verdicts != 1)
		return p->verdicts ? "more than one verdict" : "no verdict";
	if (p->by_sweep)
		return "verdict from a sweep";
	if (p->verdict != v->verdict)
		return "wrong verdict";
	if (p->has_mark != !!(v->flags & F_MARK))
		return "mark set or not set wrongly";
	if (p->has_mark && p->mark != v->mark)
		return "wrong mark";
	if (p->has_ctmark && p->ctmark_mask != v->ctmark_mask)
		return "wrong connmark mask";
	if (p->has_ctmark != !!(v->flags & F_CT))
		return "connmark set or not set wrongly";
	if (p->has_ctmark && p->ctmark != v->ctmark)
		return "wrong connmark";
	return NULL;
}

static void assert_pkt_fate(const struct sim_pkt *p, const struct nfqd_verdict *v)
{
	const char *err = fate_error(p, v);

	if (err)
		fail_msg("id %#x: %s", v->id, err);
}

static void assert_fate(const struct nfqd_verdict *v)
{
	assert_pkt_fate(sim_find(&sim, v->id), v);
}

static void assert_pkt_untouched(const struct sim_pkt *p)
{
	assert_non_null(p);
	if (p->verdicts != 0 || !p->queued)
		fail_msg("id %#x should still be queued", p->id);
}

static void assert_untouched(uint32_t id)
{
	assert_pkt_untouched(sim_find(&sim, id));
}

static void assert_pkt_swept(const struct sim_pkt *p, uint32_t verdict)
{
	assert_non_null(p);
	if (p->verdicts != 1 || !p->by_sweep || p->verdict != verdict || p->has_mark)
		fail_msg("id %#x should have exactly the sweep verdict (verdicts %u sweep %d)",
			 p->id, p->verdicts, p->by_sweep);
}

static void assert_swept(uint32_t id, uint32_t verdict)
{
	assert_pkt_swept(sim_find(&sim, id), verdict);
}

/* ---- the classes of verdicts the exhaustive tests combine ---- */

static const struct nfqd_verdict classes[] = {
	{ .verdict = NF_ACCEPT },
	{ .verdict = NF_DROP },
	{ .verdict = NF_ACCEPT, .flags = F_MARK, .mark = 7 },
	{ .verdict = NF_QUEUE_NR(3) },
	{ .verdict = NF_ACCEPT,
	  .flags = F_CT,
	  .ctmark = 0x55,
	  .ctmark_mask = 0xff }, /* never batchable */
};

#define NCLASSES_BATCHABLE 4
#define NCLASSES_ALL	   5

static bool ref_same_class(const struct nfqd_verdict *a, const struct nfqd_verdict *c)
{
	if ((a->flags & F_CT) || (c->flags & F_CT))
		return false;
	return a->verdict == c->verdict && (a->flags & F_MARK) == (c->flags & F_MARK) &&
	       (!(a->flags & F_MARK) || a->mark == c->mark);
}

struct ref_counts {
	unsigned int runs;	   /* messages of the runs encoding */
	unsigned int runs_batches; /* of which batches */
	unsigned int sf;	   /* messages of the singles-first encoding */
	unsigned int best_last;	   /* its batch: index of the class's highest entry */
};

/*
 * The message counts of both encodings for sorted, distinct entries, computed the plain way:
 * the reference the batcher's choice is checked against.
 */
static void reference_counts(const struct nfqd_verdict *v, unsigned int n, struct ref_counts *r)
{
	unsigned int i, j, len, best = 0, count, last;

	r->runs = 0;
	r->runs_batches = 0;
	r->best_last = 0;
	for (i = 0; i < n; i += len) {
		for (len = 1; i + len < n && ref_same_class(&v[i], &v[i + len]); len++)
			;
		r->runs++;
		r->runs_batches += len > 1;
	}
	for (i = 0; i < n; i++) {
		if (v[i].flags & F_CT)
			continue;
		count = 0;
		last = i;
		for (j = 0; j < n; j++) {
			if (j == i || ref_same_class(&v[i], &v[j])) {
				count++;
				last = j;
			}
		}
		if (count > best || (count == best && last > r->best_last)) {
			best = count;
			r->best_last = last;
		}
	}
	r->sf = best >= 2 ? n - best + 1 : n;
}

/* Check the message counts of an ORDERED build of sorted, distinct entries v[0..n). */
static void assert_optimal_counts(const struct nfqd_verdict *v, unsigned int n,
				  const struct nfqd_batch_stats *st)
{
	struct ref_counts r;

	reference_counts(v, n, &r);
	assert_true(st->messages <= r.runs);
	assert_true(st->messages <= r.sf);
	if (r.runs <= r.sf) {
		assert_int_equal(st->messages, r.runs);
		assert_int_equal(st->batch_messages, r.runs_batches);
	} else {
		assert_int_equal(st->messages, r.sf);
		assert_int_equal(st->batch_messages, 1);
		/* singles first: the batch of the chosen class goes last */
		assert_true(sim.last_is_batch);
		assert_int_equal(sim.last_batch_id, v[r.best_last].id);
		assert_int_equal(sim.last_batch_verdict, v[r.best_last].verdict);
	}
	assert_int_equal(st->verdicts, n);
	assert_int_equal(st->duplicates, 0);
}

enum layout {
	LAYOUT_CONSECUTIVE, /* ids one after the other */
	LAYOUT_GAPS,	    /* lost ids between them, which the kernel never queued */
	LAYOUT_ABOVE,	    /* packets queued above the batch, not yet received */
};

/* A reproducible id gap for entry i of case `code`. */
static uint32_t gap(unsigned int code, unsigned int i)
{
	uint32_t h = (code + 1) * 0x9e3779b1u ^ (i + 1) * 0x85ebca6bu;

	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return (h & 3) == 0 ? 1 + (h >> 8) % 5 : 0;
}

/* Ids for case `code` of length n starting at base. */
static void case_ids(uint32_t *ids, unsigned int n, uint32_t base, unsigned int code, bool gaps)
{
	unsigned int i;
	uint32_t id = base;

	for (i = 0; i < n; i++) {
		if (gaps && i > 0)
			id += gap(code, i);
		ids[i] = id++;
	}
}

/* Entries for case `code` (its digits in base nclasses are the classes) with the given ids. */
static void case_entries(struct nfqd_verdict *v, const uint32_t *ids, unsigned int n,
			 unsigned int nclasses, unsigned int code)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		v[i] = classes[code % nclasses];
		v[i].id = ids[i];
		code /= nclasses;
	}
}

static unsigned int power(unsigned int base, unsigned int exp)
{
	unsigned int r = 1;

	while (exp--)
		r *= base;
	return r;
}

/*
 * Every sequence of classes of every length up to maxn, ORDERED: each packet gets exactly its
 * verdict, nothing else in the queue is touched, no ENOENT, and the message count is the
 * smaller of the two encodings.
 */
static void exhaustive(unsigned int nclasses, unsigned int maxn, enum layout layout, uint32_t base)
{
	struct nfqd_batcher *b = batcher(16, NFQD_BATCHER_ORDERED);
	struct nfqd_verdict v[16];
	struct nfqd_batch_stats st;
	uint32_t ids[16], extra[4];
	unsigned int n, code, i;

	for (n = 1; n <= maxn; n++) {
		for (code = 0; code < power(nclasses, n); code++) {
			case_ids(ids, n, base, code, layout == LAYOUT_GAPS);
			case_entries(v, ids, n, nclasses, code);
			sim_reset(&sim);
			for (i = 0; i < n; i++)
				sim_queue(&sim, ids[i]);
			if (layout == LAYOUT_ABOVE) {
				extra[0] = ids[n - 1] + 1;
				extra[1] = ids[n - 1] + 2;
				extra[2] = ids[n - 1] + 5;
				extra[3] = ids[n - 1] + 0x10000;
				for (i = 0; i < 4; i++)
					sim_queue(&sim, extra[i]);
			}
			for (i = 0; i < n; i++)
				add_ok(b, &v[i]);
			build_apply(b, &st);
			if (sim.enoent)
				fail_msg("ENOENT for case n=%u code=%u", n, code);
			for (i = 0; i < n; i++) {
				const char *err = fate_error(sim_find(&sim, v[i].id), &v[i]);

				if (err)
					fail_msg("n=%u code=%u id %#x: %s", n, code, v[i].id, err);
			}
			if (layout == LAYOUT_ABOVE) {
				for (i = 0; i < 4; i++)
					assert_untouched(extra[i]);
			}
			assert_optimal_counts(v, n, &st);
		}
	}
	nfqd_batcher_free(b);
}

/* ---- exhaustive correctness ---- */

static void test_every_class_sequence_up_to_8_consecutive_ids_gets_exact_verdicts(void **state)
{
	(void)state;
	exhaustive(NCLASSES_BATCHABLE, 8, LAYOUT_CONSECUTIVE, 1000);
}

static void test_every_class_sequence_up_to_8_with_lost_ids_gets_exact_verdicts(void **state)
{
	(void)state;
	exhaustive(NCLASSES_BATCHABLE, 8, LAYOUT_GAPS, 1000);
}

static void test_every_class_sequence_up_to_8_leaves_packets_above_the_batch_queued(void **state)
{
	(void)state;
	exhaustive(NCLASSES_BATCHABLE, 8, LAYOUT_ABOVE, 1000);
}

static void test_every_sequence_with_connmark_class_up_to_7_never_batches_connmarks(void **state)
{
	(void)state;
	/* the simulation fails any batch message carrying NFQA_CT */
	exhaustive(NCLASSES_ALL, 7, LAYOUT_CONSECUTIVE, 1000);
	exhaustive(NCLASSES_ALL, 6, LAYOUT_GAPS, 1000);
	exhaustive(NCLASSES_ALL, 6, LAYOUT_ABOVE, 1000);
}

static void test_every_class_sequence_across_id_wraparound_gets_exact_verdicts(void **state)
{
	static const uint32_t bases[] = { 0xfffffff0u, 0xfffffffcu, 0xffffffffu, 0x7ffffffcu };
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		exhaustive(NCLASSES_BATCHABLE, 7, LAYOUT_CONSECUTIVE, bases[i]);
		exhaustive(NCLASSES_BATCHABLE, 7, LAYOUT_GAPS, bases[i]);
		exhaustive(NCLASSES_BATCHABLE, 7, LAYOUT_ABOVE, bases[i]);
		exhaustive(NCLASSES_ALL, 5, LAYOUT_GAPS, bases[i]);
	}
}

/* ---- order of adds ---- */

static bool next_permutation(unsigned int *a, unsigned int n)
{
	unsigned int i, j, t;

	if (n < 2)
		return false;
	i = n - 1;
	while (i > 0 && a[i - 1] >= a[i])
		i--;
	if (i == 0)
		return false;
	j = n - 1;
	while (a[j] <= a[i - 1])
		j--;
	t = a[i - 1];
	a[i - 1] = a[j];
	a[j] = t;
	for (j = n - 1; i < j; i++, j--) {
		t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
	return true;
}

/* Every order of adding the entries of one case yields the bytes of the in-order build. */
static void all_orders_same_output(struct nfqd_batcher *b, const struct nfqd_verdict *v,
				   unsigned int n)
{
	static unsigned char want[4096];
	unsigned int perm[8], i;
	const void *buf;
	size_t want_len, len;

	for (i = 0; i < n; i++)
		add_ok(b, &v[i]);
	nfqd_batcher_build(b, &buf, &want_len, NULL);
	assert_true(want_len <= sizeof(want));
	memcpy(want, buf, want_len);

	for (i = 0; i < n; i++)
		perm[i] = i;
	while (next_permutation(perm, n)) {
		sim_reset(&sim);
		for (i = 0; i < n; i++)
			sim_queue(&sim, v[i].id);
		for (i = 0; i < n; i++)
			add_ok(b, &v[perm[i]]);
		nfqd_batcher_build(b, &buf, &len, NULL);
		if (len != want_len || memcmp(buf, want, len) != 0)
			fail_msg("n=%u: a shuffled add gave different messages", n);
		sim_apply(&sim, buf, len);
		assert_int_equal(sim.errors, 0);
		assert_int_equal(sim.enoent, 0);
		for (i = 0; i < n; i++)
			assert_fate(&v[i]);
	}
}

static void test_shuffled_adds_give_the_same_messages_as_ascending_adds(void **state)
{
	struct nfqd_batcher *b = batcher(16, NFQD_BATCHER_ORDERED);
	struct nfqd_verdict v[8];
	uint32_t ids[8];
	unsigned int n, code, k;

	(void)state;
	/* every case of up to 5 entries, every order */
	for (n = 1; n <= 5; n++) {
		for (code = 0; code < power(NCLASSES_BATCHABLE, n); code++) {
			case_ids(ids, n, 0xfffffffeu, code, true);
			case_entries(v, ids, n, NCLASSES_BATCHABLE, code);
			all_orders_same_output(b, v, n);
		}
	}
	/* samples of 6 and 7 entries with all classes, every order */
	for (n = 6; n <= 7; n++) {
		for (k = 0; k < (n == 6 ? 24u : 4u); k++) {
			code = rnd() % power(NCLASSES_ALL, n);
			case_ids(ids, n, 500, code, true);
			case_entries(v, ids, n, NCLASSES_ALL, code);
			all_orders_same_output(b, v, n);
		}
	}
	nfqd_batcher_free(b);
}

/* ---- several builds on one batcher ---- */

/*
 * A long stream of packets in one queue, with lost ids; the worker receives batches of random
 * size, adds them (sometimes shuffled) and builds. After each build the batch's packets have
 * exactly their verdicts and every later packet is still queued.
 */
static void stream(uint32_t base, unsigned int total, unsigned int capacity)
{
	struct nfqd_batcher *b = batcher(capacity, NFQD_BATCHER_ORDERED);
	static struct nfqd_verdict v[SIM_MAX];
	struct nfqd_verdict batch[64], t;
	struct nfqd_batch_stats st;
	unsigned int i, j, k, pos = 0, builds = 0;
	uint32_t id = base;

	assert_true(total <= SIM_MAX && capacity <= 64);
	sim_reset(&sim);
	for (i = 0; i < total; i++) {
		if (rnd() % 8 == 0)
			id += 1 + rnd() % 3;
		v[i] = classes[rnd() % NCLASSES_ALL];
		/* long stretches of one class are what batching is for */
		if (i > 0 && rnd() % 4 != 0)
			v[i] = v[i - 1];
		v[i].id = id++;
		sim_queue(&sim, v[i].id);
	}
	while (pos < total) {
		k = 1 + rnd() % capacity;
		if (k > total - pos)
			k = total - pos;
		memcpy(batch, &v[pos], k * sizeof(*batch));
		if (rnd() % 3 == 0) {
			for (i = k - 1; i > 0; i--) {
				j = rnd() % (i + 1);
				t = batch[i];
				batch[i] = batch[j];
				batch[j] = t;
			}
		}
		for (i = 0; i < k; i++)
			add_ok(b, &batch[i]);
		build_apply(b, &st);
		assert_int_equal(sim.enoent, 0);
		assert_int_equal(st.verdicts, k);
		assert_optimal_counts(&v[pos], k, &st);
		for (i = pos; i < pos + k; i++)
			assert_pkt_fate(&sim.pkt[i], &v[i]);
		for (i = pos + k; i < total; i++)
			assert_pkt_untouched(&sim.pkt[i]);
		pos += k;
		builds++;
	}
	assert_true(builds > 1);
	nfqd_batcher_free(b);
}

static void test_consecutive_builds_verdict_each_batch_and_leave_later_packets(void **state)
{
	(void)state;
	stream(1, 3000, 32);
	stream(100000, 1000, 1);
	stream(7, 2000, 64);
}

static void test_consecutive_builds_across_id_wraparound(void **state)
{
	(void)state;
	stream(0xfffffa00u, 3000, 32);
	stream(0x7ffffc00u, 2000, 17);
}

/* ---- message counts ---- */

static void test_one_class_batch_is_one_message_a_batch_from_two_packets(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;
	struct nfqd_verdict v;
	unsigned int c, n, i;

	(void)state;
	for (c = 0; c < NCLASSES_BATCHABLE; c++) {
		for (n = 1; n <= 64; n++) {
			sim_reset(&sim);
			for (i = 0; i < n; i++) {
				v = classes[c];
				v.id = 0xffffffe0u + 3 * i;
				sim_queue(&sim, v.id);
				add_ok(b, &v);
			}
			assert_int_equal(build_apply(b, &st), 1);
			assert_int_equal(st.batch_messages, n >= 2 ? 1 : 0);
			assert_int_equal(st.verdicts, n);
			for (i = 0; i < n; i++) {
				v = classes[c];
				v.id = 0xffffffe0u + 3 * i;
				assert_fate(&v);
			}
		}
	}
	nfqd_batcher_free(b);
}

/* Build a string of classes ('A' accept, 'D' drop, 'M' accept+mark, 'Q' queue 3, 'C' connmark). */
static int build_string(struct nfqd_batcher *b, const char *s, struct nfqd_batch_stats *st)
{
	struct nfqd_verdict v;
	uint32_t id = 200;
	unsigned int i;

	sim_reset(&sim);
	for (i = 0; s[i]; i++) {
		if (s[i] == ' ')
			continue;
		v = classes[strchr("ADMQC", s[i]) - "ADMQC"];
		v.id = id++;
		sim_queue(&sim, v.id);
		add_ok(b, &v);
	}
	build_apply(b, st);
	assert_int_equal(sim.enoent, 0);
	id = 200;
	for (i = 0; s[i]; i++) {
		if (s[i] == ' ')
			continue;
		v = classes[strchr("ADMQC", s[i]) - "ADMQC"];
		v.id = id++;
		assert_fate(&v);
	}
	return (int)st->messages;
}

static void test_message_count_examples(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;

	(void)state;
	/* runs win */
	assert_int_equal(build_string(b, "AAAA DDDD AAAA DDDD", &st), 4);
	assert_int_equal(st.batch_messages, 4);
	/* singles first wins: two drops, then one batch of accepts */
	assert_int_equal(build_string(b, "A A D A A A D A", &st), 3);
	assert_int_equal(st.batch_messages, 1);
	assert_true(sim.last_is_batch);
	assert_int_equal(sim.last_batch_verdict, NF_ACCEPT);
	assert_int_equal(sim.last_batch_id, 207);
	assert_int_equal(sim.nsingles, 2);
	assert_int_equal(sim.single_ids[0], 202);
	assert_int_equal(sim.single_ids[1], 206);
	/* a tie between classes goes to the class of the highest id */
	assert_int_equal(build_string(b, "ADADAD", &st), 4);
	assert_int_equal(sim.last_batch_verdict, NF_DROP);
	assert_int_equal(sim.last_batch_id, 205);
	assert_int_equal(build_string(b, "DADADA", &st), 4);
	assert_int_equal(sim.last_batch_verdict, NF_ACCEPT);
	/* a tie between the encodings goes to runs */
	assert_int_equal(build_string(b, "AAD", &st), 2);
	assert_int_equal(st.batch_messages, 1);
	assert_int_equal(sim.nsingles, 1);
	assert_int_equal(sim.single_ids[0], 202);
	assert_false(sim.last_is_batch);
	assert_int_equal(build_string(b, "AADA", &st), 2);
	assert_true(sim.last_is_batch);
	assert_int_equal(sim.last_batch_id, 203);
	/* mark and queue number are part of the class */
	assert_int_equal(build_string(b, "AMAMAMAM", &st), 5);
	assert_int_equal(build_string(b, "QQQQAQQQ", &st), 2);
	assert_int_equal(sim.last_batch_verdict, NF_QUEUE_NR(3));
	/* no gain possible: every verdict single */
	assert_int_equal(build_string(b, "ADMQ", &st), 4);
	assert_int_equal(st.batch_messages, 0);
	nfqd_batcher_free(b);
}

static void test_mark_is_part_of_the_class_only_with_the_mark_flag(void **state)
{
	struct nfqd_batcher *b = batcher(8, NFQD_BATCHER_ORDERED);
	struct nfqd_verdict v[4];
	struct nfqd_batch_stats st;
	unsigned int i;

	(void)state;
	sim_reset(&sim);
	for (i = 0; i < 4; i++) {
		v[i] = mk(10 + i, NF_ACCEPT, 0, 100 + i, 0); /* .mark ignored without the flag */
		sim_queue(&sim, v[i].id);
		add_ok(b, &v[i]);
	}
	assert_int_equal(build_apply(b, &st), 1);
	for (i = 0; i < 4; i++)
		assert_fate(&v[i]);

	sim_reset(&sim);
	for (i = 0; i < 4; i++) {
		v[i] = mk(20 + i, NF_ACCEPT, F_MARK, i < 2 ? 1 : 2, 0);
		sim_queue(&sim, v[i].id);
		add_ok(b, &v[i]);
	}
	assert_int_equal(build_apply(b, &st), 2);
	assert_int_equal(st.batch_messages, 2);
	for (i = 0; i < 4; i++)
		assert_fate(&v[i]);

	/* queue numbers differ: different classes */
	sim_reset(&sim);
	for (i = 0; i < 4; i++) {
		v[i] = mk(30 + i, i % 2 ? NF_QUEUE_NR(4) : NF_QUEUE_NR(3), 0, 0, 0);
		sim_queue(&sim, v[i].id);
		add_ok(b, &v[i]);
	}
	assert_int_equal(build_apply(b, &st), 3);
	for (i = 0; i < 4; i++)
		assert_fate(&v[i]);
	nfqd_batcher_free(b);
}

/* ---- connmarks ---- */

static void test_connmark_verdicts_are_singles_carrying_the_nest_and_break_runs(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;
	struct sim_pkt *p;

	(void)state;
	/* singles first: the connmark alone, then one batch of accepts */
	assert_int_equal(build_string(b, "AACAA", &st), 2);
	assert_int_equal(sim.nsingles, 1);
	assert_int_equal(sim.single_ids[0], 202);
	p = sim_find(&sim, 202);
	assert_true(p->has_ctmark);
	assert_int_equal(p->ctmark, 0x55);
	/* the mask travels with it: only those connmark bits change */
	assert_int_equal(p->ctmark_mask, 0xff);
	/* runs: the connmark breaks the run of accepts */
	assert_int_equal(build_string(b, "AAAC DDDD", &st), 3);
	/* all connmarks: all singles, even with the same verdict and connmark */
	assert_int_equal(build_string(b, "CCCCCC", &st), 6);
	assert_int_equal(st.batch_messages, 0);
	nfqd_batcher_free(b);
}

static void test_worst_case_messages_fit_the_buffer(void **state)
{
	struct nfqd_batcher *b = batcher(8, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;
	struct nfqd_verdict v;
	unsigned int i;

	(void)state;
	/* the longest messages there are, as many as allowed, plus the sweeps (ASan watches) */
	sim_reset(&sim);
	for (i = 0; i < 8; i++) {
		v = mk(1 + i, NF_QUEUE_NR(65535u), F_MARK | F_CT, 0xffffffffu, 0xffffffffu);
		sim_queue(&sim, v.id);
		add_ok(b, &v);
	}
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 1), 0);
	assert_int_equal(build_apply(b, &st), 8 + 3);
	for (i = 0; i < 8; i++) {
		v = mk(1 + i, NF_QUEUE_NR(65535u), F_MARK | F_CT, 0xffffffffu, 0xffffffffu);
		assert_fate(&v);
	}
	nfqd_batcher_free(b);
}

/* ---- unordered transports ---- */

static void test_unordered_sends_only_ascending_singles_and_touches_no_other_packet(void **state)
{
	struct nfqd_batcher *b = batcher(16, 0);
	struct nfqd_verdict v[8];
	struct nfqd_batch_stats st;
	uint32_t ids[8], id;
	unsigned int n, code, i;

	(void)state;
	for (n = 1; n <= 6; n++) {
		for (code = 0; code < power(NCLASSES_ALL, n); code++) {
			case_ids(ids, n, 0xfffffffdu, code, true);
			case_entries(v, ids, n, NCLASSES_ALL, code);
			/* the kernel holds every id from below the batch to above it */
			sim_reset(&sim);
			for (id = ids[0] - 3; id != ids[n - 1] + 4; id++)
				sim_queue(&sim, id);
			for (i = n; i-- > 0;)
				add_ok(b, &v[i]);
			assert_int_equal(build_apply(b, &st), n);
			assert_int_equal(st.batch_messages, 0);
			assert_int_equal(sim.enoent, 0);
			assert_int_equal(sim.nsingles, n);
			for (i = 0; i < n; i++) {
				assert_int_equal(sim.single_ids[i], ids[i]);
				assert_fate(&v[i]);
			}
			for (id = ids[0] - 3; id != ids[n - 1] + 4; id++) {
				for (i = 0; i < n && ids[i] != id; i++)
					;
				if (i == n)
					assert_untouched(id);
			}
		}
	}
	nfqd_batcher_free(b);
}

/* ---- duplicates, capacity, bad input ---- */

static void test_duplicates_are_counted_and_the_first_verdict_kept(void **state)
{
	static const unsigned int modes[] = { NFQD_BATCHER_ORDERED, 0 };
	struct nfqd_batcher *b;
	struct nfqd_batch_stats st;
	struct nfqd_verdict v[6];
	unsigned int m, i;

	(void)state;
	for (m = 0; m < 2; m++) {
		b = batcher(8, modes[m]);
		v[0] = mk(11, NF_DROP, 0, 0, 0);
		v[1] = mk(10, NF_ACCEPT, 0, 0, 0);
		v[2] = mk(10, NF_DROP, F_MARK, 3, 0);
		v[3] = mk(12, NF_ACCEPT, F_MARK, 9, 0);
		v[4] = mk(12, NF_ACCEPT, 0, 0, 0);
		v[5] = mk(11, NF_ACCEPT, F_CT, 0, 1);
		sim_reset(&sim);
		for (i = 10; i <= 12; i++)
			sim_queue(&sim, i);
		for (i = 0; i < 6; i++)
			add_ok(b, &v[i]);
		assert_int_equal(nfqd_batcher_pending(b), 6);
		build_apply(b, &st);
		assert_int_equal(st.duplicates, 3);
		assert_int_equal(st.verdicts, 3);
		assert_int_equal(sim.enoent, 0);
		assert_fate(&v[0]);
		assert_fate(&v[1]);
		assert_fate(&v[3]);

		/* an id seen in an earlier build is not a duplicate of this one */
		sim_reset(&sim);
		sim_queue(&sim, 13);
		add_ok(b, &v[1]);
		v[1].id = 13;
		add_ok(b, &v[1]);
		nfqd_batcher_build(b, &(const void *){ NULL }, &(size_t){ 0 }, &st);
		assert_int_equal(st.duplicates, 0);
		assert_int_equal(st.verdicts, 2);
		nfqd_batcher_free(b);
	}
}

static void test_capacity_refuses_one_more_add_until_build(void **state)
{
	struct nfqd_batcher *b = batcher(4, NFQD_BATCHER_ORDERED);
	struct nfqd_verdict v;
	struct nfqd_batch_stats st;
	unsigned int i;

	(void)state;
	sim_reset(&sim);
	for (i = 0; i < 6; i++)
		sim_queue(&sim, 100 + i);
	for (i = 0; i < 4; i++) {
		v = mk(100 + i, NF_ACCEPT, 0, 0, 0);
		add_ok(b, &v);
	}
	v = mk(104, NF_ACCEPT, 0, 0, 0);
	assert_int_equal(nfqd_batcher_add(b, &v), -ENOSPC);
	assert_int_equal(nfqd_batcher_pending(b), 4);
	assert_int_equal(build_apply(b, &st), 1);
	assert_int_equal(st.verdicts, 4);
	assert_untouched(104);
	add_ok(b, &v);
	v.id = 105;
	add_ok(b, &v);
	assert_int_equal(build_apply(b, &st), 1);
	for (i = 0; i < 6; i++) {
		v = mk(100 + i, NF_ACCEPT, 0, 0, 0);
		assert_fate(&v);
	}
	nfqd_batcher_free(b);
}

static void test_add_refuses_verdicts_the_kernel_refuses_and_unknown_flags(void **state)
{
	struct nfqd_batcher *b = batcher(16, NFQD_BATCHER_ORDERED);
	struct nfqd_verdict v;

	(void)state;
	v = mk(1, NF_STOLEN, 0, 0, 0);
	assert_int_equal(nfqd_batcher_add(b, &v), -EINVAL);
	v = mk(1, 6, 0, 0, 0);
	assert_int_equal(nfqd_batcher_add(b, &v), -EINVAL);
	v = mk(1, 0xff, 0, 0, 0);
	assert_int_equal(nfqd_batcher_add(b, &v), -EINVAL);
	v = mk(1, NF_QUEUE_NR(5) | 0x06, 0, 0, 0);
	assert_int_equal(nfqd_batcher_add(b, &v), -EINVAL);
	v = mk(1, NF_ACCEPT, 1u << 2, 0, 0);
	assert_int_equal(nfqd_batcher_add(b, &v), -EINVAL);
	v = mk(1, NF_ACCEPT, 0x80000000u | F_MARK, 0, 0);
	assert_int_equal(nfqd_batcher_add(b, &v), -EINVAL);
	assert_int_equal(nfqd_batcher_pending(b), 0);

	/* what the kernel takes is taken */
	v = mk(1, NF_DROP, 0, 0, 0);
	add_ok(b, &v);
	v = mk(2, NF_ACCEPT, F_MARK | F_CT, 1, 2);
	add_ok(b, &v);
	v = mk(3, NF_QUEUE_NR(65535u), 0, 0, 0);
	add_ok(b, &v);
	v = mk(4, NF_QUEUE_NR(1) | NF_VERDICT_FLAG_QUEUE_BYPASS, 0, 0, 0);
	add_ok(b, &v);
	v = mk(5, NF_REPEAT, 0, 0, 0);
	add_ok(b, &v);
	v = mk(6, NF_STOP, 0, 0, 0);
	add_ok(b, &v);
	assert_int_equal(nfqd_batcher_pending(b), 6);
	assert_int_equal(nfqd_batcher_add(b, NULL), -EINVAL);
	assert_int_equal(nfqd_batcher_add(NULL, &v), -EINVAL);
	nfqd_batcher_free(b);
}

static void test_new_refuses_capacity_0_over_65536_and_unknown_flags(void **state)
{
	struct nfqd_batcher *b = NULL;

	(void)state;
	assert_int_equal(nfqd_batcher_new(&b, 0, 0, NFQD_BATCHER_ORDERED), -EINVAL);
	assert_null(b);
	assert_int_equal(nfqd_batcher_new(&b, 0, 65537, 0), -EINVAL);
	assert_int_equal(nfqd_batcher_new(&b, 0, 1, 1u << 1), -EINVAL);
	assert_int_equal(nfqd_batcher_new(NULL, 0, 1, 0), -EINVAL);
	assert_null(b);
	assert_int_equal(nfqd_batcher_new(&b, 65535, 65536, NFQD_BATCHER_ORDERED), 0);
	assert_non_null(b);
	nfqd_batcher_free(b);
	assert_int_equal(nfqd_batcher_new(&b, 0, 1, 0), 0);
	nfqd_batcher_free(b);
	nfqd_batcher_free(NULL);
}

static void test_full_capacity_65536_with_shuffled_ids_builds(void **state)
{
	struct nfqd_batcher *b = batcher(65536, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;
	const void *buf;
	struct nfqd_verdict v;
	unsigned int i;
	size_t len;
	int ret;

	(void)state;
	/* reversed ids and many distinct marks: the sort and the class table at their largest */
	for (i = 0; i < 65536; i++) {
		v = mk(0xffff8000u + (65535 - i), NF_ACCEPT, F_MARK, i % 3 ? 1 : i, 0);
		add_ok(b, &v);
	}
	ret = nfqd_batcher_build(b, &buf, &len, &st);
	assert_int_equal(ret, st.messages);
	assert_int_equal(st.verdicts, 65536);
	/* singles first: 21846 distinct singles and one batch of mark 1 */
	assert_int_equal(st.messages, 21846 + 1);
	assert_int_equal(st.batch_messages, 1);
	nfqd_batcher_free(b);
}

static void test_empty_build_gives_nothing(void **state)
{
	static const unsigned int modes[] = { NFQD_BATCHER_ORDERED, 0 };
	struct nfqd_batcher *b;
	struct nfqd_batch_stats st;
	const void *buf = NULL;
	size_t len = 99;
	unsigned int m;

	(void)state;
	for (m = 0; m < 2; m++) {
		b = batcher(4, modes[m]);
		memset(&st, 0xff, sizeof(st));
		assert_int_equal(nfqd_batcher_build(b, &buf, &len, &st), 0);
		assert_int_equal(len, 0);
		assert_int_equal(st.verdicts, 0);
		assert_int_equal(st.messages, 0);
		assert_int_equal(st.batch_messages, 0);
		assert_int_equal(st.duplicates, 0);
		assert_int_equal(nfqd_batcher_build(b, &buf, &len, NULL), 0);
		assert_int_equal(len, 0);
		nfqd_batcher_free(b);
	}
}

/* ---- sweeps ---- */

static void add_range(struct nfqd_batcher *b, uint32_t from, uint32_t to, uint32_t verdict)
{
	struct nfqd_verdict v;
	uint32_t id;

	for (id = from; id != to + 1; id++) {
		v = mk(id, verdict, 0, 0, 0);
		add_ok(b, &v);
	}
}

static void assert_range(uint32_t from, uint32_t to, uint32_t verdict)
{
	struct nfqd_verdict v;
	uint32_t id;

	for (id = from; id != to + 1; id++) {
		v = mk(id, verdict, 0, 0, 0);
		assert_fate(&v);
	}
}

static void assert_swept_range(uint32_t from, uint32_t to, uint32_t verdict)
{
	uint32_t id;

	for (id = from; id != to + 1; id++)
		assert_swept(id, verdict);
}

static void queue_range(uint32_t from, uint32_t to)
{
	uint32_t id;

	for (id = from; id != to + 1; id++)
		sim_queue(&sim, id);
}

/*
 * The sweeps that need ids in order (below the next id, up to the highest id after a lost send,
 * below the first id) are refused without NFQD_BATCHER_ORDERED; those daemon/worker.c makes on an
 * unordered transport (everything at the drain, what was read, the lost build again, the
 * re-queue up to a known id) are accepted there, and unsent() only there.
 */
static void test_sweep_needs_ordered_and_a_valid_verdict(void **state)
{
	struct nfqd_batcher *b = batcher(4, 0);
	struct nfqd_verdict v = mk(5, NF_ACCEPT, 0, 0, 0);

	(void)state;
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), -EOPNOTSUPP);
	assert_int_equal(nfqd_batcher_sweep_seen(b, NF_DROP), -EOPNOTSUPP);
	assert_int_equal(nfqd_batcher_orphans(b, NF_REPEAT), -EOPNOTSUPP);
	add_ok(b, &v);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 1), 0);
	assert_int_equal(nfqd_batcher_sweep_read(b, NF_DROP), 0);
	assert_int_equal(nfqd_batcher_unsent(b), 0);
	assert_int_equal(nfqd_batcher_orphans_upto(b, NF_REPEAT, 3), 0);
	assert_int_equal(nfqd_batcher_sweep(b, NF_STOLEN, 1), -EINVAL);
	assert_int_equal(nfqd_batcher_sweep_read(b, NF_STOLEN), -EINVAL);
	assert_int_equal(nfqd_batcher_orphans_upto(b, NF_STOLEN, 3), -EINVAL);
	assert_int_equal(nfqd_batcher_unsent(NULL), -EINVAL);
	nfqd_batcher_free(b);
	b = batcher(4, NFQD_BATCHER_ORDERED);
	assert_int_equal(nfqd_batcher_unsent(b), -EOPNOTSUPP);
	assert_int_equal(nfqd_batcher_sweep_read(b, NF_DROP), 0);
	assert_int_equal(nfqd_batcher_sweep(b, NF_STOLEN, 0), -EINVAL);
	assert_int_equal(nfqd_batcher_sweep_seen(b, NF_STOLEN), -EINVAL);
	assert_int_equal(nfqd_batcher_sweep(b, 6, 1), -EINVAL);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0);
	assert_int_equal(nfqd_batcher_sweep(b, NF_ACCEPT, 1), 0);
	assert_int_equal(nfqd_batcher_sweep_seq() != 0, 1);
	nfqd_batcher_free(b);
}

static void test_sweep_gives_the_unreadable_packet_the_sweep_verdict_in_the_same_build(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;

	(void)state;
	sim_reset(&sim);
	queue_range(100, 120);
	/* 100..104 read, 105 unreadable, 106..109 read; 110.. not yet received */
	add_range(b, 100, 104, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0);
	add_range(b, 106, 109, NF_ACCEPT);
	build_apply(b, &st);
	assert_int_equal(sim.enoent, 0);
	assert_int_equal(sim.sweep_enoent, 0);
	assert_int_equal(sim.sweeps, 1);
	assert_range(100, 104, NF_ACCEPT);
	assert_swept(105, NF_DROP);
	assert_range(106, 109, NF_ACCEPT);
	assert_untouched(110);
	assert_int_equal(st.verdicts, 9);
	/* one batch below the request, four singles above it, the sweep */
	assert_int_equal(st.messages, 1 + 4 + 1);
	assert_int_equal(st.batch_messages, 2);

	/* served: the next build has no sweep and batches freely again */
	add_range(b, 110, 115, NF_ACCEPT);
	assert_int_equal(build_apply(b, &st), 1);
	assert_int_equal(sim.sweeps, 0);
	assert_range(110, 115, NF_ACCEPT);
	assert_untouched(116);
	nfqd_batcher_free(b);
}

static void test_sweep_waits_for_a_build_with_a_higher_id(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;

	(void)state;
	sim_reset(&sim);
	queue_range(100, 120);
	/* the unreadable packet 105 ends the received batch */
	add_range(b, 100, 104, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0);
	assert_int_equal(build_apply(b, &st), 1);
	assert_int_equal(sim.sweeps, 0);
	assert_untouched(105);
	/* nothing new: still waiting */
	assert_int_equal(build_apply(b, &st), 0);
	assert_untouched(105);
	/* a shuffled, mixed batch above it: all singles, then the sweep */
	add_range(b, 108, 109, NF_DROP);
	add_range(b, 106, 107, NF_ACCEPT);
	assert_int_equal(build_apply(b, &st), 4 + 1);
	assert_int_equal(sim.sweeps, 1);
	assert_int_equal(sim.sweep_enoent, 0);
	assert_int_equal(sim.enoent, 0);
	assert_swept(105, NF_DROP);
	assert_range(106, 107, NF_ACCEPT);
	assert_range(108, 109, NF_DROP);
	assert_untouched(110);
	nfqd_batcher_free(b);
}

static void test_sweep_before_any_id_covers_the_first_build(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;

	(void)state;
	sim_reset(&sim);
	queue_range(0xfffffffeu, 5);
	/* 0xfffffffe and 0xffffffff unreadable, then 0..3 read */
	assert_int_equal(nfqd_batcher_sweep(b, NF_QUEUE_NR(9), 0), 0);
	assert_int_equal(nfqd_batcher_sweep(b, NF_QUEUE_NR(9), 0), 0);
	assert_int_equal(build_apply(b, &st), 0); /* empty: nothing to anchor the sweep */
	add_range(b, 0, 3, NF_ACCEPT);
	assert_int_equal(build_apply(b, &st), 4 + 1);
	assert_swept(0xfffffffeu, NF_QUEUE_NR(9));
	assert_swept(0xffffffffu, NF_QUEUE_NR(9));
	assert_range(0, 3, NF_ACCEPT);
	assert_untouched(4);
	nfqd_batcher_free(b);
}

static void test_two_sweep_requests_are_both_served(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;

	(void)state;
	/* both unreadable packets inside one build */
	sim_reset(&sim);
	queue_range(10, 30);
	add_range(b, 10, 11, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0); /* 12 */
	add_range(b, 13, 14, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0); /* 15 */
	add_range(b, 16, 20, NF_ACCEPT);
	build_apply(b, &st);
	assert_int_equal(sim.sweeps, 1);
	assert_int_equal(sim.enoent + sim.sweep_enoent, 0);
	assert_range(10, 11, NF_ACCEPT);
	assert_swept(12, NF_DROP);
	assert_range(13, 14, NF_ACCEPT);
	assert_swept(15, NF_DROP);
	assert_range(16, 20, NF_ACCEPT);
	assert_untouched(21);

	/* the second one ends the build: served by the next one */
	add_range(b, 21, 22, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0); /* 23 */
	add_range(b, 24, 25, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0); /* 26 */
	build_apply(b, &st);
	assert_int_equal(sim.sweeps, 1);
	assert_swept(23, NF_DROP);
	assert_range(24, 25, NF_ACCEPT);
	assert_untouched(26);
	add_range(b, 27, 28, NF_ACCEPT);
	build_apply(b, &st);
	assert_int_equal(sim.sweeps, 1);
	assert_int_equal(sim.enoent + sim.sweep_enoent, 0);
	assert_swept(26, NF_DROP);
	assert_range(27, 28, NF_ACCEPT);
	assert_untouched(29);
	/* and then no more */
	add_range(b, 29, 30, NF_ACCEPT);
	assert_int_equal(build_apply(b, &st), 1);
	assert_int_equal(sim.sweeps, 0);
	nfqd_batcher_free(b);
}

static void test_sweep_seq_is_set_on_sweeps_only(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);
	const struct nlmsghdr *nlh;
	const void *buf;
	unsigned int with_seq = 0, total = 0;
	size_t len;
	int rem;

	(void)state;
	add_range(b, 1, 3, NF_ACCEPT);
	add_range(b, 4, 4, NF_DROP);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0);
	add_range(b, 6, 7, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_build(b, &buf, &len, NULL), 2 + 2 + 1);
	rem = (int)len;
	for (nlh = buf; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		total++;
		if (nlh->nlmsg_seq == nfqd_batcher_sweep_seq()) {
			with_seq++;
			assert_int_equal(total, 5); /* the last one */
			assert_int_equal(NFNL_MSG_TYPE(nlh->nlmsg_type), NFQNL_MSG_VERDICT_BATCH);
		} else {
			assert_int_equal(nlh->nlmsg_seq, 0);
		}
	}
	assert_int_equal(total, 5);
	assert_int_equal(with_seq, 1);
	nfqd_batcher_free(b);
}

static void test_sweep_all_takes_every_unverdicted_packet(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;

	(void)state;
	struct nfqd_verdict c = mk(1007, NF_ACCEPT, F_CT, 0, 4);

	sim_reset(&sim);
	queue_range(1000, 1004); /* 1005 lost */
	queue_range(1006, 1011); /* 1010 and 1011 unreadable, at the end of the drain */
	add_range(b, 1000, 1002, NF_ACCEPT);
	build_apply(b, &st);
	add_range(b, 1003, 1004, NF_ACCEPT);
	add_range(b, 1006, 1006, NF_ACCEPT);
	add_ok(b, &c);
	add_range(b, 1008, 1009, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 1), 0);
	build_apply(b, &st);
	assert_int_equal(sim.sweeps, 3);
	assert_int_equal(sim.enoent, 0);
	assert_int_equal(st.verdicts, 6);
	assert_int_equal(st.messages, 2 + 3);
	assert_range(1000, 1004, NF_ACCEPT);
	assert_range(1006, 1006, NF_ACCEPT);
	assert_fate(&c);
	assert_range(1008, 1009, NF_ACCEPT);
	assert_swept(1010, NF_DROP);
	assert_swept(1011, NF_DROP);

	/* served once: the next build sweeps no more */
	assert_int_equal(build_apply(b, &st), 0);
	nfqd_batcher_free(b);
}

static void test_sweep_all_with_sweep_requests_gives_unreadables_the_sweep_verdict(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;

	(void)state;
	sim_reset(&sim);
	queue_range(1000, 1011);
	add_range(b, 1000, 1004, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0); /* 1005 */
	add_range(b, 1006, 1009, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0); /* 1010 */
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0); /* 1011 */
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 1), 0); /* drained */
	build_apply(b, &st);
	assert_int_equal(sim.enoent, 0);
	assert_int_equal(sim.sweeps, 3);
	assert_int_equal(st.messages, 1 + 4 + 3);
	assert_int_equal(st.batch_messages, 1 + 3);
	/* the first sweep message takes them all: the other two answer ENOENT */
	assert_int_equal(sim.sweep_enoent, 2);
	assert_range(1000, 1004, NF_ACCEPT);
	assert_swept(1005, NF_DROP);
	assert_range(1006, 1009, NF_ACCEPT);
	assert_swept(1010, NF_DROP);
	assert_swept(1011, NF_DROP);
	assert_int_equal(build_apply(b, &st), 0);
	nfqd_batcher_free(b);
}

static void test_sweep_all_on_an_empty_build_with_no_id_ever_seen(void **state)
{
	struct nfqd_batcher *b = batcher(4, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;

	(void)state;
	/* a queue inherited from an earlier process, across the id wrap */
	sim_reset(&sim);
	queue_range(0xfffffff0u, 0x10);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 1), 0);
	assert_int_equal(build_apply(b, &st), 3);
	assert_int_equal(st.batch_messages, 3);
	assert_int_equal(st.verdicts, 0);
	assert_int_equal(sim.sweeps, 3);
	assert_int_equal(sim.enoent, 0);
	assert_true(sim.sweep_enoent <= 2);
	assert_swept_range(0xfffffff0u, 0x10, NF_DROP);

	/* nothing queued: every sweep answers ENOENT, which is allowed */
	sim_reset(&sim);
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 1), 0);
	assert_int_equal(build_apply(b, &st), 3);
	assert_int_equal(sim.sweep_enoent, 3);
	nfqd_batcher_free(b);
}

/*
 * Wherever the queued ids lie relative to the ids the batcher saw, and however they spread
 * (less than 2^31 apart), the all-sweep takes every one of them.
 */
static void test_sweep_all_reaches_any_queue_of_span_below_2_31(void **state)
{
	struct nfqd_batcher *b;
	struct nfqd_verdict v;
	unsigned int round, i, count;
	uint32_t start, span, id, step;

	(void)state;
	for (round = 0; round < 3000; round++) {
		b = batcher(4, NFQD_BATCHER_ORDERED);
		sim_reset(&sim);
		v = mk(rnd(), NF_ACCEPT, 0, 0, 0);
		if (round % 3) {
			/* the batcher saw one id, anywhere */
			add_ok(b, &v);
			nfqd_batcher_build(b, &(const void *){ NULL }, &(size_t){ 0 }, NULL);
		}
		start = round % 5 == 0 ? v.id - rnd() % 64 : rnd();
		span = round % 2 ? rnd() % 0x7fffffffu : rnd() % 100;
		count = 1 + rnd() % 20;
		step = span / count ? span / count : 1;
		for (i = 0, id = start; i < count; i++, id += step)
			sim_queue(&sim, id);
		assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 1), 0);
		build_apply(b, NULL);
		for (i = 0; i < sim.n; i++) {
			if (sim.pkt[i].verdicts != 1 || !sim.pkt[i].by_sweep)
				fail_msg("round %u: id %#x not swept (start %#x span %#x)", round,
					 sim.pkt[i].id, start, span);
		}
		nfqd_batcher_free(b);
	}
}

/* Build and throw the messages away: a send that failed. Returns the number of messages. */
static int build_lost(struct nfqd_batcher *b)
{
	const void *buf;
	size_t len;
	int r = nfqd_batcher_build(b, &buf, &len, NULL);

	assert_true(r >= 0);
	return r;
}

static void test_sweep_seen_with_no_id_ever_added_sends_nothing(void **state)
{
	struct nfqd_batcher *b = batcher(4, NFQD_BATCHER_ORDERED);

	(void)state;
	sim_reset(&sim);
	assert_int_equal(nfqd_batcher_sweep_seen(b, NF_DROP), 0);
	assert_int_equal(build_apply(b, NULL), 0);
	nfqd_batcher_free(b);
}

/*
 * A send is lost: the sweep up to the highest id read goes out with the very next build, even an
 * empty one, takes exactly the packets of the lost send, and is gone once sent.
 */
static void test_sweep_seen_takes_a_lost_send_at_once_without_a_later_id(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;

	(void)state;
	sim_reset(&sim);
	queue_range(100, 120);
	add_range(b, 100, 104, NF_ACCEPT);
	assert_int_equal(build_apply(b, NULL), 1);
	add_range(b, 105, 109, NF_ACCEPT);
	assert_int_equal(build_lost(b), 1);
	assert_int_equal(nfqd_batcher_sweep_seen(b, NF_DROP), 0);
	/* the retry is lost too: ask again */
	assert_int_equal(build_lost(b), 1);
	assert_int_equal(nfqd_batcher_sweep_seen(b, NF_DROP), 0);
	assert_int_equal(build_apply(b, &st), 1);
	assert_int_equal(st.verdicts, 0);
	assert_int_equal(sim.sweeps, 1);
	assert_int_equal(sim.sweep_enoent, 0);
	assert_range(100, 104, NF_ACCEPT);
	assert_swept_range(105, 109, NF_DROP);
	assert_untouched(110);
	/* served */
	assert_int_equal(build_apply(b, NULL), 0);
	nfqd_batcher_free(b);
}

/* The sweep goes before the build's own batch, which would otherwise reach the lost packets. */
static void test_sweep_seen_comes_before_the_builds_own_verdicts(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);

	(void)state;
	sim_reset(&sim);
	queue_range(100, 120);
	add_range(b, 100, 104, NF_ACCEPT);
	assert_int_equal(build_lost(b), 1);
	assert_int_equal(nfqd_batcher_sweep_seen(b, NF_DROP), 0);
	add_range(b, 105, 110, NF_ACCEPT);
	assert_int_equal(build_apply(b, NULL), 2);
	assert_int_equal(sim.enoent, 0);
	assert_swept_range(100, 104, NF_DROP);
	assert_range(105, 110, NF_ACCEPT);
	assert_untouched(111);
	nfqd_batcher_free(b);
}

/*
 * An unreadable packet above the highest id read is left to its own sweep request, which the
 * first later id serves with its own verdict.
 */
static void test_sweep_seen_leaves_a_pending_unreadable_to_its_sweep(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);

	(void)state;
	sim_reset(&sim);
	queue_range(100, 120);
	add_range(b, 100, 104, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_sweep(b, NF_QUEUE_NR(3), 0), 0); /* 105 unreadable */
	assert_int_equal(build_lost(b), 1);
	assert_int_equal(nfqd_batcher_sweep_seen(b, NF_DROP), 0);
	assert_int_equal(build_apply(b, NULL), 1);
	assert_swept_range(100, 104, NF_DROP);
	assert_untouched(105);
	add_range(b, 106, 107, NF_ACCEPT);
	build_apply(b, NULL);
	assert_int_equal(sim.enoent, 0);
	assert_swept(105, NF_QUEUE_NR(3));
	assert_range(106, 107, NF_ACCEPT);
	nfqd_batcher_free(b);
}

/*
 * The worker's sending (daemon/worker.c flush()), against a transport whose next `failures`
 * sends fail: a failed send loses its messages, and asks for a sweep up to the highest id read,
 * sent at once; if that fails too the sweep stays owed (*owed) for the next turn of the loop.
 * lost[i] is set for each packet of v whose verdict was in a lost send; added lists the indexes
 * of v added since the last build.
 */
struct worker_model {
	unsigned int failures;
	bool owed;
	unsigned int added[SIM_MAX];
	unsigned int nadded;
	bool lost[SIM_MAX];
};

static void model_flush(struct nfqd_batcher *b, struct worker_model *m)
{
	for (int attempt = 0;; attempt++) {
		if (m->failures == 0 || nfqd_batcher_pending(b) + m->owed == 0) {
			build_apply(b, NULL);
			m->owed = false;
			m->nadded = 0;
			return;
		}
		build_lost(b);
		m->failures--;
		for (unsigned int i = 0; i < m->nadded; i++)
			m->lost[m->added[i]] = true;
		m->nadded = 0;
		assert_int_equal(nfqd_batcher_sweep_seen(b, NF_DROP), 0);
		m->owed = true;
		if (attempt > 0)
			return;
	}
}

/* The worker classifies the packets it read and hands their verdicts to the batcher. */
static void model_classify(struct nfqd_batcher *b, struct worker_model *m, const unsigned int *read,
			   unsigned int *nread, const struct nfqd_verdict *v)
{
	for (unsigned int i = 0; i < *nread; i++) {
		add_ok(b, &v[read[i]]);
		m->added[m->nadded++] = read[i];
	}
	*nread = 0;
}

/*
 * The worker's life: a long stream with lost and unreadable packets, read in batches, and sends
 * that fail now and then. Calls come in the order daemon/worker.c makes them: packets read are
 * held until classified at the end of the batch; an unreadable message met first classifies the
 * packets read before it, then asks for a sweep; each turn ends with flush() and then, if a sweep
 * is owed, another flush(); the end drains and sweeps all. Every readable packet gets its own
 * verdict (or the fail-side one when its send was lost), every unreadable one the sweep's, and
 * only sweeps ever miss.
 */
static void test_stream_with_unreadable_packets_gives_each_packet_one_right_verdict(void **state)
{
	static struct nfqd_verdict v[SIM_MAX];
	static bool unreadable[SIM_MAX];
	static struct worker_model m;
	unsigned int read[SIM_MAX];
	struct nfqd_batcher *b;
	unsigned int i, k, pos, total = 3000, capacity, round, done, nread, lost_sends = 0;
	uint32_t id, top = 0;
	bool seen;

	(void)state;
	for (round = 0; round < 8; round++) {
		capacity = round < 4 ? 32 : 5;
		b = batcher(capacity, NFQD_BATCHER_ORDERED);
		sim_reset(&sim);
		memset(&m, 0, sizeof(m));
		id = round % 2 ? 0xfffffc00u : 1;
		for (i = 0; i < total; i++) {
			if (rnd() % 10 == 0)
				id += 1 + rnd() % 3;
			unreadable[i] = rnd() % (round < 4 ? 12 : 3) == 0;
			v[i] = classes[rnd() % NCLASSES_ALL];
			if (i > 0 && rnd() % 4 != 0)
				v[i] = v[i - 1];
			v[i].id = id++;
			sim_queue(&sim, v[i].id);
		}
		pos = 0;
		done = 0;
		seen = false;
		while (pos < total) {
			/* rounds 2, 3, 6, 7: now and then one, two or three sends in a row fail */
			if (round % 4 >= 2 && m.failures == 0 && rnd() % 6 == 0) {
				m.failures = 1 + rnd() % 3;
				lost_sends += m.failures;
			}
			/* a received batch: unreadable messages take room too */
			k = 1 + rnd() % capacity;
			nread = 0;
			for (i = 0; i < k && pos < total; pos++) {
				if (unreadable[pos]) {
					model_classify(b, &m, read, &nread, v);
					assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 0), 0);
					continue;
				}
				read[nread++] = pos;
				top = v[pos].id;
				seen = true;
				i++;
			}
			model_classify(b, &m, read, &nread, v);
			model_flush(b, &m);
			if (m.owed)
				model_flush(b, &m);
			assert_int_equal(sim.enoent, 0);
			if (m.owed)
				continue;
			/* nothing owed: everything up to the highest id read has had its verdict */
			for (; done < pos && seen && !after(v[done].id, top); done++) {
				if (unreadable[done] || m.lost[done])
					assert_pkt_swept(&sim.pkt[done], NF_DROP);
				else
					assert_pkt_fate(&sim.pkt[done], &v[done]);
			}
			for (i = pos; i < total; i++)
				assert_pkt_untouched(&sim.pkt[i]);
		}
		m.failures = 0;
		assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 1), 0);
		model_flush(b, &m);
		assert_int_equal(sim.enoent, 0);
		for (i = 0; i < total; i++) {
			if (unreadable[i] || m.lost[i])
				assert_pkt_swept(&sim.pkt[i], NF_DROP);
			else
				assert_pkt_fate(&sim.pkt[i], &v[i]);
		}
		nfqd_batcher_free(b);
	}
	/* the failing rounds did fail sends */
	assert_true(lost_sends > 100);
}

/* ---- packets a previous reader left (crash re-queue) ---- */

/*
 * The dead reader read 100..104 and answered none; this one reads from 105. Its first build
 * re-queues 100..104 with NF_REPEAT, first of all: its own batch up to 110 would otherwise
 * give them its accept.
 */
static void test_orphans_are_repeated_before_the_first_builds_batch(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);

	(void)state;
	sim_reset(&sim);
	queue_range(100, 120);
	assert_int_equal(nfqd_batcher_orphans(b, NF_REPEAT), 0);
	assert_true(nfqd_batcher_orphans_pending(b));
	add_range(b, 105, 110, NF_ACCEPT);
	assert_int_equal(build_apply(b, NULL), 2);
	assert_int_equal(sim.leading_sweeps, 1);
	assert_int_equal(sim.sweep_enoent, 0);
	assert_swept_range(100, 104, NF_REPEAT);
	assert_range(105, 110, NF_ACCEPT);
	assert_untouched(111);
	nfqd_batcher_orphans_sent(b);
	assert_false(nfqd_batcher_orphans_pending(b));
	/* done once: the next build holds its own verdicts only */
	add_range(b, 111, 112, NF_ACCEPT);
	assert_int_equal(build_apply(b, NULL), 1);
	assert_int_equal(sim.sweeps, 0);
	nfqd_batcher_free(b);
}

/* A request waits for a build with entries: the first id read is the bound. */
static void test_orphans_wait_for_the_first_id(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);

	(void)state;
	sim_reset(&sim);
	queue_range(100, 110);
	assert_int_equal(nfqd_batcher_orphans(b, NF_REPEAT), 0);
	assert_int_equal(build_apply(b, NULL), 0);
	nfqd_batcher_orphans_sent(b); /* nothing went out: still pending */
	assert_true(nfqd_batcher_orphans_pending(b));
	add_range(b, 103, 103, NF_DROP);
	assert_int_equal(build_apply(b, NULL), 2);
	assert_swept_range(100, 102, NF_REPEAT);
	assert_range(103, 103, NF_DROP);
	assert_untouched(104);
	nfqd_batcher_free(b);
}

/*
 * The send carrying the re-queue is lost, and the lost verdicts are swept: the re-queue goes
 * out again, before the sweep, which would otherwise give the orphans the fail-side verdict.
 */
static void test_orphans_survive_a_lost_send_and_precede_the_seen_sweep(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);

	(void)state;
	sim_reset(&sim);
	queue_range(100, 120);
	assert_int_equal(nfqd_batcher_orphans(b, NF_REPEAT), 0);
	add_range(b, 105, 110, NF_ACCEPT);
	assert_int_equal(build_lost(b), 2);
	assert_int_equal(nfqd_batcher_sweep_seen(b, NF_DROP), 0);
	assert_int_equal(build_apply(b, NULL), 2);
	assert_int_equal(sim.leading_sweeps, 2);
	assert_swept_range(100, 104, NF_REPEAT);
	assert_swept_range(105, 110, NF_DROP);
	assert_untouched(111);
	nfqd_batcher_orphans_sent(b);
	assert_int_equal(build_apply(b, NULL), 0);
	nfqd_batcher_free(b);
}

/* An explicit bound (socket empty, packets queued) goes out with an empty build. */
static void test_orphans_upto_goes_out_without_entries(void **state)
{
	struct nfqd_batcher *b = batcher(64, NFQD_BATCHER_ORDERED);

	(void)state;
	sim_reset(&sim);
	queue_range(100, 106);
	assert_int_equal(nfqd_batcher_orphans_upto(b, NF_REPEAT, 104), 0);
	assert_int_equal(build_apply(b, NULL), 1);
	assert_swept_range(100, 104, NF_REPEAT);
	assert_untouched(105);
	nfqd_batcher_orphans_sent(b);
	assert_false(nfqd_batcher_orphans_pending(b));
	assert_int_equal(build_apply(b, NULL), 0);
	/* cancel forgets a request */
	assert_int_equal(nfqd_batcher_orphans(b, NF_REPEAT), 0);
	nfqd_batcher_orphans_cancel(b);
	add_range(b, 105, 106, NF_ACCEPT);
	assert_int_equal(build_apply(b, NULL), 1);
	assert_int_equal(sim.sweeps, 0);
	nfqd_batcher_free(b);
}

static void test_orphans_need_ordered_and_a_valid_verdict(void **state)
{
	struct nfqd_batcher *b = batcher(4, 0), *o = batcher(4, NFQD_BATCHER_ORDERED);

	(void)state;
	assert_int_equal(nfqd_batcher_orphans(b, NF_REPEAT), -EOPNOTSUPP);
	assert_int_equal(nfqd_batcher_orphans(o, NF_STOLEN), -EINVAL);
	assert_int_equal(nfqd_batcher_orphans_upto(o, NF_STOLEN, 5), -EINVAL);
	assert_false(nfqd_batcher_orphans_pending(o));
	nfqd_batcher_free(b);
	nfqd_batcher_free(o);
}

/* ---- unordered transports: the lost build again, the sweep of what was read, the re-queue ---- */

/*
 * Read 1..10 out of order, 4 and 7 unreadable, 11 not read yet: the sweep of what was read goes
 * after the singles and gives only 4 and 7 its verdict, and reaches nothing above the highest id
 * read.
 */
static void test_sweep_read_goes_after_the_singles_and_takes_only_the_unreadable(void **state)
{
	static const uint32_t order[] = { 3, 1, 2, 9, 10, 5, 6, 8 };
	struct nfqd_batcher *b = batcher(16, 0);
	struct nfqd_batch_stats st;
	unsigned int i;

	(void)state;
	sim_reset(&sim);
	queue_range(1, 11);
	assert_int_equal(nfqd_batcher_sweep_read(b, NF_DROP), 0);
	/* with no id ever added there is nothing read to sweep */
	assert_int_equal(build_apply(b, NULL), 0);
	for (i = 0; i < 8; i++)
		add_ok(b, &(struct nfqd_verdict){ .id = order[i], .verdict = NF_ACCEPT });
	assert_int_equal(nfqd_batcher_sweep_read(b, NF_DROP), 0);
	assert_int_equal(build_apply(b, &st), 9);
	assert_int_equal(st.batch_messages, 1);
	assert_true(sim.last_is_batch == false && sim.sweeps == 1);
	assert_int_equal(sim.sweep_enoent, 0);
	for (i = 0; i < 8; i++)
		assert_fate(&(struct nfqd_verdict){ .id = order[i], .verdict = NF_ACCEPT });
	assert_swept(4, NF_DROP);
	assert_swept(7, NF_DROP);
	assert_untouched(11);
	/* a request is served once */
	assert_int_equal(build_apply(b, NULL), 0);
	nfqd_batcher_free(b);
}

/*
 * With an ordered batcher too it comes after the build's own verdicts, their batch message
 * included: here it finds nothing left (ENOENT) and 9, not read, stays queued.
 */
static void test_sweep_read_with_ordered_follows_the_batch(void **state)
{
	struct nfqd_batcher *b = batcher(16, NFQD_BATCHER_ORDERED);
	struct nfqd_batch_stats st;
	uint32_t id;

	(void)state;
	sim_reset(&sim);
	queue_range(1, 9);
	add_range(b, 1, 8, NF_ACCEPT);
	assert_int_equal(nfqd_batcher_sweep_read(b, NF_DROP), 0);
	assert_int_equal(build_apply(b, &st), 2);
	assert_int_equal(sim.sweeps, 1);
	assert_int_equal(sim.leading_sweeps, 0);
	assert_int_equal(sim.sweep_enoent, 1);
	for (id = 1; id <= 8; id++)
		assert_fate(&(struct nfqd_verdict){ .id = id, .verdict = NF_ACCEPT });
	assert_untouched(9);
	nfqd_batcher_free(b);
}

/*
 * A failed send: the next build, even with nothing added, is the failed one again, byte for
 * byte, with its counts; after a second failure with new verdicts added, both go out, the
 * failed build first.
 */
static void test_unsent_build_goes_out_again_first_even_with_nothing_added(void **state)
{
	struct nfqd_batcher *b = batcher(4, 0);
	struct nfqd_batch_stats st;
	static char first[4096];
	const void *buf;
	size_t len, flen;
	uint32_t id;

	(void)state;
	sim_reset(&sim);
	sim.unordered = true;
	queue_range(1, 8);
	for (id = 1; id <= 3; id++)
		add_ok(b, &(struct nfqd_verdict){ .id = id, .verdict = NF_DROP });
	assert_int_equal(nfqd_batcher_sweep_read(b, NF_ACCEPT), 0);
	assert_int_equal(nfqd_batcher_build(b, &buf, &flen, NULL), 4);
	assert_true(flen <= sizeof(first));
	memcpy(first, buf, flen);
	/* nothing reached the kernel */
	assert_int_equal(nfqd_batcher_unsent(b), 0);
	assert_int_equal(nfqd_batcher_build(b, &buf, &len, &st), 4);
	assert_int_equal(len, flen);
	assert_memory_equal(buf, first, flen);
	assert_int_equal(st.verdicts, 3);
	assert_int_equal(st.batch_messages, 1);
	/* lost again; meanwhile 5..8 were read (4 unreadable): the old sweep covers up to 3 */
	assert_int_equal(nfqd_batcher_unsent(b), 0);
	for (id = 5; id <= 8; id++)
		add_ok(b, &(struct nfqd_verdict){ .id = id, .verdict = NF_ACCEPT });
	assert_int_equal(nfqd_batcher_sweep_read(b, NF_ACCEPT), 0);
	assert_int_equal(build_apply(b, &st), 4 + 5);
	assert_int_equal(st.verdicts, 7);
	assert_int_equal(sim.sweep_enoent, 1);
	for (id = 1; id <= 3; id++)
		assert_fate(&(struct nfqd_verdict){ .id = id, .verdict = NF_DROP });
	assert_swept(4, NF_ACCEPT);
	for (id = 5; id <= 8; id++)
		assert_fate(&(struct nfqd_verdict){ .id = id, .verdict = NF_ACCEPT });
	/* sent: nothing is owed any more */
	assert_int_equal(build_apply(b, NULL), 0);
	nfqd_batcher_free(b);
}

/*
 * The bound of the buffer: a failed full build plus a full new one fit (the longest messages,
 * every sweep; ASan watches). A caller that fails that one too and adds more gets the two failed
 * ones first and its new verdicts in the build after, none lost (17..24 are queued only after
 * the sweep of everything, which would take them otherwise).
 */
static void test_unsent_full_builds_fit_and_what_does_not_waits(void **state)
{
	struct nfqd_batcher *b = batcher(8, 0);
	struct nfqd_batch_stats st;
	struct nfqd_verdict v;
	const void *buf;
	size_t len;
	uint32_t id;

	(void)state;
	sim_reset(&sim);
	sim.unordered = true;
	queue_range(1, 16);
	for (id = 1; id <= 16; id++) {
		v = mk(id, NF_QUEUE_NR(65535u), F_MARK | F_CT, 0xffffffffu, 0xffffffffu);
		add_ok(b, &v);
		if (id == 8 || id == 16) {
			assert_int_equal(nfqd_batcher_orphans_upto(b, NF_REPEAT, 0), 0);
			assert_int_equal(nfqd_batcher_sweep_read(b, NF_DROP), 0);
			/* the drain's sweep, after which nothing more is read */
			if (id == 16)
				assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 1), 0);
			assert_true(nfqd_batcher_build(b, &buf, &len, NULL) > 0);
			assert_int_equal(nfqd_batcher_unsent(b), 0);
			/* the re-queue went out in the failed build: it goes again only with it */
			nfqd_batcher_orphans_cancel(b);
		}
	}
	for (id = 17; id <= 24; id++)
		add_ok(b, &(struct nfqd_verdict){ .id = id, .verdict = NF_ACCEPT });
	assert_int_equal(nfqd_batcher_build(b, &buf, &len, &st), 2 * (8 + 1 + 1) + 3);
	assert_int_equal(st.verdicts, 16);
	assert_int_equal(nfqd_batcher_pending(b), 8);
	sim_apply(&sim, buf, len);
	if (sim.errors)
		fail_msg("kernel simulation: %s", sim.error);
	queue_range(17, 24);
	for (id = 1; id <= 16; id++) {
		v = mk(id, NF_QUEUE_NR(65535u), F_MARK | F_CT, 0xffffffffu, 0xffffffffu);
		assert_fate(&v);
	}
	assert_int_equal(build_apply(b, &st), 8);
	for (id = 17; id <= 24; id++)
		assert_fate(&(struct nfqd_verdict){ .id = id, .verdict = NF_ACCEPT });
	nfqd_batcher_free(b);
}

/*
 * Without ORDERED the re-queue goes after the build's own verdicts: 6 and 7 came into the ring
 * after its set-up, below the kernel's last id 7 read then, and were read (out of order) before
 * the reader caught up. Only 1..5, whose messages nobody will read, are re-queued.
 */
static void test_unordered_orphans_upto_follow_the_singles(void **state)
{
	struct nfqd_batcher *b = batcher(8, 0);
	struct nfqd_batch_stats st;

	(void)state;
	sim_reset(&sim);
	queue_range(1, 9);
	add_ok(b, &(struct nfqd_verdict){ .id = 8, .verdict = NF_DROP });
	add_ok(b, &(struct nfqd_verdict){ .id = 6, .verdict = NF_ACCEPT });
	add_ok(b, &(struct nfqd_verdict){ .id = 7, .verdict = NF_DROP });
	assert_int_equal(nfqd_batcher_orphans_upto(b, NF_REPEAT, 7), 0);
	assert_true(nfqd_batcher_orphans_pending(b));
	assert_int_equal(build_apply(b, &st), 4);
	assert_swept_range(1, 5, NF_REPEAT);
	assert_fate(&(struct nfqd_verdict){ .id = 6, .verdict = NF_ACCEPT });
	assert_fate(&(struct nfqd_verdict){ .id = 7, .verdict = NF_DROP });
	assert_fate(&(struct nfqd_verdict){ .id = 8, .verdict = NF_DROP });
	assert_untouched(9);
	/* once emitted it is not emitted again; the send done, it is no longer pending */
	assert_int_equal(build_apply(b, NULL), 0);
	assert_true(nfqd_batcher_orphans_pending(b));
	nfqd_batcher_orphans_sent(b);
	assert_false(nfqd_batcher_orphans_pending(b));
	nfqd_batcher_free(b);
}

/* The drain without ORDERED: every packet still queued, read or not, gets the sweep's verdict. */
static void test_unordered_sweep_all_takes_every_queued_packet(void **state)
{
	struct nfqd_batcher *b = batcher(8, 0);

	(void)state;
	sim_reset(&sim);
	queue_range(0xfffffff0u, 0x10);
	add_ok(b, &(struct nfqd_verdict){ .id = 3, .verdict = NF_ACCEPT });
	add_ok(b, &(struct nfqd_verdict){ .id = 0xfffffff5u, .verdict = NF_ACCEPT });
	assert_int_equal(nfqd_batcher_sweep(b, NF_DROP, 1), 0);
	assert_int_equal(build_apply(b, NULL), 2 + 3);
	assert_fate(&(struct nfqd_verdict){ .id = 3, .verdict = NF_ACCEPT });
	assert_fate(&(struct nfqd_verdict){ .id = 0xfffffff5u, .verdict = NF_ACCEPT });
	for (unsigned int i = 0; i < sim.n; i++)
		if (sim.pkt[i].id != 3 && sim.pkt[i].id != 0xfffffff5u)
			assert_pkt_swept(&sim.pkt[i], NF_DROP);
	nfqd_batcher_free(b);
}

/* ---- a model kernel ring: ids given in another order than frames, thousands of runs ---- */

#define RING_MAX 32

/*
 * nfnetlink_queue on an mmap ring (Linux 3.10-4.5): a packet's message frame is allocated in ring
 * order and marked RESERVED before the queue lock is taken; under the lock the packet gets its
 * id and is queued, and its frame turns VALID. Several CPUs build messages at once, so frames in
 * build get their ids in any order. The reader takes VALID frames from its head and stops at the
 * first that is not; it has caught up when its head frame is UNUSED, i.e. it took every frame
 * the kernel allocated. Frames are numbered for ever; frame f lies in slot f % frames.
 */
struct ring_model {
	unsigned int frames;
	unsigned int alloc;    /* frames the kernel allocated */
	unsigned int taken;    /* frames the reader took */
	unsigned int released; /* frames handed back to the kernel */
	bool valid[RING_MAX];
	bool unreadable[RING_MAX];
	uint32_t id[RING_MAX];
	uint32_t id_seq; /* the kernel's last id given */
	uint32_t base;	 /* id_seq at the start: packet id base + k + 1 is sim.pkt[k] */
	bool frozen;
};

/*
 * daemon/worker.c on a transport without NFQD_TRANSPORT_ORDERED, as it calls the batcher: a
 * failed send is re-emitted (unsent) and nothing is received while it is owed; unreadable
 * messages are swept by sweep_read at caught-up points (a second time after a packet read past
 * the first, for an unreadable id above every id read); the re-queue of the packets whose
 * messages the ring's set-up threw away goes at the first caught-up point.
 */
struct ring_worker {
	bool owed;
	bool unread_met;	/* unreadable messages since the last caught-up point */
	bool unread_wait;	/* unreadable ones perhaps above every id read at that point */
	bool unread_wait_added; /* ... and a packet was read since */
	bool orphans_owed;
	uint32_t orphans_upto;
	unsigned int fail_pct; /* sends that fail, in percent */
	/* what happened, so that the test knows it tested it */
	unsigned int failed_sends, sweep_reads, out_of_order, unreadables, orphans;
	unsigned int settled_unreadables; /* given their verdict before the drain */
};

static uint64_t model_seed;

#define model_fail(...)                                                                            \
	fail_msg("seed %llu: %s", (unsigned long long)model_seed, model_text(__VA_ARGS__))

static const char *model_text(const char *fmt, ...)
{
	static char text[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return text;
}

/* The verdict the classifier gives packet id (any function of the id will do). */
static struct nfqd_verdict ring_verdict(uint32_t id)
{
	struct nfqd_verdict v = classes[(id * 2654435761u >> 7) % NCLASSES_ALL];

	v.id = id;
	return v;
}

static struct sim_pkt *ring_pkt(const struct ring_model *r, uint32_t id)
{
	return &sim.pkt[id - r->base - 1];
}

/* The kernel allocates a frame for a packet; with the ring full the packet is not queued. */
static void ring_alloc(struct ring_model *r)
{
	unsigned int slot = r->alloc % r->frames;

	if (r->frozen || r->alloc - r->released == r->frames)
		return;
	r->valid[slot] = false;
	r->alloc++;
}

/* One of the frames in build, any of them, gets its id and turns VALID. */
static void ring_complete(struct ring_model *r, unsigned int unreadable_pct)
{
	unsigned int building = 0, pick, f, slot;
	struct sim_pkt *p;

	for (f = r->taken; f != r->alloc; f++)
		building += !r->valid[f % r->frames];
	if (building == 0)
		return;
	pick = rnd() % building;
	for (f = r->taken;; f++) {
		if (r->valid[f % r->frames])
			continue;
		if (pick-- == 0)
			break;
	}
	slot = f % r->frames;
	r->id[slot] = ++r->id_seq;
	r->valid[slot] = true;
	r->unreadable[slot] = rnd() % 100 < unreadable_pct;
	sim_queue(&sim, r->id_seq);
	p = ring_pkt(r, r->id_seq);
	p->unread = true;
}

static void ring_flush(struct nfqd_batcher *b, struct ring_worker *w)
{
	const void *buf;
	size_t len;

	for (int attempt = 0;; attempt++) {
		if (nfqd_batcher_build(b, &buf, &len, NULL) < 0)
			model_fail("build failed");
		if (len == 0) {
			w->owed = false;
			return;
		}
		if (rnd() % 100 >= w->fail_pct) {
			sim_apply(&sim, buf, len);
			if (sim.errors)
				model_fail("kernel: %s", sim.error);
			if (sim.enoent || sim.einval)
				model_fail(
					"a single verdict found no packet (%u) or was refused (%u)",
					sim.enoent, sim.einval);
			w->owed = false;
			nfqd_batcher_orphans_sent(b);
			if (nfqd_batcher_pending(b) == 0)
				return;
			continue;
		}
		w->failed_sends++;
		if (nfqd_batcher_unsent(b) < 0)
			model_fail("unsent refused");
		w->owed = true;
		if (attempt > 0)
			return;
	}
}

/* What the worker asks for after a receive: caught says whether it caught up, added whether it
 * added a verdict. */
static void ring_settle(struct nfqd_batcher *b, struct ring_worker *w, bool caught, bool added)
{
	bool tail;

	if (!caught) {
		if (w->unread_wait && added)
			w->unread_wait_added = true;
		return;
	}
	if (w->orphans_owed) {
		if (nfqd_batcher_orphans_upto(b, NF_REPEAT, w->orphans_upto) < 0)
			model_fail("orphans_upto refused");
		w->orphans_owed = false;
	}
	tail = w->unread_wait && (w->unread_wait_added || added);
	if (w->unread_met || tail) {
		if (nfqd_batcher_sweep_read(b, NF_DROP) < 0)
			model_fail("sweep_read refused");
		w->sweep_reads++;
	}
	w->unread_wait = w->unread_met || (w->unread_wait && !tail);
	w->unread_wait_added = false;
	w->unread_met = false;
}

/*
 * When each unreadable packet must have had its verdict, from the ring's events alone (not the
 * worker's flags): its message taken (stage 0), a receive that caught up (1), a readable packet
 * taken by a later receive, whose id is then above its own (2), a receive that caught up (3, due):
 * once no failed build is owed after that, it is no longer queued.
 */
struct ring_oracle {
	unsigned int idx[SIM_MAX]; /* indexes in sim.pkt of the unreadable packets followed */
	unsigned char stage[SIM_MAX];
	unsigned int n;
	unsigned int due_checked; /* packets found done when due */
};

static void oracle_turn(struct ring_oracle *o, bool added, bool caught, bool owed)
{
	unsigned int i, m = 0;

	for (i = 0; i < o->n; i++) {
		unsigned char s = o->stage[i];

		if (s == 0 && caught)
			o->stage[i] = 1;
		else if (s == 1 && added)
			o->stage[i] = caught ? 3 : 2;
		else if (s == 2 && caught)
			o->stage[i] = 3;
		if (o->stage[i] == 3 && !owed) {
			if (sim.pkt[o->idx[i]].queued)
				model_fail("unreadable id %u still queued when due",
					   sim.pkt[o->idx[i]].id);
			o->due_checked++;
			continue;
		}
		if (!sim.pkt[o->idx[i]].queued)
			continue;
		o->idx[m] = o->idx[i];
		o->stage[m++] = o->stage[i];
	}
	o->n = m;
}

/* One turn of the worker: the owed build first; else a receive, its verdicts, the release. */
static void ring_turn(struct nfqd_batcher *b, struct ring_model *r, struct ring_worker *w,
		      struct ring_oracle *o, unsigned int batch)
{
	unsigned int k = 1 + rnd() % batch, slot;
	struct nfqd_verdict v;
	uint32_t prev = 0;
	bool added = false, caught, have_prev = false;

	if (w->owed) {
		ring_flush(b, w);
		if (w->owed) {
			oracle_turn(o, false, false, true);
			return;
		}
	}
	while (k-- > 0 && r->taken != r->alloc && r->valid[r->taken % r->frames]) {
		slot = r->taken++ % r->frames;
		ring_pkt(r, r->id[slot])->unread = false;
		if (r->unreadable[slot]) {
			o->idx[o->n] = (unsigned int)(ring_pkt(r, r->id[slot]) - sim.pkt);
			o->stage[o->n++] = 0;
			w->unread_met = true;
			w->unreadables++;
			continue;
		}
		if (have_prev && after(prev, r->id[slot]))
			w->out_of_order++;
		prev = r->id[slot];
		have_prev = true;
		v = ring_verdict(r->id[slot]);
		add_ok(b, &v);
		added = true;
	}
	caught = r->taken == r->alloc;
	ring_settle(b, w, caught, added);
	ring_flush(b, w);
	/* after the verdicts, as nfqd_transport_release() */
	r->released = r->taken;
	oracle_turn(o, added, caught, w->owed);
}

enum ring_kind {
	RING_READABLE,
	RING_UNREADABLE,
	RING_ORPHAN, /* queued before the ring's set-up: its message is gone */
	RING_KIND_MAX,
};

/* Why packet p of kind k has the wrong fate, or NULL; repeat: it is re-queued with the orphans. */
static const char *ring_fate_error(const struct sim_pkt *p, enum ring_kind k, bool repeat)
{
	struct nfqd_verdict v = ring_verdict(p->id);

	if (k == RING_READABLE)
		return fate_error(p, &v);
	if (p->verdicts != 1 || p->queued)
		return p->verdicts ? "more than one verdict" : "no verdict";
	if (!p->by_sweep || p->has_mark || p->verdict != (repeat ? NF_REPEAT : NF_DROP))
		return repeat ? "not re-queued by the sweep" : "not the sweep's fail-side verdict";
	return NULL;
}

/*
 * Nothing owed: every packet whose message the worker took has its one right verdict (from
 * *lo on; *lo moves past the packets done).
 */
static void ring_check_settled(const enum ring_kind *kind, unsigned int *lo, uint32_t s_id)
{
	const char *err;

	while (*lo < sim.n && !sim.pkt[*lo].queued)
		(*lo)++;
	for (unsigned int i = *lo; i < sim.n; i++) {
		const struct sim_pkt *p = &sim.pkt[i];

		if (p->unread || kind[i] == RING_ORPHAN)
			continue;
		err = ring_fate_error(p, kind[i], !after(p->id, s_id));
		if (err)
			model_fail("id %u (%s, taken, nothing owed): %s", p->id,
				   kind[i] == RING_UNREADABLE ? "unreadable" : "readable", err);
	}
}

/*
 * The worker's paths on a ring whose ids come out of order, over thousands of seeded runs: a
 * random ring size, batch, share of unreadable messages and of failed sends; packets a previous
 * reader left (re-queued once caught up); frames completed in random order; the reader taking
 * only a prefix of complete frames; at the end a drain (freeze, read all, sweep all). Whenever
 * nothing is owed every message taken has had its packet's one right verdict; no verdict ever
 * reaches a packet whose message was not taken; at the end the queue is empty, every readable
 * packet has its own verdict, every unreadable one the fail-side verdict of a sweep, and every
 * orphan NF_REPEAT.
 */
static void test_ring_model_gives_every_packet_one_right_verdict_in_any_order(void **state)
{
	static enum ring_kind kind[SIM_MAX];
	static struct ring_oracle oracle;
	struct ring_worker total = { 0 };
	unsigned int run, runs = 3000, due_checked = 0;
	uint64_t saved = rng_state;

	(void)state;
	for (run = 0; run < runs; run++) {
		struct ring_model r = { 0 };
		struct ring_worker w = { 0 };
		unsigned int batch, unreadable_pct, packets, i, lo = 0, pre;
		struct nfqd_batcher *b;
		uint32_t s_id;
		const char *err;

		model_seed = 0x5eed0000ull + run;
		rng_state = model_seed * 0x9e3779b97f4a7c15ull | 1;
		r.frames = 2 + rnd() % (RING_MAX - 1);
		batch = 1 + rnd() % (r.frames + 2);
		unreadable_pct = (unsigned int[]){ 0, 5, 30 }[rnd() % 3];
		w.fail_pct = (unsigned int[]){ 0, 10, 40 }[rnd() % 3];
		packets = 50 + rnd() % 350;
		r.base = run % 2 ? 0xffffff00u : 0;
		r.id_seq = r.base;
		b = batcher(batch, 0);
		sim_reset(&sim);
		sim.unordered = true;
		oracle.n = 0;

		/* a previous reader's packets, then a few that reached the new ring before the
		 * kernel's last id was read, and frames in build */
		for (i = rnd() % 3 ? rnd() % 20 : 0; i > 0; i--) {
			sim_queue(&sim, ++r.id_seq);
			kind[sim.n - 1] = RING_ORPHAN;
			w.orphans++;
		}
		for (pre = rnd() % 4; pre > 0; pre--) {
			ring_alloc(&r);
			ring_complete(&r, unreadable_pct);
			kind[sim.n - 1] = r.unreadable[(r.alloc - 1) % r.frames] ? RING_UNREADABLE
										 : RING_READABLE;
		}
		s_id = r.id_seq;
		w.orphans_owed = sim.n > 0;
		w.orphans_upto = s_id;
		ring_alloc(&r);

		while (sim.n < packets || r.alloc != r.taken) {
			unsigned int what = rnd() % 8;

			if (what < 3 && sim.n < packets) {
				ring_alloc(&r);
			} else if (what < 6) {
				unsigned int before = sim.n;

				ring_complete(&r, unreadable_pct);
				if (sim.n > before) {
					unsigned int slot;

					/* the frame just completed holds the last id */
					for (slot = 0; r.id[slot] != r.id_seq || !r.valid[slot];
					     slot++)
						;
					kind[sim.n - 1] = r.unreadable[slot] ? RING_UNREADABLE
									     : RING_READABLE;
				}
			} else {
				ring_turn(b, &r, &w, &oracle, batch);
				if (!w.owed && !w.unread_met && !w.unread_wait && !w.orphans_owed)
					ring_check_settled(kind, &lo, s_id);
			}
			if (sim.n >= packets)
				r.frozen = true;
		}
		for (i = 0; i < sim.n; i++)
			w.settled_unreadables += kind[i] == RING_UNREADABLE && !sim.pkt[i].queued;
		/* the drain: frozen, every message read, then the sweep of what is left */
		while (w.owed || r.taken != r.alloc)
			ring_turn(b, &r, &w, &oracle, batch);
		for (i = 0; i < sim.n && !sim.pkt[i].queued; i++)
			;
		if (i < sim.n && nfqd_batcher_sweep(b, NF_DROP, 1) < 0)
			model_fail("sweep of everything refused");
		do
			ring_flush(b, &w);
		while (w.owed);
		for (i = 0; i < sim.n; i++) {
			err = ring_fate_error(&sim.pkt[i], kind[i], !after(sim.pkt[i].id, s_id));
			if (err)
				model_fail("id %u (%s) at the end: %s", sim.pkt[i].id,
					   kind[i] == RING_ORPHAN	? "orphan"
					   : kind[i] == RING_UNREADABLE ? "unreadable"
									: "readable",
					   err);
		}
		total.failed_sends += w.failed_sends;
		total.sweep_reads += w.sweep_reads;
		total.out_of_order += w.out_of_order;
		total.unreadables += w.unreadables;
		total.orphans += w.orphans;
		total.settled_unreadables += w.settled_unreadables;
		due_checked += oracle.due_checked;
		oracle.due_checked = 0;
		nfqd_batcher_free(b);
	}
	rng_state = saved;
	/* the runs did what they are meant to test */
	print_message("ring model: %u runs, %u failed sends, %u sweeps of what was read, %u "
		      "packets read below an earlier one, %u unreadable (%u swept before the "
		      "drain, %u checked when due), %u orphans\n",
		      runs, total.failed_sends, total.sweep_reads, total.out_of_order,
		      total.unreadables, total.settled_unreadables, due_checked, total.orphans);
	assert_true(total.failed_sends > 1000 && total.sweep_reads > 1000 &&
		    total.out_of_order > 1000 && total.unreadables > 1000 && total.orphans > 1000);
	/* the sweeps of what was read reach them before the drain, not the drain's sweep */
	assert_true(total.settled_unreadables > total.unreadables / 2);
	assert_true(due_checked > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_every_class_sequence_up_to_8_consecutive_ids_gets_exact_verdicts),
		cmocka_unit_test(
			test_every_class_sequence_up_to_8_with_lost_ids_gets_exact_verdicts),
		cmocka_unit_test(
			test_every_class_sequence_up_to_8_leaves_packets_above_the_batch_queued),
		cmocka_unit_test(
			test_every_sequence_with_connmark_class_up_to_7_never_batches_connmarks),
		cmocka_unit_test(
			test_every_class_sequence_across_id_wraparound_gets_exact_verdicts),
		cmocka_unit_test(test_shuffled_adds_give_the_same_messages_as_ascending_adds),
		cmocka_unit_test(
			test_consecutive_builds_verdict_each_batch_and_leave_later_packets),
		cmocka_unit_test(test_consecutive_builds_across_id_wraparound),
		cmocka_unit_test(test_one_class_batch_is_one_message_a_batch_from_two_packets),
		cmocka_unit_test(test_message_count_examples),
		cmocka_unit_test(test_mark_is_part_of_the_class_only_with_the_mark_flag),
		cmocka_unit_test(
			test_connmark_verdicts_are_singles_carrying_the_nest_and_break_runs),
		cmocka_unit_test(test_worst_case_messages_fit_the_buffer),
		cmocka_unit_test(
			test_unordered_sends_only_ascending_singles_and_touches_no_other_packet),
		cmocka_unit_test(test_duplicates_are_counted_and_the_first_verdict_kept),
		cmocka_unit_test(test_capacity_refuses_one_more_add_until_build),
		cmocka_unit_test(test_add_refuses_verdicts_the_kernel_refuses_and_unknown_flags),
		cmocka_unit_test(test_new_refuses_capacity_0_over_65536_and_unknown_flags),
		cmocka_unit_test(test_full_capacity_65536_with_shuffled_ids_builds),
		cmocka_unit_test(test_empty_build_gives_nothing),
		cmocka_unit_test(test_sweep_needs_ordered_and_a_valid_verdict),
		cmocka_unit_test(
			test_sweep_gives_the_unreadable_packet_the_sweep_verdict_in_the_same_build),
		cmocka_unit_test(test_sweep_waits_for_a_build_with_a_higher_id),
		cmocka_unit_test(test_sweep_before_any_id_covers_the_first_build),
		cmocka_unit_test(test_two_sweep_requests_are_both_served),
		cmocka_unit_test(test_sweep_seq_is_set_on_sweeps_only),
		cmocka_unit_test(test_sweep_all_takes_every_unverdicted_packet),
		cmocka_unit_test(
			test_sweep_all_with_sweep_requests_gives_unreadables_the_sweep_verdict),
		cmocka_unit_test(test_sweep_all_on_an_empty_build_with_no_id_ever_seen),
		cmocka_unit_test(test_sweep_all_reaches_any_queue_of_span_below_2_31),
		cmocka_unit_test(test_sweep_seen_with_no_id_ever_added_sends_nothing),
		cmocka_unit_test(test_sweep_seen_takes_a_lost_send_at_once_without_a_later_id),
		cmocka_unit_test(test_sweep_seen_comes_before_the_builds_own_verdicts),
		cmocka_unit_test(test_sweep_seen_leaves_a_pending_unreadable_to_its_sweep),
		cmocka_unit_test(
			test_stream_with_unreadable_packets_gives_each_packet_one_right_verdict),
		cmocka_unit_test(test_orphans_are_repeated_before_the_first_builds_batch),
		cmocka_unit_test(test_orphans_wait_for_the_first_id),
		cmocka_unit_test(test_orphans_survive_a_lost_send_and_precede_the_seen_sweep),
		cmocka_unit_test(test_orphans_upto_goes_out_without_entries),
		cmocka_unit_test(test_orphans_need_ordered_and_a_valid_verdict),
		cmocka_unit_test(
			test_sweep_read_goes_after_the_singles_and_takes_only_the_unreadable),
		cmocka_unit_test(test_sweep_read_with_ordered_follows_the_batch),
		cmocka_unit_test(test_unsent_build_goes_out_again_first_even_with_nothing_added),
		cmocka_unit_test(test_unsent_full_builds_fit_and_what_does_not_waits),
		cmocka_unit_test(test_unordered_orphans_upto_follow_the_singles),
		cmocka_unit_test(test_unordered_sweep_all_takes_every_queued_packet),
		cmocka_unit_test(test_ring_model_gives_every_packet_one_right_verdict_in_any_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
