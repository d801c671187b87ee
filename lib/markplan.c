/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
