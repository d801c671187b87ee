/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The explanation of a decision: the traced reference evaluation (policy.c) and the terms of
 * the compiled rules, with the packet's value for each, rendered by the terms' own formatters
 * so that a value reads like the argument it is compared with.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"

void nfqd_policy_explain(const struct nfqd_policy *p, const struct nfqd_packet *pkt,
			 const struct nfqd_set_answers *ans, struct nfqd_decision *d,
			 struct nfqd_explain_rule *trace)
{
	nfqd_policy_eval_trace(p, pkt, ans, d, trace);
}

const char *nfqd_explain_why_name(unsigned int why)
{
	static const char *const names[NFQD_EXPLAIN_MAX] = {
		[NFQD_EXPLAIN_NOT_REACHED] = "not reached",
		[NFQD_EXPLAIN_HIT] = "hit",
		[NFQD_EXPLAIN_MISS] = "miss",
		[NFQD_EXPLAIN_UNKNOWN] = "unknown",
		[NFQD_EXPLAIN_FAILED] = "set lookup failed",
		[NFQD_EXPLAIN_LOOP] = "loop",
		[NFQD_EXPLAIN_SKIPPED] = "skipped",
	};

	return why < NFQD_EXPLAIN_MAX ? names[why] : "?";
}

/* Term t of rule i, or NULL. */
static const struct nfqd_term *term_of(const struct nfqd_policy *p, unsigned int rule,
				       unsigned int t)
{
	unsigned int n;
	const struct nfqd_rule *rules = nfqd_policy_rules(p, &n);

	if (rule >= n || t >= rules[rule].nterms)
		return NULL;
	return &nfqd_policy_terms(p)[rules[rule].first + t];
}

unsigned int nfqd_policy_term_count(const struct nfqd_policy *p, unsigned int rule)
{
	unsigned int n;
	const struct nfqd_rule *rules = nfqd_policy_rules(p, &n);

	return rule < n ? rules[rule].nterms : 0;
}

static bool is_set_kind(uint8_t kind)
{
	return kind == NFQD_MATCH_SRC_SET || kind == NFQD_MATCH_DST_SET || kind == NFQD_MATCH_SET;
}

int nfqd_policy_term_info(const struct nfqd_policy *p, unsigned int rule, unsigned int t,
			  struct nfqd_term_info *out)
{
	const struct nfqd_term *term = term_of(p, rule, t);
	char name[NFQD_MATCH_NAME_MAX];
	const struct nfqd_match_ops *k;

	if (!term)
		return -ENOENT;
	k = &nfqd_match_table[term->kind];
	memset(out, 0, sizeof(*out));
	/* the name may be the row's own string rather than buf */
	snprintf(out->kind, sizeof(out->kind), "%s", nfqd_match_name(k, name, sizeof(name)));
	out->negated = term->negate;
	k->format(term, out->arg, sizeof(out->arg));
	out->lookup = is_set_kind(term->kind) ? term->arg.set.lookup : -1;
	out->pure = k->pure;
	return 0;
}

/* The answer to set lookup l for the packet, in words. */
static const char *set_answer(const struct nfqd_set_answers *ans, unsigned int l)
{
	uint32_t bit = 1u << l;

	if (!ans)
		return "unanswered";
	if (ans->failed & bit)
		return "lookup failed";
	if (!(ans->known & bit))
		return "unanswered";
	return (ans->member & bit) ? "member" : "not a member";
}

/* The packet's address on one side as a full-length prefix, formatted as the term would be. */
static int address_value(const struct nfqd_term *term, const union nfqd_addr *a, uint8_t l3,
			 char *buf, size_t size)
{
	struct nfqd_term v = { .kind = term->kind };

	v.arg.prefix.family = l3;
	v.arg.prefix.len = l3 == 4 ? 32 : 128;
	v.arg.prefix.addr = *a;
	memset(&v.arg.prefix.mask, 0xff, l3 == 4 ? 4 : 16);
	return nfqd_match_table[term->kind].format(&v, buf, size);
}

/* Named from the policy's own table: no system call (nfqd's filter allows no ioctl). */
static int iface_value(const struct nfqd_policy *p, uint32_t ifindex, char *buf, size_t size)
{
	if (!ifindex)
		return snprintf(buf, size, "none");
	for (unsigned int i = 0; i < nfqd_policy_iface_count(p); i++)
		if (nfqd_policy_iface_index(p, i) == ifindex)
			return snprintf(buf, size, "%s", nfqd_policy_iface_name(p, i));
	return snprintf(buf, size, "ifindex %u", ifindex);
}

int nfqd_policy_term_value(const struct nfqd_policy *p, unsigned int rule, unsigned int t,
			   const struct nfqd_packet *pkt, const struct nfqd_set_answers *ans,
			   char *buf, size_t size)
{
	const struct nfqd_term *term = term_of(p, rule, t);
	struct nfqd_term v;

	if (!term)
		return -ENOENT;
	v = (struct nfqd_term){ .kind = term->kind };
	switch (term->kind) {
	case NFQD_MATCH_PROTO:
		if (!(pkt->flags & NFQD_PKT_HAS_PROTO))
			break;
		v.arg.proto = pkt->l4_proto;
		return nfqd_match_table[term->kind].format(&v, buf, size);
	case NFQD_MATCH_SRC:
	case NFQD_MATCH_DST:
		if (!(pkt->flags & NFQD_PKT_HAS_L3))
			break;
		return address_value(term, term->kind == NFQD_MATCH_SRC ? &pkt->src : &pkt->dst,
				     pkt->l3, buf, size);
	case NFQD_MATCH_SPORT:
	case NFQD_MATCH_DPORT:
		if (!(pkt->flags & NFQD_PKT_HAS_PORTS))
			break;
		v.arg.ports.lo = v.arg.ports.hi =
			term->kind == NFQD_MATCH_SPORT ? pkt->sport : pkt->dport;
		return nfqd_match_table[term->kind].format(&v, buf, size);
	case NFQD_MATCH_SRC_SET:
	case NFQD_MATCH_DST_SET:
	case NFQD_MATCH_SET:
		return snprintf(buf, size, "%s", set_answer(ans, term->arg.set.lookup));
	case NFQD_MATCH_CT_MARK:
		if (!(pkt->flags & NFQD_PKT_HAS_CTMARK))
			break;
		v.arg.mark = (struct nfqd_mark){ .value = pkt->ct_mark, .mask = UINT32_MAX };
		return nfqd_mark_format(&v.arg.mark, buf, size);
	case NFQD_MATCH_META_MARK:
		v.arg.mark = (struct nfqd_mark){ .value = pkt->mark, .mask = UINT32_MAX };
		return nfqd_mark_format(&v.arg.mark, buf, size);
	case NFQD_MATCH_IIF:
		return iface_value(p, pkt->indev, buf, size);
	case NFQD_MATCH_OIF:
		return iface_value(p, pkt->outdev, buf, size);
	default:
		break;
	}
	return snprintf(buf, size, "none");
}
