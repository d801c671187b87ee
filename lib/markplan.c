/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/markplan.h"

/* The lowest bit of *free, taken out of it; 0 when none is left. */
static uint32_t take_bit(uint32_t *free)
{
	uint32_t bit = *free & (~*free + 1);

	*free &= ~bit;
	return bit;
}

int nfqd_markplan_make(struct nfqd_markplan *plan, uint32_t mark_bits, bool flow_cache,
		       bool set_marks, unsigned int n_lookups, char *why, size_t whylen)
{
	unsigned int have = (unsigned int)__builtin_popcount(mark_bits);
	unsigned int sets = set_marks ? n_lookups : 0;
	unsigned int need = 1 + (flow_cache ? 2 : 0) + sets + (flow_cache && sets ? 1 : 0);
	uint32_t free = mark_bits;

	memset(plan, 0, sizeof(*plan));
	if (n_lookups > NFQD_POLICY_MAX_LOOKUPS)
		return -EINVAL;
	if (need > have) {
		char sets_part[48] = "";

		if (sets)
			snprintf(sets_part, sizeof(sets_part), ", %u set lookup%s", sets,
				 sets == 1 ? "" : "s");
		snprintf(why, whylen,
			 "mark-bits 0x%08x has %u bit%s; this configuration needs %u: 1 "
			 "marker%s%s%s",
			 mark_bits, have, have == 1 ? "" : "s", need,
			 flow_cache ? ", 2 flow-cache verdicts" : "", sets_part,
			 flow_cache && sets ? ", 1 stale flag" : "");
		return -ENOSPC;
	}
	plan->mark_bits = mark_bits;
	plan->marker = take_bit(&free);
	if (flow_cache) {
		plan->flow_accept = take_bit(&free);
		plan->flow_drop = take_bit(&free);
		plan->flow = plan->flow_accept | plan->flow_drop;
		if (sets)
			plan->stale = take_bit(&free);
	}
	for (unsigned int i = 0; i < sets; i++) {
		plan->set_bit[i] = take_bit(&free);
		plan->sets |= plan->set_bit[i];
	}
	plan->n_set_bits = sets;
	plan->all = plan->marker | plan->flow | plan->stale | plan->sets;
	return 0;
}

int nfqd_markplan_add_rejects(struct nfqd_markplan *plan, uint32_t answers, char *why,
			      size_t whylen)
{
	uint32_t free = plan->mark_bits & ~plan->all, field[32];
	unsigned int n, width, code = 0;

	answers &= ((1u << NFQD_REJECT_MAX) - 1) &
		   ~(1u << NFQD_REJECT_NONE | 1u << NFQD_REJECT_DEFAULT);
	n = (unsigned int)__builtin_popcount(answers);
	if (!n)
		return 0;
	width = 32u - (unsigned int)__builtin_clz(n);
	if ((unsigned int)__builtin_popcount(free) < width) {
		unsigned int have = (unsigned int)__builtin_popcount(plan->mark_bits);
		unsigned int other = (unsigned int)__builtin_popcount(plan->all);

		snprintf(why, whylen,
			 "mark-bits 0x%08x has %u bit%s; this configuration needs %u: %u for "
			 "nfqd's other bits and %u for the codes of %u reject answer%s",
			 plan->mark_bits, have, have == 1 ? "" : "s", other + width, other, width,
			 n, n == 1 ? "" : "s");
		return -ENOSPC;
	}
	for (unsigned int j = 0; j < width; j++) {
		field[j] = take_bit(&free);
		plan->reject |= field[j];
	}
	/* code k spread over the field's bits, which need not be adjacent: bit j of k in
	 * field[j] */
	for (int a = 0; a < NFQD_REJECT_MAX; a++) {
		if (!(answers & (1u << a)))
			continue;
		code++;
		for (unsigned int j = 0; j < width; j++)
			if (code & (1u << j))
				plan->reject_code[a] |= field[j];
	}
	plan->all |= plan->reject;
	return 0;
}

void nfqd_markplan_answers(const struct nfqd_markplan *plan, uint32_t mark,
			   struct nfqd_set_answers *ans)
{
	memset(ans, 0, sizeof(*ans));
	for (unsigned int i = 0; i < plan->n_set_bits; i++) {
		ans->known |= 1u << i;
		if (mark & plan->set_bit[i])
			ans->member |= 1u << i;
	}
}

uint32_t nfqd_markplan_set_bits(const struct nfqd_markplan *plan,
				const struct nfqd_set_answers *ans)
{
	uint32_t bits = 0;

	for (unsigned int i = 0; i < plan->n_set_bits; i++)
		if (ans->known & ans->member & (1u << i))
			bits |= plan->set_bit[i];
	return bits;
}

enum nfqd_stamp nfqd_markplan_verdict(const struct nfqd_verdict_env *env,
				      const struct nfqd_packet *pkt, const struct nfqd_decision *d,
				      bool answers_by_test, struct nfqd_verdict *v, uint32_t *stamp)
{
	const struct nfqd_markplan *m = env->plan;
	uint32_t mark = pkt->mark & ~m->all;
	enum nfqd_stamp how = NFQD_STAMP_NONE;

	memset(v, 0, sizeof(*v));
	*stamp = 0;
	v->id = pkt->id;
	v->verdict = d->verdict;
	if (d->flags & NFQD_DECISION_SET_MARK)
		mark = (mark & ~d->mark_mask) | d->mark;

	if (pkt->mark & m->reject) {
		v->verdict = NF_DROP;
		how = NFQD_STAMP_REJECT_LOOP;
	} else if (d->reject != NFQD_REJECT_NONE) {
		bool tcp = (pkt->flags & NFQD_PKT_HAS_PROTO) && pkt->l4_proto == IPPROTO_TCP;
		uint32_t code = m->reject_code[nfqd_reject_answer(d->reject, tcp)];

		v->verdict = NF_DROP;
		how = NFQD_STAMP_REJECT_UNMARKED;
		/* a plan made without this answer has no code for it: dropped as unmarked */
		if ((pkt->mark & m->marker) && code) {
			v->verdict = NF_REPEAT;
			mark |= code;
			how = NFQD_STAMP_REJECT;
		}
	}
	if (how != NFQD_STAMP_NONE)
		goto out;

	/* A flow bit on an incoming packet means the chain could not save it (no conntrack
	 * entry): handing it back again would loop. */
	if (env->flow_cache && (pkt->mark & m->marker) && !(pkt->mark & m->flow) &&
	    (d->verdict == NF_ACCEPT || d->verdict == NF_DROP) &&
	    !(d->flags & (NFQD_DECISION_PER_PACKET | NFQD_DECISION_SET_FAILED)) &&
	    (d->lookups_read == 0 || !answers_by_test)) {
		/* With the memberships it was decided with: the chain compares them with the
		 * current ones for every later packet of the flow. */
		*stamp = (d->verdict == NF_ACCEPT ? m->flow_accept : m->flow_drop) |
			 (pkt->mark & m->sets);
		if (d->verdict == NF_DROP) {
			how = NFQD_STAMP_CREATE;
		} else if (env->conntrack) {
			v->flags |= NFQD_VERDICT_F_CTMARK;
			v->ctmark = *stamp;
			v->ctmark_mask = m->flow | m->sets;
			how = NFQD_STAMP_CTMARK;
		} else {
			v->verdict = NF_REPEAT;
			mark |= *stamp;
			how = NFQD_STAMP_REPEAT;
		}
	}
out:
	if (mark != pkt->mark) {
		v->flags |= NFQD_VERDICT_F_MARK;
		v->mark = mark;
	}
	return how;
}
