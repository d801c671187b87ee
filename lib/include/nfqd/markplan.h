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
 *   reject       a field coding the reject answer (reject.h) nfqd chose for a packet it hands
 *                back with NF_REPEAT: the chain's `-m mark --mark CODE/FIELD -j REJECT` rules
 *                answer and drop it. Codes 1..n number the distinct answers the policy gives, in
 *                the order of enum nfqd_reject; 0 is "no reject". Its width is what n needs.
 *
 * Bits are handed out from the lowest bit of mark-bits upwards, in the order above.
 */
#ifndef NFQD_MARKPLAN_H
#define NFQD_MARKPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfqd/packet.h"
#include "nfqd/policy.h"
#include "nfqd/reject.h"
#include "nfqd/verdict.h"

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
	uint32_t reject;		       /* the reject field: all its bits */
	uint32_t reject_code[NFQD_REJECT_MAX]; /* each answer's code inside the field, 0 for
						   the answers the policy does not give */
};

/*
 * Plan the bits: always a marker; with flow_cache the two verdict bits; with set_marks a bit per
 * lookup (n_lookups), and the stale bit when both. Returns 0, or -ENOSPC with why (a sentence
 * naming how many bits are needed and how many mark-bits has) when they do not fit, -EINVAL
 * when n_lookups is over NFQD_POLICY_MAX_LOOKUPS.
 */
int nfqd_markplan_make(struct nfqd_markplan *plan, uint32_t mark_bits, bool flow_cache,
		       bool set_marks, unsigned int n_lookups, char *why, size_t whylen);

/*
 * Add the reject field to a plan nfqd_markplan_make() made, for the answers (bit 1u << enum
 * nfqd_reject of each: nfqd_policy_reject_answers()) the policy gives, from the bits of
 * mark-bits still free; nothing when answers is 0. Returns 0, or -ENOSPC with why (how many
 * bits are needed and how many mark-bits has) when they do not fit.
 */
int nfqd_markplan_add_rejects(struct nfqd_markplan *plan, uint32_t answers, char *why,
			      size_t whylen);

/*
 * How a verdict records a flow's decision for the flow cache, or what it does with a reject,
 * which is never stamped: every packet of a rejected flow (a TCP SYN sent again, each UDP
 * datagram) comes to nfqd and is answered.
 */
enum nfqd_stamp {
	NFQD_STAMP_NONE,   /* not stamped: no flow cache, a per-packet decision, ... */
	NFQD_STAMP_CTMARK, /* in the verdict: NFQA_CT{CTA_MARK, CTA_MARK_MASK} */
	NFQD_STAMP_REPEAT, /* NF_REPEAT with the stamp in the mark, for the chain to save */
	NFQD_STAMP_CREATE, /* a dropped flow: create (or update) its conntrack entry with the
			      stamp, once the verdict is sent */
	NFQD_STAMP_REJECT, /* a reject: NF_REPEAT with the answer's code in the mark, for the
			      chain's REJECT rule */
	NFQD_STAMP_REJECT_UNMARKED, /* a reject for a packet that did not come through the
				       generated chain (no marker): nothing would answer it; NF_DROP
				     */
	NFQD_STAMP_REJECT_LOOP,	    /* a packet that came back with a reject code: the chain did
				       not answer it (not loaded, or other rules); NF_DROP, whatever
				       the decision, so that it cannot loop */
};

/* What the verdict of a decision depends on besides the packet and the decision. */
struct nfqd_verdict_env {
	const struct nfqd_markplan *plan;
	bool flow_cache; /* flow-cache = connmark */
	bool conntrack;	 /* the kernel takes NFQA_CT in verdicts */
};

/*
 * The verdict for decision d on packet pkt: nfqd's own mark bits cleared from the mark, the
 * rule's set-mark applied, and the flow's decision stamped when it can be: with the flow cache,
 * for a packet that went through the generated rules (marker) and not handed back already (no
 * flow bit), for an accept or drop that holds for the whole flow (not per packet, no failed
 * lookup, set answers from the kernel's mark bits, which the chain compares later). The stamp
 * is the verdict bit and the set bits of the packet's memberships; *stamp receives it (with
 * NFQD_STAMP_CREATE the caller creates the entry with it). A reject decision (d->reject) of a
 * marked packet is NF_REPEAT with the code of its answer (nfqd_reject_answer(): TCP or not)
 * in the mark, *stamp 0; see enum nfqd_stamp for the rejects that are dropped instead. Pure.
 * Returns how it is stamped.
 */
enum nfqd_stamp nfqd_markplan_verdict(const struct nfqd_verdict_env *env,
				      const struct nfqd_packet *pkt, const struct nfqd_decision *d,
				      bool answers_by_test, struct nfqd_verdict *v,
				      uint32_t *stamp);

/* The membership answers a marked packet carries: known = every lookup with a bit. */
void nfqd_markplan_answers(const struct nfqd_markplan *plan, uint32_t mark,
			   struct nfqd_set_answers *ans);

/* The plan's set bits matching the members of ans (for a stamp). */
uint32_t nfqd_markplan_set_bits(const struct nfqd_markplan *plan,
				const struct nfqd_set_answers *ans);

#endif /* NFQD_MARKPLAN_H */
