/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Why a policy decides what it decides: the evaluation of one packet with a trace of each rule
 * (which term ended it), and the terms of the compiled rules one by one, with the packet's
 * value for each. For `nfqctl explain` and `nfqctl rules`: not on the hot path.
 */
#ifndef NFQD_POLICY_EXPLAIN_H
#define NFQD_POLICY_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfqd/policy.h"

struct nfqd_packet;

/* enum nfqd_explain_why: how the evaluation of one rule ended */
enum nfqd_explain_why {
	NFQD_EXPLAIN_NOT_REACHED, /* an earlier rule decided */
	NFQD_EXPLAIN_HIT,	  /* every term matched: the rule decided */
	NFQD_EXPLAIN_MISS,	  /* term `term` did not match */
	NFQD_EXPLAIN_UNKNOWN,	  /* term `term` reads a fact the packet does not have (no
				     ports, another family, no connmark, an unanswered set):
				     no match, negated or not */
	NFQD_EXPLAIN_FAILED,	  /* term `term`'s set lookup failed: the rule decided with the
				     on-set-error verdict */
	NFQD_EXPLAIN_LOOP,	  /* a `queue N` rule does not take packets read from queue N */
	NFQD_EXPLAIN_SKIPPED,	  /* the packet is unreadable and on-unreadable decided first */
	NFQD_EXPLAIN_MAX,
};

/* The trace of one rule. */
struct nfqd_explain_rule {
	uint8_t why;  /* enum nfqd_explain_why */
	uint8_t term; /* with MISS, UNKNOWN, FAILED: the 0-based term of the rule */
};

/*
 * Evaluate pkt as nfqd_policy_eval() does (the same *d, field by field), term by term in rule
 * order, and fill trace[i] for every rule i (nfqd_policy_rule_count() entries). Pure.
 */
void nfqd_policy_explain(const struct nfqd_policy *p, const struct nfqd_packet *pkt,
			 const struct nfqd_set_answers *ans, struct nfqd_decision *d,
			 struct nfqd_explain_rule *trace);

/* The word of why ("hit", "miss", ...), "?" when out of range. */
const char *nfqd_explain_why_name(unsigned int why);

/* Number of terms of rule i (0 when i is out of range). */
unsigned int nfqd_policy_term_count(const struct nfqd_policy *p, unsigned int rule);

/* One term of a rule, as written in the canonical rule text. */
struct nfqd_term_info {
	char kind[32]; /* the match's name: "dport", "ct mark", "src" (for "src @SET" too) */
	bool negated;  /* written with `not` */
	char arg[160]; /* its argument in canonical form: "443", "@blocklist", "@x src,dst" */
	int lookup;    /* the set lookup it reads, -1 for a term that reads no set */
	bool pure;     /* it only compares fields of the packet */
};

/* Fill *out for term t of rule i. Returns 0, or -ENOENT when there is no such term. */
int nfqd_policy_term_info(const struct nfqd_policy *p, unsigned int rule, unsigned int t,
			  struct nfqd_term_info *out);

/*
 * The packet's value for what term t of rule i compares, in the form of the term's argument
 * ("tcp", "192.0.2.1", "1234", "0x10", "eth0"; "member", "not a member", "unanswered",
 * "lookup failed" for a set term, with the answers ans; "none" for a fact the packet does not
 * have), into buf. An interface is named when its index is that of one of the policy's
 * interface names, else "ifindex N" ("none" for 0). Returns what snprintf() returns, or -ENOENT
 * when there is no such term.
 */
int nfqd_policy_term_value(const struct nfqd_policy *p, unsigned int rule, unsigned int t,
			   const struct nfqd_packet *pkt, const struct nfqd_set_answers *ans,
			   char *buf, size_t size);

/* The index interface name i of the policy has now (0: none, or i out of range). */
uint32_t nfqd_policy_iface_index(const struct nfqd_policy *p, unsigned int i);

/*
 * Parse a protocol word as `proto` terms take it (a name: tcp, udp, icmp, icmpv6, udplite,
 * sctp, dccp, gre, esp, ah; or a number 0-255). Returns 0, or -EINVAL with err saying why.
 */
int nfqd_policy_parse_proto(const char *word, uint8_t *proto, struct nfqd_policy_error *err);

#endif /* NFQD_POLICY_EXPLAIN_H */
