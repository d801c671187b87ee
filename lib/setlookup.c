/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nfqd/deadline.h"
#include "nfqd/setlookup.h"

#define TESTS_MAX 4096 /* distinct tests of one batch */

/* Exchanges of one batch at most: the first, and one more per change of a set's header seen
 * in the one before. A set that changes type at every exchange fails the batch's packets. */
#define ROUNDS_MAX 3

/* What a packet's lookup came to before the exchange. */
enum slot_kind {
	SLOT_NONE,	 /* not registered: unknown */
	SLOT_TESTS,	 /* answered by tests first..first+count of the pool */
	SLOT_NOT_MEMBER, /* the kernel's match would not match this packet */
	SLOT_UNKNOWN,	 /* the view lacks a fact the kernel would read */
	SLOT_FAILED,	 /* the set could not be asked */
};

struct slot {
	uint8_t kind;
	uint8_t count;
	uint32_t first;
};

struct lookup {
	const struct nfqd_set_lookup *l;
	struct nfqd_ipset_info info;
	int hdr;			 /* its header check in the batch, -1 when none */
	int hdr_result;			 /* its answer in the last round */
	struct nfqd_ipset_info hdr_info; /* the header it gave */
	uint8_t dirs[NFQD_IPSET_DIMS_MAX];
	/* list:set: its members, read once per batch that needs them */
	bool list_read;
	int list_err;
	unsigned int n_members;
	struct nfqd_ipset_info members[NFQD_SETLOOKUP_LIST_MAX];
	struct nfqd_setlookup_state state;
	int batch_err; /* first failure in this batch */
};

struct nfqd_setlookup {
	struct nfqd_ipset *ipset;
	struct nfqd_ipset_batch *batch;
	unsigned int n_lookups;
	unsigned int max_packets;
	struct lookup *lookups;
	struct slot *slots;		 /* max_packets x n_lookups */
	const struct nfqd_packet **pkts; /* of each slot, until the run */
	int32_t *pool;			 /* test indexes */
	unsigned int pool_size;
	unsigned int pool_used;
	int run_err;
	unsigned int timeout_ms;
	int64_t deadline; /* of this batch's waits; 0 until its first request */
	bool timed_out;	  /* a wait of this batch reached the deadline */
	bool suspect;	  /* the last batch that asked timed out: wait no more (see arm()) */
};

static struct slot *slot_of(const struct nfqd_setlookup *sl, unsigned int pkt, unsigned int i)
{
	return &sl->slots[(size_t)pkt * sl->n_lookups + i];
}

/*
 * `src @S` takes every dimension from one side; `set @S src,dst` gives exactly that many, and a
 * list:set member with more dimensions is not matched, as the kernel's match does with fewer
 * directions than dimensions (0 here makes the element builder refuse it).
 */
static void fill_dirs(struct lookup *lk)
{
	for (unsigned int d = 0; d < NFQD_IPSET_DIMS_MAX; d++) {
		if (lk->l->side)
			lk->dirs[d] = lk->l->side;
		else
			lk->dirs[d] = d < lk->l->ndirs ? lk->l->dirs[d] : 0;
	}
}

int nfqd_setlookup_new(struct nfqd_setlookup **out, const struct nfqd_policy *p,
		       const struct nfqd_ipset_info *infos, unsigned int max_packets)
{
	struct nfqd_setlookup *sl;
	unsigned int n = nfqd_policy_lookup_count(p);
	int r = -ENOMEM;

	if (max_packets == 0)
		return -EINVAL;
	sl = calloc(1, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	sl->n_lookups = n;
	sl->max_packets = max_packets;
	sl->timeout_ms = NFQD_SETLOOKUP_TIMEOUT_MS;
	sl->pool_size = max_packets * (n ? n : 1) * NFQD_SETLOOKUP_LIST_MAX;
	sl->lookups = calloc(n ? n : 1, sizeof(*sl->lookups));
	sl->slots = calloc((size_t)max_packets * (n ? n : 1), sizeof(*sl->slots));
	sl->pool = calloc(sl->pool_size, sizeof(*sl->pool));
	sl->pkts = calloc(max_packets, sizeof(*sl->pkts));
	if (!sl->lookups || !sl->slots || !sl->pool || !sl->pkts)
		goto err;
	for (unsigned int i = 0; i < n; i++) {
		sl->lookups[i].l = nfqd_policy_lookup(p, i);
		sl->lookups[i].info = infos[i];
		fill_dirs(&sl->lookups[i]);
	}
	r = nfqd_ipset_batch_new(&sl->batch, TESTS_MAX);
	if (r < 0)
		goto err;
	r = nfqd_ipset_open(&sl->ipset);
	if (r < 0)
		goto err;
	*out = sl;
	return 0;
err:
	nfqd_setlookup_free(sl);
	return r;
}

void nfqd_setlookup_free(struct nfqd_setlookup *sl)
{
	if (!sl)
		return;
	nfqd_ipset_close(sl->ipset);
	nfqd_ipset_batch_free(sl->batch);
	free(sl->pool);
	free(sl->pkts);
	free(sl->slots);
	free(sl->lookups);
	free(sl);
}

void nfqd_setlookup_begin(struct nfqd_setlookup *sl)
{
	nfqd_ipset_batch_reset(sl->batch);
	sl->pool_used = 0;
	sl->run_err = 0;
	sl->deadline = 0;
	sl->timed_out = false;
	memset(sl->slots, 0, (size_t)sl->max_packets * sl->n_lookups * sizeof(*sl->slots));
	for (unsigned int i = 0; i < sl->n_lookups; i++) {
		struct lookup *lk = &sl->lookups[i];

		lk->list_read = false;
		lk->batch_err = 0;
		lk->hdr = -1;
	}
}

void nfqd_setlookup_set_timeout(struct nfqd_setlookup *sl, unsigned int timeout_ms)
{
	sl->timeout_ms = timeout_ms;
}

bool nfqd_setlookup_timed_out(const struct nfqd_setlookup *sl)
{
	return sl->timed_out;
}

/*
 * Every request of a batch, from the list:set reads of its packets to the last round of its
 * tests, is one exchange: the first starts the clock, and all wait on the same deadline.
 *
 * After a batch that timed out, the next ones wait not at all: they still read every answer
 * the kernel queued inside send(), which is where it gives them, until one gets them all. A
 * kernel that stopped answering then costs one timeout, not one per batch, and cannot stretch
 * the drain of a full queue to max-len / batch timeouts.
 */
static void arm(struct nfqd_setlookup *sl)
{
	if (sl->deadline)
		return;
	sl->deadline = nfqd_deadline_after(nfqd_now_ns(), sl->suspect ? 0 : sl->timeout_ms);
	nfqd_ipset_set_deadline(sl->ipset, sl->deadline);
}

/* r, the result of a request of this batch, noted when it is the deadline's. */
static int noted(struct nfqd_setlookup *sl, int r)
{
	if (r == -ETIMEDOUT)
		sl->timed_out = true;
	return r;
}

/* A list:set's members and their headers, once per batch. */
static void read_list(struct nfqd_setlookup *sl, struct lookup *lk)
{
	char names[NFQD_SETLOOKUP_LIST_MAX][NFQD_IPSET_NAME_MAX];
	int n;

	lk->list_read = true;
	lk->n_members = 0;
	arm(sl);
	n = noted(sl,
		  nfqd_ipset_list_members(sl->ipset, lk->l->set, names, NFQD_SETLOOKUP_LIST_MAX));
	if (n < 0) {
		lk->list_err = n;
		return;
	}
	lk->list_err = 0;
	if (n > NFQD_SETLOOKUP_LIST_MAX)
		n = NFQD_SETLOOKUP_LIST_MAX;
	for (int m = 0; m < n; m++) {
		struct nfqd_ipset_info *info = &lk->members[lk->n_members];
		int r = noted(sl, nfqd_ipset_info(sl->ipset, names[m], info));

		/* Members of another kind of list or of an unsupported type are skipped: the
		 * kernel's match would test them, but nothing here can build their element. A
		 * member that cannot be read fails the list: its answer is unknown. */
		if (r == 0 && info->kind != NFQD_IPSET_LIST)
			lk->n_members++;
		else if (r < 0 && r != -EPROTONOSUPPORT && r != -ENOENT)
			lk->list_err = r;
	}
}

/* Register one test of element e in set `set` for slot s. */
static bool add_test(struct nfqd_setlookup *sl, struct slot *s, const char *set,
		     const struct nfqd_ipset_elem *e)
{
	int idx;

	if (sl->pool_used == sl->pool_size)
		return false;
	idx = nfqd_ipset_batch_add(sl->batch, set, e);
	if (idx < 0)
		return false;
	sl->pool[sl->pool_used++] = idx;
	s->count++;
	return true;
}

static void fail_slot(struct lookup *lk, struct slot *s, int err)
{
	s->kind = SLOT_FAILED;
	if (!lk->batch_err)
		lk->batch_err = err;
}

/*
 * A list:set that is no longer one: take the set's header as it is now. Returns true when the
 * lookup is now of a plain set.
 */
static bool list_became_plain(struct nfqd_setlookup *sl, struct lookup *lk)
{
	struct nfqd_ipset_info info;
	int r;

	arm(sl);
	r = noted(sl, nfqd_ipset_info(sl->ipset, lk->l->set, &info));

	if ((r < 0 && r != -EPROTONOSUPPORT) || info.kind == NFQD_IPSET_LIST)
		return false;
	lk->info = info;
	return true;
}

/*
 * Every answer derived from the cached header (a family or fragment that cannot match, and
 * each test's element) is confirmed by a header check in the same exchange, asked after the
 * tests: see nfqd_setlookup_run().
 */
static void add_plain(struct nfqd_setlookup *sl, struct lookup *lk, struct slot *s,
		      const struct nfqd_packet *pkt)
{
	struct nfqd_ipset_elem e;
	int r;

	if (lk->hdr < 0) {
		lk->hdr = nfqd_ipset_batch_add_header(sl->batch, lk->l->set);
		if (lk->hdr < 0) {
			fail_slot(lk, s, lk->hdr);
			lk->hdr = -1;
			return;
		}
	}
	r = nfqd_ipset_elem_from_packet(&lk->info, lk->dirs, pkt, &e);
	if (r == 0)
		s->kind = SLOT_NOT_MEMBER;
	else if (r == -ENODATA)
		s->kind = SLOT_UNKNOWN;
	else if (r < 0)
		s->kind = SLOT_FAILED;
	else
		s->kind = add_test(sl, s, lk->info.name, &e) ? SLOT_TESTS : SLOT_FAILED;
	if (s->kind == SLOT_FAILED && !lk->batch_err)
		lk->batch_err = r < 0 ? r : -ENOSPC;
}

static void add_one(struct nfqd_setlookup *sl, struct lookup *lk, struct slot *s,
		    const struct nfqd_packet *pkt)
{
	struct nfqd_ipset_elem e;
	unsigned int members = 0;

	s->first = sl->pool_used;
	s->count = 0;
	if (lk->info.kind != NFQD_IPSET_LIST) {
		add_plain(sl, lk, s, pkt);
		return;
	}

	if (!lk->list_read)
		read_list(sl, lk);
	if (lk->list_err == -EINVAL && list_became_plain(sl, lk)) {
		add_plain(sl, lk, s, pkt);
		return;
	}
	if (lk->list_err) {
		s->kind = SLOT_FAILED;
		if (!lk->batch_err)
			lk->batch_err = lk->list_err;
		return;
	}
	/* The kernel's list:set match is a member of any member set. */
	for (unsigned int m = 0; m < lk->n_members; m++) {
		int r = nfqd_ipset_elem_from_packet(&lk->members[m], lk->dirs, pkt, &e);

		if (r == -ENODATA) {
			s->kind = SLOT_UNKNOWN;
			return;
		}
		if (r <= 0)
			continue;
		if (!add_test(sl, s, lk->members[m].name, &e)) {
			s->kind = SLOT_FAILED;
			if (!lk->batch_err)
				lk->batch_err = -ENOSPC;
			return;
		}
		members++;
	}
	s->kind = members ? SLOT_TESTS : SLOT_NOT_MEMBER;
}

void nfqd_setlookup_add(struct nfqd_setlookup *sl, unsigned int slot, const struct nfqd_packet *pkt,
			uint32_t mask)
{
	if (slot >= sl->max_packets)
		return;
	sl->pkts[slot] = pkt;
	for (unsigned int i = 0; i < sl->n_lookups; i++)
		if (mask & (1u << i))
			add_one(sl, &sl->lookups[i], slot_of(sl, slot, i), pkt);
}

/* Fold the results of lookup i's tests into its state. */
static void settle(struct nfqd_setlookup *sl, unsigned int i)
{
	struct lookup *lk = &sl->lookups[i];
	int err = lk->batch_err;

	for (unsigned int p = 0; p < sl->max_packets && !err; p++) {
		const struct slot *s = slot_of(sl, p, i);

		if (s->kind != SLOT_TESTS || lk->info.kind == NFQD_IPSET_LIST)
			continue;
		for (unsigned int t = 0; t < s->count; t++) {
			int r = nfqd_ipset_batch_result(sl->batch,
							(unsigned int)sl->pool[s->first + t]);

			if (r < 0) {
				err = r;
				break;
			}
		}
	}
	lk->state.err = err;
}

/*
 * Compare lookup lk's header check with the header its answers were derived from. Returns true
 * when the set changed and its slots were registered again from the new header (their new tests
 * and a new header check wait for the next round).
 */
static bool confirm(struct nfqd_setlookup *sl, unsigned int i, unsigned int round)
{
	struct lookup *lk = &sl->lookups[i];
	const struct nfqd_ipset_info *info = &lk->hdr_info;
	int r = lk->hdr_result;

	if (lk->hdr < 0)
		return false;
	if (r == 0 || r == -EPROTONOSUPPORT) {
		if (info->family == lk->info.family && strcmp(info->type, lk->info.type) == 0)
			return false;
		lk->info = *info;
		if (round + 1 < ROUNDS_MAX) {
			lk->hdr = -1; /* asked again after the new tests */
			for (unsigned int p = 0; p < sl->max_packets; p++) {
				struct slot *s = slot_of(sl, p, i);

				if (s->kind != SLOT_NONE)
					add_one(sl, lk, s, sl->pkts[p]);
			}
			return true;
		}
		r = -ESTALE;
	}
	/* The set is gone, or changes faster than it can be asked: no answer of this batch
	 * stands, not even those derived without a test. */
	for (unsigned int p = 0; p < sl->max_packets; p++) {
		struct slot *s = slot_of(sl, p, i);

		if (s->kind != SLOT_NONE)
			fail_slot(lk, s, r);
	}
	return false;
}

int nfqd_setlookup_run(struct nfqd_setlookup *sl)
{
	int r = 0;

	/* The header checks go after the tests: a header that still says what the tests were
	 * built from proves they were asked of a set of that type and family. One that does not
	 * makes the lookup's packets be asked again, from the new header, in the same batch. */
	for (unsigned int round = 0; round < ROUNDS_MAX; round++) {
		bool again = false;

		arm(sl);
		r = round == 0 ? nfqd_ipset_batch_run(sl->ipset, sl->batch)
			       : nfqd_ipset_batch_run_new(sl->ipset, sl->batch);
		if (noted(sl, r) < 0) {
			sl->run_err = r;
			break;
		}
		/* Every answer first: lookups of the same set share a header check, which the
		 * first one to register again asks anew. */
		for (unsigned int i = 0; i < sl->n_lookups; i++) {
			struct lookup *lk = &sl->lookups[i];

			if (lk->hdr >= 0)
				lk->hdr_result = nfqd_ipset_batch_header(
					sl->batch, (unsigned int)lk->hdr, &lk->hdr_info);
		}
		for (unsigned int i = 0; i < sl->n_lookups; i++)
			again |= confirm(sl, i, round);
		if (!again)
			break;
	}
	if (sl->deadline)
		sl->suspect = sl->timed_out;
	for (unsigned int i = 0; i < sl->n_lookups; i++) {
		settle(sl, i);
		if (sl->run_err && !sl->lookups[i].state.err)
			sl->lookups[i].state.err = sl->run_err;
	}
	for (unsigned int i = 0; i < sl->n_lookups; i++) {
		/* count per lookup the distinct tests it registered */
		uint64_t t = 0;

		for (unsigned int p = 0; p < sl->max_packets; p++) {
			const struct slot *s = slot_of(sl, p, i);

			if (s->kind == SLOT_TESTS)
				t += s->count;
		}
		sl->lookups[i].state.tests += t;
	}
	return r < 0 ? r : (int)nfqd_ipset_batch_count(sl->batch);
}

void nfqd_setlookup_answers(const struct nfqd_setlookup *sl, unsigned int slot,
			    struct nfqd_set_answers *ans)
{
	memset(ans, 0, sizeof(*ans));
	if (slot >= sl->max_packets)
		return;
	for (unsigned int i = 0; i < sl->n_lookups; i++) {
		const struct slot *s = slot_of(sl, slot, i);
		const struct lookup *lk = &sl->lookups[i];
		uint32_t bit = 1u << i;
		bool member = false, failed = false;

		switch (s->kind) {
		case SLOT_NOT_MEMBER:
			ans->known |= bit;
			break;
		case SLOT_FAILED:
			ans->failed |= bit;
			break;
		case SLOT_TESTS:
			if (sl->run_err) {
				ans->failed |= bit;
				break;
			}
			for (unsigned int t = 0; t < s->count; t++) {
				int r = nfqd_ipset_batch_result(
					sl->batch, (unsigned int)sl->pool[s->first + t]);

				if (r == 1)
					member = true;
				else if (r < 0 && lk->info.kind != NFQD_IPSET_LIST)
					failed = true;
			}
			if (failed) {
				ans->failed |= bit;
			} else {
				ans->known |= bit;
				if (member)
					ans->member |= bit;
			}
			break;
		default:
			break;
		}
	}
}

const struct nfqd_setlookup_state *nfqd_setlookup_state(const struct nfqd_setlookup *sl,
							unsigned int i)
{
	return i < sl->n_lookups ? &sl->lookups[i].state : NULL;
}
