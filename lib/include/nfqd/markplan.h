/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mark plan: which bits of the packet mark and the connmark nfqd uses, inside the mark-bits the
 * operator gave it, so that nfqd coexists with other users of the marks. A pure function of the
 * configuration: the daemon and the generated rules (`nfqd rules`) compute the same plan.
 *
 *   marker       set by the generated chain just before its NFQUEUE rule: a packet carrying it
 *                went through that chain, so its other nfqd bits mean what the plan says
 *   flow_accept  flow cache: the connmark of a flow decided "accept" (and, in the packet mark,
 *   flow_drop    the verdict nfqd hands back to the chain for it to save) / decided "drop"
 *   stale        flow cache: set by the chain when a flow's set memberships differ from those
 *                stamped with its verdict, so that the packet is classified again
 *   set_bit[i]   membership of the packet in set lookup i, evaluated by the kernel's `-m set`
 *
 * Bits are handed out from the lowest bit of mark-bits upwards, in the order above.
 */
#ifndef NFQD_MARKPLAN_H
#define NFQD_MARKPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfqd/policy.h"

struct nfqd_markplan {
	uint32_t mark_bits; /* what the operator allowed */
	uint32_t all;	    /* every bit of the plan */
	uint32_t marker;
	uint32_t flow_accept;
	uint32_t flow_drop;
	uint32_t flow; /* flow_accept | flow_drop */
	uint32_t stale;
	uint32_t sets; /* every set_bit */
	uint32_t set_bit[NFQD_POLICY_MAX_LOOKUPS];
	unsigned int n_set_bits;
};

/*
 * Plan the bits: always a marker; with flow_cache the two verdict bits; with set_marks a bit per
 * lookup (n_lookups), and the stale bit when both. Returns 0, or -ENOSPC with why (a sentence
 * naming how many bits are needed and how many mark-bits has) when they do not fit, -EINVAL
 * when n_lookups is over NFQD_POLICY_MAX_LOOKUPS.
 */
int nfqd_markplan_make(struct nfqd_markplan *plan, uint32_t mark_bits, bool flow_cache,
		       bool set_marks, unsigned int n_lookups, char *why, size_t whylen);

/* The membership answers a marked packet carries: known = every lookup with a bit. */
void nfqd_markplan_answers(const struct nfqd_markplan *plan, uint32_t mark,
			   struct nfqd_set_answers *ans);

/* The plan's set bits matching the members of ans (for a stamp). */
uint32_t nfqd_markplan_set_bits(const struct nfqd_markplan *plan,
				const struct nfqd_set_answers *ans);

#endif /* NFQD_MARKPLAN_H */
