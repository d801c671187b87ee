/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nfqd/setlookup.h"

#define TESTS_MAX 4096 /* distinct tests of one batch */

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
	bool info_stale;
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
	struct slot *slots; /* max_packets x n_lookups */
	int32_t *pool;	    /* test indexes */
	unsigned int pool_size;
	unsigned int pool_used;
	int run_err;
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
	sl->pool_size = max_packets * (n ? n : 1) * NFQD_SETLOOKUP_LIST_MAX;
	sl->lookups = calloc(n ? n : 1, sizeof(*sl->lookups));
	sl->slots = calloc((size_t)max_packets * (n ? n : 1), sizeof(*sl->slots));
	sl->pool = calloc(sl->pool_size, sizeof(*sl->pool));
	if (!sl->lookups || !sl->slots || !sl->pool)
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
	free(sl->slots);
	free(sl->lookups);
	free(sl);
}

void nfqd_setlookup_begin(struct nfqd_setlookup *sl)
{
	nfqd_ipset_batch_reset(sl->batch);
	sl->pool_used = 0;
	sl->run_err = 0;
	memset(sl->slots, 0, (size_t)sl->max_packets * sl->n_lookups * sizeof(*sl->slots));
	for (unsigned int i = 0; i < sl->n_lookups; i++) {
		struct lookup *lk = &sl->lookups[i];

		lk->list_read = false;
		lk->batch_err = 0;
		/* A set recreated with another type answers with type errors: read it again. */
		if (lk->info_stale) {
			struct nfqd_ipset_info info;
			int r = nfqd_ipset_info(sl->ipset, lk->l->set, &info);

			if (r == 0) {
				lk->info = info;
				lk->info_stale = false;
			} else {
				lk->state.err = r;
			}
		}
	}
}

/* A list:set's members and their headers, once per batch. */
static void read_list(struct nfqd_setlookup *sl, struct lookup *lk)
{
	char names[NFQD_SETLOOKUP_LIST_MAX][NFQD_IPSET_NAME_MAX];
	int n;

	lk->list_read = true;
	lk->n_members = 0;
	n = nfqd_ipset_list_members(sl->ipset, lk->l->set, names, NFQD_SETLOOKUP_LIST_MAX);
	if (n < 0) {
		lk->list_err = n;
		return;
	}
	lk->list_err = 0;
	if (n > NFQD_SETLOOKUP_LIST_MAX)
		n = NFQD_SETLOOKUP_LIST_MAX;
	for (int m = 0; m < n; m++) {
		/* Members of another kind of list or of an unsupported type are skipped: the
		 * kernel's match would test them, but nothing here can build their element. */
		if (nfqd_ipset_info(sl->ipset, names[m], &lk->members[lk->n_members]) == 0 &&
		    lk->members[lk->n_members].kind != NFQD_IPSET_LIST)
			lk->n_members++;
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

static void add_one(struct nfqd_setlookup *sl, struct lookup *lk, struct slot *s,
		    const struct nfqd_packet *pkt)
{
	struct nfqd_ipset_elem e;
	unsigned int members = 0;

	s->first = sl->pool_used;
	s->count = 0;
	if (lk->info.kind != NFQD_IPSET_LIST) {
		int r = nfqd_ipset_elem_from_packet(&lk->info, lk->dirs, pkt, &e);

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
		return;
	}

	if (!lk->list_read)
		read_list(sl, lk);
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
	/* Any refusal but "no such set" may mean the set changed type: read its header again. */
	if (err && err != -ENOENT && err != -ENOSPC)
		lk->info_stale = true;
	lk->state.err = err;
}

int nfqd_setlookup_run(struct nfqd_setlookup *sl)
{
	unsigned int n = nfqd_ipset_batch_count(sl->batch);
	int r = 0;

	if (n > 0) {
		r = nfqd_ipset_batch_run(sl->ipset, sl->batch);
		if (r < 0)
			sl->run_err = r;
	}
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
	return r < 0 ? r : (int)n;
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
